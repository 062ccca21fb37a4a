"""The engine's records: orders, trades, and each symbol's book of them with its id counters."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
_ID_ALPHABET = string.ascii_letters + string.digits


def new_client_order_id() -> str:
    """An id in the style Binance generates: 22 random alphanumerics."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass(slots=True)
class Order:
    account: str
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    stp_mode: str
    time: int
    update_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumm_quote_qty: Decimal = ZERO
    # What this order holds in its account's ``locked``: ``held`` of ``held_asset``.
    held_asset: str = ""
    held: Decimal = ZERO
    iceberg_qty: Decimal | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@dataclass(frozen=True, slots=True)
class Trade:
    account: str
    symbol: str
    trade_id: int
    order_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(slots=True)
class SymbolBook:
    """Per-symbol engine state: orders by id (ascending), trades, id counters."""

    orders: dict[int, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    next_order_id: int = 1
    next_trade_id: int = 1
