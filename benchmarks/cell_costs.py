"""The shard balance's cost model (``harness/cell_cost.py``) against measurement: the shipped
matrix, unsharded and serial, against a separately started counting emulator with the
Spot Testnet's limits (a live-like URL target, as a nightly shard meets), counting the
requests (REST requests and WebSocket API frames) the emulator answered during each cell,
its setup and teardown included; then every cell's count beside ``cell_cost.requests``.

    python benchmarks/cell_costs.py

Prints each cell whose estimate differs, then the figure line: cells estimated exactly, and
the estimated and measured totals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live import ROOT, SHIPPED, bench, counting_emulator, keys_for

from keyprobe.harness import cell_cost
from keyprobe.harness.probes import BY_NAME, PROBE_NAMES
from keyprobe.harness.profiles import load_profiles
from keyprobe.harness.targets import Transport, resolve_target

FOREIGN = "127.0.0.9"


def cell_of(nodeid: str) -> tuple[str, str, Transport]:
    """(profile, probe, transport) from a suites node id ``...[PROFILE-PROBE(-ws)]``."""
    ident = nodeid.rsplit("[", 1)[1].rstrip("]")
    transport = Transport.WS_API if ident.endswith("-ws") else Transport.REST
    base = ident.removesuffix("-ws")
    probe = max((p for p in BY_NAME if base.endswith("-" + p)), key=len)
    return base[: -len(probe) - 1], probe, transport


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="keyprobe-costs-") as tmp:
        folder = Path(tmp)
        keys_file, secrets = keys_for(SHIPPED, folder)
        counts_file = folder / "counts.json"
        with counting_emulator(keys_file) as url:
            bench(url, "reset")
            env = {
                **os.environ,
                **secrets,
                "PYTHONPATH": str(ROOT / "benchmarks"),
                "KEYPROBE_CELL_COUNTER_URL": url,
                "KEYPROBE_CELL_COUNTS": str(counts_file),
            }
            env.pop("CI", None)
            cmd = [
                sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
                "-p", "_cell_counter", "-n", "0", "--target", url, "--seed", "1414",
                "--egress-address", FOREIGN, "-o", f"keyprobe_reports={folder / 'r'}",
            ]  # fmt: skip
            done = subprocess.run(
                cmd,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"the suites failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        measured: dict[str, int] = json.loads(counts_file.read_text())
    target = resolve_target("http://127.0.0.1:9", egress_address=FOREIGN)
    profiles = {p.name: p for p in load_profiles(SHIPPED, PROBE_NAMES)}
    exact = estimated_total = 0
    for nodeid, count in measured.items():
        profile, probe, transport = cell_of(nodeid)
        estimate = cell_cost.requests(profiles[profile], BY_NAME[probe], transport, target)
        estimated_total += estimate
        if estimate == count:
            exact += 1
        else:
            where = f"{profile} x {probe} ({transport.value})"
            print(f"{where}: measured {count}, estimated {estimate}")
    print(
        f"FIGURE cell cost estimate (the shipped matrix on a URL target): {exact} of "
        f"{len(measured)} cells exact; estimated {estimated_total} requests, measured "
        f"{sum(measured.values())}"
    )


if __name__ == "__main__":
    main()
