"""The endpoint catalogue: method, path, security type, request weight, parameters and the
permission each endpoint needs (reference §2; Binance's OpenAPI spec for the parameter lists)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from keyprobe.binance.params import Kind, Param
from keyprobe.binance.permissions import Permission


class Security(StrEnum):
    NONE = "NONE"
    USER_DATA = "USER_DATA"
    TRADE = "TRADE"


class Api(StrEnum):
    """The path family: SAPI authenticates differently from /api (reference §2.3)."""

    API = "api"
    SAPI = "sapi"


Weigher = Callable[[Mapping[str, str]], int]


def _fixed(weight: int) -> Weigher:
    return lambda _params: weight


def _depth_weight(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit", "100"))
    except ValueError:
        return 5
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def _with_symbol(with_symbol: int, without: int) -> Weigher:
    return lambda params: with_symbol if params.get("symbol") else without


def _ticker_weight(params: Mapping[str, str]) -> int:
    return 2 if params.get("symbol") else 4


def _my_trades_weight(params: Mapping[str, str]) -> int:
    return 5 if params.get("orderId") else 20


def _order_test_weight(params: Mapping[str, str]) -> int:
    return 20 if params.get("computeCommissionRates", "").lower() == "true" else 1


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the Binance Spot REST surface."""

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

    @property
    def api(self) -> Api:
        return Api.SAPI if self.path.startswith("/sapi/") else Api.API

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


_SIGNED = (
    Param("recvWindow", Kind.RECV_WINDOW),
    Param("timestamp", Kind.LONG, required=True),
    Param("signature", Kind.STRING, required=True),
)

_SYMBOL = Param("symbol", Kind.SYMBOL, required=True)
_OPT_SYMBOL = Param("symbol", Kind.SYMBOL)

# Enum values are checked after authentication (business validation), so they are STRING here.
_NEW_ORDER = (
    _SYMBOL,
    Param("side", Kind.STRING, required=True),
    Param("type", Kind.STRING, required=True),
    Param("timeInForce"),
    Param("quantity", Kind.DECIMAL),
    Param("quoteOrderQty", Kind.DECIMAL),
    Param("price", Kind.DECIMAL),
    Param("newClientOrderId", Kind.CLIENT_ID),
    Param("strategyId", Kind.LONG),
    Param("strategyType", Kind.INT),
    Param("stopPrice", Kind.DECIMAL),
    Param("trailingDelta", Kind.LONG),
    Param("icebergQty", Kind.DECIMAL),
    Param("newOrderRespType"),
    Param("selfTradePreventionMode"),
)

_ORDER_ID = Param("orderId", Kind.LONG)
_ORIG_CLIENT_ID = Param("origClientOrderId", Kind.STRING)
_TIME_RANGE = (
    Param("startTime", Kind.LONG),
    Param("endTime", Kind.LONG),
    Param("limit", Kind.INT),
)

_READ = (Permission.READING,)
_TRADE = (Permission.SPOT_AND_MARGIN_TRADING,)


def _public(name: str, path: str, weigher: Weigher, *params: Param) -> Endpoint:
    return Endpoint(name, "GET", path, Security.NONE, weigher, params)


