"""The emulator's exchange engine: accounts, balances, orders, fills and market data, with
Binance's business validation and response shapes. Pure Python; HTTP and auth live in the app."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.endpoints import (
    CANCEL_REPLACE_MODES,
    CANCEL_RESTRICTIONS,
    DECIMAL_RANGE,
    LONG_RANGE,
    ORDER_TYPES,
    PATTERN,
    RESP_TYPES,
    SIDES,
    STP_MODES,
    TIME_IN_FORCE,
    Kind,
)
from keyprobe.binance.errors import BinanceError
from keyprobe.emulator.symbols import EIGHT_PLACES, Seed, SymbolSpec, fmt, symbol_json

# The ASGI app calls every method from its one event-loop thread and never awaits inside one,
# so each call is atomic with respect to the others: no locking is needed here.

Params = Mapping[str, str]
ZERO = Decimal(0)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
# The legal range Binance prints when ``symbols=[...]`` is not a JSON array of names.
SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
RATE_LIMIT_MODES = ("DO_NOTHING", "CANCEL_ONLY")
DEPTH_MAX = 5000
HISTORY_DEFAULT, HISTORY_MAX = 500, 1000
UNIVERSAL_TRANSFER_TYPES = (
    "MAIN_UMFUTURE", "MAIN_CMFUTURE", "MAIN_MARGIN", "UMFUTURE_MAIN", "UMFUTURE_MARGIN",
    "CMFUTURE_MAIN", "CMFUTURE_MARGIN", "MARGIN_MAIN", "MARGIN_UMFUTURE", "MARGIN_CMFUTURE",
    "ISOLATEDMARGIN_MARGIN", "MARGIN_ISOLATEDMARGIN", "ISOLATEDMARGIN_ISOLATEDMARGIN",
    "MAIN_FUNDING", "FUNDING_MAIN", "FUNDING_UMFUTURE", "UMFUTURE_FUNDING", "MARGIN_FUNDING",
    "FUNDING_MARGIN", "FUNDING_CMFUTURE", "CMFUTURE_FUNDING", "MAIN_OPTION", "OPTION_MAIN",
    "UMFUTURE_OPTION", "OPTION_UMFUTURE", "MARGIN_OPTION", "OPTION_MARGIN", "FUNDING_OPTION",
    "OPTION_FUNDING", "MAIN_PORTFOLIO_MARGIN", "PORTFOLIO_MARGIN_MAIN",
)  # fmt: skip
_ID_ALPHABET = string.ascii_letters + string.digits


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def new_client_order_id() -> str:
    """An id in the style Binance generates: 22 random alphanumerics."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


