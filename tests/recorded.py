"""``pytest suites/ --record``, and the one whole recorded run the corpus and conformance
tests share (``tests/conftest.py``'s ``recorded`` fixture)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]


def record(folder: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``pytest suites/ --record folder/corpus`` on the embedded emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYPROBE_")}
    env.pop("CI", None)
    command = [
        sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-q",
        "--record", str(folder / "corpus"), "-o", f"keyprobe_reports={folder / 'reports'}",
        "--seed", "1212", *extra,
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def recorded_once(shared: Path) -> Path:
    """The whole suites, two workers, recorded, once per test session: the first xdist worker
    to ask records (a whole run costs a minute under coverage), the others wait on the lock
    and read the same files. Returns the corpus folder; its run's reports are beside it.
    Readers must not change it (copy it first)."""
    folder = shared / "recorded-suites"
    with FileLock(str(folder) + ".lock"):
        complete = folder / "complete"
        if not complete.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            done = record(folder, "-n", "2")
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
            complete.touch()
    return folder / "corpus"
