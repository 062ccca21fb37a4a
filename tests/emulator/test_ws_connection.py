"""The WebSocket API's connection, over real sockets: the URL's timeUnit and responseFormat
(HTTP 400 with a JSON body for what the emulator refuses, reference §1.1 / D-SBE), timestamps
in microseconds, the 300 connection attempts / 5 min per IP limit, the serverShutdown event
when the server stops, and balanceUpdate events for withdrawals and transfers."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.server import EmulatorServer
from keyprobe.emulator.wsapi import WsSettings
from tests.emulator.conftest import READ, TRADE, make_holder
from tests.emulator.test_ws_api import LIMIT_BUY
from tests.emulator.wire import call, now_ms
from tests.emulator.ws_wire import WsClient, signed


def refused(url: str) -> tuple[int, dict[str, object], str]:
    """The HTTP status, JSON body and content type a refused handshake answered."""
    with pytest.raises(InvalidStatus) as caught, connect(url, open_timeout=5):
        pass
    response = caught.value.response
    return (
        response.status_code,
        json.loads(response.body or b"{}"),
        response.headers["content-type"],
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("responseFormat=sbe&sbeSchemaId=3&sbeSchemaVersion=1", -1000),
        ("responseFormat=sbe&responseFormat=json", -1101),
        ("responseFormat=xml", -1100),
        ("timeUnit=NANOSECOND", -1100),
        ("timeUnit=MICROSECOND&timeUnit=MILLISECOND", -1101),
    ],
)
def test_bad_handshake_params_are_http_400_with_json(query: str, code: int) -> None:
    with EmulatorServer(Emulator()) as server:
        status, body, content_type = refused(f"{server.ws_url}?{query}")
        assert status == 400
        assert body["code"] == code and isinstance(body["msg"], str)
        assert content_type == "application/json;charset=UTF-8"
        # A good URL still connects: the refusal cost nothing lasting.
        with WsClient(f"{server.ws_url}?responseFormat=json&timeUnit=millisecond") as ws:
            assert ws.call("ping")["status"] == 200


def test_microsecond_time_unit_scales_every_timestamp() -> None:
    emu = Emulator()
    holder = make_holder(emu, KeyType.HMAC, (READ, TRADE))
    with EmulatorServer(emu) as server:  # noqa: SIM117 - the clients need its URL
        with WsClient(server.ws_url) as ms, WsClient(f"{server.ws_url}?timeUnit=MICROSECOND") as us:
            before = now_ms()
            server_us = us.call("time")["result"]["serverTime"]
            server_ms = ms.call("time")["result"]["serverTime"]
            assert server_us // 1000 >= before and abs(server_us // 1000 - server_ms) < 2_000
            assert us.call("userDataStream.subscribe.signature", signed(holder))["status"] == 200
            order = {**LIMIT_BUY, "newOrderRespType": "RESULT"}
            placed = us.call("order.place", signed(holder, order))["result"]
            assert placed["transactTime"] >= before * 1000
            assert placed["workingTime"] >= before * 1000
            report = us.event()["event"]
            assert report["E"] >= before * 1000 and report["O"] >= before * 1000
            # The request's own timestamp may be in ms (or µs): only answers are scaled.
            status = ms.call(
                "order.status", signed(holder, symbol="BTCUSDT", orderId=placed["orderId"])
            )
            assert status["result"]["time"] * 1000 == placed["transactTime"] // 1000 * 1000


def test_connection_attempts_past_the_limit_are_refused_with_429() -> None:
    settings = WsSettings(max_connection_attempts=3, connection_window_s=300)
    with EmulatorServer(Emulator(ws_settings=settings)) as server:
        for _ in range(3):
            with WsClient(server.ws_url) as ws:
                assert ws.call("ping")["status"] == 200
        status, body, content_type = refused(server.ws_url)
        assert status == 429 and body["code"] == -1003
        assert "3 connection attempts per 5 minutes" in str(body["msg"])
        assert content_type.startswith("application/json")
        # Per IP: another loopback address still connects.
        with WsClient(server.ws_url, source_address=("127.0.0.2", 0)) as other:
            assert other.call("ping")["status"] == 200
        # REST is not affected.
        assert httpx.get(server.url + "/api/v3/ping").status_code == 200


def test_the_default_limit_is_the_documented_300_per_5_minutes() -> None:
    settings = WsSettings()
    assert (settings.max_connection_attempts, settings.connection_window_s) == (300, 300.0)


def test_server_shutdown_is_announced_to_every_connection() -> None:
    server = EmulatorServer(Emulator())
    server.start()
    try:
        clients = [WsClient(server.ws_url) for _ in range(2)]
        for ws in clients:
            assert ws.call("ping")["status"] == 200
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        for ws in clients:
            frame = ws.recv(timeout=5)
            assert set(frame) == {"event"}, frame  # no subscriptionId
            assert frame["event"]["e"] == "serverShutdown"
            assert isinstance(frame["event"]["E"], int)
        stopper.join(10)
        assert not stopper.is_alive()
    finally:
        server.stop()


def test_withdrawals_and_transfers_push_balance_updates() -> None:
    emu = Emulator()
    holder = make_holder(
        emu,
        KeyType.HMAC,
        (READ, "enableWithdrawals", "permitsUniversalTransfer"),
        ip_whitelist=["127.0.0.1"],
    )
    with EmulatorServer(emu) as server, httpx.Client(base_url=server.url) as rest:  # noqa: SIM117
        with WsClient(server.ws_url) as ws:
            assert ws.call("userDataStream.subscribe.signature", signed(holder))["status"] == 200
            withdraw = {
                "coin": "USDT",
                "network": "TRX",
                "address": "T" + "a" * 33,
                "amount": "1.5",
            }
            assert (
                call(rest, "POST", "/sapi/v1/capital/withdraw/apply", holder, withdraw).status_code
                == 200
            )
            update = ws.event()
            assert update["subscriptionId"] == 0
            event = update["event"]
            assert (event["e"], event["a"], event["d"]) == ("balanceUpdate", "USDT", "-1.50000000")
            assert isinstance(event["T"], int)
            position = ws.event()["event"]
            assert position["e"] == "outboundAccountPosition"
            assert [b["a"] for b in position["B"]] == ["USDT"]
            transfer = {"type": "MAIN_FUNDING", "asset": "BTC", "amount": "0.01"}
            assert (
                call(rest, "POST", "/sapi/v1/asset/transfer", holder, transfer).status_code == 200
            )
            event = ws.event()["event"]
            assert (event["e"], event["a"], event["d"]) == ("balanceUpdate", "BTC", "-0.01000000")
            assert ws.event()["event"]["e"] == "outboundAccountPosition"
            # Into spot from elsewhere is not modelled by the engine: no event.
            back = {"type": "FUNDING_MAIN", "asset": "BTC", "amount": "0.01"}
            assert call(rest, "POST", "/sapi/v1/asset/transfer", holder, back).status_code == 200
            with pytest.raises(TimeoutError):
                ws.event(timeout=0.3)
