"""Figure 1 — harness overhead: ``pytest suites/`` against a bare loop of the same requests.

Both are timed as a user meets them, start-up included (interpreter, imports, key generation,
embedded emulator): ``pytest suites/`` on the shipped profiles (default emulator target,
Allure results on, written to a scratch folder so ``reports/`` is left alone) and
``_bare_loop.py``, which sends the same signed requests with httpx and no harness. They run
alternately, ``--rounds`` times, so a busy machine slows both alike; medians are reported.
The first round checks that the loop got the same answer as the suite in every cell.

    python benchmarks/harness_overhead.py [--rounds 3] [--workers 0 2]

The last line is the figure: suite/bare ratio at each worker count (target <= 2.0 at -n 2).
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
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def suite_cmd(workers: int, reports: Path) -> list[str]:
    return [
        PY,
        "-m",
        "pytest",
        "suites/",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        str(workers),
        # The bare loop sends the REST requests: compare like with like.
        "--transport",
        "rest",
        "-o",
        f"keyprobe_reports={reports}",
    ]


def same_answers(matrix: Path, bare: Path) -> None:
    answers = json.loads(bare.read_text())
    document = json.loads(matrix.read_text())
    cells = document["cells"] if isinstance(document, dict) else document
    differ = [
        c["profile"] + "/" + c["probe"]
        for c in cells
        if [c["actual"]["status"], c["actual"]["code"]] != answers[c["profile"]][c["probe"]]
    ]
    if differ or len(cells) != sum(len(v) for v in answers.values()):
        raise SystemExit(f"the bare loop did not send the suite's requests: {differ}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
    )
    with tempfile.TemporaryDirectory(prefix="keyprobe-bench-") as tmp:
        scratch = Path(tmp)
        bare_out = scratch / "bare.json"
        times: dict[str, list[float]] = {"bare": []} | {f"-n {n}": [] for n in args.workers}
        requests = ""
        for round_no in range(args.rounds):
            for workers in args.workers:
                elapsed, _ = timed(suite_cmd(workers, scratch / f"reports-{workers}"))
                times[f"-n {workers}"].append(elapsed)
                elapsed, out = timed([PY, "benchmarks/_bare_loop.py", str(bare_out)])
                times["bare"].append(elapsed)
                requests = out.strip().splitlines()[-1]
                if round_no == 0:
                    same_answers(scratch / f"reports-{workers}" / "matrix.json", bare_out)
            print(
                f"round {round_no + 1}: "
                + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            )
    bare = statistics.median(times["bare"])
    print(f"bare loop ({requests}): median {bare:.2f} s over {len(times['bare'])} runs")
    ratios = []
    for workers in args.workers:
        suite = statistics.median(times[f"-n {workers}"])
        ratios.append(f"-n {workers}: {suite:.2f} s, ratio {suite / bare:.2f}")
        print(f"pytest suites/ -n {workers}: median {suite:.2f} s over {args.rounds} runs")
    print(
        f"FIGURE harness overhead (216 checks, bare {bare:.2f} s): "
        + "; ".join(ratios)
        + " (target <= 2.0 at -n 2)"
    )


if __name__ == "__main__":
    main()
