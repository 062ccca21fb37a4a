"""What a resting order needs to look like on this target: the symbol's filters from
exchangeInfo and the current price, turned into a LIMIT_MAKER BUY that cannot fill
(reference §7)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

# How far inside the PERCENT_PRICE_BY_SIDE band the price sits: close to the lowest price the
# exchange accepts, i.e. as far below the market as allowed.
BAND_MARGIN = Decimal("1.02")
# Without a percent-price filter, bid at half the market.
FALLBACK_FRACTION = Decimal("0.5")
NOTIONAL_MARGIN = Decimal("1.1")


class MarketError(ValueError):
    """exchangeInfo or the price does not let us build a safe order."""


@dataclass(frozen=True, slots=True)
class OrderRecipe:
    """A BUY LIMIT_MAKER order far below the market: price and quantity as wire strings."""

    symbol: str
    price: str
    quantity: str

    def params(self) -> list[tuple[str, str]]:
        return [
            ("symbol", self.symbol),
            ("side", "BUY"),
            ("type", "LIMIT_MAKER"),
            ("quantity", self.quantity),
            ("price", self.price),
        ]

    def to_json(self) -> dict[str, str]:
        return {"symbol": self.symbol, "price": self.price, "quantity": self.quantity}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> OrderRecipe:
        return cls(data["symbol"], data["price"], data["quantity"])


def _round_to(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def _wire(value: Decimal, step: Decimal) -> str:
    """A decimal with exactly the step's precision and no exponent (Binance's number syntax)."""
    places = max(0, -step.normalize().as_tuple().exponent) if step > 0 else 8  # type: ignore[operator]
    return f"{value:.{places}f}"


def _filters(symbol_info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in symbol_info.get("filters", [])}


def recipe_from(exchange_info: dict[str, Any], symbol: str, price: str) -> OrderRecipe:
    symbols = [s for s in exchange_info.get("symbols", []) if s.get("symbol") == symbol]
    if not symbols:
        raise MarketError(f"exchangeInfo has no symbol {symbol!r}")
    filters = _filters(symbols[0])
    market = Decimal(price)
    if market <= 0:
        raise MarketError(f"{symbol} price {price!r} is not positive")

    price_filter = filters.get("PRICE_FILTER", {})
    tick = Decimal(price_filter.get("tickSize", "0"))
    min_price = Decimal(price_filter.get("minPrice", "0"))
    by_side = filters.get("PERCENT_PRICE_BY_SIDE")
    percent = filters.get("PERCENT_PRICE")
    if by_side is not None:
        floor = market * Decimal(by_side["bidMultiplierDown"])
    elif percent is not None:
        floor = market * Decimal(percent["multiplierDown"])
    else:
        floor = market * FALLBACK_FRACTION / BAND_MARGIN
    p = _round_to(max(floor * BAND_MARGIN, min_price), tick, ROUND_CEILING)
    if p >= market:
        raise MarketError(f"cannot price a {symbol} bid below the market ({price})")

    lot = filters.get("LOT_SIZE", {})
    step = Decimal(lot.get("stepSize", "0"))
    min_qty = Decimal(lot.get("minQty", "0"))
    max_qty = Decimal(lot.get("maxQty", "0"))
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    min_notional = Decimal(notional.get("minNotional", "0"))
    q = max(min_notional * NOTIONAL_MARGIN / p, min_qty)
    q = _round_to(q, step, ROUND_CEILING)
    if q <= 0:
        q = step if step > 0 else Decimal(1)
    if max_qty > 0 and q > max_qty:
        q = _round_to(max_qty, step, ROUND_FLOOR)
    return OrderRecipe(symbol, _wire(p, tick), _wire(q, step))
