"""USDⓈ-M futures at /fapi (beyond-spot reference §1): the account reads, order/test and the
cancel. The emulator keeps no futures positions or orders: the account is an empty wallet,
order/test validates and never trades, and every cancel names an unknown order (-2011), which
is exactly what a permission probe needs (§1.6 F2, F3, F5, F6)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.auth import Caller
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.exchange.rules import get_decimal, get_long, get_required
from keyprobe.emulator.families.state import Families, Result

# Futures client order ids allow dots, colons and slashes, unlike spot (§1.3).
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
_CLIENT_ID = re.compile(CLIENT_ID_RANGE)
ORDER_TYPES = frozenset(
    {"LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
     "TRAILING_STOP_MARKET"}
)  # fmt: skip
# "Order's notional must be no smaller than 5 (unless you choose reduce only)." (§1.3, OBS).
MIN_NOTIONAL = Decimal(5)
ZERO = "0.00000000"


def account_config(_fam: Families, _ex: Exchange, c: Caller) -> Result:
    """GET /fapi/v1/accountConfig: the fields a live answer carried (§1.6 F2)."""
    return 200, {
        "feeTier": 0,
        "canTrade": Permission.FUTURES in c.key.permissions,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": False,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }


def _totals() -> dict[str, Any]:
    names = (
        "totalInitialMargin", "totalMaintMargin", "totalWalletBalance", "totalUnrealizedProfit",
        "totalMarginBalance", "totalPositionInitialMargin", "totalOpenOrderInitialMargin",
        "totalCrossWalletBalance", "totalCrossUnPnl", "availableBalance", "maxWithdrawAmount",
    )  # fmt: skip
    return dict.fromkeys(names, ZERO)


def _usdt_asset() -> dict[str, Any]:
    fields = (
        "walletBalance", "unrealizedProfit", "marginBalance", "maintMargin", "initialMargin",
        "positionInitialMargin", "openOrderInitialMargin", "crossWalletBalance", "crossUnPnl",
        "availableBalance", "maxWithdrawAmount",
    )  # fmt: skip
    return {"asset": "USDT", **dict.fromkeys(fields, ZERO), "updateTime": 0}


def account_v3(_fam: Families, _ex: Exchange, _c: Caller) -> Result:
    """GET /fapi/v3/account: an empty USDⓈ-M wallet, no positions."""
    return 200, {**_totals(), "assets": [_usdt_asset()], "positions": []}


def account_v2(fam: Families, ex: Exchange, c: Caller) -> Result:
    """GET /fapi/v2/account: v3's body plus the account's switches."""
    _, config = account_config(fam, ex, c)
    body = {k: config[k] for k in ("feeTier", "canTrade", "canDeposit", "canWithdraw")}
    body.update({"updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1})
    return 200, {**body, **_totals(), "assets": [_usdt_asset()], "positions": []}


def order_test(_fam: Families, ex: Exchange, c: Caller) -> Result:
    """POST /fapi/v1/order/test: the checks of a new order, never the matching engine. A live
    order/test answered 200 with a zeroed order object (§1.3, OBS)."""
    p = c.params
    symbol = ex.spec(get_required(p, "symbol")).symbol
    side = get_required(p, "side")
    if side not in ("BUY", "SELL"):
        raise errors.error(-1117)
    order_type = get_required(p, "type")
    if order_type not in ORDER_TYPES:
        raise errors.error(-1116)
    client_id = p.get("newClientOrderId")
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise errors.illegal_chars("newClientOrderId", CLIENT_ID_RANGE)
    quantity = get_decimal(p, "quantity")
    price = get_decimal(p, "price")
    if order_type == "LIMIT":
        for name in ("timeInForce", "quantity", "price"):
            get_required(p, name)
    elif order_type == "MARKET" and quantity is None:
        raise errors.mandatory_missing("quantity")
    if quantity is not None and p.get("reduceOnly", "").lower() != "true":
        if price is None:
            quote = ex.ticker_price(symbol)
            price = Decimal(quote["price"] if isinstance(quote, dict) else "0")
        if price * quantity < MIN_NOTIONAL:
            raise errors.error(-4164)
    return 200, _zeroed_order()


def _zeroed_order() -> dict[str, Any]:
    return {
        "orderId": 0, "symbol": "", "status": "", "clientOrderId": "", "price": "0",
        "avgPrice": "0", "origQty": "0", "executedQty": "0", "cumQty": "0", "cumQuote": "0",
        "timeInForce": "", "type": "", "reduceOnly": False, "closePosition": False, "side": "",
        "positionSide": "", "stopPrice": "0", "workingType": "", "priceProtect": False,
        "origType": "", "priceMatch": "", "selfTradePreventionMode": "", "goodTillDate": 0,
        "updateTime": 0,
    }  # fmt: skip


def cancel_order(_fam: Families, ex: Exchange, c: Caller) -> Result:
    """DELETE /fapi/v1/order: no futures order exists here, so a well-formed cancel is 400
    -2011 "Unknown order sent." (observed on the futures testnet, §1.6 F6)."""
    ex.spec(get_required(c.params, "symbol"))
    order_id, client_id = get_long(c.params, "orderId"), c.params.get("origClientOrderId")
    if order_id is None and not client_id:
        raise errors.one_of_missing("orderId", "origClientOrderId")
    raise errors.unknown_order()
