"""The WebSocket API method catalogue (``/ws-api/v3``): security type, request weight,
parameters and the permission each method needs (reference binance-ws-api.md §4).

Shared by the emulator (which serves these methods) and the harness (which probes them). A
method that mirrors a REST endpoint names it in ``rest``; its parameters, weight rules and
permissions are that endpoint's, so the two transports cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from keyprobe.binance.endpoints import BY_NAME, Endpoint, Kind, Param, Security, Weigher
from keyprobe.binance.permissions import Permission


class WsSecurity(StrEnum):
    """The WS API's security types (reference §2.1); every type but NONE is SIGNED."""

    NONE = "NONE"
    USER_DATA = "USER_DATA"
    TRADE = "TRADE"
    USER_STREAM = "USER_STREAM"

    @property
    def signed(self) -> bool:
        return self is not WsSecurity.NONE


class Auth(StrEnum):
    """How a method authenticates, beyond its security type."""

    # No key at all.
    NONE = "none"
    # apiKey + signature in the params, or the session's key after session.logon.
    SIGNED = "signed"
    # apiKey + signature always (session.logon, userDataStream.subscribe.signature).
    EXPLICIT = "explicit"
    # Only the session's key: no params at all (userDataStream.subscribe).
    SESSION = "session"


# apiKey and signature are ordinary params over WS (reference §2.1). Neither is "required" in
# the syntax sense: after session.logon both are left out; the pipeline checks them itself.
WS_SIGNED_PARAMS: tuple[Param, ...] = (
    Param("apiKey", Kind.STRING),
    Param("recvWindow", Kind.RECV_WINDOW),
    Param("timestamp", Kind.LONG, required=True),
    Param("signature", Kind.STRING),
)


@dataclass(frozen=True, slots=True)
class WsMethod:
    name: str
    security: WsSecurity
    auth: Auth
    weigher: Weigher
    params: tuple[Param, ...] = ()
    permissions: tuple[Permission, ...] = ()
    # The REST endpoint this method mirrors (same engine call, params and permissions).
    rest: str | None = None
    # The rateLimits array lists the account's ORDERS counters too.
    order_limits: bool = False

    @property
    def signed(self) -> bool:
        return self.auth in (Auth.SIGNED, Auth.EXPLICIT)

    def weight(self, params: dict[str, str]) -> int:
        return self.weigher(params)

    @property
    def endpoint(self) -> Endpoint:
        """This method as an ``Endpoint`` (for the shared parameter syntax checks)."""
        return _AS_ENDPOINT[self.name]

    @property
    def rest_endpoint(self) -> Endpoint | None:
        return BY_NAME[self.rest] if self.rest else None


def _fixed(weight: int) -> Weigher:
    return lambda _params: weight


def _mirror(name: str, rest: str, security: WsSecurity, *, order_limits: bool = False) -> WsMethod:
    ep = BY_NAME[rest]
    return WsMethod(
        name,
        security,
        Auth.SIGNED,
        ep.weigher,
        ep.params,
        ep.permissions,
        rest=rest,
        order_limits=order_limits,
    )


def _public(name: str, weight: int, *params: Param, rest: str | None = None) -> WsMethod:
    return WsMethod(name, WsSecurity.NONE, Auth.NONE, _fixed(weight), params, rest=rest)


_EXCHANGE_INFO = BY_NAME["exchangeInfo"]

METHODS: tuple[WsMethod, ...] = (
    _public("ping", 1, rest="ping"),
    _public("time", 1, rest="time"),
    WsMethod(
        "exchangeInfo",
        WsSecurity.NONE,
        Auth.NONE,
        _EXCHANGE_INFO.weigher,
        _EXCHANGE_INFO.params,
        rest="exchangeInfo",
    ),
    # session.logon is SIGNED (the SDK labels it USER_DATA) but needs no permission.
    WsMethod("session.logon", WsSecurity.USER_DATA, Auth.EXPLICIT, _fixed(2)),
    _public("session.status", 2),
    _public("session.logout", 2),
    _public("session.subscriptions", 2),
    _mirror("account.status", "account", WsSecurity.USER_DATA),
    _mirror("account.commission", "commission", WsSecurity.USER_DATA),
    _mirror("account.rateLimits.orders", "rateLimitOrder", WsSecurity.USER_DATA),
    _mirror("order.status", "queryOrder", WsSecurity.USER_DATA),
    _mirror("openOrders.status", "openOrders", WsSecurity.USER_DATA),
    _mirror("allOrders", "allOrders", WsSecurity.USER_DATA),
    _mirror("myTrades", "myTrades", WsSecurity.USER_DATA),
    _mirror("order.test", "testOrder", WsSecurity.TRADE),
    _mirror("order.place", "newOrder", WsSecurity.TRADE, order_limits=True),
    _mirror("order.cancel", "cancelOrder", WsSecurity.TRADE),
    _mirror("openOrders.cancelAll", "cancelOpenOrders", WsSecurity.TRADE),
    _mirror("order.cancelReplace", "cancelReplace", WsSecurity.TRADE, order_limits=True),
    # USER_STREAM needs a valid key and nothing more (no permission), as the listenKey
    # endpoints did.
    WsMethod("userDataStream.subscribe", WsSecurity.USER_STREAM, Auth.SESSION, _fixed(2)),
    WsMethod(
        "userDataStream.subscribe.signature",
        WsSecurity.USER_STREAM,
        Auth.EXPLICIT,
        _fixed(2),
    ),
    # NONE since 2025-08-12: it only touches this connection's own subscriptions.
    WsMethod(
        "userDataStream.unsubscribe",
        WsSecurity.NONE,
        Auth.NONE,
        _fixed(2),
        (Param("subscriptionId", Kind.INT),),
    ),
)

BY_METHOD: dict[str, WsMethod] = {m.name: m for m in METHODS}
# The method that mirrors each REST endpoint (by endpoint name): a probe declared once against
# a REST endpoint runs over the WebSocket API through this.
BY_REST: dict[str, WsMethod] = {m.rest: m for m in METHODS if m.rest is not None}

_SECURITY_AS_REST = {
    WsSecurity.NONE: Security.NONE,
    WsSecurity.USER_DATA: Security.USER_DATA,
    WsSecurity.TRADE: Security.TRADE,
    WsSecurity.USER_STREAM: Security.USER_DATA,
}

_AS_ENDPOINT: dict[str, Endpoint] = {
    m.name: Endpoint(
        m.name,
        "WS",
        "/ws-api/v3",
        _SECURITY_AS_REST[m.security],
        m.weigher,
        m.params,
        m.permissions,
        signed_params=WS_SIGNED_PARAMS if m.signed else (),
    )
    for m in METHODS
}

# The method-name prefix the API accepts (reference §1.1): "v3/order.place".
VERSION_PREFIX = "v3/"


def lookup(name: str) -> WsMethod | None:
    """The method ``name`` names, with or without the ``v3/`` prefix."""
    return BY_METHOD.get(name.removeprefix(VERSION_PREFIX))


def method(name: str) -> WsMethod:
    return BY_METHOD[name]
