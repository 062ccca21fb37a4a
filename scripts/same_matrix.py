#!/usr/bin/env python3
"""The structure guard: does this tree give the same cells as another commit?

Runs ``pytest suites/ --seed N`` twice - once in a throw-away worktree of REF, once here -
with this virtualenv's Python, and compares the cells of the two ``reports/matrix.json``
(either schema) on the fields both have. Exit 0 when they are the same, 1 with the
differences otherwise. Usage::

    .venv/bin/python scripts/same_matrix.py [REF] [--seed N] [-- pytest args...]

REF defaults to ``origin/main`` if it exists, else ``HEAD~1``. A restructuring that changes
no behaviour must keep this at exit 0."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _cells(tree: Path, seed: int, extra: list[str]) -> dict[tuple[str, ...], dict]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    env.pop("CI", None)
    with tempfile.TemporaryDirectory() as reports:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
             "--seed", str(seed), "-o", f"keyprobe_reports={reports}", *extra],
            cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        path = Path(reports) / "matrix.json"
        if not path.exists():
            sys.exit(f"{tree}: no matrix.json (pytest exited {done.returncode})\n{done.stdout}")
        data = json.loads(path.read_text(encoding="utf-8"))
    cells = data["cells"] if isinstance(data, dict) else data
    return {(c["profile"], c["probe"], c.get("transport", "rest")): c for c in cells}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref", nargs="?", default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    ref = args.ref
    if ref is None:
        has_origin = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "origin/main"], cwd=ROOT, capture_output=True
        )
        ref = "origin/main" if has_origin.returncode == 0 else "HEAD~1"
    commit = _git("rev-parse", ref)
    with tempfile.TemporaryDirectory() as scratch:
        other = Path(scratch) / "tree"
        _git("worktree", "add", "--detach", str(other), commit)
        try:
            before = _cells(other, args.seed, args.pytest_args)
        finally:
            _git("worktree", "remove", "--force", str(other))
    after = _cells(ROOT, args.seed, args.pytest_args)
    differences = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            differences.append(f"{'/'.join(key)}: only {'after' if old is None else 'before'}")
            continue
        for field in sorted(set(old) & set(new)):
            if old[field] != new[field]:
                differences.append(f"{'/'.join(key)}: {field}: {old[field]!r} -> {new[field]!r}")
    print(f"{ref} ({commit[:10]}) vs this tree, seed {args.seed}: {len(after)} cells")
    for line in differences:
        print("  " + line)
    print("same cells" if not differences else f"{len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
