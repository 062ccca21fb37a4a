"""Figure 5 — the WebSocket API against REST, same emulator process, same load generator.

One Python asyncio load generator (this process, uvloop if installed) drives ``keyprobe
emulator`` (its own process) over loopback, one connection at a time:

* REST: a signed HMAC ``GET /api/v3/account`` over one keep-alive socket (raw HTTP/1.1 bytes,
  built once), one request in flight, then ``--window`` requests pipelined;
* WS: the same signed ``account.status`` (apiKey + signature in params) over one WebSocket
  connection (a raw-socket client just as light as the HTTP one), one in flight, then
  ``--window`` frames in flight.

Requests are signed once with recvWindow=60000 (replays within the window are accepted, as at
Binance), so the figure is the emulator's verification and framing cost, not signing. Then it
opens ``--idle`` idle WebSocket connections and reports the emulator's RSS growth per
connection.

The emulator allows 300 WebSocket connection attempts per 5 minutes per IP, as Binance does
(``WsSettings.max_connection_attempts``), so the idle connections are spread over several
loopback source addresses (127.0.0.10, .11, ...; at most ``IDLE_PER_ADDRESS`` each) rather than
starting the emulator with a raised limit: the figure is then the memory of the emulator as
shipped, limits included, and ``keyprobe emulator`` needs no benchmark-only option.

    python benchmarks/ws_api.py [--seconds 5] [--window 32] [--repeat 3] [--idle 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BenchKey, emulator_process, rss_mb, signed_query
from websockets.asyncio.client import ClientConnection, connect

from keyprobe.binance.signing import load_signer
from keyprobe.emulator.wsapi import WsSettings

# Idle connections per source address: under the per-IP attempt limit, with room to spare.
IDLE_PER_ADDRESS = WsSettings().max_connection_attempts - 50


@dataclass
class Result:
    rps: float
    p99_ms: float


def reset_limits(base: str) -> None:
    request = urllib.request.Request(base + "/_keyprobe/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback URL
        answer.read()


def ws_frame(key: BenchKey) -> str:
    params: dict[str, object] = {
        "apiKey": key.api_key,
        "recvWindow": 60000,
        "timestamp": time.time_ns() // 1_000_000,
    }
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = load_signer(key.key_type, key.private).sign(payload.encode())
    return json.dumps({"id": 1, "method": "account.status", "params": params})


def _p99(samples: list[float]) -> float:
    samples.sort()
    return samples[int(len(samples) * 0.99)] * 1000 if samples else float("nan")


class Http:
    """One keep-alive HTTP/1.1 connection reading Content-Length bodies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def response(self) -> None:
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"REST answered {head.split(b' ', 2)[1].decode()}")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)


async def rest_run(host: str, port: int, request: bytes, seconds: float, window: int) -> Result:
    http = Http(*await asyncio.open_connection(host, port))
    latencies: list[float] = []
    done = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    if window == 1:
        while time.perf_counter() < end:
            t = time.perf_counter()
            http.writer.write(request)
            await http.response()
            latencies.append(time.perf_counter() - t)
            done += 1
    else:
        http.writer.write(request * window)
        inflight = window
        while inflight:
            await http.response()
            done += 1
            inflight -= 1
            if time.perf_counter() < end:
                http.writer.write(request)
                inflight += 1
    elapsed = time.perf_counter() - start
    http.writer.close()
    return Result(done / elapsed, _p99(latencies))


