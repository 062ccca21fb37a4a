"""Unmodified, widely used WebSocket API clients against the emulator over real sockets:
python-binance (``ws_*`` and ``user_socket()``), ccxt.pro (``create_order_ws``,
``cancel_order_ws``, ``watch_orders``) and the official binance-sdk-spot (``session_logon``
with Ed25519, ``order_place``, ``order_cancel``, ``user_data_stream_subscribe``). Each signs
on its own code path, so they check our payload rebuild, framing and events from outside."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import (
    CCXT_CLOSED,
    READ,
    TRADE,
    ccxt_config,
    make_holder,
    point_ccxt_at,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from binance.exceptions import BinanceAPIException

    from binance import AsyncClient, BinanceSocketManager


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


def _limit_buy(price: str = "20000") -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": price,
    }


# ----------------------------------------------------------------------------- python-binance


def _python_binance(server: EmulatorServer, key_type: KeyType) -> AsyncClient:
    holder = make_holder(server.app, key_type, permissions=(READ, TRADE))

    class Local(AsyncClient):  # type: ignore[misc]
        API_URL = server.url + "/api"
        WS_API_URL = server.ws_url

    if key_type is KeyType.HMAC:
        client = Local(api_key=holder.api_key, api_secret=holder.private)
    else:
        client = Local(api_key=holder.api_key, private_key=holder.private)
    # python-binance's close waits for its read loop to time out on recv() (10 s by default,
    # against Binance too); its own knob, shortened so each test does not idle 10 s.
    client.ws_api.TIMEOUT = 2
    return client


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.ED25519, KeyType.RSA])
def test_python_binance_ws_methods(server: EmulatorServer, key_type: KeyType) -> None:
    async def go() -> None:
        client = _python_binance(server, key_type)
        try:
            assert await client.ws_ping() == {}
            assert "serverTime" in await client.ws_get_time()
            info = await client.ws_get_exchange_info(symbol="BTCUSDT")
            assert info["symbols"][0]["symbol"] == "BTCUSDT"
            # A boolean param: python-binance signs it "True" (lenient accepts that).
            account = await client.ws_get_account(omitZeroBalances=True)
            assert account["canTrade"] is True
            order = await client.ws_create_order(**_limit_buy())
            assert order["status"] == "NEW"
            assert order["clientOrderId"].startswith("x-")
            got = await client.ws_get_order(symbol="BTCUSDT", orderId=order["orderId"])
            assert got["status"] == "NEW"
            opened = await client.ws_get_open_orders(symbol="BTCUSDT")
            assert [o["orderId"] for o in opened] == [order["orderId"]]
            # Placed over WS, seen over REST.
            rest = await client.get_open_orders(symbol="BTCUSDT")
            assert [o["orderId"] for o in rest] == [order["orderId"]]
            canceled = await client.ws_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
            assert canceled["status"] == "CANCELED"
            assert await client.ws_create_test_order(**_limit_buy()) == {}
            limits = await client.ws_get_account_rate_limits_orders()
            assert limits[0]["rateLimitType"] == "ORDERS"
            assert (await client.ws_get_commission_rates(symbol="BTCUSDT"))["symbol"] == "BTCUSDT"
            assert len(await client.ws_get_all_orders(symbol="BTCUSDT")) == 1
            assert await client.ws_get_my_trades(symbol="BTCUSDT") == []
            with pytest.raises(BinanceAPIException) as caught:
                await client.ws_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
            assert caught.value.code == -2011
            assert caught.value.status_code == 400
        finally:
            await client.close_connection()

    asyncio.run(go())


def test_python_binance_user_socket(server: EmulatorServer) -> None:
    async def go() -> None:
        client = _python_binance(server, KeyType.HMAC)
        try:
            async with BinanceSocketManager(client).user_socket() as stream:
                # Placed over REST, pushed over the WebSocket API.
                order = await client.create_order(**_limit_buy())
                event = await asyncio.wait_for(stream.recv(), 5)
                assert event["e"] == "executionReport"
                assert event["i"] == order["orderId"]
                assert event["x"] == "NEW"
                position = await asyncio.wait_for(stream.recv(), 5)
                assert position["e"] == "outboundAccountPosition"
                await client.ws_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
                event = await asyncio.wait_for(stream.recv(), 5)
                assert (event["e"], event["X"]) == ("executionReport", "CANCELED")
        finally:
            await client.close_connection()

    asyncio.run(go())


# ----------------------------------------------------------------------------- ccxt.pro


async def _answered(server: EmulatorServer, method: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(e.method == "WS" and e.path == method for e in server.app.journal):
        assert loop.time() < deadline, f"the emulator never answered {method}"
        await asyncio.sleep(0.02)


def _ccxt_pro(server: EmulatorServer, key_type: KeyType) -> Any:
    ccxtpro = pytest.importorskip("ccxt.pro")
    holder = make_holder(server.app, key_type, permissions=(READ, TRADE))
    ex = ccxtpro.binance(ccxt_config(holder))
    point_ccxt_at(ex, server.url)
    ws = ex.urls["api"]["ws"]
    for name in list(ws):
        if isinstance(ws[name], str):
            ws[name] = CCXT_CLOSED.replace("http", "ws")
    ws["ws-api"]["spot"] = server.ws_url
    return ex


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.ED25519])
def test_ccxt_pro_orders_over_ws(server: EmulatorServer, key_type: KeyType) -> None:
    async def go() -> None:
        ex = _ccxt_pro(server, key_type)
        try:
            await ex.load_markets()
            watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
            # The subscription goes out on the ws-api connection; wait until the emulator has
            # answered it (a fixed sleep lost the race on a loaded machine).
            await _answered(server, "userDataStream.subscribe.signature")
            order = await ex.create_order_ws("BTC/USDT", "limit", "buy", 0.001, 20000)
            assert order["status"] == "open"
            seen = await asyncio.wait_for(watcher, 5)
            assert seen[-1]["id"] == order["id"]
            assert seen[-1]["status"] == "open"
            # Watch before cancelling: the event may follow the cancel's answer at once.
            watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
            canceled = await ex.cancel_order_ws(order["id"], "BTC/USDT")
            assert canceled["status"] == "canceled"
            seen = await asyncio.wait_for(watcher, 5)
            assert seen[-1]["status"] == "canceled"
            # Cancelled over WS: gone over REST too.
            assert await ex.fetch_open_orders("BTC/USDT") == []
        finally:
            await ex.close()

    asyncio.run(go())


# ----------------------------------------------------------------------------- binance-sdk-spot


# aiohttp warns about the SDK's own connect call; that is the SDK's business.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_official_sdk_logon_place_cancel_stream(server: EmulatorServer) -> None:
    sdk = pytest.importorskip("binance_sdk_spot.spot")
    from binance_common.configuration import ConfigurationWebSocketAPI

    holder = make_holder(server.app, KeyType.ED25519, permissions=(READ, TRADE))

    async def go() -> None:
        cfg = ConfigurationWebSocketAPI(
            api_key=holder.api_key,
            private_key=holder.private,
            stream_url=server.ws_url,
            reconnect_attempts=1,
        )
        conn = await sdk.Spot(config_ws_api=cfg).websocket_api.create_connection()
        assert conn is not None
        try:
            logon = await conn.session_logon()
            assert logon.data().result.api_key == holder.api_key
            events: list[Any] = []
            stream = await conn.user_data_stream_subscribe()
            stream.stream.on("message", events.append)
            placed = await conn.order_place(
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                time_in_force="GTC",
                quantity=0.001,
                price=20000.0,
            )
            order_id = placed.data().result.order_id
            assert placed.data().result.status == "NEW"
            canceled = await conn.order_cancel(symbol="BTCUSDT", order_id=order_id)
            assert canceled.data().result.status == "CANCELED"
            for _ in range(50):
                if len(events) >= 4:
                    break
                await asyncio.sleep(0.05)
            kinds = [type(e.actual_instance).__name__ for e in events]
            assert kinds == [
                "ExecutionReport",
                "OutboundAccountPosition",
                "ExecutionReport",
                "OutboundAccountPosition",
            ]
            assert [events[0].actual_instance.x, events[2].actual_instance.x] == ["NEW", "CANCELED"]
            assert events[0].actual_instance.i == order_id
        finally:
            await conn.close_connection(close_session=True)

    asyncio.run(go())
