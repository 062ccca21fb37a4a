"""What the emulated exchange trades: symbols with their filters and prices, the balances every
account starts with, and the optional TOML seed file that overrides both."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from keyprobe.binance.params import STP_MODES

# What the engine implements. Listing only these in orderTypes tells clients the truth; the
# stop/take-profit types are valid Binance enums that this emulator does not trade.
IMPLEMENTED_ORDER_TYPES: tuple[str, ...] = ("LIMIT", "LIMIT_MAKER", "MARKET")
EIGHT_PLACES = Decimal("0.00000001")


def fmt(value: Decimal) -> str:
    """Binance's rendering of an amount: fixed point, eight decimals ("0.00100000")."""
    try:
        return _fmt_cached(value)
    except TypeError:  # a signalling NaN cannot be hashed
        return _fmt(value)


def _fmt(value: Decimal) -> str:
    try:
        text = f"{value.quantize(EIGHT_PLACES):f}"
    except InvalidOperation:
        # More than 28 significant digits at eight places (a legal 20.20-digit icebergQty):
        # render it anyway rather than fail the request.
        with localcontext() as ctx:
            ctx.prec = 64
            text = f"{value.quantize(EIGHT_PLACES):f}"
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


# The same few amounts (balances, commissions, prices) are rendered on every account, order
# and ticker answer, and rendering costs ~1.5 us: it was the largest single cost of a signed
# GET /api/v3/account (22 renderings). Equal Decimals render alike, so the value is the key.
_fmt_cached = lru_cache(maxsize=8192)(_fmt)


def plain(value: Decimal) -> str:
    """Multipliers travel unpadded in exchangeInfo ("5", "0.2"), unlike prices and quantities."""
    text = f"{value.normalize():f}"
    return text


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One spot symbol: assets, current price and the filters of its exchangeInfo entry.
    A zero bound disables its rule, as in Binance's filters."""

    symbol: str
    base_asset: str
    quote_asset: str
    price: Decimal
    base_precision: int = 8
    quote_precision: int = 8
    tick_size: Decimal = Decimal("0.01")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    step_size: Decimal = Decimal("0.00001")
    min_qty: Decimal = Decimal("0.00001")
    max_qty: Decimal = Decimal("9000")
    market_min_qty: Decimal = Decimal("0")
    market_max_qty: Decimal = Decimal("100")
    market_step_size: Decimal = Decimal("0")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    avg_price_mins: int = 5
    bid_multiplier_up: Decimal = Decimal("5")
    bid_multiplier_down: Decimal = Decimal("0.2")
    ask_multiplier_up: Decimal = Decimal("5")
    ask_multiplier_down: Decimal = Decimal("0.2")
    iceberg_parts: int = 100
    max_num_orders: int = 200
    max_num_algo_orders: int = 5
    order_types: tuple[str, ...] = IMPLEMENTED_ORDER_TYPES
    # The symbol's permission sets: ("SPOT",) renders as "permissionSets": [["SPOT"]].
    permissions: tuple[str, ...] = ("SPOT",)
    status: str = "TRADING"
    default_stp_mode: str = "EXPIRE_MAKER"


def _spec(symbol: str, base: str, quote: str, price: str, **filters: str) -> SymbolSpec:
    spec = SymbolSpec(symbol, base, quote, Decimal(price))
    changes: dict[str, Any] = {name: Decimal(value) for name, value in filters.items()}
    return replace(spec, **changes)


# Values in the style of the Spot Testnet's exchangeInfo (tick/step/notional per symbol).
DEFAULT_SYMBOLS: Mapping[str, SymbolSpec] = MappingProxyType(
    {
        s.symbol: s
        for s in (
            _spec(
                "BTCUSDT", "BTC", "USDT", "65000.00",
                tick_size="0.01", min_price="0.01", max_price="1000000",
                step_size="0.00001", min_qty="0.00001", max_qty="9000",
                market_max_qty="85.63414634",
            ),
            _spec(
                "ETHUSDT", "ETH", "USDT", "3200.00",
                tick_size="0.01", min_price="0.01", max_price="1000000",
                step_size="0.0001", min_qty="0.0001", max_qty="9000",
                market_max_qty="2430.41946527",
            ),
            _spec(
                "BNBUSDT", "BNB", "USDT", "600.00",
                tick_size="0.01", min_price="0.01", max_price="1000000",
                step_size="0.001", min_qty="0.001", max_qty="9000",
                market_max_qty="8765.93220338",
            ),
            _spec(
                "这是测试币456", "这是测试币", "456", "10.0000",
                tick_size="0.0001", min_price="0.0001", max_price="100000",
                step_size="0.01", min_qty="0.01", max_qty="9000000",
                market_max_qty="500000", min_notional="1",
            ),
        )
    }
)  # fmt: skip

# Every account starts with these (the testnet hands every account an allowance of many assets);
# the zero rows make omitZeroBalances observable.
DEFAULT_BALANCES: Mapping[str, Decimal] = MappingProxyType(
    {
        "BTC": Decimal("1"),
        "ETH": Decimal("10"),
        "BNB": Decimal("100"),
        "USDT": Decimal("10000"),
        "这是测试币": Decimal("10000"),
        "456": Decimal("100000"),
        "LTC": Decimal("0"),
        "XRP": Decimal("0"),
        "TRX": Decimal("0"),
    }
)


@dataclass(frozen=True, slots=True)
class Seed:
    """What the exchange starts from and returns to on reset."""

    symbols: Mapping[str, SymbolSpec] = field(default_factory=lambda: dict(DEFAULT_SYMBOLS))
    balances: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    maker_commission: Decimal = Decimal("0")
    taker_commission: Decimal = Decimal("0")