class RawWs:
    """A minimal WebSocket client over a raw socket, as light as the raw HTTP client above:
    the frame to send is built once (masked with a zero key, which RFC 6455 allows), answers
    are read header + payload. (websockets' own asyncio client costs ~3x more per round trip
    on the client side, which would measure the client, not the emulator.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawWs:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            (
                f"GET /ws-api/v3 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
            raise SystemExit(f"handshake refused: {head[:40]!r}")
        return cls(reader, writer)

    @staticmethod
    def frame(text: str) -> bytes:
        data = text.encode()
        n = len(data)
        if n < 126:
            header = bytes([0x81, 0x80 | n])
        elif n < 65536:
            header = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
        return header + b"\x00\x00\x00\x00" + data

    async def message(self) -> bytes:
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(n)
            if b0 & 0x0F == 0x1:
                return payload
            if b0 & 0x0F == 0x9:  # a server ping: answer it
                self.writer.write(bytes([0x8A, 0x80 | n]) + b"\x00\x00\x00\x00" + payload)


async def ws_run(host: str, port: int, text: str, seconds: float, window: int) -> Result:
    ws = await RawWs.open(host, port)
    frame = RawWs.frame(text)
    latencies: list[float] = []
    done = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    if window == 1:
        while time.perf_counter() < end:
            t = time.perf_counter()
            ws.writer.write(frame)
            answer = await ws.message()
            latencies.append(time.perf_counter() - t)
            done += 1
            if done == 1 and b'"status":200' not in answer:
                raise SystemExit(f"WS answered {answer!r}")
    else:
        ws.writer.write(frame * window)
        inflight = window
        while inflight:
            await ws.message()
            done += 1
            inflight -= 1
            if time.perf_counter() < end:
                ws.writer.write(frame)
                inflight += 1
    elapsed = time.perf_counter() - start
    ws.writer.close()
    return Result(done / elapsed, _p99(latencies))


async def idle_memory(url: str, pid: int, count: int) -> tuple[float, float, float]:
    await asyncio.sleep(0.5)
    before = rss_mb(pid)
    conns: list[ClientConnection] = []
    for i in range(count):
        source = f"127.0.0.{10 + i // IDLE_PER_ADDRESS}"
        conns.append(await connect(url, compression=None, local_addr=(source, 0)))
    await asyncio.sleep(2)
    # Every connection answered once (so each is fully set up on the server).
    for conn in conns:
        await conn.send('{"id":1,"method":"ping"}')
    for conn in conns:
        await conn.recv()
    await asyncio.sleep(1)
    after = rss_mb(pid)
    await asyncio.gather(*(c.close() for c in conns))
    return before, after, (after - before) * 1024 / count


async def main_async(args: argparse.Namespace) -> None:
    with emulator_process("--weight-limit", "1000000000") as (url, pid, keys):
        host, port = url.removeprefix("http://").split(":")
        ws_url = f"ws://{host}:{port}/ws-api/v3"
        hmac = keys["hmac"]
        runs: dict[str, list[Result]] = {}

        async def scenario(name: str, window: int, seconds: float) -> None:
            reset_limits(url)
            if name.startswith("REST"):
                request = (
                    f"GET /api/v3/account?{signed_query(hmac, [])} HTTP/1.1\r\n"
                    f"Host: {host}:{port}\r\nX-MBX-APIKEY: {hmac.api_key}\r\n\r\n"
                ).encode()
                result = await rest_run(host, int(port), request, seconds, window)
            else:
                result = await ws_run(host, int(port), ws_frame(hmac), seconds, window)
            runs.setdefault(name, []).append(result)

        plan = [
            ("REST account, 1 in flight", 1),
            ("WS account.status, 1 in flight", 1),
            (f"REST account, {args.window} pipelined", args.window),
            (f"WS account.status, {args.window} in flight", args.window),
        ]
        for name, window in plan:  # warm-up
            await scenario(name, window, 0.5)
        runs.clear()
        for _ in range(args.repeat):  # interleaved, so a busy machine slows all alike
            for name, window in plan:
                await scenario(name, window, args.seconds)
        medians = {}
        for name, results in runs.items():
            rps = statistics.median(r.rps for r in results)
            p99 = statistics.median(r.p99_ms for r in results)
            medians[name] = (rps, p99)
            each = ", ".join(f"{r.rps:.0f}" for r in results)
            p99_text = f"  p99 {p99:5.2f} ms" if p99 == p99 else ""
            print(f"{name:34} {rps:8.0f} req/s{p99_text}  (median of {len(results)}: {each})")
        before, after, per_conn = await idle_memory(ws_url, pid, args.idle)
        print(
            f"emulator RSS {before:.1f} MB -> {after:.1f} MB with {args.idle} idle WS "
            f"connections: {per_conn:.1f} KB per connection"
        )
    rest1 = medians["REST account, 1 in flight"]
    ws1 = medians["WS account.status, 1 in flight"]
    wsn = medians[f"WS account.status, {args.window} in flight"]
    restn = medians[f"REST account, {args.window} pipelined"]
    print(
        f"FIGURE WS/REST signed req/s: 1 in flight {ws1[0] / rest1[0]:.2f} "
        f"({ws1[0]:.0f} vs {rest1[0]:.0f}), pipelined {wsn[0] / restn[0]:.2f} "
        f"({wsn[0]:.0f} vs {restn[0]:.0f}) (target >= 1); p99 at 1 in flight WS {ws1[1]:.2f} ms, "
        f"REST {rest1[1]:.2f} ms; idle connection {per_conn:.1f} KB (target <= 50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
