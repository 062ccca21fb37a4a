"""An unmodified, widely used client (python-binance) against the emulator over a real socket:
it signs on its own code path, so it checks our verification and error shapes from outside."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import READ, TRADE, make_holder

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from binance.client import Client
    from binance.exceptions import BinanceAPIException


def _client_class(base: str) -> type[Client]:
    class LocalClient(Client):  # type: ignore[misc]
        API_URL = base + "/api"
        API_TESTNET_URL = base + "/api"

    return LocalClient


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    from keyprobe.emulator.app import Emulator

    with EmulatorServer(Emulator()) as srv:
        yield srv
    # python-binance's sync Client creates an asyncio loop it never closes; close it here so
    # the ResourceWarning does not surface in a later, unrelated test.
    for client in _CLIENTS:
        client.close_connection()
        client.loop.close()
    _CLIENTS.clear()
    asyncio.set_event_loop(None)


_CLIENTS: list[Client] = []


def _connect(server: EmulatorServer, key_type: KeyType, permissions: tuple[str, ...]) -> Client:
    holder = make_holder(server.app, key_type, permissions=permissions)
    cls = _client_class(server.url)
    if key_type is KeyType.HMAC:
        client = cls(holder.api_key, holder.private)
    else:
        client = cls(holder.api_key, private_key=holder.private)
    _CLIENTS.append(client)
    return client


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.ED25519, KeyType.RSA])
def test_account_order_query_cancel(server: EmulatorServer, key_type: KeyType) -> None:
    client = _connect(server, key_type, (READ, TRADE))
    account = client.get_account()
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    free_before = float(usdt["free"])

    order = client.create_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.00100",
        price="20000.00",
    )
    assert order["status"] == "NEW"
    assert order["fills"] == []

    queried = client.get_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert queried["clientOrderId"] == order["clientOrderId"]
    assert queried["status"] == "NEW"
    assert [o["orderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == [order["orderId"]]

    locked = next(b for b in client.get_account()["balances"] if b["asset"] == "USDT")
    assert float(locked["locked"]) == pytest.approx(20.0)

    cancelled = client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert cancelled["status"] == "CANCELED"
    after = next(b for b in client.get_account()["balances"] if b["asset"] == "USDT")
    assert float(after["free"]) == pytest.approx(free_before)
    assert float(after["locked"]) == 0


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.ED25519])
def test_read_only_key_gets_401_2015(server: EmulatorServer, key_type: KeyType) -> None:
    client = _connect(server, key_type, (READ,))
    with pytest.raises(BinanceAPIException) as caught:
        client.create_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.00100",
            price="20000.00",
        )
    assert caught.value.status_code == 401
    assert caught.value.code == -2015
    assert caught.value.message == "Invalid API-key, IP, or permissions for action."


def test_cancel_unknown_order_is_2011(server: EmulatorServer) -> None:
    client = _connect(server, KeyType.ED25519, (READ, TRADE))
    with pytest.raises(BinanceAPIException) as caught:
        client.cancel_order(symbol="BTCUSDT", orderId=987654321)
    assert (caught.value.status_code, caught.value.code) == (400, -2011)
    assert caught.value.message == "Unknown order sent."


def test_public_market_data(server: EmulatorServer) -> None:
    client = _client_class(server.url)()
    _CLIENTS.append(client)
    info = client.get_symbol_info("BTCUSDT")
    assert info is not None
    assert {f["filterType"] for f in info["filters"]} >= {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}
    assert float(client.get_symbol_ticker(symbol="BTCUSDT")["price"]) > 0
    assert client.get_server_time()["serverTime"] > 0
    depth = client.get_order_book(symbol="BTCUSDT", limit=5)
    assert len(depth["bids"]) == 5
