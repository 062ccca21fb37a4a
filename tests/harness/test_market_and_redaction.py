"""The order recipe (filters + price -> a LIMIT_MAKER that cannot fill) and redaction."""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx
import pytest

from keyprobe.binance.signing import KeyType, generate_key_material
from keyprobe.harness.order_recipe import MarketError, recipe_from
from keyprobe.harness.redaction import MASK, RedactingFilter, Redactor, record_exchange

INFO = {
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01", "tickSize": "0.01"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001", "stepSize": "0.00001"},
                {"filterType": "NOTIONAL", "minNotional": "5.00", "maxNotional": "9000000.00"},
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": "5",
                    "bidMultiplierDown": "0.2",
                    "askMultiplierUp": "5",
                    "askMultiplierDown": "0.2",
                    "avgPriceMins": 5,
                },
            ],
        }
    ]
}


def test_recipe_is_far_below_market_and_inside_every_filter() -> None:
    recipe = recipe_from(INFO, "BTCUSDT", "60000.00")
    price, qty = Decimal(recipe.price), Decimal(recipe.quantity)
    assert Decimal("60000") * Decimal("0.2") <= price < Decimal("60000") * Decimal("0.3")
    assert price % Decimal("0.01") == 0 and qty % Decimal("0.00001") == 0
    assert price * qty >= Decimal("5")
    assert "e" not in recipe.price.lower() and "e" not in recipe.quantity.lower()
    assert dict(recipe.params())["type"] == "LIMIT_MAKER"


def test_recipe_errors() -> None:
    with pytest.raises(MarketError, match="no symbol"):
        recipe_from(INFO, "ETHUSDT", "1")
    with pytest.raises(MarketError, match="not positive"):
        recipe_from(INFO, "BTCUSDT", "0")


def test_redactor_masks_secrets_pems_signatures_and_key_headers() -> None:
    redactor = Redactor()
    material = generate_key_material(KeyType.ED25519)
    redactor.add("A" * 64, material.private)
    body_line = material.private.splitlines()[1]
    text = (
        f"key {'A' * 64} pem {material.private} line {body_line} "
        "url /api?x=1&signature=abc%2Bdef X-MBX-APIKEY: zzzzzzzz"
    )
    out = redactor.text(text)
    assert "A" * 64 not in out and body_line not in out and "PRIVATE KEY" not in out
    assert "signature=" + MASK in out and "abc%2Bdef" not in out
    assert "zzzzzzzz" not in out
    assert redactor.obj({"k": ["A" * 64]}) == {"k": [MASK]}


def test_exchange_records_hold_no_secrets() -> None:
    redactor = Redactor()
    redactor.add("S" * 64)
    request = httpx.Request(
        "GET",
        "http://127.0.0.1:1/api/v3/account?timestamp=1&signature=deadbeef",
        headers={"X-MBX-APIKEY": "S" * 64},
    )
    response = httpx.Response(401, json={"code": -2015, "msg": "echo " + "S" * 64}, request=request)
    record = record_exchange(request, response, source_address=None, redactor=redactor)
    dumped = record.to_json()
    assert "S" * 64 not in dumped and "deadbeef" not in dumped
    assert ("signature", MASK) in record.params and record.sent_api_key


def test_log_filter_rewrites_records() -> None:
    redactor = Redactor()
    redactor.add("Q" * 64)
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s", ("Q" * 64,), None)
    RedactingFilter(redactor).filter(record)
    assert record.getMessage() == f"GET {MASK}"
