"""Figure 5: the request weight one default run costs its target, per cell.

    .venv/bin/python benchmarks/run_weight.py [--workers 0 2]

Runs ``pytest suites/ -q -p no:cacheprovider -n N`` (the default matrix on the embedded
emulator; reports to a scratch folder so ``reports/`` is left alone) and reads ``weight`` from
the run's ``run.json``: every request the run sent (facts, sweeps, setup, safety, probe and
teardown of every cell), weighed as the target weighs it. Then it runs the same matrix against
a separately served emulator that counts the weight it charged, per source address, and
prints both: the harness's count must equal the target's.

The last line is the figure (goal: <= 8.0 weight per cell)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_suites(workers: str, reports: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    cmd = [
        sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
        "-n", workers, "-o", f"keyprobe_reports={reports}", *extra,
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return dict(json.loads((reports / "run.json").read_text())["weight"])


def charged_by_target(workers: str, reports: Path) -> tuple[dict, int]:
    """The same matrix against a served emulator; what the emulator charged (all addresses)."""
    from tests.harness.conftest import provision

    from keyprobe.binance.timing import wall_ms
    from keyprobe.emulator.app import Emulator
    from keyprobe.emulator.ratelimit import RateLimits, Window
    from keyprobe.emulator.server import EmulatorServer

    emu = Emulator(limits=RateLimits(request_weight=Window(100_000_000, 1, "D")))
    server = EmulatorServer(emu, host="127.0.0.1", port=0)
    url = server.start()
    try:
        keys = provision(emu, url, ROOT / "fixtures" / "profiles.toml")
        env = dict(os.environ, **keys.env)
        weight = run_suites(workers, reports, "--target", url, env=env)
        now = emu.clock.now_ms() if hasattr(emu.clock, "now_ms") else wall_ms()
        window = emu.limiter.limits.request_weight
        charged = sum(
            state.weight.value(window, now)  # type: ignore[attr-defined]
            for state in emu.limiter._ips.values()
        )
    finally:
        server.stop()
    return weight, charged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", nargs="+", default=["0", "2"])
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f}")
    figure = []
    with tempfile.TemporaryDirectory() as scratch:
        for workers in args.workers:
            weight = run_suites(workers, Path(scratch) / f"r{workers}")
            print(f"-n {workers}: {json.dumps(weight)}")
            figure.append(f"-n {workers}: {weight['total']} weight, {weight['per_cell']} per cell")
        served, charged = charged_by_target("0", Path(scratch) / "served")
        print(f"served emulator: harness counted {served['total']}, the emulator charged {charged}")
    print(f"FIGURE run weight (216 cells, default matrix): {'; '.join(figure)} (goal <= 8.0)")


if __name__ == "__main__":
    main()
