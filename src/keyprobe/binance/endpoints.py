"""The endpoint catalogue: method, path, security type, request weight, parameters and the
permission each endpoint needs (reference §2; Binance's OpenAPI spec for the parameter lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from keyprobe.binance.endpoint_model import Api, Endpoint, Security, Weigher
from keyprobe.binance.endpoint_model import fixed as _fixed
from keyprobe.binance.endpoint_model import public as _public
from keyprobe.binance.endpoint_model import signed as _signed
from keyprobe.binance.endpoints_families import FAMILY_ENDPOINTS
from keyprobe.binance.params import Kind, Param
from keyprobe.binance.permissions import Permission

__all__ = [
    "ALL_ENDPOINTS",
    "BY_NAME",
    "BY_ROUTE",
    "ENDPOINTS",
    "PATHS",
    "REMOVED_PATHS",
    "Api",
    "Endpoint",
    "Security",
    "Weigher",
    "endpoint",
    "permission_denied_code",
    "unknown_key_code",
]


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
        # A read: Reading is enough; enableMargin governs borrow, repay and transfer
        # (beyond-spot reference §2, observed 2026-07).
        _READ,
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

# ENDPOINTS is the Spot and SAPI surface of Binance's Spot OpenAPI spec (what the fuzzing
# covers); the families beyond spot (futures, margin orders, sub-accounts) join the lookups.
ALL_ENDPOINTS: tuple[Endpoint, ...] = ENDPOINTS + FAMILY_ENDPOINTS
BY_ROUTE: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in ALL_ENDPOINTS}
BY_NAME: dict[str, Endpoint] = {e.name: e for e in ALL_ENDPOINTS}
PATHS: frozenset[str] = frozenset(e.path for e in ALL_ENDPOINTS)

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
    if ep.denied_code is not None:
        return ep.denied_code
    return -1002 if ep.api is Api.SAPI else -2015
