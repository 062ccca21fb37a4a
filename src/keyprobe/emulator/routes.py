"""Endpoint routes: what each public or authenticated request asks of the exchange, and the
answers that are not the exchange's (server time, the ORDERS count, a key's restrictions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from keyprobe.binance import errors
from keyprobe.binance.endpoints import Endpoint
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.auth import Caller
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.exchange.rules import parse_symbols
from keyprobe.emulator.families import Families
from keyprobe.emulator.families.routes import ROUTES as FAMILY_ROUTES
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimiter

Result = tuple[int, Any]


class Services(Protocol):
    """What a route may use; the app (``Emulator``) provides it. Taking this instead of the app
    keeps routes free of the app, which imports them."""

    @property
    def exchange(self) -> Exchange: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def families(self) -> Families: ...


def _limit(params: dict[str, str], default: int) -> int:
    return int(params.get("limit", default))


def public(emu: Services, endpoint: Endpoint, params: dict[str, str]) -> Result:
    ex = emu.exchange
    name = endpoint.name
    if name == "ping":
        return 200, {}
    if name == "systemStatus":
        return 200, {"status": 0, "msg": "normal"}
    if name == "time":
        return 200, {"serverTime": emu.clock.now_ms()}
    if name == "exchangeInfo":
        if "symbol" in params and "symbols" in params:
            raise errors.error(-1101, 0)
        symbols: list[str] | None = None
        if "symbol" in params:
            symbols = [params["symbol"]]
        elif "symbols" in params:
            symbols = parse_symbols(params["symbols"])
        return 200, ex.exchange_info(symbols, emu.limiter.limits.exchange_info())
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
    raise AssertionError(f"no public route for {name}")  # catalogue and routes out of step


def _account(emu: Services, c: Caller) -> Result:
    omit = c.params.get("omitZeroBalances", "").lower() == "true"
    can_trade = c.key.has(Permission.SPOT_AND_MARGIN_TRADING, emu.clock.now_ms())
    return 200, emu.exchange.account(c.key.account, omit, can_trade)


def _rate_limit_order(emu: Services, c: Caller) -> Result:
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


def _cancel_replace(emu: Services, c: Caller) -> Result:
    limit = emu.limiter.order_limit_error(c.key.account, emu.clock.now_ms())
    return emu.exchange.cancel_replace(c.key.account, c.params, order_limit=limit)


def _api_restrictions(key: KeyRecord, now: int) -> dict[str, Any]:
    """The key's flags in the shape of ``GET /sapi/v1/account/apiRestrictions``."""
    payload: dict[str, Any] = {
        "ipRestrict": key.ip_whitelist is not None,
        "createTime": key.create_time_ms,
    }
    for permission in (
        Permission.READING,
        Permission.WITHDRAWALS,
        Permission.INTERNAL_TRANSFER,
        Permission.MARGIN,
        Permission.FUTURES,
        Permission.UNIVERSAL_TRANSFER,
        Permission.VANILLA_OPTIONS,
    ):
        payload[permission.value] = key.has(permission, now)
    payload["enableFixApiTrade"] = False
    payload["enableFixReadOnly"] = False
    payload[Permission.SPOT_AND_MARGIN_TRADING.value] = key.has(
        Permission.SPOT_AND_MARGIN_TRADING, now
    )
    payload["enablePortfolioMarginTrading"] = False
    if key.trading_expires_ms:
        payload["tradingAuthorityExpirationTime"] = key.trading_expires_ms
    return payload


_SIGNED: dict[str, Callable[[Services, Caller], Result]] = {
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
    "apiRestrictions": lambda e, c: (200, _api_restrictions(c.key, e.clock.now_ms())),
    "withdraw": lambda e, c: (200, e.exchange.withdraw(c.key.account, c.params)),
    "marginAccount": lambda e, c: (200, e.exchange.margin_account(c.key.account)),
    "universalTransfer": lambda e, c: (200, e.exchange.universal_transfer(c.key.account, c.params)),
}


def signed(emu: Services, endpoint: Endpoint, caller: Caller) -> Result:
    family = FAMILY_ROUTES.get(endpoint.name)
    if family is not None:
        return family(emu.families, emu.exchange, caller)
    return _SIGNED[endpoint.name](emu, caller)


def placed_order(endpoint: Endpoint, payload: Any) -> bool:
    """Did this successful response put a new order on the book (for the ORDERS count)?"""
    if endpoint.name == "cancelReplace":
        return isinstance(payload, dict) and payload.get("newOrderResult") == "SUCCESS"
    return endpoint.name == "newOrder"
