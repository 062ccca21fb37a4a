"""The matching engine: every symbol's orders and trades against its last price; placing,
filling, resting with held funds, cancels and cancel-replace."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.params import CANCEL_REPLACE_MODES
from keyprobe.emulator.exchange import rules, shapes
from keyprobe.emulator.exchange.accounts import Accounts
from keyprobe.emulator.exchange.records import (
    ZERO,
    Order,
    SymbolBook,
    Trade,
    new_client_order_id,
)
from keyprobe.emulator.exchange.rules import Draft, Params, get_enum, get_long, get_required
from keyprobe.emulator.symbols import EIGHT_PLACES, Seed, SymbolSpec


def _crosses(side: str, price: Decimal, last: Decimal) -> bool:
    """Does a limit order at ``price`` reach the market at ``last``?"""
    return price >= last if side == "BUY" else price <= last


class OrderBook:
    """A synthetic counterparty at each symbol's last price: orders that cross it (and MARKET
    orders) fill at once in full; others rest, holding their funds in ``accounts``."""

    def __init__(
        self, seed: Seed, accounts: Accounts, now_ms: Callable[[], int], by_side_name: str
    ) -> None:
        # The name a PERCENT_PRICE_BY_SIDE failure reports (orders.percent_price_by_side_name).
        self.by_side_name = by_side_name
        self.specs: dict[str, SymbolSpec] = dict(seed.symbols)
        self.prices: dict[str, Decimal] = {s: spec.price for s, spec in self.specs.items()}
        self.books: dict[str, SymbolBook] = {s: SymbolBook() for s in self.specs}
        # depth's lastUpdateId: moves on every change to any book.
        self.update_id = 1_000
        self._accounts = accounts
        self._now = now_ms
        self._maker, self._taker = seed.maker_commission, seed.taker_commission

    # ------------------------------------------------------------------ lookups
    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return self.specs[symbol]
        except KeyError:
            raise errors.bad_symbol() from None

    def orders_of(self, account: str, symbol: str) -> list[Order]:
        return [o for o in self.books[symbol].orders.values() if o.account == account]

    def open_of(self, account: str, symbol: str) -> list[Order]:
        return [o for o in self.orders_of(account, symbol) if o.is_open]

    def find(
        self, account: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        """By orderId first; then origClientOrderId must match that order. By client id alone,
        the most recent order carrying it (at most one of them can be open)."""
        if order_id is not None:
            order = self.books[symbol].orders.get(order_id)
            if order is None or order.account != account:
                return None
            if client_id is not None and order.client_order_id != client_id:
                return None
            return order
        for order in reversed(self.orders_of(account, symbol)):
            if order.client_order_id == client_id:
                return order
        return None

    def held_by_open_orders(self, account: str) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        for book in self.books.values():
            for order in book.orders.values():
                if order.account == account and order.is_open and order.held:
                    held[order.held_asset] = held.get(order.held_asset, ZERO) + order.held
        return held

    # ------------------------------------------------------------------ the market
    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market. Resting orders the new price reaches fill in full at their own
        limit price, as makers."""
        spec = self.spec(symbol)
        self.prices[symbol] = price
        for order in list(self.books[symbol].orders.values()):
            if order.is_open and _crosses(order.side, order.price, price):
                self._fill(spec, order, order.price, maker=True)

    def reset(self) -> None:
        """Orders and trades gone, prices back to the seed's; id counters keep counting, so an
        id seen before a reset never names a different order after it."""
        for symbol, book in self.books.items():
            book.orders.clear()
            book.trades.clear()
            self.prices[symbol] = self.specs[symbol].price
        self.update_id += 1

    # ------------------------------------------------------------------ new orders
    def draft(self, params: Params) -> Draft:
        spec = self.spec(get_required(params, "symbol"))
        return rules.draft(spec, params, self.prices[spec.symbol], self.by_side_name)

    def check_max_orders(self, account: str, spec: SymbolSpec) -> None:
        if spec.max_num_orders and len(self.open_of(account, spec.symbol)) >= spec.max_num_orders:
            raise errors.filter_failure("MAX_NUM_ORDERS")

    def place(self, account: str, draft: Draft) -> tuple[Order, list[Trade]]:
        """The matching engine: its own rejections (-2010), then fill, expire or rest."""
        spec = draft.spec
        if spec.status != "TRADING":
            raise errors.error(-2010, 3)  # "Market is closed."
        client_id = draft.client_order_id or new_client_order_id()
        if any(o.client_order_id == client_id for o in self.open_of(account, spec.symbol)):
            raise errors.duplicate_order()
        last = self.prices[spec.symbol]
        takes = draft.type == "MARKET" or _crosses(draft.side, draft.price, last)
        if (last if draft.type == "MARKET" else draft.price) * draft.quantity <= 0:
            raise errors.error(-2010, 4)  # "Price * QTY is zero or less."
        asset, needed = _needs(draft, last)
        acct = self._accounts.get(account)
        if self._accounts.balance(acct, asset).free < needed:
            raise errors.insufficient_balance()
        if takes and draft.type == "LIMIT_MAKER":
            raise errors.would_take()
        order = self._record(account, draft, client_id)
        if takes:
            return order, [self._fill(spec, order, last, maker=False)]
        if order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"  # nothing to take at that price, and it may not rest
            return order, []
        self._accounts.hold(acct, order, asset, needed)
        return order, []

    def _record(self, account: str, draft: Draft, client_id: str) -> Order:
        book = self.books[draft.spec.symbol]
        now = self._now()
        order = Order(
            account=account,
            symbol=draft.spec.symbol,
            order_id=book.next_order_id,
            client_order_id=client_id,
            side=draft.side,
            type=draft.type,
            time_in_force=draft.time_in_force,
            price=draft.price,
            orig_qty=draft.quantity,
            orig_quote_qty=draft.quote_qty,
            stp_mode=draft.stp_mode,
            time=now,
            update_time=now,
            iceberg_qty=draft.iceberg_qty,
            strategy_id=draft.strategy_id,
            strategy_type=draft.strategy_type,
        )
        book.next_order_id += 1
        book.orders[order.order_id] = order
        self.update_id += 1
        return order

    def _fill(self, spec: SymbolSpec, order: Order, price: Decimal, *, maker: bool) -> Trade:
        """Fill the rest of ``order`` at ``price``; commission is taken from what is received."""
        self._accounts.release(order)
        acct = self._accounts.get(order.account)
        qty = order.remaining
        quote = price * qty
        rate = self._maker if maker else self._taker
        base_bal = self._accounts.balance(acct, spec.base_asset)
        quote_bal = self._accounts.balance(acct, spec.quote_asset)
        if order.side == "BUY":
            commission = (qty * rate).quantize(EIGHT_PLACES, ROUND_HALF_UP)
            quote_bal.free -= quote
            base_bal.free += qty - commission
            commission_asset = spec.base_asset
        else:
            commission = (quote * rate).quantize(EIGHT_PLACES, ROUND_HALF_UP)
            base_bal.free -= qty
            quote_bal.free += quote - commission
            commission_asset = spec.quote_asset
        now = self._now()
        book = self.books[spec.symbol]
        trade = Trade(
            order.account, spec.symbol, book.next_trade_id, order.order_id, price, qty, quote,
            commission, commission_asset, now, order.side == "BUY", maker,
        )  # fmt: skip
        book.next_trade_id += 1
        book.trades.append(trade)
        order.executed_qty += qty
        order.cumm_quote_qty += quote
        order.status = "FILLED"
        order.update_time = acct.update_time = now
        self.update_id += 1
        return trade

    # ------------------------------------------------------------------ cancels
    def cancel_order(self, account: str, params: Params) -> dict[str, Any]:
        spec = self.spec(get_required(params, "symbol"))
        restriction = rules.cancel_restriction(params)
        order = self._cancel_target(
            account,
            spec.symbol,
            get_long(params, "orderId"),
            params.get("origClientOrderId"),
            ("origClientOrderId", "orderId"),
        )
        return self._cancel(order, params.get("newClientOrderId"), restriction)

    def cancel_open_orders(self, account: str, symbol: str) -> list[dict[str, Any]]:
        spec = self.spec(symbol)
        orders = self.open_of(account, spec.symbol)
        if not orders:
            raise errors.unknown_order()
        # Binance gives every cancel of one batch the same generated clientOrderId.
        cancel_id = new_client_order_id()
        return [self._cancel(order, cancel_id, None) for order in orders]

    def _cancel_target(
        self,
        account: str,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
        names: tuple[str, str],
    ) -> Order:
        if order_id is None and client_id is None:
            raise errors.one_of_missing(*names)
        order = self.find(account, symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise errors.unknown_order()
        return order

    def _cancel(
        self, order: Order, cancel_id: str | None, restriction: str | None
    ) -> dict[str, Any]:
        if restriction is not None and order.status != restriction.removeprefix("ONLY_"):
            raise errors.error(-2011, 1)  # "Order was not canceled due to cancel restrictions."
        self._accounts.release(order)
        now = self._now()
        order.status = "CANCELED"
        order.update_time = self._accounts.get(order.account).update_time = now
        self.update_id += 1
        return shapes.cancel_json(order, cancel_id or new_client_order_id(), now)

    # ------------------------------------------------------------------ cancel-replace
    def cancel_replace(
        self, account: str, params: Params, order_limit: BinanceError | None
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) per D-REST's matrix. The new order's parameters and filters are
        checked before anything happens; then the cancel; then the placement. ``order_limit``:
        the unfilled order count is exhausted (-1015); with CANCEL_ONLY the cancel still runs."""
        spec = self.spec(get_required(params, "symbol"))
        mode = get_enum(params, "cancelReplaceMode", CANCEL_REPLACE_MODES, "")
        limit_mode = get_enum(
            params, "orderRateLimitExceededMode", rules.RATE_LIMIT_MODES, "DO_NOTHING"
        )
        if order_limit is not None and limit_mode == "DO_NOTHING":
            raise order_limit
        if "cancelOrderId" not in params and "cancelOrigClientOrderId" not in params:
            raise errors.one_of_missing("cancelOrigClientOrderId", "cancelOrderId")
        restriction = rules.cancel_restriction(params)
        draft = self.draft(params)

        cancel_ok, cancel_body = self._replace_cancel(account, spec.symbol, params, restriction)
        if not cancel_ok and mode == "STOP_ON_FAILURE":
            status = 429 if order_limit is not None else 400
            return status, shapes.replace_failure(-2022, cancel_body, "NOT_ATTEMPTED", None)
        new_ok, new_body = self._replace_placement(account, draft, order_limit)
        if cancel_ok and new_ok:
            return 200, {
                "cancelResult": "SUCCESS",
                "newOrderResult": "SUCCESS",
                "cancelResponse": cancel_body,
                "newOrderResponse": new_body,
            }
        code = -2021 if cancel_ok or new_ok else -2022
        status = errors.CATALOGUE[code].status
        if order_limit is not None and mode == "STOP_ON_FAILURE":
            status = 429
        return status, shapes.replace_failure(
            code, cancel_body, "SUCCESS" if new_ok else "FAILURE", new_body, cancel_ok
        )

    def _replace_cancel(
        self, account: str, symbol: str, params: Params, restriction: str | None
    ) -> tuple[bool, dict[str, Any]]:
        try:
            target = self._cancel_target(
                account,
                symbol,
                get_long(params, "cancelOrderId"),
                params.get("cancelOrigClientOrderId"),
                ("cancelOrigClientOrderId", "cancelOrderId"),
            )
            return True, self._cancel(target, params.get("cancelNewClientOrderId"), restriction)
        except BinanceError as exc:
            return False, shapes.error_json(exc)

    def _replace_placement(
        self, account: str, draft: Draft, order_limit: BinanceError | None
    ) -> tuple[bool, dict[str, Any]]:
        if order_limit is not None:
            return False, shapes.error_json(order_limit)
        try:
            self.check_max_orders(account, draft.spec)
            order, fills = self.place(account, draft)
        except BinanceError as exc:
            return False, shapes.error_json(exc)
        return True, shapes.order_response(order, fills, draft.resp_type)


def _needs(draft: Draft, last: Decimal) -> tuple[str, Decimal]:
    """What placing the order requires free: for a BUY the quote at the limit (or market)
    price, or all of quoteOrderQty; for a SELL the base quantity."""
    if draft.side == "SELL":
        return draft.spec.base_asset, draft.quantity
    if draft.quote_qty:
        return draft.spec.quote_asset, draft.quote_qty  # the most it may spend
    price = last if draft.type == "MARKET" else draft.price
    return draft.spec.quote_asset, price * draft.quantity
