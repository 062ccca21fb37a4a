"""The request-weight budget, shared by every process of a run (xdist workers included)
through a locked file: Binance limits weight per source IP, not per process."""

from __future__ import annotations

import hashlib
import json
import tempfile
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


@dataclass(slots=True)
class _State:
    window: int = -1
    used: int = 0
    blocked_until: int = 0


def budget_path(base_url: str, source_address: str | None, directory: Path | None = None) -> Path:
    """One budget file per (target host, source address), in the temp directory so that
    concurrent runs on one machine share it too."""
    digest = hashlib.sha256(f"{base_url}|{source_address}".encode()).hexdigest()[:16]
    return (directory or Path(tempfile.gettempdir())) / f"keyprobe-budget-{digest}.json"


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
    ) -> None:
        self.path = path
        self.limit = limit
        self.window_ms = window_ms
        self.capacity = max(1, int(limit * headroom))
        self._lock = FileLock(str(path) + ".lock")
        self._now_ms = now_ms or wall_ms
        self._sleep = sleep

    def _read(self) -> _State:
        try:
            data = json.loads(self.path.read_text())
            return _State(int(data["window"]), int(data["used"]), int(data["blocked_until"]))
        except (OSError, ValueError, KeyError, TypeError):
            return _State()

    def _write(self, state: _State) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            json.dumps(
                {"window": state.window, "used": state.used, "blocked_until": state.blocked_until}
            )
        )
        tmp.replace(self.path)

    def acquire(self, weight: int) -> int:
        """Reserve ``weight`` in the current window, waiting for a later window (or for a
        Retry-After to pass) when needed. Returns the window it was reserved in."""
        while True:
            with self._lock.acquire(poll_interval=LOCK_POLL_S):
                now = self._now_ms()
                state = self._read()
                window = now // self.window_ms
                if state.window != window:
                    state.window, state.used = window, 0
                if state.blocked_until > now:
                    wait_ms = state.blocked_until - now
                elif state.used + weight <= self.capacity or state.used == 0:
                    state.used += weight
                    self._write(state)
                    return window
                else:
                    wait_ms = (window + 1) * self.window_ms - now
            self._sleep(wait_ms / 1000 + 0.01)

    def observe(self, used_weight: int | None, retry_after_s: float | None = None) -> None:
        """Fold in what the server said: its count for the window (which includes other
        clients on our IP) and any Retry-After."""
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
