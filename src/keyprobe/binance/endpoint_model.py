"""What an endpoint is: method, path, security type, request weight, parameters and the
permissions it needs, with the builders the catalogues use (``endpoints.py`` for Spot and
SAPI, ``endpoints_families.py`` for USDⓈ-M futures, margin and sub-accounts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from keyprobe.binance.params import Kind, Param
from keyprobe.binance.permissions import Permission


class Security(StrEnum):
    NONE = "NONE"
    USER_DATA = "USER_DATA"
    TRADE = "TRADE"
    # Margin pages' own type ("requires a valid API-Key and signature"), e.g. borrow-repay
    # (beyond-spot reference §2); what it asks of the key is enableMargin [INF there].
    MARGIN = "MARGIN"


class Api(StrEnum):
    """The path family: SAPI authenticates differently from /api (reference §2.3), and the
    USDⓈ-M futures API (/fapi) answers with its own content type and -2015 text (beyond-spot
    reference §1.2, §7)."""

    API = "api"
    SAPI = "sapi"
    FAPI = "fapi"


Weigher = Callable[[Mapping[str, str]], int]


def fixed(weight: int) -> Weigher:
    return lambda _params: weight


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of a Binance REST surface."""

    name: str
    method: str
    path: str
    security: Security
    weigher: Weigher
    params: tuple[Param, ...] = ()
    permissions: tuple[Permission, ...] = ()
    # Successful order placement/cancel requests weigh 0 since 2026-03-27 (reference §6).
    free_when_successful: bool = False
    counts_as_order: bool = False
    # SAPI wallet endpoints are weighed per account (UID), not against the IP's budget.
    ip_weight: bool = True
    signed_params: tuple[Param, ...] = field(default=(), repr=False)
    # The code a key lacking ``permissions`` gets, where it is not the path family's rule
    # (``endpoints.permission_denied_code``): margin orders, -2015 [INF, beyond-spot §2].
    denied_code: int | None = None

    @property
    def api(self) -> Api:
        if self.path.startswith("/sapi/"):
            return Api.SAPI
        if self.path.startswith("/fapi/"):
            return Api.FAPI
        return Api.API

    @property
    def signed(self) -> bool:
        return self.security is not Security.NONE

    def weight(self, params: Mapping[str, str]) -> int:
        return self.weigher(params)

    def param(self, name: str) -> Param | None:
        for p in self.all_params:
            if p.name == name:
                return p
        return None

    @property
    def all_params(self) -> tuple[Param, ...]:
        return self.params + self.signed_params


SIGNED_PARAMS = (
    Param("recvWindow", Kind.RECV_WINDOW),
    Param("timestamp", Kind.LONG, required=True),
    Param("signature", Kind.STRING, required=True),
)


def public(name: str, path: str, weigher: Weigher, *params: Param) -> Endpoint:
    return Endpoint(name, "GET", path, Security.NONE, weigher, params)


def signed(
    name: str,
    method: str,
    path: str,
    security: Security,
    weigher: Weigher,
    params: tuple[Param, ...],
    permissions: tuple[Permission, ...],
    *,
    order: bool = False,
) -> Endpoint:
    return Endpoint(
        name,
        method,
        path,
        security,
        weigher,
        params,
        permissions,
        free_when_successful=order,
        counts_as_order=order and method == "POST",
        signed_params=SIGNED_PARAMS,
    )
