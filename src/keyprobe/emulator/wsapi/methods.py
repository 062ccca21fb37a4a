"""What each WebSocket API method does once its request passed the pipeline: one handler per
method, calling the same ``Exchange`` the REST endpoints call (so an order placed over one
transport is seen and cancellable over the other)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keyprobe.binance import errors
from keyprobe.binance.permissions import Permission
from keyprobe.binance.ws_methods import WsMethod
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.wsapi.stream import Subscription

if TYPE_CHECKING:
    from keyprobe.emulator.wsapi.connection import Connection


@dataclass(slots=True)
class Call:
    """One authenticated (or public) request, as a handler sees it."""

    conn: Connection
    method: WsMethod
    params: dict[str, str]
    # The key the request acts for (None for NONE methods).
    key: KeyRecord | None
    now: int

    @property
    def signer(self) -> KeyRecord:
        """The key of a signed request (never asked of a NONE method)."""
        if self.key is None:
            raise RuntimeError(f"{self.method.name} has no key")
        return self.key

    @property
    def account(self) -> str:
        return self.signer.account


@dataclass(slots=True)
class Answer:
    """A handler's result: status 200 with ``result``, or another status with ``error``
    (cancel-replace answers 400/409 with data and still changed orders)."""

    status: int
    result: Any = None
    error: dict[str, Any] | None = None
    # Whether this answer placed a new order (the ORDERS count).
    placed: bool = False


Handler = Callable[[Call], Answer]


def ok(result: Any, *, placed: bool = False) -> Answer:
    return Answer(200, result, placed=placed)


def _symbols(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.bad_symbol() from None
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise errors.bad_symbol()
    return value


def _exchange_info(c: Call) -> Answer:
    emu = c.conn.api.emu
    if "symbol" in c.params and "symbols" in c.params:
        raise errors.error(-1101, 0)
    symbols = [c.params["symbol"]] if "symbol" in c.params else _symbols(c.params.get("symbols"))
    return ok(emu.exchange.exchange_info(symbols, emu.limits.exchange_info()))


def _account(c: Call) -> Answer:
    omit = c.params.get("omitZeroBalances", "").lower() == "true"
    can_trade = c.signer.has(Permission.SPOT_AND_MARGIN_TRADING, c.now)
    return ok(c.conn.api.emu.exchange.account(c.account, omit, can_trade))


def _order_rate_limits(c: Call) -> Answer:
    return ok(c.conn.order_limits(c.account, c.now))


def _place(c: Call) -> Answer:
    emu = c.conn.api.emu
    limit_error = emu.limiter.order_limit_error(c.account, c.now)
    if limit_error is not None:
        raise limit_error
    return ok(emu.exchange.new_order(c.account, c.params), placed=True)


def _cancel_replace(c: Call) -> Answer:
    emu = c.conn.api.emu
    limit = emu.limiter.order_limit_error(c.account, c.now)
    status, body = emu.exchange.cancel_replace(c.account, c.params, order_limit=limit)
    placed = (body if status == 200 else body.get("data", {})).get("newOrderResult") == "SUCCESS"
    if status == 200:
        return ok(body, placed=placed)
    return Answer(status, error=body, placed=placed)


def _ex(c: Call) -> Any:
    return c.conn.api.emu.exchange


def _subscribe(c: Call, *, via_logon: bool) -> dict[str, int]:
    """A user data stream subscription of the key's account on this connection."""
    conn, key = c.conn, c.signer
    settings = conn.api.settings
    if any(s.account == key.account for s in conn.subscriptions.values()):
        raise errors.error(-2035)
    if len(conn.subscriptions) >= settings.max_active_subscriptions:
        raise errors.error(-2042)
    if conn.next_subscription_id >= settings.max_lifetime_subscriptions:
        raise errors.error(-2042)
    sub = Subscription(conn.next_subscription_id, key.account, key, via_logon, conn)
    conn.next_subscription_id += 1
    conn.subscriptions[sub.subscription_id] = sub
    conn.api.hub.add(sub)
    return {"subscriptionId": sub.subscription_id}


def _unsubscribe(c: Call) -> dict[str, Any]:
    conn = c.conn
    raw = c.params.get("subscriptionId")
    if raw is None:
        for sub in list(conn.subscriptions.values()):
            conn.end_subscription(sub)
        return {}
    target = conn.subscriptions.get(int(raw))
    if target is None:
        raise errors.error(-2036)
    conn.end_subscription(target)
    return {}


HANDLERS: dict[str, Handler] = {
    "ping": lambda c: ok({}),
    "time": lambda c: ok({"serverTime": c.now}),
    "exchangeInfo": _exchange_info,
    "session.logon": lambda c: ok(c.conn.logon(c)),
    "session.status": lambda c: ok(c.conn.session_status(c.now)),
    "session.logout": lambda c: ok(c.conn.logout(c.now)),
    "session.subscriptions": lambda c: ok(c.conn.subscription_list()),
    "account.status": _account,
    "account.commission": lambda c: ok(_ex(c).commission(c.account, c.params["symbol"])),
    "account.rateLimits.orders": _order_rate_limits,
    "order.status": lambda c: ok(_ex(c).query_order(c.account, c.params)),
    "openOrders.status": lambda c: ok(_ex(c).open_orders(c.account, c.params.get("symbol"))),
    "allOrders": lambda c: ok(_ex(c).all_orders(c.account, c.params)),
    "myTrades": lambda c: ok(_ex(c).my_trades(c.account, c.params)),
    "order.test": lambda c: ok(_ex(c).new_order(c.account, c.params, test=True)),
    "order.place": _place,
    "order.cancel": lambda c: ok(_ex(c).cancel_order(c.account, c.params)),
    "openOrders.cancelAll": lambda c: ok(_ex(c).cancel_open_orders(c.account, c.params["symbol"])),
    "order.cancelReplace": _cancel_replace,
    "userDataStream.subscribe": lambda c: ok(_subscribe(c, via_logon=True)),
    "userDataStream.subscribe.signature": lambda c: ok(_subscribe(c, via_logon=False)),
    "userDataStream.unsubscribe": lambda c: ok(_unsubscribe(c)),
}
