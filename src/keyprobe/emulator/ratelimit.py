"""Rate limits in fixed windows: REQUEST_WEIGHT per IP, ORDERS per account, automatic IP bans.

Binance documents window boundaries for the WebSocket API ("1 MINUTE starts every minute",
"1 DAY resets at 00:00 UTC"); the emulator applies the same fixed-window model to REST."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.unsettled import DEFAULT, Behaviour

_LETTER_MS = {"S": 1_000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}
_INTERVAL_NAME = {"S": "SECOND", "M": "MINUTE", "H": "HOUR", "D": "DAY"}


@dataclass(frozen=True, slots=True)
class Window:
    """A limit of ``limit`` per ``num`` × ``letter`` (e.g. 6000 per 1 M)."""

    limit: int
    num: int
    letter: str

    @property
    def length_ms(self) -> int:
        return self.num * _LETTER_MS[self.letter]

    @property
    def suffix(self) -> str:
        """The header suffix Binance uses: ``1M``, ``10S``, ``1D``."""
        return f"{self.num}{self.letter}"

    @property
    def interval(self) -> str:
        return _INTERVAL_NAME[self.letter]

    def start(self, now_ms: int) -> int:
        return now_ms - now_ms % self.length_ms

    def human(self) -> str:
        """As the -1003/-1015 messages render it: ``1 MINUTE``, ``10 SECOND``."""
        return f"{self.num} {self.interval}"


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Limit settings. Defaults are the Spot Testnet's published values (reference §6)."""

    request_weight: Window = Window(6000, 1, "M")
    raw_requests: Window = Window(300_000, 5, "M")
    orders: tuple[Window, ...] = (Window(50, 10, "S"), Window(160_000, 1, "D"))
    # Requests answered 429 within one weight window before the IP is banned (418), and the
    # ban's length: views of the table ([ratelimit] in binance/behaviour.toml).
    ban_after_violations: int = DEFAULT.integer("ratelimit.ban_after_violations")
    ban_ms: int = DEFAULT.integer("ratelimit.ban_ms")

    @classmethod
    def of(cls, behaviour: Behaviour) -> RateLimits:
        """The testnet's published limits, with ``behaviour``'s ban settings."""
        return cls(
            ban_after_violations=behaviour.integer("ratelimit.ban_after_violations"),
            ban_ms=behaviour.integer("ratelimit.ban_ms"),
        )

    def exchange_info(self) -> list[dict[str, Any]]:
        def entry(kind: str, w: Window) -> dict[str, Any]:
            return {
                "rateLimitType": kind,
                "interval": w.interval,
                "intervalNum": w.num,
                "limit": w.limit,
            }

        return [
            entry("REQUEST_WEIGHT", self.request_weight),
            *(entry("ORDERS", w) for w in self.orders),
            entry("RAW_REQUESTS", self.raw_requests),
        ]


@dataclass
class _Counter:
    window_start: int = -1
    count: int = 0

    def value(self, window: Window, now_ms: int) -> int:
        return self.count if self.window_start == window.start(now_ms) else 0

    def add(self, window: Window, now_ms: int, amount: int) -> int:
        start = window.start(now_ms)
        if self.window_start != start:
            self.window_start, self.count = start, 0
        self.count += amount
        return self.count


@dataclass
class _IpState:
    weight: _Counter = field(default_factory=_Counter)
    raw: _Counter = field(default_factory=_Counter)
    violations: _Counter = field(default_factory=_Counter)
    banned_until: int = 0


class RateLimiter:
    """Counts weight per IP and unfilled orders per account. Single-threaded by design: the
    ASGI app calls it from one event loop, so a check-and-charge is atomic."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._ips: dict[str, _IpState] = {}
        self._orders: dict[str, list[_Counter]] = {}

    # ---------------------------------------------------------------- IP weight
    def banned_until(self, ip: str, now_ms: int) -> int | None:
        state = self._ips.get(ip)
        if state and state.banned_until > now_ms:
            return state.banned_until
        return None

    def charge(self, ip: str, weight: int, now_ms: int) -> bool:
        """Charge ``weight``; False (and a violation recorded) when the window is exceeded."""
        state = self._ips.get(ip)
        if state is None:  # not setdefault: that builds a throw-away state on every request
            state = self._ips[ip] = _IpState()
        state.raw.add(self.limits.raw_requests, now_ms, 1)
        used = state.weight.add(self.limits.request_weight, now_ms, weight)
        over_raw = (
            state.raw.value(self.limits.raw_requests, now_ms) > self.limits.raw_requests.limit
        )
        if used <= self.limits.request_weight.limit and not over_raw:
            return True
        violations = state.violations.add(self.limits.request_weight, now_ms, 1)
        if violations > self.limits.ban_after_violations:
            state.banned_until = now_ms + self.limits.ban_ms
        return False

    def refund(self, ip: str, weight: int, now_ms: int) -> None:
        state = self._ips.get(ip)
        if state is not None and state.weight.window_start == self.limits.request_weight.start(
            now_ms
        ):
            state.weight.count = max(0, state.weight.count - weight)

    def used_weight(self, ip: str, now_ms: int) -> int:
        state = self._ips.get(ip)
        return state.weight.value(self.limits.request_weight, now_ms) if state else 0

    def retry_after_s(self, window: Window, now_ms: int) -> int:
        """Whole seconds until ``window`` rolls over (at least 1)."""
        remaining = window.start(now_ms) + window.length_ms - now_ms
        return max(1, -(-remaining // 1000))

    # ---------------------------------------------------------------- orders
    def _order_counters(self, account: str) -> list[_Counter]:
        return self._orders.setdefault(account, [_Counter() for _ in self.limits.orders])

    def order_window_full(self, account: str, now_ms: int) -> Window | None:
        """The first ORDERS window with no room for one more order, if any."""
        for window, counter in zip(self.limits.orders, self._order_counters(account), strict=True):
            if counter.value(window, now_ms) >= window.limit:
                return window
        return None

    def order_limit_error(self, account: str, now_ms: int) -> BinanceError | None:
        """The -1015 an account would get for one more order now, or None if it has room."""
        full = self.order_window_full(account, now_ms)
        if full is None:
            return None
        exc = errors.too_many_orders(full.limit, full.human())
        exc.retry_after = self.retry_after_s(full, now_ms)
        return exc

    def count_order(self, account: str, now_ms: int) -> None:
        for window, counter in zip(self.limits.orders, self._order_counters(account), strict=True):
            counter.add(window, now_ms, 1)

    def order_counts(self, account: str, now_ms: int) -> list[tuple[Window, int]]:
        counters = self._order_counters(account)
        return [(w, c.value(w, now_ms)) for w, c in zip(self.limits.orders, counters, strict=True)]

    def reset(self) -> None:
        self._ips.clear()
        self._orders.clear()
