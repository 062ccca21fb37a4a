"""Symbols, filters, default balances and the TOML seed file of the emulated exchange."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from keyprobe.emulator.symbols import (
    DEFAULT_BALANCES,
    DEFAULT_SYMBOLS,
    Seed,
    SeedFileError,
    fmt,
    load_seed,
    symbol_json,
)


def test_fmt_renders_eight_decimals() -> None:
    assert fmt(Decimal("0.001")) == "0.00100000"
    assert fmt(Decimal("65000")) == "65000.00000000"
    assert fmt(Decimal("-0")) == "0.00000000"
    assert fmt(Decimal("1E+2")) == "100.00000000"


def test_default_symbols_include_the_testnet_ones() -> None:
    assert {"BTCUSDT", "ETHUSDT", "BNBUSDT", "这是测试币456"} <= set(DEFAULT_SYMBOLS)
    unicode = DEFAULT_SYMBOLS["这是测试币456"]
    assert (unicode.base_asset, unicode.quote_asset) == ("这是测试币", "456")
    for spec in DEFAULT_SYMBOLS.values():
        assert spec.price % spec.tick_size == 0
        assert spec.base_asset in DEFAULT_BALANCES
        assert spec.quote_asset in DEFAULT_BALANCES


def test_default_balances_have_zero_rows() -> None:
    assert DEFAULT_BALANCES["USDT"] > 0
    assert any(amount == 0 for amount in DEFAULT_BALANCES.values())


def test_symbol_json_has_binance_keys_in_order() -> None:
    info = symbol_json(DEFAULT_SYMBOLS["BTCUSDT"])
    assert list(info) == [
        "symbol",
        "status",
        "baseAsset",
        "baseAssetPrecision",
        "quoteAsset",
        "quotePrecision",
        "quoteAssetPrecision",
        "baseCommissionPrecision",
        "quoteCommissionPrecision",
        "orderTypes",
        "icebergAllowed",
        "ocoAllowed",
        "otoAllowed",
        "quoteOrderQtyMarketAllowed",
        "allowTrailingStop",
        "cancelReplaceAllowed",
        "amendAllowed",
        "pegInstructionsAllowed",
        "isSpotTradingAllowed",
        "isMarginTradingAllowed",
        "filters",
        "permissions",
        "permissionSets",
        "defaultSelfTradePreventionMode",
        "allowedSelfTradePreventionModes",
    ]
    assert info["status"] == "TRADING"
    assert info["orderTypes"] == ["LIMIT", "LIMIT_MAKER", "MARKET"]
    assert info["permissions"] == []
    assert info["permissionSets"] == [["SPOT"]]


def test_symbol_json_filters() -> None:
    filters = symbol_json(DEFAULT_SYMBOLS["BTCUSDT"])["filters"]
    assert [f["filterType"] for f in filters] == [
        "PRICE_FILTER",
        "LOT_SIZE",
        "ICEBERG_PARTS",
        "MARKET_LOT_SIZE",
        "TRAILING_DELTA",
        "PERCENT_PRICE_BY_SIDE",
        "NOTIONAL",
        "MAX_NUM_ORDERS",
        "MAX_NUM_ALGO_ORDERS",
    ]
    by_type = {f["filterType"]: f for f in filters}
    assert by_type["PRICE_FILTER"] == {
        "filterType": "PRICE_FILTER",
        "minPrice": "0.01000000",
        "maxPrice": "1000000.00000000",
        "tickSize": "0.01000000",
    }
    assert by_type["LOT_SIZE"]["stepSize"] == "0.00001000"
    # Multipliers travel unpadded, as in Binance's exchangeInfo.
    assert by_type["PERCENT_PRICE_BY_SIDE"] == {
        "filterType": "PERCENT_PRICE_BY_SIDE",
        "bidMultiplierUp": "5",
        "bidMultiplierDown": "0.2",
        "askMultiplierUp": "5",
        "askMultiplierDown": "0.2",
        "avgPriceMins": 5,
    }
    assert by_type["NOTIONAL"] == {
        "filterType": "NOTIONAL",
        "minNotional": "5.00000000",
        "applyMinToMarket": True,
        "maxNotional": "9000000.00000000",
        "applyMaxToMarket": False,
        "avgPriceMins": 5,
    }
    assert by_type["MAX_NUM_ORDERS"] == {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}


def test_seed_defaults() -> None:
    seed = Seed()
    assert dict(seed.symbols) == dict(DEFAULT_SYMBOLS)
    assert dict(seed.balances) == dict(DEFAULT_BALANCES)
    assert seed.maker_commission == seed.taker_commission == 0


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_seed_overrides_and_adds(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[commission]
maker = "0.001"
taker = 0.002

[balances]
USDT = "500"
DOGE = 1000

[[symbol]]
symbol = "BTCUSDT"
price = "30000.00"
max_num_orders = 3

[[symbol]]
symbol = "DOGEUSDT"
base_asset = "DOGE"
quote_asset = "USDT"
price = "0.1"
tick_size = "0.00001"
step_size = "1"
min_qty = "1"
order_types = ["LIMIT", "MARKET"]
status = "BREAK"
""",
    )
    seed = load_seed(path)
    assert seed.maker_commission == Decimal("0.001")
    assert seed.taker_commission == Decimal("0.002")
    assert seed.balances["USDT"] == Decimal("500")
    assert seed.balances["DOGE"] == Decimal("1000")
    assert seed.balances["BTC"] == DEFAULT_BALANCES["BTC"]
    btc = seed.symbols["BTCUSDT"]
    assert (btc.price, btc.max_num_orders) == (Decimal("30000.00"), 3)
    assert btc.tick_size == DEFAULT_SYMBOLS["BTCUSDT"].tick_size
    doge = seed.symbols["DOGEUSDT"]
    assert doge.order_types == ("LIMIT", "MARKET")
    assert doge.status == "BREAK"
    assert doge.step_size == Decimal("1")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("this is = = not toml", "cannot read seed file"),
        ("[balances]\nUSDT = 'lots'\n", "balances.USDT: expected a decimal"),
        ("[balances]\nUSDT = '-1'\n", "balances.USDT: expected a non-negative decimal"),
        ("[commission]\nrebate = '0.1'\n", "commission.rebate: unknown field"),
        ("colour = 'blue'\n", "colour: unknown field"),
        ("[[symbol]]\nprice = '1'\n", "symbol[0].symbol: missing or not a string"),
        ("[[symbol]]\nsymbol = 'BTCUSDT'\ntick = '1'\n", "symbol[0].tick: unknown field"),
        (
            "[[symbol]]\nsymbol = 'BTCUSDT'\nmax_num_orders = '3'\n",
            "symbol[0].max_num_orders: expected an integer",
        ),
        (
            "[[symbol]]\nsymbol = 'BTCUSDT'\napply_min_to_market = 1\n",
            "symbol[0].apply_min_to_market: expected true or false",
        ),
        (
            "[[symbol]]\nsymbol = 'BTCUSDT'\norder_types = 'LIMIT'\n",
            "symbol[0].order_types: expected a list of strings",
        ),
        (
            "[[symbol]]\nsymbol = 'X'\nbase_asset = 'A'\nquote_asset = 'B'\n",
            "symbol[0].price: required for a new symbol",
        ),
        ("symbol = 3\n", "symbol: expected [[symbol]] tables"),
    ],
)
def test_load_seed_errors_name_the_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SeedFileError) as caught:
        load_seed(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert field in str(caught.value)


def test_load_seed_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedFileError, match="cannot read seed file"):
        load_seed(tmp_path / "absent.toml")
