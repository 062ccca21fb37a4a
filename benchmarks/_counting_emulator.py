"""``keyprobe emulator`` plus a count of what it served, for figures 3 and 4.

The emulator app is wrapped in a small ASGI middleware that counts requests, TCP connections
(distinct client address and port pairs: a keep-alive connection keeps its port) and 429/418
answers. ``GET /_bench/stats`` returns the counts; ``POST /_bench/reset`` zeroes them and the
emulator's rate-limit windows. Keys come from a JSON file written by the benchmark.

    python benchmarks/_counting_emulator.py KEYS.json [--latency-ms MS] [--weight-limit N]

Prints the base URL as its first line once serving.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimits
from keyprobe.emulator.server import bind_socket, serve_forever, url_of


class Counting:
    def __init__(self, app: Emulator) -> None:
        self.app = app
        self.clients: set[tuple[str, int]] = set()
        self.requests = 0
        self.limited = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/_bench/"):
            if path == "/_bench/reset":
                self.clients.clear()
                self.requests = self.limited = 0
                self.app.limiter.reset()
            body = json.dumps(
                {
                    "requests": self.requests,
                    "connections": len(self.clients),
                    "limited": self.limited,
                }
            ).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        self.requests += 1
        client = scope.get("client")
        if client:
            self.clients.add((str(client[0]), int(client[1])))

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
