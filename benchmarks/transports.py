"""Figure 8 — suite wall time with both transports against REST alone (issue 10).

``pytest suites/ -q -p no:cacheprovider -n 2`` on the default matrix (shipped profiles,
embedded emulator, Allure results on, reports to a scratch folder so ``reports/`` is left
alone), once with ``--transport both`` (the default: every probe over REST and the WebSocket
API, plus the WebSocket-only probes) and once with ``--transport rest``; start-up included, as
a user meets it. They alternate ``--rounds`` times, so a busy machine slows both alike; medians.

    python benchmarks/transports.py [--rounds 3] [--workers 2]

The last line is the figure: both / rest wall time (medians, and the median of each round's
ratio), with the cell counts (no target: issue 10 asks for the figure).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSPORTS = ("both", "rest")


def run(transport: str, workers: int, reports: Path) -> tuple[float, int]:
    cmd = [
        sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
        "-n", str(workers), "--transport", transport, "-o", f"keyprobe_reports={reports}",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    cells = json.loads((reports / "matrix.json").read_text())["cells"]
    return elapsed, len(cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, -n {args.workers}")
    walls: dict[str, list[float]] = {t: [] for t in TRANSPORTS}
    cells: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="keyprobe-bench-") as tmp:
        for round_no in range(args.rounds):
            for transport in TRANSPORTS:
                reports = Path(tmp) / f"{transport}-{round_no}"
                elapsed, cells[transport] = run(transport, args.workers, reports)
                walls[transport].append(elapsed)
            print(
                f"round {round_no + 1}: "
                + ", ".join(f"{t} {walls[t][-1]:.2f} s" for t in TRANSPORTS)
                + f"; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    both, rest = (statistics.median(walls[t]) for t in TRANSPORTS)
    # Each round's two runs are back to back, so their ratio sees one machine load.
    ratio = statistics.median(b / r for b, r in zip(walls["both"], walls["rest"], strict=True))
    print(
        f"FIGURE suite wall time, default matrix, -n {args.workers}, median of {args.rounds}: "
        f"both transports {both:.2f} s ({cells['both']} cells) / REST alone {rest:.2f} s "
        f"({cells['rest']} cells) = {both / rest:.2f} x (median of the rounds' ratios "
        f"{ratio:.2f} x)"
    )


if __name__ == "__main__":
    main()