def parse_symbols(raw: str) -> list[str]:
    """``symbols=["BTCUSDT","BNBUSDT"]``: a JSON array of strings, as Binance takes it."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.illegal_chars("symbols", SYMBOLS_RANGE) from None
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise errors.bad_symbol()
    return value


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class Balance:
    free: Decimal
    locked: Decimal = ZERO


@dataclass(slots=True)
class Account:
    balances: dict[str, Balance]
    update_time: int


@dataclass(slots=True)
class Order:
    account: str
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    stp_mode: str
    time: int
    update_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumm_quote_qty: Decimal = ZERO
    # What this order holds in its account's ``locked``: ``held`` of ``held_asset``.
    held_asset: str = ""
    held: Decimal = ZERO
    iceberg_qty: Decimal | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@dataclass(frozen=True, slots=True)
class Trade:
    account: str
    symbol: str
    trade_id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(frozen=True, slots=True)
class Draft:
    """A new order that passed every check the API makes before the matching engine."""

    spec: SymbolSpec
    side: str
    type: str
    time_in_force: str
    price: Decimal  # the limit price; zero for MARKET
    quantity: Decimal  # base quantity (derived from quoteOrderQty when that was sent)
    quote_qty: Decimal  # origQuoteOrderQty: zero unless sent
    client_order_id: str | None
    resp_type: str
    stp_mode: str
    iceberg_qty: Decimal | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None


@dataclass(slots=True)
class _Book:
    """Per-symbol engine state: orders by id (ascending), trades, id counters."""

    orders: dict[int, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    next_order_id: int = 1
    next_trade_id: int = 1


# --------------------------------------------------------------------------- param helpers


def _decimal(params: Params, name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not PATTERN[Kind.DECIMAL].fullmatch(raw):
        raise errors.illegal_chars(name, DECIMAL_RANGE)
    return Decimal(raw)


def _long(params: Params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not PATTERN[Kind.LONG].fullmatch(raw):
        raise errors.illegal_chars(name, LONG_RANGE)
    return int(raw)


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise errors.mandatory_missing(name)
    return value


def _enum(params: Params, name: str, allowed: Iterable[str], default: str) -> str:
    value = params.get(name, default)
    allowed = tuple(allowed)
    if value not in allowed:
        raise errors.illegal_chars(name, ", ".join(allowed))
    return value


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _check_precision(name: str, value: Decimal | None, precision: int) -> None:
    # Trailing zeros are not precision: "0.00100000000" is 0.001.
    if value is not None and _places(value) > precision:
        raise errors.too_much_precision(name)


def _floor_to(value: Decimal, step: Decimal) -> Decimal:
    if step == 0:
        return value
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def _ceil_to(value: Decimal, step: Decimal) -> Decimal:
    if step == 0:
        return value
    return (value / step).to_integral_value(ROUND_CEILING) * step


def _history_limit(params: Params) -> int:
    limit = _long(params, "limit")
    if limit is None or limit <= 0:
        return HISTORY_DEFAULT
    return min(limit, HISTORY_MAX)


@lru_cache(maxsize=4096)  # asked on every account read; the answer never changes
def _uid(account: str) -> int:
    # A stable nine-digit uid per account id, like Binance's.
    digest = hashlib.sha256(account.encode()).digest()
    return 100_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000


def _error_json(exc: BinanceError) -> dict[str, Any]:
    return {"code": exc.code, "msg": exc.msg}


# --------------------------------------------------------------------------- filters


def _fail_unless(ok: bool, name: str) -> None:
    if not ok:
        raise errors.filter_failure(name)


def _within(value: Decimal, low: Decimal, high: Decimal) -> bool:
    # A zero bound disables its side of the rule.
    return (low == 0 or value >= low) and (high == 0 or value <= high)


def _price_filter(spec: SymbolSpec, price: Decimal) -> None:
    on_tick = spec.tick_size == 0 or price % spec.tick_size == 0
    _fail_unless(_within(price, spec.min_price, spec.max_price) and on_tick, "PRICE_FILTER")


def _lot(qty: Decimal, low: Decimal, high: Decimal, step: Decimal, name: str) -> None:
    on_step = step == 0 or (qty - low) % step == 0
    _fail_unless(_within(qty, low, high) and on_step, name)


def _iceberg_parts(spec: SymbolSpec, draft: Draft) -> None:
    if draft.iceberg_qty is None:
        return
    parts = (draft.quantity / draft.iceberg_qty).to_integral_value(ROUND_CEILING)
    _fail_unless(draft.iceberg_qty > 0 and parts <= spec.iceberg_parts, "ICEBERG_PARTS")


def _percent_price_by_side(spec: SymbolSpec, price: Decimal, side: str, avg: Decimal) -> None:
    if side == "BUY":
        low, high = spec.bid_multiplier_down, spec.bid_multiplier_up
    else:
        low, high = spec.ask_multiplier_down, spec.ask_multiplier_up
    _fail_unless(avg * low <= price <= avg * high, "PERCENT_PRICE_BY_SIDE")


def _notional(spec: SymbolSpec, draft: Draft, avg: Decimal) -> None:
    market = draft.type == "MARKET"
    if market:
        value = draft.quote_qty if draft.quote_qty else avg * draft.quantity
    else:
        value = draft.price * draft.quantity
    check_min = spec.min_notional != 0 and (spec.apply_min_to_market or not market)
    check_max = spec.max_notional != 0 and (spec.apply_max_to_market or not market)
    _fail_unless(not check_min or value >= spec.min_notional, "NOTIONAL")
    _fail_unless(not check_max or value <= spec.max_notional, "NOTIONAL")


def _run_filters(draft: Draft, avg: Decimal) -> None:
    """The symbol's filters in the order its exchangeInfo lists them; MAX_NUM_ORDERS, which
    depends on the account, is checked separately."""
    spec = draft.spec
    if draft.type != "MARKET":
        _price_filter(spec, draft.price)
    _lot(draft.quantity, spec.min_qty, spec.max_qty, spec.step_size, "LOT_SIZE")
    _iceberg_parts(spec, draft)
    if draft.type == "MARKET":
        _lot(
            draft.quantity,
            spec.market_min_qty,
            spec.market_max_qty,
            spec.market_step_size,
            "MARKET_LOT_SIZE",
        )
    else:
        _percent_price_by_side(spec, draft.price, draft.side, avg)
    _notional(spec, draft, avg)


# --------------------------------------------------------------------------- rendering


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


def ack_json(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def result_json(order: Order) -> dict[str, Any]:
    return {
        **ack_json(order),
        **_order_core(order),
        "workingTime": order.time,
        **_conditional(order),
        "selfTradePreventionMode": order.stp_mode,
    }


def fill_json(trade: Trade) -> dict[str, Any]:
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
        return ack_json(order)
    if resp_type == "RESULT":
        return result_json(order)
    return {**result_json(order), "fills": [fill_json(t) for t in fills]}


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


def _crosses(side: str, price: Decimal, last: Decimal) -> bool:
    return price >= last if side == "BUY" else price <= last


# --------------------------------------------------------------------------- the exchange


class Exchange:
    """A spot exchange whose counterparty is a synthetic market at each symbol's last price:
    orders that cross it (and MARKET orders) fill at once in full; others rest, holding funds."""

    def __init__(self, seed: Seed | None = None, now_ms: Callable[[], int] = _wall_ms) -> None:
        self.seed = seed or Seed()
        self._now = now_ms
        self._specs: dict[str, SymbolSpec] = dict(self.seed.symbols)
        self._prices: dict[str, Decimal] = {s: spec.price for s, spec in self._specs.items()}
        self._accounts: dict[str, Account] = {}
        self._books: dict[str, _Book] = {s: _Book() for s in self._specs}
        self._update_id = 1_000
        self._next_tran_id = 13_526_853_623

    # ------------------------------------------------------------------ lookups
    def spec(self, symbol: str) -> SymbolSpec:
        try:
            return self._specs[symbol]
        except KeyError:
            raise errors.bad_symbol() from None

    def price(self, symbol: str) -> Decimal:
        return self._prices[self.spec(symbol).symbol]

    def _account(self, account: str) -> Account:
        found = self._accounts.get(account)
        if found is None:
            found = self._fresh_account()
            self._accounts[account] = found
        return found

    def _fresh_account(self) -> Account:
        balances = {asset: Balance(amount) for asset, amount in self.seed.balances.items()}
        return Account(balances, self._now())

    @staticmethod
    def _balance(account: Account, asset: str) -> Balance:
        return account.balances.setdefault(asset, Balance(ZERO))

    def _orders_of(self, account: str, symbol: str) -> list[Order]:
        return [o for o in self._books[symbol].orders.values() if o.account == account]

    def _open_of(self, account: str, symbol: str) -> list[Order]:
        return [o for o in self._orders_of(account, symbol) if o.is_open]

    def _find(
        self, account: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        """By orderId first; then origClientOrderId must match that order. By client id alone,
        the most recent order carrying it (at most one of them can be open)."""
        if order_id is not None:
            order = self._books[symbol].orders.get(order_id)
            if order is None or order.account != account:
                return None
            if client_id is not None and order.client_order_id != client_id:
                return None
            return order
        for order in reversed(self._orders_of(account, symbol)):
            if order.client_order_id == client_id:
                return order
        return None

    # ------------------------------------------------------------------ market data
    def exchange_info(
        self, symbols: list[str] | None, rate_limits: list[dict[str, Any]]
    ) -> dict[str, Any]:
        specs = [self.spec(s) for s in symbols] if symbols is not None else self._specs.values()
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": rate_limits,
            "exchangeFilters": [],
            "symbols": [symbol_json(spec) for spec in specs],
        }

    def depth(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        spec = self.spec(symbol)
        limit = max(1, min(limit, DEPTH_MAX))
        return {
            "lastUpdateId": self._update_id,
            "bids": [[fmt(p), fmt(q)] for p, q in self._side_levels(spec, "BUY", limit)],
            "asks": [[fmt(p), fmt(q)] for p, q in self._side_levels(spec, "SELL", limit)],
        }

    def _side_levels(
        self, spec: SymbolSpec, side: str, limit: int
    ) -> list[tuple[Decimal, Decimal]]:
        """The synthetic market's levels one tick apart from the last price outwards, with
        the accounts' resting orders of that side added in."""
        levels = dict(self._synthetic_levels(spec, side, limit))
        for order in self._books[spec.symbol].orders.values():
            if order.is_open and order.side == side:
                levels[order.price] = levels.get(order.price, ZERO) + order.remaining
        ordered = sorted(levels.items(), reverse=side == "BUY")
        return ordered[:limit]

    def _synthetic_levels(
        self, spec: SymbolSpec, side: str, count: int
    ) -> Iterable[tuple[Decimal, Decimal]]:
        tick = spec.tick_size or EIGHT_PLACES
        last = self._prices[spec.symbol]
        if side == "BUY":
            start, direction = _floor_to(last, tick) - tick, -1
        else:
            start, direction = _ceil_to(last, tick) + tick, 1
        for i in range(count):
            price = start + direction * i * tick
            if price <= 0 or not _within(price, spec.min_price, spec.max_price):
                return
            # Deterministic, varied sizes worth a few minimum notionals each.
            worth = (spec.min_notional or Decimal(5)) * (2 + (i * 7) % 11)
            qty = max(_ceil_to(worth / price, spec.step_size), spec.min_qty)
            yield price, qty

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
            return render(self.spec(symbol))
        names = parse_symbols(symbols) if symbols is not None else list(self._specs)
        return [render(self.spec(name)) for name in names]

    def ticker_price(
        self, symbol: str | None = None, symbols: str | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        return self._per_symbol(
            symbol, symbols, lambda s: {"symbol": s.symbol, "price": fmt(self._prices[s.symbol])}
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
        spec = self.spec(symbol)
        trades = self._books[symbol].trades
        close_time = trades[-1].time if trades else self._now()
        return {
            "mins": spec.avg_price_mins,
            "price": fmt(self._prices[symbol]),
            "closeTime": close_time,
        }

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market (admin and tests). Resting orders the new price reaches fill in full
        at their own limit price, as makers."""
        spec = self.spec(symbol)
        self._prices[symbol] = price
        for order in list(self._books[symbol].orders.values()):
            if order.is_open and _crosses(order.side, order.price, price):
                self._fill(spec, order, order.price, maker=True)

    # ------------------------------------------------------------------ account
    def account(
        self, account: str, omit_zero: bool = False, can_trade: bool = True
    ) -> dict[str, Any]:
        """GET /api/v3/account (reference §8.1)."""
        acct = self._account(account)
        maker, taker = self.seed.maker_commission, self.seed.taker_commission
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
            "uid": _uid(account),
        }

    def commission(self, account: str, symbol: str) -> dict[str, Any]:
        """GET /api/v3/account/commission."""
        spec = self.spec(symbol)
        self._account(account)
        zeros = {"maker": fmt(ZERO), "taker": fmt(ZERO), "buyer": fmt(ZERO), "seller": fmt(ZERO)}
        return {
            "symbol": spec.symbol,
            "standardCommission": {
                "maker": fmt(self.seed.maker_commission),
                "taker": fmt(self.seed.taker_commission),
                "buyer": fmt(ZERO),
                "seller": fmt(ZERO),
            },
            "specialCommission": dict(zeros),
            "taxCommission": dict(zeros),
            "discount": self._discount(),
        }

    @staticmethod
    def _discount() -> dict[str, Any]:
        # Commission is never paid in BNB here, so the account-side discount is off.
        return {
            "enabledForAccount": False,
            "enabledForSymbol": True,
            "discountAsset": "BNB",
            "discount": "0.25000000",
        }

    def open_orders(self, account: str, symbol: str | None = None) -> list[dict[str, Any]]:
        symbols = [self.spec(symbol).symbol] if symbol is not None else list(self._specs)
        found = [o for s in symbols for o in self._open_of(account, s)]
        found.sort(key=lambda o: (o.time, o.symbol, o.order_id))
        return [order_json(o) for o in found]

    def all_orders(self, account: str, params: Params) -> list[dict[str, Any]]:
        """GET /api/v3/allOrders: from ``orderId`` on, or within [startTime, endTime]; without
        either, the most recent ``limit`` orders."""
        spec = self.spec(_required(params, "symbol"))
        order_id, start, end = (_long(params, k) for k in ("orderId", "startTime", "endTime"))
        orders = [
            o
            for o in self._orders_of(account, spec.symbol)
            if (order_id is None or o.order_id >= order_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        limit = _history_limit(params)
        chosen = orders[:limit] if order_id is not None or start is not None else orders[-limit:]
        return [order_json(o) for o in chosen]

    def my_trades(self, account: str, params: Params) -> list[dict[str, Any]]:
        """GET /api/v3/myTrades, with orderId / fromId / startTime / endTime / limit."""
        spec = self.spec(_required(params, "symbol"))
        order_id, from_id, start, end = (
            _long(params, k) for k in ("orderId", "fromId", "startTime", "endTime")
        )
        trades = [
            t
            for t in self._books[spec.symbol].trades
            if t.account == account
            and (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        limit = _history_limit(params)
        chosen = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
        return [trade_json(t) for t in chosen]

    def query_order(self, account: str, params: Params) -> dict[str, Any]:
        spec = self.spec(_required(params, "symbol"))
        order_id, client_id = _long(params, "orderId"), params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.one_of_missing("origClientOrderId", "orderId")
        order = self._find(account, spec.symbol, order_id, client_id)
        if order is None:
            raise errors.no_such_order()
        return order_json(order)

    # ------------------------------------------------------------------ new orders
    def new_order(self, account: str, params: Params, *, test: bool = False) -> dict[str, Any]:
        """POST /api/v3/order, or /order/test with ``test``: every check up to the matching
        engine, which order/test never reaches (so no duplicate-id, would-take or balance
        check there), and no state change."""
        draft = self.draft(params)
        self._check_max_orders(account, draft.spec)
        if test:
            return self._test_answer(params)
        order, fills = self._place(account, draft)
        return order_response(order, fills, draft.resp_type)

    def _test_answer(self, params: Params) -> dict[str, Any]:
        if params.get("computeCommissionRates", "").lower() != "true":
            return {}
        zero = {"maker": fmt(ZERO), "taker": fmt(ZERO)}
        return {
            "standardCommissionForOrder": {
                "maker": fmt(self.seed.maker_commission),
                "taker": fmt(self.seed.taker_commission),
            },
            "specialCommissionForOrder": dict(zero),
            "taxCommissionForOrder": dict(zero),
            "discount": self._discount(),
        }

    def draft(self, params: Params) -> Draft:
        """Validate a new order's parameters and filters, in Binance's order: symbol, side,
        type, per-type parameters, response type, STP mode, precision, filters."""
        spec = self.spec(_required(params, "symbol"))
        side = params.get("side")
        if side not in SIDES:
            raise errors.error(-1117)
        order_type = params.get("type", "")
        if order_type not in ORDER_TYPES or order_type not in spec.order_types:
            # Stop and take-profit types are valid Binance enums the emulator does not trade.
            raise errors.error(-1116)
        tif = self._time_in_force(order_type, params)
        quantity, quote_qty, price = self._amounts(order_type, params)
        for name in ("stopPrice", "trailingDelta"):
            if name in params:
                raise errors.param_not_required(name)
        iceberg = _decimal(params, "icebergQty")
        if iceberg is not None and order_type == "MARKET":
            raise errors.param_not_required("icebergQty")
        resp_type = _enum(params, "newOrderRespType", RESP_TYPES, self._default_resp(order_type))
        stp = _enum(params, "selfTradePreventionMode", STP_MODES, spec.default_stp_mode)
        _check_precision("quantity", quantity, spec.base_precision)
        _check_precision("quoteOrderQty", quote_qty, spec.quote_precision)
        _check_precision("price", price, spec.quote_precision)
        _check_precision("icebergQty", iceberg, spec.base_precision)
        if iceberg is not None and tif not in ("GTC", ""):
            raise errors.error(-1014)  # "Any order with an icebergQty MUST have timeInForce GTC"
        last = self._prices[spec.symbol]
        if quote_qty is not None:
            quantity = _floor_to(quote_qty / last, spec.step_size)
        draft = Draft(
            spec=spec,
            side=side,
            type=order_type,
            time_in_force=tif or "GTC",
            price=price or ZERO,
            quantity=quantity or ZERO,
            quote_qty=quote_qty or ZERO,
            client_order_id=params.get("newClientOrderId"),
            resp_type=resp_type,
            stp_mode=stp,
            iceberg_qty=iceberg,
            strategy_id=_long(params, "strategyId"),
            strategy_type=_long(params, "strategyType"),
        )
        _run_filters(draft, last)
        return draft

    @staticmethod
    def _default_resp(order_type: str) -> str:
        return "FULL" if order_type in ("LIMIT", "MARKET") else "ACK"

    @staticmethod
    def _time_in_force(order_type: str, params: Params) -> str:
        """LIMIT needs one; LIMIT_MAKER and MARKET refuse one with -1106 (observed:
        node-binance-api#358, python-binance#1171)."""
        tif = params.get("timeInForce")
        if order_type != "LIMIT":
            if tif is not None:
                raise errors.param_not_required("timeInForce")
            return ""
        if tif is None:
            raise errors.mandatory_missing("timeInForce")
        if tif not in TIME_IN_FORCE:
            raise errors.error(-1115)
        return tif

    @staticmethod
    def _amounts(
        order_type: str, params: Params
    ) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """(quantity, quoteOrderQty, price) with the per-type mandatory/forbidden rules."""
        quantity = _decimal(params, "quantity")
        quote_qty = _decimal(params, "quoteOrderQty")
        price = _decimal(params, "price")
        if order_type == "MARKET":
            if price is not None:
                raise errors.param_not_required("price")
            if quantity is not None and quote_qty is not None:
                # Observed: both sent → "Parameter 'quantity' sent when not required." (ccxt#6450)
                raise errors.param_not_required("quantity")
            if quantity is None and quote_qty is None:
                raise errors.one_of_missing("quantity", "quoteOrderQty")
            return quantity, quote_qty, None
        if quantity is None:
            raise errors.mandatory_missing("quantity")
        if price is None:
            raise errors.mandatory_missing("price")
        if quote_qty is not None:
            raise errors.param_not_required("quoteOrderQty")
        return quantity, None, price

    def _check_max_orders(self, account: str, spec: SymbolSpec) -> None:
        if spec.max_num_orders and len(self._open_of(account, spec.symbol)) >= spec.max_num_orders:
            raise errors.filter_failure("MAX_NUM_ORDERS")

    def _place(self, account: str, draft: Draft) -> tuple[Order, list[Trade]]:
        """The matching engine: its own rejections (-2010), then fill, expire or rest."""
        spec = draft.spec
        if spec.status != "TRADING":
            raise errors.error(-2010, 3)  # "Market is closed."
        client_id = draft.client_order_id or new_client_order_id()
        if any(o.client_order_id == client_id for o in self._open_of(account, spec.symbol)):
            raise errors.duplicate_order()
        last = self._prices[spec.symbol]
        crosses = draft.type == "MARKET" or _crosses(draft.side, draft.price, last)
        if (last if draft.type == "MARKET" else draft.price) * draft.quantity <= 0:
            raise errors.error(-2010, 4)  # "Price * QTY is zero or less."
        asset, needed = self._needs(draft, last)
        acct = self._account(account)
        if self._balance(acct, asset).free < needed:
            raise errors.insufficient_balance()
        if crosses and draft.type == "LIMIT_MAKER":
            raise errors.would_take()
        order = self._record(account, draft, client_id)
        if crosses:
            return order, [self._fill(spec, order, last, maker=False)]
        if order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"  # nothing to take at that price, and it may not rest
            return order, []
        self._hold(acct, order, asset, needed)
        return order, []

    @staticmethod
    def _needs(draft: Draft, last: Decimal) -> tuple[str, Decimal]:
        """What placing the order requires free: for a BUY the quote at the limit (or market)
        price, or all of quoteOrderQty; for a SELL the base quantity."""
        if draft.side == "SELL":
            return draft.spec.base_asset, draft.quantity
        if draft.quote_qty:
            return draft.spec.quote_asset, draft.quote_qty  # the most it may spend
        price = last if draft.type == "MARKET" else draft.price
        return draft.spec.quote_asset, price * draft.quantity

    def _record(self, account: str, draft: Draft, client_id: str) -> Order:
        book = self._books[draft.spec.symbol]
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
        self._update_id += 1
        return order

    def _hold(self, acct: Account, order: Order, asset: str, amount: Decimal) -> None:
        balance = self._balance(acct, asset)
        balance.free -= amount
        balance.locked += amount
        order.held_asset, order.held = asset, amount
        acct.update_time = order.time

    def _release(self, order: Order) -> None:
        if order.held:
            balance = self._balance(self._account(order.account), order.held_asset)
            balance.locked -= order.held
            balance.free += order.held
            order.held = ZERO

    def _fill(self, spec: SymbolSpec, order: Order, price: Decimal, *, maker: bool) -> Trade:
        """Fill the rest of ``order`` at ``price``; commission is taken from what is received."""
        self._release(order)
        acct = self._account(order.account)
        qty = order.remaining
        quote = price * qty
        rate = self.seed.maker_commission if maker else self.seed.taker_commission
        base_bal = self._balance(acct, spec.base_asset)
        quote_bal = self._balance(acct, spec.quote_asset)
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
        book = self._books[spec.symbol]
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
        self._update_id += 1
        return trade

    # ------------------------------------------------------------------ cancels
    def cancel_order(self, account: str, params: Params) -> dict[str, Any]:
        """DELETE /api/v3/order."""
        spec = self.spec(_required(params, "symbol"))
        restriction = self._cancel_restriction(params)
        order = self._cancel_target(
            account,
            spec.symbol,
            _long(params, "orderId"),
            params.get("origClientOrderId"),
            ("origClientOrderId", "orderId"),
        )
        return self._cancel(order, params.get("newClientOrderId"), restriction)

    def cancel_open_orders(self, account: str, symbol: str) -> list[dict[str, Any]]:
        """DELETE /api/v3/openOrders: nothing open is -2011 "Unknown order sent." (observed)."""
        spec = self.spec(symbol)
        orders = self._open_of(account, spec.symbol)
        if not orders:
            raise errors.unknown_order()
        # Binance gives every cancel of one batch the same generated clientOrderId.
        cancel_id = new_client_order_id()
        return [self._cancel(order, cancel_id, None) for order in orders]

    @staticmethod
    def _cancel_restriction(params: Params) -> str | None:
        value = params.get("cancelRestrictions")
        if value is not None and value not in CANCEL_RESTRICTIONS:
            raise errors.error(-1145)
        return value

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
        order = self._find(account, symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise errors.unknown_order()
        return order

    def _cancel(
        self, order: Order, cancel_id: str | None, restriction: str | None
    ) -> dict[str, Any]:
        if restriction is not None and order.status != restriction.removeprefix("ONLY_"):
            raise errors.error(-2011, 1)  # "Order was not canceled due to cancel restrictions."
        self._release(order)
        now = self._now()
        order.status = "CANCELED"
        order.update_time = self._account(order.account).update_time = now
        self._update_id += 1
        return cancel_json(order, cancel_id or new_client_order_id(), now)

    def cancel_replace(
        self, account: str, params: Params, *, order_limit: BinanceError | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /api/v3/order/cancelReplace → (HTTP status, body) per D-REST's matrix.
        The new order's parameters and filters are checked before anything happens; then the
        cancel; then the placement. ``order_limit``: the app found the unfilled order count
        exhausted (-1015); with orderRateLimitExceededMode=CANCEL_ONLY the cancel still runs."""
        spec = self.spec(_required(params, "symbol"))
        mode = _enum(params, "cancelReplaceMode", CANCEL_REPLACE_MODES, "")
        limit_mode = _enum(params, "orderRateLimitExceededMode", RATE_LIMIT_MODES, "DO_NOTHING")
        if order_limit is not None and limit_mode == "DO_NOTHING":
            raise order_limit
        if "cancelOrderId" not in params and "cancelOrigClientOrderId" not in params:
            raise errors.one_of_missing("cancelOrigClientOrderId", "cancelOrderId")
        restriction = self._cancel_restriction(params)
        draft = self.draft(params)

        cancel_ok, cancel_body = self._replace_cancel(account, spec.symbol, params, restriction)
        if not cancel_ok and mode == "STOP_ON_FAILURE":
            status = 429 if order_limit is not None else 400
            return status, _replace_failure(-2022, cancel_body, "NOT_ATTEMPTED", None)
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
        return status, _replace_failure(
            code, cancel_body, "SUCCESS" if new_ok else "FAILURE", new_body, cancel_ok
        )

    def _replace_cancel(
        self, account: str, symbol: str, params: Params, restriction: str | None
    ) -> tuple[bool, dict[str, Any]]:
        try:
            target = self._cancel_target(
                account,
                symbol,
                _long(params, "cancelOrderId"),
                params.get("cancelOrigClientOrderId"),
                ("cancelOrigClientOrderId", "cancelOrderId"),
            )
            return True, self._cancel(target, params.get("cancelNewClientOrderId"), restriction)
        except BinanceError as exc:
            return False, _error_json(exc)

    def _replace_placement(
        self, account: str, draft: Draft, order_limit: BinanceError | None
    ) -> tuple[bool, dict[str, Any]]:
        if order_limit is not None:
            return False, _error_json(order_limit)
        try:
            self._check_max_orders(account, draft.spec)
            order, fills = self._place(account, draft)
        except BinanceError as exc:
            return False, _error_json(exc)
        return True, order_response(order, fills, draft.resp_type)

    # ------------------------------------------------------------------ SAPI (business part)
    def withdraw(self, account: str, params: Params) -> dict[str, Any]:
        """POST /sapi/v1/capital/withdraw/apply: the coin leaves the spot wallet at once.
        Binance's SAPI answers a short balance with its own wallet code (-4026 "User has
        insufficient balance", not in the spot catalogue); the spot -2010 stands in for it."""
        coin = _required(params, "coin")
        _required(params, "address")
        amount = _decimal(params, "amount")
        if amount is None or amount <= 0:
            raise errors.mandatory_missing("amount")
        self._debit(account, coin, amount)
        return {"id": uuid.uuid4().hex}

    def universal_transfer(self, account: str, params: Params) -> dict[str, Any]:
        """POST /sapi/v1/asset/transfer: only transfers out of MAIN (spot) show on spot."""
        kind = _enum(params, "type", UNIVERSAL_TRANSFER_TYPES, "")
        asset = _required(params, "asset")
        amount = _decimal(params, "amount")
        if amount is None or amount <= 0:
            raise errors.mandatory_missing("amount")
        if kind.startswith("MAIN_"):
            self._debit(account, asset, amount)
        tran_id = self._next_tran_id
        self._next_tran_id += 1
        return {"tranId": tran_id}

    def _debit(self, account: str, asset: str, amount: Decimal) -> None:
        acct = self._account(account)
        balance = acct.balances.get(asset)
        if balance is None or balance.free < amount:
            raise errors.insufficient_balance()
        balance.free -= amount
        acct.update_time = self._now()

    def margin_account(self, account: str) -> dict[str, Any]:
        """GET /sapi/v1/margin/account: an empty cross-margin account."""
        zero = fmt(ZERO)
        assets = self._account(account).balances
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

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        """The testnet's monthly reset: orders and trades gone, every known account refilled
        to the seed, prices back to the seed's. Id counters keep counting, so an id seen
        before the reset never names a different order after it."""
        for symbol, book in self._books.items():
            book.orders.clear()
            book.trades.clear()
            self._prices[symbol] = self._specs[symbol].price
        for name in self._accounts:
            self._accounts[name] = self._fresh_account()
        self._update_id += 1

    # ------------------------------------------------------------------ introspection
    def holdings(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset: for tests and the admin surface."""
        return {a: (b.free, b.locked) for a, b in self._account(account).balances.items()}

    def held_by_open_orders(self, account: str) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        for book in self._books.values():
            for order in book.orders.values():
                if order.account == account and order.is_open and order.held:
                    held[order.held_asset] = held.get(order.held_asset, ZERO) + order.held
        return held


def _replace_failure(
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
