"""A fault-injecting, recording ASGI app in front of the real emulator (tests only).

It is served over a real socket like the emulator itself, so the harness meets the faults the
way it would meet them live: an answer that is late, a 5xx, a 429 or 418 with ``Retry-After``,
a ``/api/v3/time`` that lies. It also records every request's raw query, body and
``X-MBX-APIKEY`` header, so a test can look for every key and signature the harness sent
(the emulator's own journal deliberately keeps neither)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from keyprobe.binance.errors import message
from keyprobe.binance.signing import decode_signature_value, strip_signature

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Fault:
    """What to do to requests for ``path``: wait ``delay`` seconds, then answer ``status``
    (with ``retry_after`` and a Binance-shaped body) or, with ``status`` None, pass the request
    on to the emulator. ``times`` None: every matching request; N: only the first N. ``code``
    answers that Binance error (its catalogue message) instead of the status's usual body, e.g.
    ``Fault(path, status=400, code=-1021)``: a timestamp refusal that no resync cures.
    ``api_key``: only requests sent with this ``X-MBX-APIKEY`` (one profile's cells)."""

    path: str
    status: int | None = None
    method: str | None = None
    code: int | None = None
    api_key: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    # With ``delay``: pass the request on at once and hold only its answer (the exchange acts,
    # the client hears of it too late), instead of waiting before the request goes on.
    hold_answer: bool = False
    times: int | None = None
    hits: int = 0

    def body(self) -> bytes:
        if self.code is not None:
            return json.dumps({"code": self.code, "msg": message(self.code)}).encode()
        if self.status == 429:
            payload: object = {
                "code": -1003,
                "msg": "Too many requests; current limit is exceeded.",
            }
        elif self.status == 418:
            payload = {"code": -1003, "msg": "Way too many requests; IP banned until later."}
        elif self.status is not None and self.status >= 500:
            return b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        else:
            payload = {"code": -1000, "msg": "An unknown error occurred."}
        return json.dumps(payload).encode()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: bytes
    body: bytes
    api_key: str | None


@dataclass
class Faulty:
    """The ASGI app: ``app`` is the emulator. ``time_shift_ms`` makes ``/api/v3/time`` report
    a server time that far from the one the emulator checks timestamps against (a target
    whose clock source disagrees with itself: a -1021 that no resync can cure)."""

    app: App
    faults: list[Fault] = field(default_factory=list)
    time_shift_ms: int = 0
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the server asks of its app (the WebSocket API's settings...) is the
        # emulator's: this front only stands in the way of HTTP requests.
        if name.startswith("_") or name == "app":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    def signatures(self) -> set[str]:
        """Every signature value sent, as on the wire and decoded."""
        found: set[str] = set()
        with self._lock:
            seen = list(self.seen)
        for request in seen:
            for raw in (request.query, request.body):
                for value in strip_signature(raw)[1]:
                    found.add(value.decode("latin-1"))
                    found.add(decode_signature_value(value))
        return {s for s in found if s}

    def api_keys(self) -> set[str]:
        with self._lock:
            return {s.api_key for s in self.seen if s.api_key}

    def count(self, path: str, api_key: str | None = None) -> int:
        """How many requests for ``path`` arrived (with ``api_key``, if given)."""
        with self._lock:
            return sum(1 for s in self.seen if s.path == path and api_key in (None, s.api_key))

    def _match(self, method: str, path: str, api_key: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path != path or fault.method not in (None, method):
                    continue
                if fault.api_key is not None and fault.api_key != api_key:
                    continue
                if fault.times is None or fault.hits < fault.times:
                    fault.hits += 1
                    return fault
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = dict(scope.get("headers") or [])
        api_key = headers.get(b"x-mbx-apikey")
        with self._lock:
            self.seen.append(
                Seen(
                    scope["method"],
                    scope["path"],
                    scope.get("query_string", b""),
                    body,
                    None if api_key is None else api_key.decode("latin-1"),
                )
            )
        fault = self._match(
            scope["method"], scope["path"], None if api_key is None else api_key.decode("latin-1")
        )
        if fault is not None and fault.delay and fault.hold_answer:
            held = fault.delay

            async def late(message: Message) -> None:
                nonlocal held
                if held:
                    await asyncio.sleep(held)
                    held = 0.0
                await send(message)

            send = late
        elif fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            extra = (
                [] if fault.retry_after is None else [(b"retry-after", b"%g" % fault.retry_after)]
            )
            await _answer(send, fault.status, fault.body(), extra)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        if scope["path"] == "/api/v3/time" and self.time_shift_ms:
            await self._shifted_time(scope, replay, send)
            return
        await self.app(scope, replay, send)

    async def _shifted_time(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 200
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        data = json.loads(b"".join(parts))
        data["serverTime"] += self.time_shift_ms
        await _answer(send, status, json.dumps(data).encode(), [])


async def _answer(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    kind = b"text/html" if body.startswith(b"<") else b"application/json;charset=UTF-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", b"%d" % len(body)), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})
