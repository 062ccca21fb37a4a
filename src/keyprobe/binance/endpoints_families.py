"""The endpoints of the permission families beyond spot (reference
``binance-permissions-beyond-spot.md``): USDⓈ-M futures at /fapi (§1), margin orders and
borrow/repay (§2), and the master-only sub-account list (§4). ``endpoints.py`` merges them into
its lookups but not ``ENDPOINTS``, the routes of the vendored Spot OpenAPI excerpt that the
emulator's spec fuzzing drives (futures are not in that spec at all)."""

from __future__ import annotations

from dataclasses import replace

from keyprobe.binance.endpoint_model import Endpoint, Security, fixed, signed
from keyprobe.binance.params import Kind, Param
from keyprobe.binance.permissions import Permission
from keyprobe.binance.unsettled import DEFAULT

_SYMBOL = Param("symbol", Kind.SYMBOL, required=True)
_ORDER_ID = Param("orderId", Kind.LONG)
# Futures client order ids allow dots, colons and slashes (§1.3): checked as a plain string
# here, the futures regex is the emulator's business check.
_ORIG_CLIENT_ID = Param("origClientOrderId", Kind.STRING)

_READ = (Permission.READING,)
_FUTURES = (Permission.FUTURES,)
_TRADE = (Permission.SPOT_AND_MARGIN_TRADING,)

# POST /fapi/v1/order's parameters (order/test takes the same, §1.3); enums are checked after
# authentication, like spot's.
_FUTURES_ORDER = (
    _SYMBOL,
    Param("side", Kind.STRING, required=True),
    Param("positionSide"),
    Param("type", Kind.STRING, required=True),
    Param("timeInForce"),
    Param("quantity", Kind.DECIMAL),
    Param("reduceOnly"),
    Param("price", Kind.DECIMAL),
    Param("newClientOrderId", Kind.STRING),
    Param("stopPrice", Kind.DECIMAL),
    Param("closePosition"),
    Param("activationPrice", Kind.DECIMAL),
    Param("callbackRate", Kind.DECIMAL),
    Param("workingType"),
    Param("priceProtect"),
    Param("newOrderRespType"),
    Param("priceMatch"),
    Param("selfTradePreventionMode"),
    Param("goodTillDate", Kind.LONG),
)

# Futures reads: USER_DATA, weight 5 (§1.2, §1.6 F2/F3). They need Reading; whether a key
# without enableFutures is also refused is unsettled (§1.2, the emulator's setting
# ``futures_reads_need_futures``, default no).
FUTURES_ENDPOINTS: tuple[Endpoint, ...] = (
    signed("futuresAccountConfig", "GET", "/fapi/v1/accountConfig", Security.USER_DATA,
           fixed(5), (), _READ),
    signed("futuresAccountV2", "GET", "/fapi/v2/account", Security.USER_DATA, fixed(5), (), _READ),
    signed("futuresAccountV3", "GET", "/fapi/v3/account", Security.USER_DATA, fixed(5), (), _READ),
    # TRADE; that order/test refuses a key without enableFutures is [INF] (§1.3). Weight 1 like
    # spot's order/test [INF: the futures page gives none].
    signed("futuresTestOrder", "POST", "/fapi/v1/order/test", Security.TRADE, fixed(1),
           _FUTURES_ORDER, _FUTURES),
    signed("futuresCancelOrder", "DELETE", "/fapi/v1/order", Security.TRADE, fixed(1),
           (_SYMBOL, _ORDER_ID, _ORIG_CLIENT_ID), _FUTURES, order=True),
)  # fmt: skip

MARGIN_ENDPOINTS: tuple[Endpoint, ...] = (
    # Margin orders are governed by Spot & Margin Trading (§2); the refusal's code is the
    # table's families.margin_order_denied_code (what the harness expects; the emulator reads
    # its own Behaviour's value).
    replace(
        signed("marginCancelOrder", "DELETE", "/sapi/v1/margin/order", Security.TRADE, fixed(10),
               (_SYMBOL, Param("isIsolated"), _ORDER_ID, _ORIG_CLIENT_ID,
                Param("newClientOrderId", Kind.CLIENT_ID)), _TRADE),
        denied_code=DEFAULT.integer("families.margin_order_denied_code"),
    ),
    # "(MARGIN)", weight 1500 per account (§2, the borrow-repay page); MARGIN ⇒ enableMargin
    # [INF], refused with 401 -1002 as observed for borrow and transfer.
    replace(
        signed("marginBorrowRepay", "POST", "/sapi/v1/margin/borrow-repay", Security.MARGIN,
               fixed(1500), (Param("asset", required=True), Param("isIsolated", required=True),
                             Param("symbol"), Param("amount", Kind.DECIMAL, required=True),
                             Param("type", required=True)), (Permission.MARGIN,)),
        ip_weight=False,
    ),
)  # fmt: skip

SUB_ACCOUNT_ENDPOINTS: tuple[Endpoint, ...] = (
    # "Query Sub-account List (For Master Account)", Weight(IP) 1 (Spot OpenAPI spec); a read
    # [INF]. A sub-account key is refused as §4 says (the emulator's settings).
    signed("subAccountList", "GET", "/sapi/v1/sub-account/list", Security.USER_DATA, fixed(1),
           (Param("email"), Param("isFreeze"), Param("page", Kind.INT), Param("limit", Kind.INT)),
           _READ),
)  # fmt: skip

FAMILY_ENDPOINTS: tuple[Endpoint, ...] = (
    FUTURES_ENDPOINTS + MARGIN_ENDPOINTS + SUB_ACCOUNT_ENDPOINTS
)
