"""Figure 2 — emulator throughput, latency and memory, measured from a separate process.

Load comes from ``wrk`` (C, keep-alive) in its own process against ``keyprobe emulator`` in
another, over loopback. Signed requests are signed once per scenario with recvWindow=60000
(replays within the window are accepted, as at Binance), so the figure is the emulator's
verification cost, not the load generator's signing cost.

    python benchmarks/emulator_throughput.py [--seconds 10] [--concurrency 8]

Prints one line per scenario and the summary figure as the last line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator_process, rss_mb, signed_query


@dataclass
class Result:
    rps: float
    p99_ms: float
    requests: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, seconds: float, concurrency: int, headers: dict[str, str], lua: str = ""
) -> Result:
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    if lua:
        cmd += ["-s", script.name]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} error responses: the scenario is broken\n{out}")
    return Result(rps, float(value) * _UNIT_MS[unit], total)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rss-requests", type=int, default=100_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    with emulator_process("--weight-limit", "1000000000") as (url, pid, keys):
        hmac, ed = keys["hmac"], keys["ed25519"]
        order = [
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.00100"),
            ("price", "20000.00"),
        ]
        post_body = signed_query(ed, order)
        post_lua = (
            'wrk.method = "POST"\n'
            f'wrk.body = "{post_body}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
        scenarios = {
            "ping (unsigned)": (f"{url}/api/v3/ping", {}, ""),
            "account (HMAC)": (
                f"{url}/api/v3/account?{signed_query(hmac, [])}",
                {"X-MBX-APIKEY": hmac.api_key},
                "",
            ),
            "order/test (Ed25519)": (
                f"{url}/api/v3/order/test",
                {"X-MBX-APIKEY": ed.api_key},
                post_lua,
            ),
        }
        rss_start = rss_mb(pid)
        results: dict[str, tuple[Result, Result]] = {}
        for name, (target, headers, lua) in scenarios.items():
            wrk(target, 1, args.concurrency, headers, lua)  # warm-up
            loaded = wrk(target, args.seconds, args.concurrency, headers, lua)
            single = wrk(target, args.seconds / 2, 1, headers, lua)
            results[name] = (loaded, single)
            print(
                f"{name:22} c={args.concurrency}: {loaded.rps:8.0f} req/s"
                f"  p99 {loaded.p99_ms:6.2f} ms"
                f" | c=1: {single.rps:7.0f} req/s  p99 {single.p99_ms:5.2f} ms"
            )
        sent = sum(r.requests for pair in results.values() for r in pair)
        while sent < args.rss_requests:
            target, headers, _ = scenarios["account (HMAC)"]
            extra = wrk(target, 5, args.concurrency, headers)
            sent += extra.requests
        rss_end = rss_mb(pid)
        print(f"emulator RSS: {rss_start:.1f} MB at start, {rss_end:.1f} MB after {sent} requests")

    ping = results["ping (unsigned)"][0].rps
    account = results["account (HMAC)"][0].rps
    p99_signed = max(results["account (HMAC)"][1].p99_ms, results["order/test (Ed25519)"][1].p99_ms)
    print(
        f"FIGURE signed/unsigned={account / ping:.2f} (target >= 0.50); "
        f"p99 signed c=1={p99_signed:.2f} ms (target <= 2); "
        f"RSS after {sent} requests={rss_end:.1f} MB (target <= 150)"
    )


if __name__ == "__main__":
    main()
