"""The probes of the permission families beyond spot (issue 13; reference
``binance-permissions-beyond-spot.md``): USDⓈ-M futures at /fapi (§1.6), margin orders and
borrow/repay (§2), and accounts: another account's order must look like no order at all (§4).
Their expectations are derived like every probe's (``expectations.py``), from the profile's
flags and the endpoint catalogue (``binance/endpoints_families.py``); probes.CATALOGUE holds
them last."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from keyprobe.harness.probes import (
    Category,
    Probe,
    ProbeContext,
    Setup,
    _none,
    _small_amount,
    _unknown_order,
    known,
)

# A futures order/test must have a notional of at least 5 USDT (§1.3, observed -4164); the
# probe asks for a little more. [UNC] a live futures symbol's own filters (tick, step, price
# band) are not read: a filter error there shows as MISMATCH with its answer, never as a
# permission verdict.
FUTURES_MIN_NOTIONAL = Decimal(6)


def _futures_order(ctx: ProbeContext) -> list[tuple[str, str]]:
    # The spot recipe's bid far below the market, as a futures LIMIT GTC (order/test never
    # reaches the matching engine anyway).
    price = Decimal(ctx.recipe.price)
    quantity = Decimal(ctx.recipe.quantity)
    if price * quantity < FUTURES_MIN_NOTIONAL:
        exponent = quantity.as_tuple().exponent
        step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
        quantity = (FUTURES_MIN_NOTIONAL / price / step).to_integral_value(ROUND_CEILING) * step
    return [
        ("symbol", ctx.symbol),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", f"{quantity:f}"),
        ("price", ctx.recipe.price),
        ("newClientOrderId", ctx.client_order_id()),
    ]


def _repay(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [
        ("asset", "USDT"),
        ("isIsolated", "FALSE"),
        ("amount", _small_amount(ctx.fake)),
        ("type", "REPAY"),
    ]


def _foreign_order(ctx: ProbeContext) -> list[tuple[str, str]]:
    # By the exchange's orderId when the placement answered one: ids are unique per symbol
    # across accounts, so only the account check stands between this key and the order.
    if ctx.setup_order_number is not None:
        return [("symbol", ctx.symbol), ("orderId", ctx.setup_order_number)]
    return [("symbol", ctx.symbol), ("origClientOrderId", ctx.setup_order_id or "")]


FAMILIES: tuple[Probe, ...] = (
    # -- futures (§1.6 F3, F5, F6): reads need Reading, order/test and cancel enableFutures
    Probe(
        "futures_account",
        Category.FUTURES,
        "futuresAccountV3",
        _none,
        "GET /fapi/v3/account (futures read)",
    ),
    Probe(
        "futures_test_order",
        Category.FUTURES,
        "futuresTestOrder",
        _futures_order,
        "POST /fapi/v1/order/test: a LIMIT far below the market, never sent to matching",
    ),
    Probe(
        "futures_cancel_unknown",
        Category.FUTURES,
        "futuresCancelOrder",
        _unknown_order,
        "DELETE /fapi/v1/order of an order that does not exist (-2011 proves futures TRADE)",
        allowed=known(-2011),
    ),
    # -- margin (§2 M2, M3): orders need Spot & Margin Trading, borrow/repay enableMargin
    Probe(
        "margin_cancel_unknown",
        Category.MARGIN,
        "marginCancelOrder",
        _unknown_order,
        "DELETE /sapi/v1/margin/order of an order that does not exist (-2011 proves TRADE)",
        allowed=known(-2011),
    ),
    Probe(
        "margin_repay",
        Category.MARGIN,
        "marginBorrowRepay",
        _repay,
        "POST /sapi/v1/margin/borrow-repay REPAY with no debt (-3015 proves enableMargin; "
        "a real repay if the account owes: embedded emulator or --margin-repay only)",
        allowed=known(-3015),
        changes_state=True,
        opt_in=True,
    ),
    # -- accounts (§4): another account's order is indistinguishable from none [INF]
    Probe(
        "cross_account_query",
        Category.ACCOUNTS,
        "queryOrder",
        _foreign_order,
        "GET /api/v3/order of an order another account placed (-2013: it does not exist here)",
        allowed=known(-2013),
        changes_state=True,
        setup=Setup.OTHER_ACCOUNT_ORDER,
    ),
    Probe(
        "cross_account_cancel",
        Category.ACCOUNTS,
        "cancelOrder",
        _foreign_order,
        "DELETE /api/v3/order of an order another account placed (-2011: unknown here)",
        allowed=known(-2011),
        changes_state=True,
        setup=Setup.OTHER_ACCOUNT_ORDER,
    ),
    # -- lifecycle (§5): each on a key of its own, changed through API Management (REST only;
    # harness/lifecycle.py runs them, expectations.lifecycle derives the decisive answer)
    Probe(
        "permission_removed",
        Category.LIFECYCLE,
        "newOrder",
        _none,
        "Spot & Margin Trading removed while an order rests: the next order is refused, the "
        "order stays, the restored key cancels it",
        changes_state=True,
    ),
    Probe(
        "trading_expired",
        Category.LIFECYCLE,
        "testOrder",
        _none,
        "tradingAuthorityExpirationTime in the past: order/test is refused, reads still answer",
        changes_state=True,
    ),
)
