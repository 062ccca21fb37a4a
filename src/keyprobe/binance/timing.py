"""Binance's unit of time: milliseconds since the epoch. ``wall_ms`` is this machine's clock
in it, for both sides (the emulator's clock, the harness's offset-corrected one)."""

from __future__ import annotations

import time


def wall_ms() -> int:
    return time.time_ns() // 1_000_000
