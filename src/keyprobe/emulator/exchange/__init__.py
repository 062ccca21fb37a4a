"""The emulator's exchange engine: accounts, balances, orders, fills and market data, with
Binance's business validation and response shapes. Pure Python; HTTP and auth live in the app.

``records`` (orders, trades), ``accounts`` (balances, holds, debits), ``rules`` (parameters,
new-order checks, filters), ``book`` (matching, cancels, cancel-replace), ``shapes`` (response
JSON) and ``engine``, whose ``Exchange`` is the one entry point."""

from keyprobe.emulator.exchange.engine import Exchange

__all__ = ["Exchange"]
