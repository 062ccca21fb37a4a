"""The local exchange: a faithful emulator of the Binance Spot REST API (default target)."""

from keyprobe.emulator.keys import KeyRecord, KeyRegistry

__all__ = ["KeyRecord", "KeyRegistry"]
