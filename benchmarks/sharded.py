"""Figure 7 — time to verdict of a sharded run (issue 14): N = 1, 2, 4 shards, testnet limits,
150 ms per answer, each shard from its own source address, all against ONE emulator.

A separately started counting emulator (``_counting_emulator.py``: the Spot Testnet's limits,
6000 weight per minute per source IP as Binance counts it, ``--latency-ms 150`` on REST answers
and on WebSocket API frames alike) stands in for testnet. For each N, N shard processes

    pytest suites/ --target URL --shard K/N --source-address 127.0.0.<K+1> --seed 1414
           --egress-address 127.0.0.9 -n W -o keyprobe_reports=DIR_K

(the default matrix: ``fixtures/profiles.toml``, both transports) are started together, then
``keyprobe merge DIR_1 ... --into MERGED`` and ``keyprobe gate MERGED/matrix.json``. Time to
verdict = from the first start to the gate's exit. The IP-bound profiles whitelist the shard
addresses (each runner's IP must be allowed, as in a real sharded nightly); the IP probe's
foreign address 127.0.0.9 stays outside every whitelist.

Floor = max(requests x latency / concurrency, weight / (6000 per minute x N)), concurrency =
the workers of all shards (``-n 0`` counts as one), requests = everything the emulator
received (REST requests and WS frames), weight = the sum of the shards' ``run.json`` weight.

    python benchmarks/sharded.py [--shards 1 2 4] [--workers 0] [--latency-ms 150] [--rounds 1]

Rounds interleave the N values; medians over rounds. The last line is the figure (goal:
within 1.2 x the floor for every N, zero 429/418).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live import ROOT, SHIPPED, bench, counting_emulator, keys_for

from keyprobe.harness.budget import budget_path

FOREIGN = "127.0.0.9"
SEED = "1414"
WEIGHT_PER_MINUTE = 6000  # the Spot Testnet's REQUEST_WEIGHT limit, per IP


def source_of(k: int) -> str:
    return f"127.0.0.{k + 1}"


def profiles_for(shards: int, folder: Path) -> Path:
    """The shipped profiles, the IP-bound keys allowing every shard's address."""
    sources = [source_of(k) for k in range(1, shards + 1)]
    text, count = re.subn(
        r"(?m)^ip_whitelist = .*$", f"ip_whitelist = {json.dumps(sources)}", SHIPPED.read_text()
    )
    assert count >= 1, "the shipped profiles have no IP-bound key any more"
    path = folder / "profiles.toml"
    path.write_text(text)
    return path


def shard_cmd(url: str, profiles: Path, k: int, n: int, workers: int, reports: Path) -> list[str]:
    # A nightly shard installs keyprobe alone (`pip install -e .`): Hypothesis, a dev extra
    # here, is not there to load its pytest plugin (0.1-0.2 s of each shard's start-up, ~0.5 s
    # of CPU over the whole matrix).
    return [
        sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
        "-p", "no:hypothesispytest",
        "-n", str(workers), "--target", url, "--profiles", str(profiles),
        "--shard", f"{k}/{n}", "--source-address", source_of(k), "--seed", SEED,
        "--egress-address", FOREIGN, "-o", f"keyprobe_reports={reports}",
    ]  # fmt: skip


def keyprobe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", *args], cwd=ROOT, capture_output=True, text=True
    )


@dataclass
class Result:
    wall: float
    shard_walls: list[float]
    shard_requests: list[int]
    requests: int
    weight: int
    limited: int
    floor: float
    latency_floor: float
    weight_floor: float
    cpu_s: float


