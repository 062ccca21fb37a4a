"""The request-weight budget, shared by every process of a run (xdist workers included)
through a locked file: Binance limits weight per source IP, not per process.

The limit is the target's own (``exchangeInfo`` ``rateLimits``, see ``run.measure_facts``) and
the count the target's ``X-MBX-USED-WEIGHT-*`` header whenever an answer carries it. The file
records the limit and window it was counted against: a file left by a run against another
limit is not this run's count and never makes it wait.

Every wait longer than ``ANNOUNCE_AFTER_S`` is announced in one line (what, why, how long)
through ``announce`` (the plugin routes it past pytest's capture, in every process). After
``stop_waiting`` (the first Ctrl-C) nothing waits any more: a request that would need a later
window raises ``OutOfBudget`` and is not sent."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from keyprobe.binance.timing import wall_ms

# Spend at most this share of the published limit: other clients may share the IP, and a
# 429 ignored long enough becomes a 418 ban.
DEFAULT_HEADROOM = 0.8
# The lock is held for one small file read and write (~0.1 ms). filelock's default 50 ms poll
# made every contended request under xdist wait 50 ms, which made -n 2 slower than -n 0.
LOCK_POLL_S = 0.001
# A wait longer than this is announced; waits sleep in slices this short so a stop is seen.
ANNOUNCE_AFTER_S = 1.0
SLEEP_SLICE_S = 0.05

_STOP = threading.Event()
_CLEANUP_FROM: list[float] = []
# After a stop, cleanup (cancels, the sweep) may send for this long from its first request;
# then nothing is sent, so that the process ends within 2 s of the first Ctrl-C whatever the
# target does (on a machine that is not starved: reaching the cleanup takes ~0.2 s).
CLEANUP_S = 1.0


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_announcer: list[Callable[[str], None]] = [_to_stderr]


def set_announcer(announcer: Callable[[str], None]) -> Callable[[str], None]:
    """Where wait lines go (the plugin: past pytest's capture, to the terminal); returns the
    one it replaces."""
    previous, _announcer[0] = _announcer[0], announcer
    return previous


def announce(line: str) -> None:
    _announcer[0](line)


def stop_waiting() -> None:
    """From now on no budget waits: what would need a later window is not sent."""
    _STOP.set()


def stopping() -> bool:
    return _STOP.is_set()


def cleanup_left_s() -> float | None:
    """None while not stopping; else how long cleanup may still send (0: no more). The
    cleanup's time starts with its first request (the first call after the stop)."""
    if not _STOP.is_set():
        return None
    if not _CLEANUP_FROM:
        _CLEANUP_FROM.append(time.monotonic())
    return max(0.0, CLEANUP_S - (time.monotonic() - _CLEANUP_FROM[0]))


def resume_waiting() -> None:
    """For tests and long-lived processes."""
    _STOP.clear()
    _CLEANUP_FROM.clear()


class OutOfBudget(Exception):
    """Sending now would exceed the budget, and waiting is not allowed (stopping)."""

    def __init__(self, wait_s: float, why: str) -> None:
        super().__init__(f"not sent: {why}; it would have waited {wait_s:.0f}s (stopping)")
        self.wait_s = wait_s


@dataclass(slots=True)
class _State:
    window: int = -1
    used: int = 0
    blocked_until: int = 0
    limit: int = 0
    window_ms: int = 0


def budget_path(base_url: str, source_address: str | None, directory: Path | None = None) -> Path:
    """One budget file per (target host, source address), in the temp directory so that
    concurrent runs on one machine share it too."""
    digest = hashlib.sha256(f"{base_url}|{source_address}".encode()).hexdigest()[:16]
    return (directory or Path(tempfile.gettempdir())) / f"keyprobe-budget-{digest}.json"


def _window_text(window_ms: int) -> str:
    for unit_ms, unit in ((86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")):
        if window_ms % unit_ms == 0:
            return f"{window_ms // unit_ms}{unit}"
    return f"{window_ms}ms"


class RateBudget:
    """Fixed windows aligned to the server's clock (``now_ms``), like Binance's own."""

    def __init__(
        self,
        path: Path,
        limit: int,
        window_ms: int = 60_000,
        *,
        headroom: float = DEFAULT_HEADROOM,
        now_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        label: str = "",
    ) -> None:
        self.path = path
        self.limit = limit
        self.window_ms = window_ms
        self.capacity = max(1, int(limit * headroom))
        self.label = label or path.name
        self._lock = FileLock(str(path) + ".lock")
        self._now_ms = now_ms or wall_ms
        self._sleep = sleep

    def _fresh(self) -> _State:
        return _State(limit=self.limit, window_ms=self.window_ms)

    def _read(self) -> _State:
        try:
            data = json.loads(self.path.read_text())
            state = _State(
                int(data["window"]),
                int(data["used"]),
                int(data["blocked_until"]),
                int(data.get("limit", 0)),
                int(data.get("window_ms", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return self._fresh()
        if (state.limit, state.window_ms) != (self.limit, self.window_ms):
            # Counted against another limit (another target behind this URL, or a run that
            # had not learnt the limit yet): not this run's count.
            return self._fresh()
        return state

    def _write(self, state: _State) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "window": state.window,
                    "used": state.used,
                    "blocked_until": state.blocked_until,
                    "limit": self.limit,
                    "window_ms": self.window_ms,
                }
            )
        )
        tmp.replace(self.path)

    def used(self) -> int:
        """The weight counted in the current window (for reports and tests)."""
        with self._lock.acquire(poll_interval=LOCK_POLL_S):
            state = self._read()
            return state.used if state.window == self._now_ms() // self.window_ms else 0

    def acquire(self, weight: int, what: str = "a request") -> int:
        """Reserve ``weight`` in the current window, waiting for a later window (or for a
        Retry-After to pass) when needed. Returns the window it was reserved in.

        Raises OutOfBudget instead of waiting once ``stop_waiting`` was called."""
        announced = False
        while True:
            with self._lock.acquire(poll_interval=LOCK_POLL_S):
                now = self._now_ms()
                state = self._read()
                window = now // self.window_ms
                if state.window != window:
                    state.window, state.used = window, 0
                if state.blocked_until > now:
                    wait_ms = state.blocked_until - now
                    why = "the target asked to wait (Retry-After)"
                elif state.used + weight <= self.capacity or state.used == 0:
                    state.used += weight
                    self._write(state)
                    return window
                else:
                    wait_ms = (window + 1) * self.window_ms - now
                    why = (
                        f"{state.used} of {self.capacity} request weight spent in this "
                        f"{_window_text(self.window_ms)} window ({DEFAULT_HEADROOM:.0%} of the "
                        f"target's limit {self.limit}), {what} needs {weight}"
                    )
            wait_s = wait_ms / 1000 + 0.01
            if _STOP.is_set():
                raise OutOfBudget(wait_s, why)
            if not announced and wait_s > ANNOUNCE_AFTER_S:
                announce(
                    f"keyprobe: waiting {wait_s:.0f}s to send {what} to {self.label}: {why} "
                    "(Ctrl-C stops)"
                )
                announced = True
            # Slices on the budget's own clock (the server's), so that a stop is seen at once.
            end_ms = self._now_ms() + int(wait_s * 1000)
            while (left_s := (end_ms - self._now_ms()) / 1000) > 0:
                if _STOP.is_set():
                    raise OutOfBudget(left_s, why)
                self._sleep(min(SLEEP_SLICE_S, left_s))

    def observe(self, used_weight: int | None, retry_after_s: float | None = None) -> None:
        """Fold in what the server said: its count for the window (which includes other
        clients on our IP) and any Retry-After. The higher count wins: an answer's header
        does not include what other processes reserved since it was sent (taking the lower
        one let two xdist workers overspend a low limit into a 429). A count left in the file
        against another limit is dropped on read, so it cannot make a run wait."""
        if used_weight is None and retry_after_s is None:
            return
        with self._lock.acquire(poll_interval=LOCK_POLL_S):
            now = self._now_ms()
            state = self._read()
            window = now // self.window_ms
            if state.window != window:
                state.window, state.used = window, 0
            if used_weight is not None:
                state.used = max(state.used, used_weight)
            if retry_after_s is not None:
                state.blocked_until = max(state.blocked_until, now + int(retry_after_s * 1000))
            self._write(state)
