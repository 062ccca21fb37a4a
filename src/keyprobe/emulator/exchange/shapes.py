"""Response rendering: orders, fills, cancels, trades, accounts, commissions and cancel-replace
answers in the JSON shapes (and key order) Binance sends."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.emulator.exchange.accounts import Account
from keyprobe.emulator.exchange.records import ZERO, Order, Trade
from keyprobe.emulator.symbols import fmt

# --------------------------------------------------------------------------- orders and trades


def _order_core(order: Order) -> dict[str, Any]:
    return {
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "origQuoteOrderQty": fmt(order.orig_quote_qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    }


def _conditional(order: Order) -> dict[str, Any]:
    """Fields Binance adds only when the request carried them."""
    extra: dict[str, Any] = {}
    if order.iceberg_qty is not None:
        extra["icebergQty"] = fmt(order.iceberg_qty)
    if order.strategy_id is not None:
        extra["strategyId"] = order.strategy_id
    if order.strategy_type is not None:
        extra["strategyType"] = order.strategy_type
    return extra


def _ack_json(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def _result_json(order: Order) -> dict[str, Any]:
    return {
        **_ack_json(order),
        **_order_core(order),
        "workingTime": order.time,
        **_conditional(order),
        "selfTradePreventionMode": order.stp_mode,
    }


def _fill_json(trade: Trade) -> dict[str, Any]:
    return {
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "tradeId": trade.trade_id,
    }


def order_response(order: Order, fills: list[Trade], resp_type: str) -> dict[str, Any]:
    """POST /api/v3/order's answer in the requested shape (reference §7)."""
    if resp_type == "ACK":
        return _ack_json(order)
    if resp_type == "RESULT":
        return _result_json(order)
    return {**_result_json(order), "fills": [_fill_json(t) for t in fills]}


def order_json(order: Order) -> dict[str, Any]:
    """GET /api/v3/order's shape (also each item of openOrders and allOrders)."""
    core = _order_core(order)
    orig_quote = core.pop("origQuoteOrderQty")
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **core,
        "stopPrice": fmt(ZERO),
        "icebergQty": fmt(order.iceberg_qty or ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.time,
        "origQuoteOrderQty": orig_quote,
        **{k: v for k, v in _conditional(order).items() if k != "icebergQty"},
        "selfTradePreventionMode": order.stp_mode,
    }


def cancel_json(order: Order, cancel_client_id: str, now: int) -> dict[str, Any]:
    """DELETE /api/v3/order's shape: ``clientOrderId`` is the cancel's own id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": now,
        **_order_core(order),
        **_conditional(order),
        "selfTradePreventionMode": order.stp_mode,
    }


def trade_json(trade: Trade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


# --------------------------------------------------------------------------- cancel-replace


def error_json(exc: BinanceError) -> dict[str, Any]:
    """An error as cancelReplace embeds it in its answer."""
    return {"code": exc.code, "msg": exc.msg}


def replace_failure(
    code: int,
    cancel_body: dict[str, Any],
    new_result: str,
    new_body: dict[str, Any] | None,
    cancel_ok: bool = False,
) -> dict[str, Any]:
    return {
        "code": code,
        "msg": errors.message(code),
        "data": {
            "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
            "newOrderResult": new_result,
            "cancelResponse": cancel_body,
            "newOrderResponse": new_body,
        },
    }


# --------------------------------------------------------------------------- accounts


def account_json(
    acct: Account,
    uid: int,
    maker: Decimal,
    taker: Decimal,
    omit_zero: bool,
    can_trade: bool,
) -> dict[str, Any]:
    """GET /api/v3/account (reference §8.1)."""
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt(maker),
            "taker": fmt(taker),
            "buyer": fmt(ZERO),
            "seller": fmt(ZERO),
        },
        "canTrade": can_trade,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": acct.update_time,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": fmt(b.free), "locked": fmt(b.locked)}
            for asset, b in acct.balances.items()
            if not (omit_zero and b.free == 0 and b.locked == 0)
        ],
        "permissions": ["SPOT"],
        "uid": uid,
    }


def _discount() -> dict[str, Any]:
    # Commission is never paid in BNB here, so the account-side discount is off.
    return {
        "enabledForAccount": False,
        "enabledForSymbol": True,
        "discountAsset": "BNB",
        "discount": "0.25000000",
    }


def commission_json(symbol: str, maker: Decimal, taker: Decimal) -> dict[str, Any]:
    """GET /api/v3/account/commission."""
    zeros = {"maker": fmt(ZERO), "taker": fmt(ZERO), "buyer": fmt(ZERO), "seller": fmt(ZERO)}
    return {
        "symbol": symbol,
        "standardCommission": {
            "maker": fmt(maker),
            "taker": fmt(taker),
            "buyer": fmt(ZERO),
            "seller": fmt(ZERO),
        },
        "specialCommission": dict(zeros),
        "taxCommission": dict(zeros),
        "discount": _discount(),
    }


def order_test_json(compute_rates: bool, maker: Decimal, taker: Decimal) -> dict[str, Any]:
    """POST /api/v3/order/test: empty, or with computeCommissionRates the order's rates."""
    if not compute_rates:
        return {}
    zero = {"maker": fmt(ZERO), "taker": fmt(ZERO)}
    return {
        "standardCommissionForOrder": {"maker": fmt(maker), "taker": fmt(taker)},
        "specialCommissionForOrder": dict(zero),
        "taxCommissionForOrder": dict(zero),
        "discount": _discount(),
    }


def margin_account_json(assets: Iterable[str]) -> dict[str, Any]:
    """GET /sapi/v1/margin/account: an empty cross-margin account listing the spot assets."""
    zero = fmt(ZERO)
    return {
        "created": True,
        "borrowEnabled": True,
        "marginLevel": "999.00000000",
        "collateralMarginLevel": "999.00000000",
        "totalAssetOfBtc": zero,
        "totalLiabilityOfBtc": zero,
        "totalNetAssetOfBtc": zero,
        "TotalCollateralValueInUSDT": zero,
        "tradeEnabled": True,
        "transferInEnabled": True,
        "transferOutEnabled": True,
        "accountType": "MARGIN_1",
        "userAssets": [
            {
                "asset": asset,
                "borrowed": zero,
                "free": zero,
                "interest": zero,
                "locked": zero,
                "netAsset": zero,
            }
            for asset in assets
        ],
    }
