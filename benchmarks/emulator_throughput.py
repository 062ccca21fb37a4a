"""Figure 2 — emulator throughput, latency and memory, measured from a separate process.

Load comes from ``wrk`` (C, keep-alive) in its own process against ``keyprobe emulator`` in
another, over loopback. Signed requests are signed once per scenario with recvWindow=60000
(replays within the window are accepted, as at Binance), so the figure is the emulator's
verification cost, not the load generator's signing cost.

    python benchmarks/emulator_throughput.py [--seconds 10] [--concurrency 8] [--repeat 3]

Each measurement is repeated (scenarios interleaved, so a busy machine slows all alike) and the
median kept. Prints one line per scenario and the summary figure as the last line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
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


def reset_limits(url: str) -> None:
    """The admin reset clears the rate-limit windows: the runs together send more than the
    RAW_REQUESTS limit (300 000 per 5 minutes), and a 429 would end the scenario."""
    base = url.split("/api/", 1)[0]
    request = urllib.request.Request(base + "/_keyprobe/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback URL
        answer.read()


def wrk(
    url: str, seconds: float, concurrency: int, headers: dict[str, str], lua: str = ""
) -> Result:
    reset_limits(url)
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


def _median(results: list[Result]) -> Result:
    return Result(
        statistics.median(r.rps for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.requests for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rss-requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
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

        def scenarios() -> dict[str, tuple[str, dict[str, str], str]]:
            # Signed afresh for each wrk run: a signature is valid for recvWindow (60 s) only.
            post_lua = (
                'wrk.method = "POST"\n'
                f'wrk.body = "{signed_query(ed, order)}"\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            )
            return {
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
        runs: dict[str, list[tuple[Result, Result]]] = {name: [] for name in scenarios()}
        for target, headers, lua in scenarios().values():
            wrk(target, 1, args.concurrency, headers, lua)  # warm-up
        for _ in range(args.repeat):
            for name in runs:
                target, headers, lua = scenarios()[name]
                loaded = wrk(target, args.seconds, args.concurrency, headers, lua)
                target, headers, lua = scenarios()[name]
                single = wrk(target, args.seconds / 2, 1, headers, lua)
                runs[name].append((loaded, single))
        results: dict[str, tuple[Result, Result]] = {}
        for name, pairs in runs.items():
            loaded = _median([p[0] for p in pairs])
            single = _median([p[1] for p in pairs])
            results[name] = (loaded, single)
            print(
                f"{name:22} c={args.concurrency}: {loaded.rps:8.0f} req/s"
                f"  p99 {loaded.p99_ms:6.2f} ms"
                f" | c=1: {single.rps:7.0f} req/s  p99 {single.p99_ms:5.2f} ms"
                f"  (median of {len(pairs)}; rps {', '.join(f'{p[0].rps:.0f}' for p in pairs)})"
            )
        sent = sum(r.requests for pairs in runs.values() for pair in pairs for r in pair)
        while sent < args.rss_requests:
            target, headers, _ = scenarios()["account (HMAC)"]
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
