"""Hostile and careless WebSocket API clients: every bad frame gets a Binance-shaped 400 frame
and the connection keeps serving; keep-alive, lifetime and frame caps close it cleanly; many
idle connections are held."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from keyprobe.emulator.app import Emulator
from keyprobe.emulator.server import EmulatorServer
from keyprobe.emulator.wsapi import WsSettings
from tests.emulator.ws_wire import WsClient


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


BAD_FRAMES = [
    ("{not json", None, -1000, "Malformed request: not valid JSON."),
    ("[1,2]", None, -1000, "Malformed request: expected a JSON object."),
    ('"ping"', None, -1000, "Malformed request: expected a JSON object."),
    ('{"method":"ping"}', None, -1000, "Malformed request: missing 'id'."),
    ('{"id":{"a":1},"method":"ping"}', None, -1000, None),
    ('{"id":"a"}', "a", -1000, "Malformed request: missing 'method'."),
    ('{"id":"a","method":5}', "a", -1000, "Malformed request: missing 'method'."),
    (
        '{"id":"a","method":"ping","params":[1]}',
        "a",
        -1000,
        "Invalid 'params' in JSON request; expected an object.",
    ),
    ('{"id":"a","method":"ping","params":"x"}', "a", -1000, None),
    ('{"id":"a","method":"order.teleport"}', "a", -1020, "This operation is not supported."),
    ('{"id":"a","method":"ping","params":{"x":NaN}}', None, -1000, None),
    ("[" * 100_000, None, -1000, None),
    ("", None, -1000, None),
]


@pytest.mark.parametrize(("text", "request_id", "code", "msg"), BAD_FRAMES)
def test_bad_frames_get_400_and_the_connection_stays(
    server: EmulatorServer, text: str, request_id: str | None, code: int, msg: str | None
) -> None:
    with WsClient(server.ws_url) as ws:
        ws.conn.send(text)
        frame = ws.recv()
        assert frame["id"] == request_id
        assert frame["status"] == 400
        assert frame["error"]["code"] == code
        if msg is not None:
            assert frame["error"]["msg"] == msg
        assert ws.call("ping")["status"] == 200


def test_binary_frame(server: EmulatorServer) -> None:
    with WsClient(server.ws_url) as ws:
        ws.conn.send(b'{"id":1,"method":"ping"}')
        frame = ws.recv()
        assert (frame["id"], frame["status"], frame["error"]["code"]) == (None, 400, -1000)
        assert ws.call("ping")["status"] == 200


def test_oversized_frames() -> None:
    settings = WsSettings(max_request_bytes=4096, max_frame_bytes=65536)
    with EmulatorServer(Emulator(ws_settings=settings)) as srv, WsClient(srv.ws_url) as ws:
        big = json.dumps({"id": 1, "method": "ping", "params": {"x": "a" * 5000}})
        ws.conn.send(big)
        frame = ws.recv()
        assert (frame["id"], frame["status"], frame["error"]["msg"]) == (
            None,
            400,
            "Request too large.",
        )
        assert ws.call("ping")["status"] == 200
        ws.conn.send("x" * 70_000)  # beyond the transport cap: closed 1009
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


def test_a_pipelined_flood_is_answered_in_order(server: EmulatorServer) -> None:
    with WsClient(server.ws_url) as ws:
        for i in range(2000):
            ws.conn.send(json.dumps({"id": i, "method": "ping", "params": {}}))
        ids = [ws.recv()["id"] for _ in range(2000)]
        assert ids == list(range(2000))
        assert ws.call("time")["status"] == 200


def _raw_handshake(host: str, port: int) -> socket.socket:
    """A client that upgrades and then never reads or answers anything."""
    sock = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws-api/v3 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in sock.recv(4096).split(b"\r\n", 1)[0] + b" "
    return sock


def test_no_pong_means_disconnect() -> None:
    settings = WsSettings(ping_interval_s=0.2, ping_timeout_s=0.5)
    with EmulatorServer(Emulator(ws_settings=settings)) as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        silent = _raw_handshake(host, int(port))
        with WsClient(srv.ws_url) as polite:  # websockets answers pings itself
            deadline = time.monotonic() + 5
            received = b""
            while time.monotonic() < deadline:
                chunk = silent.recv(4096)
                if not chunk:
                    break
                received += chunk
            else:
                pytest.fail("the silent client was not dropped")
            assert received.startswith(b"\x89")  # a ping came first
            assert b"\x88" in received  # then the close frame
            assert polite.call("ping")["status"] == 200
        silent.close()


def test_lifetime_is_enforced() -> None:
    settings = WsSettings(max_lifetime_s=0.5)
    with EmulatorServer(Emulator(ws_settings=settings)) as srv, WsClient(srv.ws_url) as ws:
        assert ws.call("ping")["status"] == 200
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1000


def test_hundreds_of_idle_connections(server: EmulatorServer) -> None:
    from websockets.asyncio.client import connect

    async def go() -> None:
        conns = [await connect(server.ws_url) for _ in range(300)]
        try:
            assert len(server.app.ws_api.connections) == 300
            for i, conn in enumerate(conns[::30]):
                await conn.send(json.dumps({"id": i, "method": "ping"}))
                assert json.loads(await conn.recv())["id"] == i
        finally:
            await asyncio.gather(*(c.close() for c in conns))

    asyncio.run(go())
    deadline = time.monotonic() + 5
    while server.app.ws_api.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.app.ws_api.connections
