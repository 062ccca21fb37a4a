"""Pacing order placement by the account's own order count, which every runner shares.

Binance limits new orders per account (ORDERS: 50 per 10 s and 160,000 per day on the
testnet, reference §6), not per IP: a second runner brings its own weight budget but not a
second order budget. The count that matters is therefore the target's, and every successful
order answer carries it (``X-MBX-ORDER-COUNT-10S``, ``-1D``: the account's count including
what other runners placed). Before an order-placing request the Wire asks ``before_order``,
which waits for the next window when the last count seen, plus what this process sent since,
leaves no room; a 429 with -1015 blocks the account until its Retry-After.

The state lives in the process: the cells that place orders run on one xdist worker, one after
another (``plugin/scheduling.py``), and other runners are seen through the headers."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keyprobe.binance.timing import wall_ms
from keyprobe.harness import budget
from keyprobe.harness.budget import OutOfBudget

# [DOC reference §6, GET /api/v3/rateLimit/order] The testnet's ORDERS limits; a run replaces
# them with the target's exchangeInfo rateLimits (facts.measure_facts).
DEFAULT_ORDER_LIMITS: dict[str, int] = {"10s": 50, "1d": 160_000}
# [UNC] How much of an ORDERS limit to use. Other runners on the account may place orders
# between the answer whose header we saw and our next request, and nothing documents how
# quickly a -1015 turns into a ban; the share the weight budget keeps (budget.DEFAULT_HEADROOM)
# is used here too, so that N shards on one account rarely see a -1015 at all.
ORDER_HEADROOM = budget.DEFAULT_HEADROOM
# A wait longer than this is not waited for (a full day window): the order is not sent and
# the cell says why (BROKEN), like a Retry-After longer than the Wire waits.
MAX_ORDER_WAIT_S = 90.0
# Windows are taken to turn this much later than our estimate of the server's clock says: the
# estimate is off by up to half a round trip (more under load), and an order sent just before
# the server's window turns meets the full old one (-1015).
WINDOW_GUARD_MS = 50
ORDER_COUNT_HEADER = re.compile(r"x-mbx-order-count-(\d+)([smhd])")
_LETTER_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def window_ms(suffix: str) -> int:
    """``10s`` -> 10000; the suffixes Binance's headers and rateLimits use."""
    match = re.fullmatch(r"(\d+)([smhd])", suffix.lower())
    if match is None:
        raise ValueError(f"not an interval suffix: {suffix!r}")
    return int(match[1]) * _LETTER_MS[match[2]]


def limits_from_rate_limits(rate_limits: object) -> dict[str, int]:
    """The ORDERS entries of an exchangeInfo ``rateLimits`` list, by header suffix."""
    out: dict[str, int] = {}
    if not isinstance(rate_limits, list):
        return out
    for entry in rate_limits:
        if not isinstance(entry, dict) or entry.get("rateLimitType") != "ORDERS":
            continue
        interval, num, limit = entry.get("interval"), entry.get("intervalNum"), entry.get("limit")
        if isinstance(interval, str) and isinstance(num, int) and isinstance(limit, int):
            out[f"{num}{interval[:1].lower()}"] = limit
    return out


def counts_from_rate_limits(rate_limits: object) -> dict[str, str]:
    """A WebSocket API answer's ORDERS counters (``rateLimits`` entries with a ``count``,
    reference binance-ws-api.md §1.4) in the form the REST headers carry them
    (``x-mbx-order-count-10s``), so that one ``observe`` folds in both doors."""
    out: dict[str, str] = {}
    if not isinstance(rate_limits, list):
        return out
    for entry in rate_limits:
        if not isinstance(entry, dict) or entry.get("rateLimitType") != "ORDERS":
            continue
        interval, num, count = entry.get("interval"), entry.get("intervalNum"), entry.get("count")
        if isinstance(interval, str) and isinstance(num, int) and isinstance(count, int):
            out[f"x-mbx-order-count-{num}{interval[:1].lower()}"] = str(count)
    return out


@dataclass(slots=True)
class _Count:
    window: int = -1
    count: int = 0