def _signed(
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
        signed_params=_SIGNED,
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    _public("ping", "/api/v3/ping", _fixed(1)),
    _public("time", "/api/v3/time", _fixed(1)),
    _public(
        "exchangeInfo",
        "/api/v3/exchangeInfo",
        _fixed(20),
        _OPT_SYMBOL,
        Param("symbols"),
        Param("permissions"),
        Param("showPermissionSets", Kind.BOOL),
        Param("symbolStatus"),
    ),
    _public("depth", "/api/v3/depth", _depth_weight, _SYMBOL, Param("limit", Kind.INT)),
    _public("tickerPrice", "/api/v3/ticker/price", _ticker_weight, _OPT_SYMBOL, Param("symbols")),
    _public(
        "bookTicker", "/api/v3/ticker/bookTicker", _ticker_weight, _OPT_SYMBOL, Param("symbols")
    ),
    _public("avgPrice", "/api/v3/avgPrice", _fixed(2), _SYMBOL),
    # Public and cheap: what keyprobe asks to learn whether a target serves /sapi at all.
    _public("systemStatus", "/sapi/v1/system/status", _fixed(1)),
    _signed(
        "account",
        "GET",
        "/api/v3/account",
        Security.USER_DATA,
        _fixed(20),
        (Param("omitZeroBalances", Kind.BOOL),),
        _READ,
    ),
    _signed(
        "queryOrder",
        "GET",
        "/api/v3/order",
        Security.USER_DATA,
        _fixed(4),
        (_SYMBOL, _ORDER_ID, _ORIG_CLIENT_ID),
        _READ,
    ),
    _signed(
        "openOrders",
        "GET",
        "/api/v3/openOrders",
        Security.USER_DATA,
        _with_symbol(6, 80),
        (_OPT_SYMBOL,),
        _READ,
    ),
    _signed(
        "allOrders",
        "GET",
        "/api/v3/allOrders",
        Security.USER_DATA,
        _fixed(20),
        (_SYMBOL, _ORDER_ID, *_TIME_RANGE),
        _READ,
    ),
    _signed(
        "myTrades",
        "GET",
        "/api/v3/myTrades",
        Security.USER_DATA,
        _my_trades_weight,
        (_SYMBOL, _ORDER_ID, *_TIME_RANGE, Param("fromId", Kind.LONG)),
        _READ,
    ),
    _signed(
        "commission",
        "GET",
        "/api/v3/account/commission",
        Security.USER_DATA,
        _fixed(20),
        (_SYMBOL,),
        _READ,
    ),
    _signed(
        "rateLimitOrder",
        "GET",
        "/api/v3/rateLimit/order",
        Security.USER_DATA,
        _fixed(40),
        (),
        _READ,
    ),
    _signed(
        "newOrder",
        "POST",
        "/api/v3/order",
        Security.TRADE,
        _fixed(1),
        _NEW_ORDER,
        _TRADE,
        order=True,
    ),
    _signed(
        "testOrder",
        "POST",
        "/api/v3/order/test",
        Security.TRADE,
        _order_test_weight,
        (*_NEW_ORDER, Param("computeCommissionRates", Kind.BOOL)),
        _TRADE,
    ),
    _signed(
        "cancelOrder",
        "DELETE",
        "/api/v3/order",
        Security.TRADE,
        _fixed(1),
        (
            _SYMBOL,
            _ORDER_ID,
            _ORIG_CLIENT_ID,
            Param("newClientOrderId", Kind.CLIENT_ID),
            Param("cancelRestrictions"),
        ),
        _TRADE,
        order=True,
    ),
    _signed(
        "cancelOpenOrders",
        "DELETE",
        "/api/v3/openOrders",
        Security.TRADE,
        _fixed(1),
        (_SYMBOL,),
        _TRADE,
        order=True,
    ),
    _signed(
        "cancelReplace",
        "POST",
        "/api/v3/order/cancelReplace",
        Security.TRADE,
        _fixed(1),
        (
            *_NEW_ORDER,
            Param("cancelReplaceMode", Kind.STRING, required=True),
            Param("cancelRestrictions"),
            Param("cancelNewClientOrderId", Kind.CLIENT_ID),
            Param("cancelOrigClientOrderId", Kind.STRING),
            Param("cancelOrderId", Kind.LONG),
            Param("orderRateLimitExceededMode"),
        ),
        _TRADE,
        order=True,
    ),
    _signed(
        "apiRestrictions",
        "GET",
        "/sapi/v1/account/apiRestrictions",
        Security.USER_DATA,
        _fixed(1),
        (),
        (),
    ),
    replace(
        _signed(
            "withdraw",
            "POST",
            "/sapi/v1/capital/withdraw/apply",
            Security.USER_DATA,
            _fixed(900),
            (
                Param("coin", required=True),
                Param("withdrawOrderId"),
                Param("network"),
                Param("address", required=True),
                Param("addressTag"),
                Param("amount", Kind.DECIMAL, required=True),
                Param("transactionFeeFlag", Kind.BOOL),
                Param("name"),
                Param("walletType", Kind.INT),
            ),
            (Permission.WITHDRAWALS,),
        ),
        ip_weight=False,
    ),
    _signed(
        "marginAccount",
        "GET",
        "/sapi/v1/margin/account",
        Security.USER_DATA,
        _fixed(10),
        (),
        (Permission.MARGIN,),
    ),
    replace(
        _signed(
            "universalTransfer",
            "POST",
            "/sapi/v1/asset/transfer",
            Security.USER_DATA,
            _fixed(900),
            (
                Param("type", required=True),
                Param("asset", required=True),
                Param("amount", Kind.DECIMAL, required=True),
                Param("fromSymbol"),
                Param("toSymbol"),
            ),
            (Permission.UNIVERSAL_TRANSFER,),
        ),
        ip_weight=False,
    ),
)

BY_ROUTE: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in ENDPOINTS}
BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
PATHS: frozenset[str] = frozenset(e.path for e in ENDPOINTS)

# Removed by Binance (testnet 2026-02-04, prod 2026-02-20); they now answer like any unknown path.
REMOVED_PATHS: frozenset[str] = frozenset({"/api/v3/userDataStream", "/api/v1/userDataStream"})


def endpoint(name: str) -> Endpoint:
    return BY_NAME[name]


# How a refusal reads depends on the path family (reference §2.3, §5.5): /api answers every
# key problem with 401 -2015; SAPI says -2008 for an unknown key and -1002 for a feature the
# key is not enabled for (observed for withdrawals, margin, convert).
def unknown_key_code(ep: Endpoint) -> int:
    return -2008 if ep.api is Api.SAPI else -2015


def permission_denied_code(ep: Endpoint) -> int:
    return -1002 if ep.api is Api.SAPI else -2015
