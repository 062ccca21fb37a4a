"""The emulator's clock: wall time plus an injectable offset, so tests can skew the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Wall-clock time in epoch milliseconds: the default time source of the whole emulator.
from keyprobe.binance.timing import wall_ms

__all__ = ["Clock", "wall_ms"]


@dataclass
class Clock:
    """Server time in epoch milliseconds. ``offset_ms`` shifts it (a server running fast or
    slow); ``source`` replaces wall time entirely (a frozen clock for deterministic tests)."""

    offset_ms: int = 0
    source: Callable[[], int] = field(default=wall_ms)

    def now_ms(self) -> int:
        return self.source() + self.offset_ms
