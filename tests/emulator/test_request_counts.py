"""``GET /_keyprobe/requests``: what the emulator answered per client address, over real
sockets — REST requests and WebSocket API frames (a malformed frame too), never the count's
own requests or a reset, and zeroed by ``POST /_keyprobe/reset``. A sharded run's balance is
read from it (tests/harness/test_sharded_run.py)."""

from __future__ import annotations

import httpx
from websockets.sync.client import connect

from keyprobe.emulator.server import EmulatorServer


def counts(client: httpx.Client) -> dict[str, object]:
    answer = client.get("/_keyprobe/requests")
    assert answer.status_code == 200, answer.text
    document: dict[str, object] = answer.json()
    return document


def test_rest_requests_and_ws_frames_count_by_address(served: EmulatorServer) -> None:
    with httpx.Client(base_url=served.url, timeout=5) as client:
        assert counts(client) == {"total": 0, "by_ip": {}}
        for path in ("/api/v3/time", "/api/v3/ping", "/api/v3/nowhere"):
            client.get(path)
        with connect(served.ws_url, open_timeout=5) as ws:
            ws.send('{"id": 1, "method": "ping"}')
            ws.recv(timeout=5)
            ws.send("not json")  # refused before any method runs: still a frame received
            ws.recv(timeout=5)
        # Asking twice costs nothing: the count's own requests are not counted.
        assert counts(client) == counts(client) == {"total": 5, "by_ip": {"127.0.0.1": 5}}
        with httpx.Client(
            base_url=served.url, timeout=5, transport=httpx.HTTPTransport(local_address="127.0.0.2")
        ) as other:
            other.get("/api/v3/time")
        assert counts(client)["by_ip"] == {"127.0.0.1": 5, "127.0.0.2": 1}
        assert client.post("/_keyprobe/reset").status_code == 200
        assert counts(client) == {"total": 0, "by_ip": {}}
