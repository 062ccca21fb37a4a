"""Binance's unit of time: milliseconds since the epoch. ``wall_ms`` is this machine's clock
in it, for both sides (the emulator's clock, the harness's offset-corrected one)."""

from __future__ import annotations

import time

# Timestamps at or above this are microseconds (ms timestamps stay below it until year 5138).
MICROSECOND_THRESHOLD = 10**14


def wall_ms() -> int:
    return time.time_ns() // 1_000_000
