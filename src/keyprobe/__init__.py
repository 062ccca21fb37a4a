"""keyprobe: proves that each Binance API key can do exactly what it should, and nothing more."""

__version__ = "0.1.0"
