"""A small, independent WebSocket API client for the emulator's tests (websockets' sync
client over a real socket): it builds frames and signs them the documented way (§2.1 of the
reference: every param but ``signature``, sorted, ``k=v&...``, not percent-encoded)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.emulator.wire import Holder, now_ms

_ids = itertools.count(1)


def ws_payload(params: dict[str, Any]) -> str:
    def text(v: Any) -> str:
        if v is True:
            return "true"
        if v is False:
            return "false"
        return str(v)

    return "&".join(f"{k}={text(params[k])}" for k in sorted(params) if k != "signature")


def signed(holder: Holder, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """``params`` plus apiKey, timestamp and the signature."""
    out: dict[str, Any] = {**(params or {}), **extra}
    out.setdefault("apiKey", holder.api_key)
    out.setdefault("timestamp", now_ms())
    out["signature"] = holder.sign(ws_payload(out).encode())
    return out


class WsClient:
    def __init__(self, url: str, **kwargs: Any) -> None:
        self._connect = connect(url, open_timeout=5, **kwargs)
        self.conn: ClientConnection = self._connect.__enter__()
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, id: Any = None) -> Any:
        request_id = id if id is not None else f"t{next(_ids)}"
        frame: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        self.conn.send(json.dumps(frame))
        return request_id

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        message = self.conn.recv(timeout=timeout)
        assert isinstance(message, str)
        frame: dict[str, Any] = json.loads(message)
        return frame

    def call(
        self, method: str, params: dict[str, Any] | None = None, id: Any = None
    ) -> dict[str, Any]:
        """Send and return the response with the same id (events before it are kept)."""
        request_id = self.send(method, params, id)
        while True:
            frame = self.recv()
            if "subscriptionId" in frame and "event" in frame:
                self.events.append(frame)
                continue
            assert frame.get("id") == request_id, frame
            return frame

    def event(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.events:
            return self.events.pop(0)
        frame = self.recv(timeout)
        assert "event" in frame, frame
        return frame

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connect.__exit__(None, None, None)
