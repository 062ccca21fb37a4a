"""The emulator's clock: wall time plus an injectable offset, so tests can skew the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


def wall_ms() -> int:
    """Wall-clock time in epoch milliseconds: the default time source of the whole emulator."""
    return time.time_ns() // 1_000_000


@dataclass
class Clock:
    """Server time in epoch milliseconds. ``offset_ms`` shifts it (a server running fast or
    slow); ``source`` replaces wall time entirely (a frozen clock for deterministic tests)."""

    offset_ms: int = 0
    source: Callable[[], int] = field(default=wall_ms)

    def now_ms(self) -> int:
        return self.source() + self.offset_ms
