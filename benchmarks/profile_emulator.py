"""Where the emulator spends a request: call the ASGI app in-process (no sockets, no HTTP
parsing) for one scenario many times, print microseconds per request, and with
``--profile`` a pyinstrument tree (``pip install -e .[dev]`` brings pyinstrument).

    python benchmarks/profile_emulator.py [--requests 20000] [--profile] {ping,account,order}
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import make_keys, signed_query

from keyprobe.binance.permissions import Permission
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimits, Window

ORDER = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "0.00100"),
    ("price", "20000.00"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["ping", "account", "order"])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    keys = make_keys()
    limits = RateLimits(request_weight=Window(10**9, 1, "M"), raw_requests=Window(10**9, 5, "M"))
    emulator = Emulator(limits=limits)
    for key in keys.values():
        emulator.keys.register(
            KeyRecord.create(
                key.api_key,
                key.key_type,
                key.public,
                [Permission.READING.value, Permission.SPOT_AND_MARGIN_TRADING.value],
            )
        )
    hmac, ed = keys["hmac"], keys["ed25519"]
    method, path, query, body, headers = {
        "ping": ("GET", "/api/v3/ping", b"", b"", []),
        "account": (
            "GET",
            "/api/v3/account",
            signed_query(hmac, []).encode(),
            b"",
            [(b"x-mbx-apikey", hmac.api_key.encode())],
        ),
        "order": (
            "POST",
            "/api/v3/order/test",
            b"",
            signed_query(ed, ORDER).encode(),
            [
                (b"x-mbx-apikey", ed.api_key.encode()),
                (b"content-type", b"application/x-www-form-urlencoded"),
            ],
        ),
    }[args.scenario]
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def loop(n: int) -> None:
        for _ in range(n):
            await emulator(scope, receive, send)

    asyncio.run(loop(200))  # warm-up
    assert set(statuses) == {200}, statuses[:5]
    profiler: Any = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
    start = time.perf_counter()
    asyncio.run(loop(args.requests))
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(show_all=False))
    print(f"{args.scenario}: {elapsed / args.requests * 1e6:.1f} us per request in-process")


if __name__ == "__main__":
    main()
