"""The Exchange facade: one method per REST request the exchange answers, over the accounts and
the book; market data and order history are read here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.unsettled import DEFAULT, Behaviour
from keyprobe.emulator.clock import wall_ms
from keyprobe.emulator.exchange import shapes
from keyprobe.emulator.exchange.accounts import Accounts, uid
from keyprobe.emulator.exchange.book import OrderBook
from keyprobe.emulator.exchange.records import ZERO
from keyprobe.emulator.exchange.rules import (
    UNIVERSAL_TRANSFER_TYPES,
    Params,
    ceil_to,
    floor_to,
    get_decimal,
    get_enum,
    get_long,
    get_required,
    history_limit,
    parse_symbols,
    within,
)
from keyprobe.emulator.symbols import EIGHT_PLACES, Seed, SymbolSpec, fmt, symbol_json

# The ASGI app calls every method from its one event-loop thread and never awaits inside one,
# so each call is atomic with respect to the others: no locking is needed here.

DEPTH_MAX = 5000


class Exchange:
    """A spot exchange whose counterparty is a synthetic market at each symbol's last price:
    orders that cross it (and MARKET orders) fill at once in full; others rest, holding funds."""

    def __init__(
        self,
        seed: Seed | None = None,
        now_ms: Callable[[], int] = wall_ms,
        behaviour: Behaviour = DEFAULT,
    ) -> None:
        self.seed = seed or Seed()
        self._now = now_ms
        self._accounts = Accounts(self.seed.balances, now_ms)
        by_side = behaviour.text("orders.percent_price_by_side_name")
        self._book = OrderBook(self.seed, self._accounts, now_ms, by_side)
        self._next_tran_id = 13_526_853_623

    # ------------------------------------------------------------------ market data
    def spec(self, symbol: str) -> SymbolSpec:
        """The symbol's spec (-1121 Invalid symbol for one the exchange does not list)."""
        return self._book.spec(symbol)

    def exchange_info(
        self, symbols: list[str] | None, rate_limits: list[dict[str, Any]]
    ) -> dict[str, Any]:
        book = self._book
        specs = [book.spec(s) for s in symbols] if symbols is not None else book.specs.values()
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": rate_limits,
            "exchangeFilters": [],
            "symbols": [symbol_json(spec) for spec in specs],
        }

    def depth(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        spec = self._book.spec(symbol)
        limit = max(1, min(limit, DEPTH_MAX))
        return {
            "lastUpdateId": self._book.update_id,
            "bids": [[fmt(p), fmt(q)] for p, q in self._side_levels(spec, "BUY", limit)],
            "asks": [[fmt(p), fmt(q)] for p, q in self._side_levels(spec, "SELL", limit)],
        }

    def _side_levels(
        self, spec: SymbolSpec, side: str, limit: int
    ) -> list[tuple[Decimal, Decimal]]:
        """The synthetic market's levels one tick apart from the last price outwards, with
        the accounts' resting orders of that side added in."""
        last = self._book.prices[spec.symbol]
        levels = dict(_synthetic_levels(spec, last, side, limit))
        for order in self._book.books[spec.symbol].orders.values():
            if order.is_open and order.side == side:
                levels[order.price] = levels.get(order.price, ZERO) + order.remaining
        ordered = sorted(levels.items(), reverse=side == "BUY")
        return ordered[:limit]

    def _per_symbol(
        self,
        symbol: str | None,
        symbols: str | None,
        render: Callable[[SymbolSpec], dict[str, Any]],
    ) -> dict[str, Any] | list[dict[str, Any]]:
        # "Parameter symbol and symbols cannot be used in combination."
        if symbol is not None and symbols is not None:
            raise errors.error(-1101, 0)
        if symbol is not None:
            return render(self._book.spec(symbol))
        names = parse_symbols(symbols) if symbols is not None else list(self._book.specs)
        return [render(self._book.spec(name)) for name in names]

    def ticker_price(
        self, symbol: str | None = None, symbols: str | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        prices = self._book.prices
        return self._per_symbol(
            symbol, symbols, lambda s: {"symbol": s.symbol, "price": fmt(prices[s.symbol])}
        )

    def book_ticker(
        self, symbol: str | None = None, symbols: str | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        return self._per_symbol(symbol, symbols, self._book_ticker_of)

    def _book_ticker_of(self, spec: SymbolSpec) -> dict[str, Any]:
        bids = self._side_levels(spec, "BUY", 1)
        asks = self._side_levels(spec, "SELL", 1)
        bid_p, bid_q = bids[0] if bids else (ZERO, ZERO)
        ask_p, ask_q = asks[0] if asks else (ZERO, ZERO)
        return {
            "symbol": spec.symbol,
            "bidPrice": fmt(bid_p),
            "bidQty": fmt(bid_q),
            "askPrice": fmt(ask_p),
            "askQty": fmt(ask_q),
        }

    def avg_price(self, symbol: str) -> dict[str, Any]:
        spec = self._book.spec(symbol)
        trades = self._book.books[symbol].trades
        close_time = trades[-1].time if trades else self._now()
        return {
            "mins": spec.avg_price_mins,
            "price": fmt(self._book.prices[symbol]),
            "closeTime": close_time,
        }

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market (admin and tests). Resting orders the new price reaches fill in full
        at their own limit price, as makers."""
        self._book.set_price(symbol, price)

    # ------------------------------------------------------------------ account
    def account(
        self, account: str, omit_zero: bool = False, can_trade: bool = True
    ) -> dict[str, Any]:
        """GET /api/v3/account (reference §8.1)."""
        acct = self._accounts.get(account)
        maker, taker = self.seed.maker_commission, self.seed.taker_commission
        return shapes.account_json(acct, uid(account), maker, taker, omit_zero, can_trade)

    def commission(self, account: str, symbol: str) -> dict[str, Any]:
        """GET /api/v3/account/commission."""
        spec = self._book.spec(symbol)
        self._accounts.get(account)
        return shapes.commission_json(
            spec.symbol, self.seed.maker_commission, self.seed.taker_commission
        )

    def open_orders(self, account: str, symbol: str | None = None) -> list[dict[str, Any]]:
        book = self._book
        symbols = [book.spec(symbol).symbol] if symbol is not None else list(book.specs)
        found = [o for s in symbols for o in book.open_of(account, s)]
        found.sort(key=lambda o: (o.time, o.symbol, o.order_id))
        return [shapes.order_json(o) for o in found]

    def all_orders(self, account: str, params: Params) -> list[dict[str, Any]]:
        """GET /api/v3/allOrders: from ``orderId`` on, or within [startTime, endTime]; without
        either, the most recent ``limit`` orders."""
        spec = self._book.spec(get_required(params, "symbol"))
        order_id, start, end = (get_long(params, k) for k in ("orderId", "startTime", "endTime"))
        orders = [
            o
            for o in self._book.orders_of(account, spec.symbol)
            if (order_id is None or o.order_id >= order_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        limit = history_limit(params)
        chosen = orders[:limit] if order_id is not None or start is not None else orders[-limit:]
        return [shapes.order_json(o) for o in chosen]

    def my_trades(self, account: str, params: Params) -> list[dict[str, Any]]:
        """GET /api/v3/myTrades, with orderId / fromId / startTime / endTime / limit."""
        spec = self._book.spec(get_required(params, "symbol"))
        order_id, from_id, start, end = (
            get_long(params, k) for k in ("orderId", "fromId", "startTime", "endTime")
        )
        trades = [
            t
            for t in self._book.books[spec.symbol].trades
            if t.account == account
            and (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        limit = history_limit(params)
        chosen = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
        return [shapes.trade_json(t) for t in chosen]

    def query_order(self, account: str, params: Params) -> dict[str, Any]:
        spec = self._book.spec(get_required(params, "symbol"))
        order_id, client_id = get_long(params, "orderId"), params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.one_of_missing("origClientOrderId", "orderId")
        order = self._book.find(account, spec.symbol, order_id, client_id)
        if order is None:
            raise errors.no_such_order()
        return shapes.order_json(order)

    # ------------------------------------------------------------------ orders
    def new_order(self, account: str, params: Params, *, test: bool = False) -> dict[str, Any]:
        """POST /api/v3/order, or /order/test with ``test``: every check up to the matching
        engine, which order/test never reaches (so no duplicate-id, would-take or balance
        check there), and no state change."""
        draft = self._book.draft(params)
        self._book.check_max_orders(account, draft.spec)
        if test:
            compute = params.get("computeCommissionRates", "").lower() == "true"
            return shapes.order_test_json(
                compute, self.seed.maker_commission, self.seed.taker_commission
            )
        order, fills = self._book.place(account, draft)
        return shapes.order_response(order, fills, draft.resp_type)

    def cancel_order(self, account: str, params: Params) -> dict[str, Any]:
        """DELETE /api/v3/order."""
        return self._book.cancel_order(account, params)

    def cancel_open_orders(self, account: str, symbol: str) -> list[dict[str, Any]]:
        """DELETE /api/v3/openOrders: nothing open is -2011 "Unknown order sent." (observed)."""
        return self._book.cancel_open_orders(account, symbol)

    def cancel_replace(
        self, account: str, params: Params, *, order_limit: BinanceError | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /api/v3/order/cancelReplace → (HTTP status, body). ``order_limit``: the app
        found the unfilled order count exhausted (-1015); with orderRateLimitExceededMode=
        CANCEL_ONLY the cancel still runs."""
        return self._book.cancel_replace(account, params, order_limit)

    # ------------------------------------------------------------------ SAPI (business part)
    def withdraw(self, account: str, params: Params) -> dict[str, Any]:
        """POST /sapi/v1/capital/withdraw/apply: the coin leaves the spot wallet at once.
        Binance's SAPI answers a short balance with its own wallet code (-4026 "User has
        insufficient balance", not in the spot catalogue); the spot -2010 stands in for it."""
        coin = get_required(params, "coin")
        get_required(params, "address")
        amount = get_decimal(params, "amount")
        if amount is None or amount <= 0:
            raise errors.mandatory_missing("amount")
        self._accounts.debit(account, coin, amount)
        return {"id": uuid.uuid4().hex}

    def universal_transfer(self, account: str, params: Params) -> dict[str, Any]:
        """POST /sapi/v1/asset/transfer: only transfers out of MAIN (spot) show on spot."""
        kind = get_enum(params, "type", UNIVERSAL_TRANSFER_TYPES, "")
        asset = get_required(params, "asset")
        amount = get_decimal(params, "amount")
        if amount is None or amount <= 0:
            raise errors.mandatory_missing("amount")
        if kind.startswith("MAIN_"):
            self._accounts.debit(account, asset, amount)
        tran_id = self._next_tran_id
        self._next_tran_id += 1
        return {"tranId": tran_id}

    def margin_account(self, account: str) -> dict[str, Any]:
        """GET /sapi/v1/margin/account: an empty cross-margin account."""
        return shapes.margin_account_json(self._accounts.get(account).balances)

    # ------------------------------------------------------------------ reset, introspection
    def reset(self) -> None:
        """The testnet's monthly reset: orders and trades gone, every known account refilled
        to the seed, prices back to the seed's. Id counters keep counting, so an id seen
        before the reset never names a different order after it."""
        self._book.reset()
        self._accounts.reset()

    def holdings(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset: for tests and the admin surface."""
        return self._accounts.holdings(account)

    def held_by_open_orders(self, account: str) -> dict[str, Decimal]:
        return self._book.held_by_open_orders(account)


def _synthetic_levels(
    spec: SymbolSpec, last: Decimal, side: str, count: int
) -> Iterable[tuple[Decimal, Decimal]]:
    tick = spec.tick_size or EIGHT_PLACES
    if side == "BUY":
        start, direction = floor_to(last, tick) - tick, -1
    else:
        start, direction = ceil_to(last, tick) + tick, 1
    for i in range(count):
        price = start + direction * i * tick
        if price <= 0 or not within(price, spec.min_price, spec.max_price):
            return
        # Deterministic, varied sizes worth a few minimum notionals each.
        worth = (spec.min_notional or Decimal(5)) * (2 + (i * 7) % 11)
        qty = max(ceil_to(worth / price, spec.step_size), spec.min_qty)
        yield price, qty
