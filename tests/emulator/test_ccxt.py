"""A second independent client, ccxt (its own signing and error mapping), against the emulator
over a real socket. Every URL ccxt knows that is not the spot REST API is pointed at a closed
loopback port, so nothing can leave the machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import READ, TRADE, ccxt_config, make_holder, point_ccxt_at

ccxt = pytest.importorskip("ccxt")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


def _exchange(server: EmulatorServer, key_type: KeyType, permissions: tuple[str, ...]) -> Any:
    holder = make_holder(server.app, key_type, permissions=permissions)
    ex = ccxt.binance(ccxt_config(holder))
    point_ccxt_at(ex, server.url)
    return ex


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.ED25519])
def test_markets_balance_order_cancel(server: EmulatorServer, key_type: KeyType) -> None:
    ex = _exchange(server, key_type, (READ, TRADE))
    ex.load_markets()
    assert "BTC/USDT" in ex.markets
    assert ex.fetch_balance()["USDT"]["used"] == 0
    order = ex.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)
    assert order["status"] == "open"
    assert ex.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    assert ex.fetch_balance()["USDT"]["used"] == pytest.approx(20.0)
    assert ex.cancel_order(order["id"], "BTC/USDT")["status"] == "canceled"
    assert ex.fetch_balance()["USDT"]["used"] == 0


def test_read_only_key_is_an_authentication_error(server: EmulatorServer) -> None:
    ex = _exchange(server, KeyType.ED25519, (READ,))
    ex.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)


def test_cancel_unknown_order_is_order_not_found(server: EmulatorServer) -> None:
    ex = _exchange(server, KeyType.HMAC, (READ, TRADE))
    ex.load_markets()
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        ex.cancel_order("424242", "BTC/USDT")