class SeedFileError(ValueError):
    """A seed file that cannot be used; the message names the file and the field."""


_SPEC_FIELDS = {f.name: f for f in fields(SymbolSpec)}
_REQUIRED_FOR_NEW = ("base_asset", "quote_asset", "price")


def load_seed(path: str | Path) -> Seed:
    """Read a TOML seed: ``[commission]`` (maker, taker), ``[balances]`` (asset = amount,
    merged over the defaults) and ``[[symbol]]`` tables (override a default symbol field by
    field, or add a new one, which needs base_asset, quote_asset and price)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SeedFileError(f"{path}: cannot read seed file: {exc}") from None
    _reject_unknown(path, "", doc, {"commission", "balances", "symbol"})
    commission = _table(path, "commission", doc.get("commission", {}))
    _reject_unknown(path, "commission.", commission, {"maker", "taker"})
    balances = dict(DEFAULT_BALANCES)
    for asset, amount in _table(path, "balances", doc.get("balances", {})).items():
        balances[asset] = _decimal(path, f"balances.{asset}", amount)
    return Seed(
        symbols=_symbols(path, doc.get("symbol", [])),
        balances=balances,
        maker_commission=_decimal(path, "commission.maker", commission.get("maker", 0)),
        taker_commission=_decimal(path, "commission.taker", commission.get("taker", 0)),
    )


def _symbols(path: Path, raw: Any) -> dict[str, SymbolSpec]:
    if not isinstance(raw, list):
        raise SeedFileError(f"{path}: symbol: expected [[symbol]] tables")
    symbols = dict(DEFAULT_SYMBOLS)
    for index, table in enumerate(raw):
        where = f"symbol[{index}]"
        table = _table(path, where, table)
        name = table.get("symbol")
        if not isinstance(name, str) or not name:
            raise SeedFileError(f"{path}: {where}.symbol: missing or not a string")
        _reject_unknown(path, f"{where}.", table, set(_SPEC_FIELDS))
        values = {k: _field(path, f"{where}.{k}", k, v) for k, v in table.items()}
        if name in symbols:
            symbols[name] = replace(symbols[name], **values)
            continue
        for required in _REQUIRED_FOR_NEW:
            if required not in values:
                raise SeedFileError(f"{path}: {where}.{required}: required for a new symbol")
        symbols[name] = SymbolSpec(**values)
    return symbols


def _field(path: Path, where: str, name: str, value: Any) -> Any:
    kind = str(_SPEC_FIELDS[name].type)
    if kind == "Decimal":
        return _decimal(path, where, value)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise SeedFileError(f"{path}: {where}: expected an integer, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SeedFileError(f"{path}: {where}: expected true or false, got {value!r}")
        return value
    if kind.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SeedFileError(f"{path}: {where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise SeedFileError(f"{path}: {where}: expected a string, got {value!r}")
    return value


def _decimal(path: Path, where: str, value: Any) -> Decimal:
    # Floats go through str() so 0.1 stays 0.1; strings are the safe way to write amounts.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SeedFileError(f"{path}: {where}: expected a decimal, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise SeedFileError(f"{path}: {where}: expected a decimal, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise SeedFileError(f"{path}: {where}: expected a non-negative decimal, got {value!r}")
    return result


def _table(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedFileError(f"{path}: {where}: expected a table")
    return value


def _reject_unknown(path: Path, prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise SeedFileError(f"{path}: {prefix}{key}: unknown field")


def symbol_json(spec: SymbolSpec) -> dict[str, Any]:
    """The exchangeInfo symbol object, keys in the order Binance sends them."""
    return {
        "symbol": spec.symbol,
        "status": spec.status,
        "baseAsset": spec.base_asset,
        "baseAssetPrecision": spec.base_precision,
        "quoteAsset": spec.quote_asset,
        "quotePrecision": spec.quote_precision,
        "quoteAssetPrecision": spec.quote_precision,
        "baseCommissionPrecision": spec.base_precision,
        "quoteCommissionPrecision": spec.quote_precision,
        "orderTypes": list(spec.order_types),
        # Capabilities the engine has; order lists, trailing stops, amend and pegs it has not.
        "icebergAllowed": True,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters_json(spec),
        "permissions": [],
        "permissionSets": [list(spec.permissions)],
        "defaultSelfTradePreventionMode": spec.default_stp_mode,
        "allowedSelfTradePreventionModes": list(STP_MODES),
    }


def _filters_json(spec: SymbolSpec) -> list[dict[str, Any]]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": fmt(spec.min_price),
            "maxPrice": fmt(spec.max_price),
            "tickSize": fmt(spec.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": fmt(spec.min_qty),
            "maxQty": fmt(spec.max_qty),
            "stepSize": fmt(spec.step_size),
        },
        {"filterType": "ICEBERG_PARTS", "limit": spec.iceberg_parts},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": fmt(spec.market_min_qty),
            "maxQty": fmt(spec.market_max_qty),
            "stepSize": fmt(spec.market_step_size),
        },
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": plain(spec.bid_multiplier_up),
            "bidMultiplierDown": plain(spec.bid_multiplier_down),
            "askMultiplierUp": plain(spec.ask_multiplier_up),
            "askMultiplierDown": plain(spec.ask_multiplier_down),
            "avgPriceMins": spec.avg_price_mins,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": fmt(spec.min_notional),
            "applyMinToMarket": spec.apply_min_to_market,
            "maxNotional": fmt(spec.max_notional),
            "applyMaxToMarket": spec.apply_max_to_market,
            "avgPriceMins": spec.avg_price_mins,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": spec.max_num_orders},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": spec.max_num_algo_orders},
    ]