def _account(api_key: str) -> str:
    # The state is keyed by a digest: no key travels into anything that might be printed.
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class OrderPace:
    """Per account (API key) and ORDERS window: the last count the target reported, plus what
    this process sent since; fixed windows on the server's clock, as Binance documents for
    the WebSocket API ("10 SECOND resets at 00, 10, 20... seconds")."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        *,
        headroom: float = ORDER_HEADROOM,
        now_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = dict(DEFAULT_ORDER_LIMITS if limits is None else limits)
        self.headroom = headroom
        self._clock_ms = now_ms or wall_ms
        self._sleep = sleep
        self._counts: dict[tuple[str, str], _Count] = {}
        self._blocked_until: dict[str, int] = {}

    def _now_ms(self) -> int:
        return self._clock_ms() - WINDOW_GUARD_MS

    def _capacity(self, limit: int) -> int:
        return max(1, int(limit * self.headroom))

    def count(self, api_key: str, suffix: str) -> int:
        """The count this process holds for the current window (for tests and reports)."""
        state = self._counts.get((_account(api_key), suffix))
        now_window = self._now_ms() // window_ms(suffix)
        return state.count if state is not None and state.window == now_window else 0

    def _wait_needed(self, account: str) -> tuple[int, str] | None:
        now = self._now_ms()
        blocked = self._blocked_until.get(account, 0)
        if blocked > now:
            return blocked - now, "the target answered -1015 (too many orders) with Retry-After"
        for suffix, limit in self.limits.items():
            length = window_ms(suffix)
            state = self._counts.get((account, suffix))
            used = state.count if state is not None and state.window == now // length else 0
            if used + 1 > self._capacity(limit):
                wait = (now // length + 1) * length - now
                return wait, (
                    f"{used} of {self._capacity(limit)} orders placed on this account in this "
                    f"{suffix} window ({self.headroom:.0%} of the target's ORDERS limit {limit}; "
                    "every runner on the account counts)"
                )
        return None

    def before_order(self, api_key: str, what: str = "an order") -> None:
        """Wait until the account has room for one more order, then count it. Raises
        OutOfBudget instead of waiting when stopping (Ctrl-C) or when the wait is longer
        than MAX_ORDER_WAIT_S."""
        account = _account(api_key)
        announced = False
        while (needed := self._wait_needed(account)) is not None:
            wait_ms, why = needed
            wait_s = wait_ms / 1000 + 0.01
            if budget.stopping() or wait_s > MAX_ORDER_WAIT_S:
                raise OutOfBudget(wait_s, why)
            if not announced and wait_s > budget.ANNOUNCE_AFTER_S:
                budget.announce(
                    f"keyprobe: waiting {wait_s:.0f}s to send {what}: {why} (Ctrl-C stops)"
                )
                announced = True
            end = self._now_ms() + int(wait_s * 1000)
            while (left := (end - self._now_ms()) / 1000) > 0:
                if budget.stopping():
                    raise OutOfBudget(left, why)
                self._sleep(min(budget.SLEEP_SLICE_S, left))
        now = self._now_ms()
        for suffix in self.limits:
            state = self._counts.setdefault((account, suffix), _Count())
            current = now // window_ms(suffix)
            if state.window != current:
                state.window, state.count = current, 0
            state.count += 1

    def observe(
        self,
        api_key: str,
        headers: Mapping[str, str],
        *,
        code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Fold in an order answer: its X-MBX-ORDER-COUNT-* headers (the account's count,
        every runner's orders included; the higher of it and ours wins, as in budget.py) and
        a -1015's Retry-After."""
        account = _account(api_key)
        now = self._now_ms()
        for name, value in headers.items():
            match = ORDER_COUNT_HEADER.fullmatch(name.lower())
            if match is None or not value.strip().isdigit():
                continue
            suffix = f"{match[1]}{match[2]}"
            state = self._counts.setdefault((account, suffix), _Count())
            current = now // window_ms(suffix)
            if state.window != current:
                state.window, state.count = current, 0
            state.count = max(state.count, int(value))
        if code == -1015:
            shortest = min((window_ms(s) for s in self.limits), default=10_000)
            until = now + (
                int(retry_after_s * 1000)
                if retry_after_s is not None
                else shortest - now % shortest
            )
            self._blocked_until[account] = max(self._blocked_until.get(account, 0), until)
