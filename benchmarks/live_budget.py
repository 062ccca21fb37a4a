"""Figure 4 — live budget, simulated: the Spot Testnet's limits and 150 ms per answer.

A separately started emulator with the testnet's published rate limits (6000 weight per
minute per IP, 300 000 raw requests per 5 minutes, 50 orders per 10 s) and ``--latency-ms
150`` stands in for https://testnet.binance.vision. The shipped matrix runs against it as
against a live target: ``pytest suites/ --target URL -n 2`` with the secrets in the
environment. The emulator counts requests and 429/418 answers. The floor is
requests x 150 ms / concurrency (concurrency = the xdist workers).

    python benchmarks/live_budget.py [--workers 2] [--latency-ms 150] [--rounds 3]

The last line is the figure: wall time against 1.5 x the floor, and the 429 count (target 0).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live import ROOT, SHIPPED, bench, counting_emulator, keys_for, suite_cmd, suite_env

from keyprobe.harness.budget import budget_path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, -n {args.workers}")
    walls: list[float] = []
    requests: list[int] = []
    limited = 0
    with tempfile.TemporaryDirectory(prefix="keyprobe-bench-") as tmp:
        folder = Path(tmp)
        keys_file, secrets = keys_for(SHIPPED, folder)
        with counting_emulator(keys_file, "--latency-ms", str(args.latency_ms)) as url:
            for round_no in range(args.rounds):
                # A fresh budget for each round, as for a nightly run: the emulator's windows
                # and the client side's shared budget files (kept per target URL and source
                # address, so back-to-back rounds would otherwise share one minute's weight).
                bench(url, "reset")
                for source in ("127.0.0.1", "127.0.0.2"):
                    budget_path(url, source).unlink(missing_ok=True)
                cmd = suite_cmd(url, SHIPPED, args.workers, folder / "reports")
                start = time.perf_counter()
                done = subprocess.run(
                    cmd, cwd=ROOT, env=suite_env(secrets), capture_output=True, text=True
                )
                walls.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"suite failed:\n{done.stdout[-3000:]}")
                stats = bench(url, "stats")
                requests.append(stats["requests"])
                limited += stats["limited"]
                floor = stats["requests"] * args.latency_ms / 1000 / args.workers
                print(
                    f"round {round_no + 1}: {walls[-1]:.2f} s, {stats['requests']} requests, "
                    f"floor {floor:.2f} s, {stats['limited']} answered 429/418"
                )
    wall = statistics.median(walls)
    floor = statistics.median(requests) * args.latency_ms / 1000 / args.workers
    print(
        f"FIGURE live budget (testnet limits, {args.latency_ms:g} ms latency, -n {args.workers}): "
        f"median {wall:.2f} s for {statistics.median(requests):.0f} requests = "
        f"{wall / floor:.2f} x floor {floor:.2f} s (target <= 1.5); 429/418 answers: {limited} "
        "(target 0)"
    )


if __name__ == "__main__":
    main()
