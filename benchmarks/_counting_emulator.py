"""``keyprobe emulator`` plus a count of what it served, for figures 3, 4 and 7.

The emulator app is wrapped in a small ASGI middleware that counts requests, TCP connections
(distinct client address and port pairs: a keep-alive connection keeps its port) and 429/418
answers. ``GET /_bench/stats`` returns the counts; ``POST /_bench/reset`` zeroes them and the
emulator's rate-limit windows. Keys come from a JSON file written by the benchmark.

WebSocket API requests (each text or binary frame received on ``/ws-api/v3``) count as
requests too, per source address in ``by_ip`` like REST ones, and a 429/418 answer frame (or
handshake refusal) as limited. ``--latency-ms`` delays them as the emulator delays a REST
answer: the emulator's own knob only delays HTTP, and a live target's round trip is the same
over either door, so the middleware sleeps before handing each received frame on.

    python benchmarks/_counting_emulator.py KEYS.json [--latency-ms MS] [--weight-limit N]

Prints the base URL as its first line once serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimits
from keyprobe.emulator.server import bind_socket, serve_forever, url_of

# An answer frame's status, as the emulator writes it (compact JSON).
_LIMITED = re.compile(r'"status":\s*(?:418|429)\b')


class Counting:
    def __init__(self, app: Emulator) -> None:
        self.app = app
        self.clients: set[tuple[str, int]] = set()
        self.requests = 0
        self.limited = 0
        self.by_ip: dict[str, int] = {}

    def _count(self, scope: dict[str, Any]) -> None:
        self.requests += 1
        client = scope.get("client")
        if client:
            self.clients.add((str(client[0]), int(client[1])))
            self.by_ip[str(client[0])] = self.by_ip.get(str(client[0]), 0) + 1

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        delay = self.app.latency_ms / 1000

        async def counting_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "websocket.receive":
                self._count(scope)
                if delay > 0:
                    await asyncio.sleep(delay)
            return message

        async def counting_send(message: dict[str, Any]) -> None:
            kind = message["type"]
            text = message.get("text") or ""
            if (kind == "websocket.send" and _LIMITED.search(text)) or (
                kind == "websocket.http.response.start" and message["status"] in (418, 429)
            ):
                self.limited += 1
            await send(message)

        await self.app(scope, counting_receive, counting_send)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/_bench/"):
            if path == "/_bench/reset":
                self.clients.clear()
                self.by_ip.clear()
                self.requests = self.limited = 0
                self.app.limiter.reset()
            body = json.dumps(
                {
                    "requests": self.requests,
                    "connections": len(self.clients),
                    "limited": self.limited,
                    "by_ip": self.by_ip,
                }
            ).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        self._count(scope)

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] in (418, 429):
                self.limited += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("keys", type=Path)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--weight-limit", type=int, default=None)
    args = parser.parse_args()
    limits = RateLimits()  # the Spot Testnet's published limits
    if args.weight_limit is not None:
        limits = replace(
            limits, request_weight=replace(limits.request_weight, limit=args.weight_limit)
        )
    emulator = Emulator(limits=limits, latency_ms=args.latency_ms)
    for key in json.loads(args.keys.read_text()):
        emulator.keys.register(
            KeyRecord.create(
                key["api_key"],
                KeyType(key["type"]),
                key["public"],
                key["permissions"],
                ip_whitelist=key["ip_whitelist"],
            )
        )
    sock = bind_socket("127.0.0.1", 0)
    serve_forever(
        Counting(emulator),  # type: ignore[arg-type]
        sock,
        "warning",
        lambda: print(url_of(sock), flush=True),
    )


if __name__ == "__main__":
    main()
