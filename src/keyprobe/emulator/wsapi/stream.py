"""The user data stream over the WebSocket API: subscriptions per account, and the events an
order operation produces (executionReport, outboundAccountPosition), whichever transport
placed the order.

The engine (``Exchange``) emits no events itself. After an order operation succeeds the
caller (the REST dispatch in ``app.py`` or the WS connection) hands its answer to
``StreamHub.order_done``; the events are rebuilt from that answer plus the engine's public
queries (``query_order``, ``my_trades``, ``holdings``). Nothing is computed for an account
nobody subscribed to, so REST pays nothing for the stream."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from keyprobe.binance.errors import BinanceError

if TYPE_CHECKING:
    from keyprobe.emulator.exchange import Exchange
    from keyprobe.emulator.keys import KeyRecord

Event = dict[str, Any]

log = logging.getLogger("keyprobe.emulator.wsapi")

# The REST endpoint names whose success changes orders or balances.
ORDER_OPERATIONS = frozenset({"newOrder", "cancelOrder", "cancelOpenOrders", "cancelReplace"})
# Those that move funds in or out of the spot wallet: balanceUpdate [DOC D-UDS "deposits,
# withdrawals, transfers"]. The engine has no order lists, so it never makes listStatus.
BALANCE_OPERATIONS = frozenset({"withdraw", "universalTransfer"})


class Subscriber(Protocol):
    """A connection as the hub sees it."""

    def push_event(self, subscription_id: int, event: Event) -> None: ...


@dataclass(eq=False, slots=True)
class Subscription:
    """One ``subscriptionId`` on one connection, for one account."""

    subscription_id: int
    account: str
    # The key that started it (for signature subscriptions, checked again on revocation).
    key: KeyRecord
    # True for userDataStream.subscribe (tied to the session's logon).
    via_logon: bool
    connection: Subscriber


@dataclass(slots=True)
class StreamHub:
    """Active subscriptions by account, across every connection of one emulator."""

    exchange: Exchange
    now_ms: Callable[[], int]
    _by_account: dict[str, list[Subscription]] = field(default_factory=dict)
    _execution_id: int = 0

    # ---------------------------------------------------------------- subscriptions
    def add(self, sub: Subscription) -> None:
        self._by_account.setdefault(sub.account, []).append(sub)

    def remove(self, sub: Subscription) -> None:
        subs = self._by_account.get(sub.account)
        if subs and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._by_account[sub.account]

    def subscribed(self, account: str) -> bool:
        return account in self._by_account

    def subscriptions(self) -> Iterable[Subscription]:
        return [s for subs in self._by_account.values() for s in subs]

    def terminated(self) -> Event:
        return {"e": "eventStreamTerminated", "E": self.now_ms()}

    # ---------------------------------------------------------------- events
    def order_done(self, operation: str, account: str, status: int, payload: Any) -> None:
        """An order operation answered ``status``/``payload`` for ``account``: push its
        events to every subscription of that account."""
        if account not in self._by_account:
            return
        try:
            events = self._events(operation, account, status, payload)
        except BinanceError:  # the order vanished (a reset in between): nothing to report
            return
        except Exception:  # a stream bug must never cost the order's own answer
            log.exception("user data stream: no events for %s", operation)
            return
        for sub in list(self._by_account.get(account, ())):
            for event in events:
                sub.connection.push_event(sub.subscription_id, event)

    def balance_changed(self, operation: str, account: str, params: dict[str, str]) -> None:
        """A withdrawal or a transfer succeeded for ``account``: balanceUpdate (the delta),
        then outboundAccountPosition of that asset, to each of its subscriptions."""
        if operation == "withdraw":
            asset = params.get("coin", "")
        elif params.get("type", "").startswith("MAIN_"):
            asset = params.get("asset", "")  # out of the spot wallet
        else:
            return  # between other wallets: the spot wallet did not change
        try:
            delta = -Decimal(params.get("amount", ""))
        except ArithmeticError:
            return
        now = self.now_ms()
        update: Event = {"e": "balanceUpdate", "E": now, "a": asset, "d": f"{delta:.8f}", "T": now}
        position = self._position_of(account, [asset], now)
        for sub in list(self._by_account.get(account, ())):
            for event in (update, position):
                sub.connection.push_event(sub.subscription_id, event)

    def _events(self, operation: str, account: str, status: int, payload: Any) -> list[Event]:
        now = self.now_ms()
        reports: list[Event] = []
        symbols: list[str] = []
        if operation == "newOrder" and status == 200:
            reports += self._placed(account, payload, now)
            symbols.append(payload["symbol"])
        elif operation == "cancelOrder" and status == 200:
            reports.append(self._canceled(account, payload, now))
            symbols.append(payload["symbol"])
        elif operation == "cancelOpenOrders" and status == 200:
            for item in payload:
                reports.append(self._canceled(account, item, now))
                symbols.append(item["symbol"])
        elif operation == "cancelReplace":
            body = payload if status == 200 else payload.get("data", {})
            cancel = body.get("cancelResponse") or {}
            new = body.get("newOrderResponse") or {}
            if body.get("cancelResult") == "SUCCESS":
                reports.append(self._canceled(account, cancel, now))
                symbols.append(cancel["symbol"])
            if body.get("newOrderResult") == "SUCCESS":
                reports += self._placed(account, new, now)
                symbols.append(new["symbol"])
        if not reports:
            return []
        return [*reports, self._position(account, symbols, now)]

    def _next_execution_id(self) -> int:
        self._execution_id += 1
        return self._execution_id

    def _placed(self, account: str, answer: dict[str, Any], now: int) -> list[Event]:
        """NEW, then one TRADE per fill (or EXPIRED for an IOC/FOK that found nothing)."""
        symbol, order_id = answer["symbol"], str(answer["orderId"])
        order = self.exchange.query_order(account, {"symbol": symbol, "orderId": order_id})
        trades = self.exchange.my_trades(account, {"symbol": symbol, "orderId": order_id})
        zero = "0.00000000"
        events = [self._report(order, "NEW", "NEW", now, (zero, zero))]
        executed, quote = Decimal(0), Decimal(0)
        for i, trade in enumerate(trades):
            executed += Decimal(trade["qty"])
            quote += Decimal(trade["quoteQty"])
            last = i == len(trades) - 1
            status = order["status"] if last else "PARTIALLY_FILLED"
            cumulative = (f"{executed:.8f}", f"{quote:.8f}")
            events.append(self._report(order, "TRADE", status, now, cumulative, trade))
        if not trades and order["status"] == "EXPIRED":
            events.append(self._report(order, "EXPIRED", "EXPIRED", now))
        return events

    def _canceled(self, account: str, answer: dict[str, Any], now: int) -> Event:
        symbol, order_id = answer["symbol"], str(answer["orderId"])
        order = self.exchange.query_order(account, {"symbol": symbol, "orderId": order_id})
        report = self._report(order, "CANCELED", "CANCELED", now)
        # On a cancel, c is the cancel request's id and C the order's own.
        report["c"] = answer.get("clientOrderId", order["clientOrderId"])
        report["C"] = order["clientOrderId"]
        return report

    def _report(
        self,
        order: dict[str, Any],
        execution: str,
        status: str,
        now: int,
        cumulative: tuple[str, str] | None = None,
        trade: dict[str, Any] | None = None,
    ) -> Event:
        cum_qty, cum_quote = cumulative or (order["executedQty"], order["cummulativeQuoteQty"])
        zero = "0.00000000"
        event: Event = {
            "e": "executionReport",
            "E": now,
            "s": order["symbol"],
            "c": order["clientOrderId"],
            "S": order["side"],
            "o": order["type"],
            "f": order["timeInForce"],
            "q": order["origQty"],
            "p": order["price"],
            "P": order.get("stopPrice", zero),
            "F": order.get("icebergQty", zero),
            "g": -1,
            "C": "",
            "x": execution,
            "X": status,
            "r": "NONE",
            "i": order["orderId"],
            "l": trade["qty"] if trade else zero,
            "z": cum_qty,
            "L": trade["price"] if trade else zero,
            "n": trade["commission"] if trade else "0",
            "N": trade["commissionAsset"] if trade else None,
            "T": trade["time"] if trade else order["time" if execution == "NEW" else "updateTime"],
            "t": trade["id"] if trade else -1,
            "I": self._next_execution_id(),
            "w": status in ("NEW", "PARTIALLY_FILLED"),
            "m": bool(trade["isMaker"]) if trade else False,
            "M": False,
            "O": order["time"],
            "Z": cum_quote,
            "Y": trade["quoteQty"] if trade else zero,
            "Q": order["origQuoteOrderQty"],
            "W": order["workingTime"],
            "V": order["selfTradePreventionMode"],
        }
        for src, dst in (("strategyId", "j"), ("strategyType", "J")):
            if src in order:
                event[dst] = order[src]
        return event

    def _position(self, account: str, symbols: list[str], now: int) -> Event:
        assets: list[str] = []
        for symbol in symbols:
            spec = self.exchange.spec(symbol)
            for asset in (spec.base_asset, spec.quote_asset):
                if asset not in assets:
                    assets.append(asset)
        return self._position_of(account, assets, now)

    def _position_of(self, account: str, assets: list[str], now: int) -> Event:
        holdings = self.exchange.holdings(account)
        balances = []
        for asset in assets:
            free, locked = holdings.get(asset, (0, 0))
            balances.append({"a": asset, "f": f"{free:.8f}", "l": f"{locked:.8f}"})
        return {"e": "outboundAccountPosition", "E": now, "u": now, "B": balances}
