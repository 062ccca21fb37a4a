"""Endpoint handlers: what each authenticated (or public) request asks of the exchange."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from keyprobe.binance import errors
from keyprobe.binance.endpoints import Endpoint
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.auth import Caller

if TYPE_CHECKING:
    from keyprobe.emulator.app import Emulator

Result = tuple[int, Any]


def _symbols_list(raw: str | None) -> list[str] | None:
    """``symbols=["BTCUSDT","BNBUSDT"]`` as Binance takes it: a JSON array of strings."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.error(
            -1100, 1, "symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
        ) from None
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise errors.bad_symbol()
    return value


def _limit(params: dict[str, str], default: int) -> int:
    return int(params.get("limit", default))


def public(emu: Emulator, endpoint: Endpoint, params: dict[str, str]) -> Result:
    ex = emu.exchange
    name = endpoint.name
    if name == "ping":
        return 200, {}
    if name == "time":
        return 200, {"serverTime": emu.clock.now_ms()}
    if name == "exchangeInfo":
        if "symbol" in params and "symbols" in params:
            raise errors.error(-1101, 0)
        symbols = [params["symbol"]] if "symbol" in params else _symbols_list(params.get("symbols"))
        return 200, ex.exchange_info(symbols, emu.limits.exchange_info())
    if name == "depth":
        limit = _limit(params, 100)
        if not 1 <= limit <= 5000:
            raise errors.error(-1100, 1, "limit", "^[0-9]{1,20}$")
        return 200, ex.depth(params["symbol"], limit)
    if name == "tickerPrice":
        return 200, ex.ticker_price(params.get("symbol"), params.get("symbols"))
    if name == "bookTicker":
        return 200, ex.book_ticker(params.get("symbol"), params.get("symbols"))
    if name == "avgPrice":
        return 200, ex.avg_price(params["symbol"])
    raise AssertionError(f"no public handler for {name}")  # catalogue and handlers out of step


def _account(emu: Emulator, c: Caller) -> Result:
    omit = c.params.get("omitZeroBalances", "").lower() == "true"
    can_trade = c.key.has(Permission.SPOT_AND_MARGIN_TRADING, emu.clock.now_ms())
    return 200, emu.exchange.account(c.key.account, omit, can_trade)


def _rate_limit_order(emu: Emulator, c: Caller) -> Result:
    now = emu.clock.now_ms()
    return 200, [
        {
            "rateLimitType": "ORDERS",
            "interval": window.interval,
            "intervalNum": window.num,
            "limit": window.limit,
            "count": count,
        }
        for window, count in emu.limiter.order_counts(c.key.account, now)
    ]


def _cancel_replace(emu: Emulator, c: Caller) -> Result:
    limit = emu.order_limit_error(c.key.account, emu.clock.now_ms())
    return emu.exchange.cancel_replace(c.key.account, c.params, order_limit=limit)


_SIGNED: dict[str, Callable[[Emulator, Caller], Result]] = {
    "account": _account,
    "queryOrder": lambda e, c: (200, e.exchange.query_order(c.key.account, c.params)),
    "openOrders": lambda e, c: (200, e.exchange.open_orders(c.key.account, c.params.get("symbol"))),
    "allOrders": lambda e, c: (200, e.exchange.all_orders(c.key.account, c.params)),
    "myTrades": lambda e, c: (200, e.exchange.my_trades(c.key.account, c.params)),
    "commission": lambda e, c: (200, e.exchange.commission(c.key.account, c.params["symbol"])),
    "rateLimitOrder": _rate_limit_order,
    "newOrder": lambda e, c: (200, e.exchange.new_order(c.key.account, c.params)),
    "testOrder": lambda e, c: (200, e.exchange.new_order(c.key.account, c.params, test=True)),
    "cancelOrder": lambda e, c: (200, e.exchange.cancel_order(c.key.account, c.params)),
    "cancelOpenOrders": lambda e, c: (
        200,
        e.exchange.cancel_open_orders(c.key.account, c.params["symbol"]),
    ),
    "cancelReplace": _cancel_replace,
    "apiRestrictions": lambda e, c: (200, e.api_restrictions(c.key)),
    "withdraw": lambda e, c: (200, e.exchange.withdraw(c.key.account, c.params)),
    "marginAccount": lambda e, c: (200, e.exchange.margin_account(c.key.account)),
    "universalTransfer": lambda e, c: (200, e.exchange.universal_transfer(c.key.account, c.params)),
}


def signed(emu: Emulator, endpoint: Endpoint, caller: Caller) -> Result:
    return _SIGNED[endpoint.name](emu, caller)


def placed_order(endpoint: Endpoint, payload: Any) -> bool:
    """Did this successful response put a new order on the book (for the ORDERS count)?"""
    if endpoint.name == "cancelReplace":
        return isinstance(payload, dict) and payload.get("newOrderResult") == "SUCCESS"
    return endpoint.name == "newOrder"