def one_run(
    url: str,
    n: int,
    workers: int,
    latency_ms: float,
    profiles: Path,
    folder: Path,
    env: dict[str, str],
) -> Result:
    # A fresh budget, as for a nightly: the emulator's windows and the client side's shared
    # budget files (kept per target URL and source address).
    bench(url, "reset")
    for k in range(1, n + 1):
        budget_path(url, source_of(k)).unlink(missing_ok=True)
    dirs = [folder / f"n{n}-shard{k}" for k in range(1, n + 1)]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    # Each shard's output goes to a file: a pipe read only at the end could fill and stall it.
    logs = [folder / f"n{n}-shard{k}.log" for k in range(1, n + 1)]
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    for k in range(1, n + 1):
        with logs[k - 1].open("w") as log:
            procs.append(
                subprocess.Popen(
                    shard_cmd(url, profiles, k, n, workers, dirs[k - 1]),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    ends: list[float] = [0.0] * n
    pending = dict(enumerate(procs))
    while pending:  # note each shard's end as it happens (the imbalance shows there)
        for i, proc in list(pending.items()):
            if proc.poll() is not None:
                ends[i] = time.perf_counter() - start
                del pending[i]
        time.sleep(0.02)
    for proc, log_file in zip(procs, logs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"shard failed:\n{log_file.read_text()[-3000:]}")
    merged = folder / f"n{n}-merged"
    done = keyprobe("merge", *map(str, dirs), "--into", str(merged))
    if done.returncode != 0:
        raise SystemExit(f"keyprobe merge failed: {done.stderr.strip()}")
    gate = keyprobe("gate", str(merged / "matrix.json"))
    wall = time.perf_counter() - start
    if gate.returncode != 0:
        raise SystemExit(f"keyprobe gate: {gate.stdout[-2000:]}{gate.stderr[-1000:]}")
    cpu_s = _children_cpu() - cpu_before
    stats = bench(url, "stats")
    weight = sum(int(json.loads((d / "run.json").read_text())["weight"]["total"]) for d in dirs)
    concurrency = n * max(workers, 1)
    latency_floor = stats["requests"] * latency_ms / 1000 / concurrency
    weight_floor = weight / (WEIGHT_PER_MINUTE * n) * 60
    return Result(
        wall,
        ends,
        [int(stats["by_ip"].get(source_of(k), 0)) for k in range(1, n + 1)],
        int(stats["requests"]),
        weight,
        int(stats["limited"]),
        max(latency_floor, weight_floor),
        latency_floor,
        weight_floor,
        cpu_s,
    )


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (the shards' pytest
    processes and xdist workers, merge and gate; the emulator is still running)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--workers", type=int, default=0, help="-n of each shard")
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, -n {args.workers} per shard")
    results: dict[int, list[Result]] = {n: [] for n in args.shards}
    with tempfile.TemporaryDirectory(prefix="keyprobe-bench-") as tmp:
        folder = Path(tmp)
        # One key set and profiles file for every N: the IP-bound keys allow every shard
        # address of the largest N (declared as registered, so the expectations agree).
        profiles = profiles_for(max(args.shards), folder)
        keys_file, secrets = keys_for(profiles, folder)
        env = {**os.environ, **secrets}
        env.pop("CI", None)
        # A runner writes bytecode (GitHub's do); this machine's image sets
        # PYTHONDONTWRITEBYTECODE, which made every shard compile all it imports: ~3.4 s
        # more start-up per shard, measured by `pytest suites/ --co` (6.2 s -> 2.8 s).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        with counting_emulator(keys_file, "--latency-ms", str(args.latency_ms)) as url:
            for round_no in range(args.rounds):
                for n in args.shards:
                    scratch = folder / f"r{round_no}"
                    r = one_run(url, n, args.workers, args.latency_ms, profiles, scratch, env)
                    results[n].append(r)
                    shard_walls = ", ".join(f"{w:.1f}" for w in r.shard_walls)
                    shard_requests = ", ".join(map(str, r.shard_requests))
                    print(
                        f"round {round_no + 1} N={n}: {r.wall:.2f} s to verdict (shards end "
                        f"at {shard_walls} s after {shard_requests} requests), "
                        f"{r.requests} requests, weight {r.weight}, "
                        f"floor {r.floor:.2f} s (latency {r.latency_floor:.2f}, weight "
                        f"{r.weight_floor:.2f}) = {r.wall / r.floor:.2f} x; "
                        f"{r.limited} answered 429/418; keyprobe CPU {r.cpu_s:.1f} s; "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
    parts = []
    limited = 0
    for n, rs in results.items():
        wall = statistics.median(r.wall for r in rs)
        floor = statistics.median(r.floor for r in rs)
        limited += sum(r.limited for r in rs)
        cpu = statistics.median(r.cpu_s for r in rs)
        parts.append(
            f"N={n}: {wall:.2f} s = {wall / floor:.2f} x floor {floor:.2f} s (CPU {cpu:.0f} s)"
        )
    print(
        f"FIGURE sharded time to verdict (testnet limits, {args.latency_ms:g} ms latency, "
        f"-n {args.workers} per shard, median of {args.rounds}): {'; '.join(parts)} "
        f"(target <= 1.2); 429/418 answers: {limited} (target 0)"
    )


if __name__ == "__main__":
    main()
