"""``keyprobe merge DIR... --into DIR``: the shards of one run (``pytest suites/ --shard K/N``)
joined into one reports folder (``matrix.json``, ``run.json``, ``allure-results``) that
``keyprobe report`` and ``keyprobe gate`` read like any run's.

It refuses, with one line, what would make the merged verdict a lie: shards of different
runs (target, profiles file, seed, keyprobe version), shards that split the cells differently,
a shard missing or given twice, a cell in two shards. The output folder appears whole or not
at all."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyprobe.cells import (
    Cell,
    CellFileError,
    dumps_matrix,
    load_matrix,
    load_run_json,
    write_atomically,
)

# run.json fields every shard of one run shares, with the words a refusal uses for them.
SETTINGS: dict[str, str] = {
    "target": "target",
    "profiles_digest": "profiles file (sha256)",
    "seed": "seed",
    "keyprobe_version": "keyprobe version",
}
RESULTS = "allure-results"
# Like keyprobe gate's unreadable run: the shards say nothing together.
EXIT_REFUSED = 4
# Allure files every shard writes alike; the merged folder keeps one (the environment is
# rewritten to name the shards).
_SHARED_FILES = frozenset({"categories.json", "executor.json", "environment.properties"})


class MergeError(ValueError):
    """Shards that cannot be merged; the message is the one line the command prints."""


@dataclass(frozen=True, slots=True)
class ShardRun:
    folder: Path
    run: dict[str, Any]
    cells: list[Cell]

    @property
    def index(self) -> int:
        return int((self.run.get("shard") or {}).get("index", 1))

    @property
    def count(self) -> int:
        return int((self.run.get("shard") or {}).get("count", 1))


@dataclass(frozen=True, slots=True)
class Merged:
    into: Path
    shards: int
    cells: int


def _read(folder: Path) -> ShardRun:
    try:
        run = load_run_json(folder / "run.json")
        cells = load_matrix(folder / "matrix.json")
    except CellFileError as exc:
        raise MergeError(str(exc)) from None
    shard = run.get("shard")
    if shard is not None and not (
        isinstance(shard, dict) and all(isinstance(shard.get(k), int) for k in ("index", "count"))
    ):
        raise MergeError(f"{folder / 'run.json'}: 'shard' must have an index and a count")
    return ShardRun(folder, run, cells)


def check_shards(shards: list[ShardRun]) -> None:
    """The refusals, first one wins."""
    first = shards[0]
    for other in shards[1:]:
        for key, words in SETTINGS.items():
            if other.run.get(key) != first.run.get(key):
                raise MergeError(
                    f"{other.folder}: {words} {other.run.get(key)!r} differs from "
                    f"{first.folder}'s {first.run.get(key)!r}: not shards of one run"
                )
    counts = {s.count for s in shards}
    if len(counts) > 1:
        raise MergeError(
            "the shards are of different splits ("
            + ", ".join(f"{s.folder}: {s.index}/{s.count}" for s in shards)
            + ")"
        )
    count = counts.pop()
    # Each shard computes the split itself; two different splits leave cells in no shard.
    split = (first.run.get("shard") or {}).get("partition")
    for other in shards[1:]:
        if (other.run.get("shard") or {}).get("partition") != split:
            raise MergeError(
                f"{other.folder}: its cells were split unlike {first.folder}'s (different "
                "--transport, --egress-address, --capabilities or --margin-repay?): not "
                "shards of one run"
            )
    seen: dict[int, Path] = {}
    for shard in shards:
        if shard.index in seen:
            raise MergeError(
                f"shard {shard.index}/{count} given twice ({seen[shard.index]} and {shard.folder})"
            )
        seen[shard.index] = shard.folder
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        names = ", ".join(f"{i}/{count}" for i in missing)
        raise MergeError(f"shard {names} missing: give the results of all {count} shards")
    owner: dict[tuple[str, str, str], Path] = {}
    for shard in shards:
        for cell in shard.cells:
            if cell.key in owner:
                where = f"{cell.profile} x {cell.probe} ({cell.transport})"
                raise MergeError(f"cell {where} is in both {owner[cell.key]} and {shard.folder}")
            owner[cell.key] = shard.folder


def _order(shards: list[ShardRun], key: str) -> list[str]:
    for shard in shards:
        names = (shard.run.get("shard") or {}).get(key)
        if isinstance(names, list):
            return [str(n) for n in names]
    return []


def _merged_cells(shards: list[ShardRun]) -> list[Cell]:
    """In the order one unsharded run writes them: declared profiles, the catalogue, transport."""
    profiles = {n: i for i, n in enumerate(_order(shards, "of_profiles"))}
    probes = {n: i for i, n in enumerate(_order(shards, "probe_order"))}
    cells = [c for s in shards for c in s.cells]
    return sorted(
        cells,
        key=lambda c: (
            profiles.get(c.profile, len(profiles)),
            probes.get(c.probe, len(probes)),
            c.transport,
        ),
    )


def _sum_proof(proofs: list[dict[str, Any]]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for proof in proofs:
        for key, value in proof.items():
            if key == "skipped_reasons" and isinstance(value, dict):
                reasons.update({str(k): int(v) for k, v in value.items()})
            elif isinstance(value, int):
                total[key] += value
    return {**dict(total), "skipped_reasons": dict(reasons.most_common())}


def merged_run(shards: list[ShardRun], cells: list[Cell]) -> dict[str, Any]:
    """run.json of the whole: the shards' settings, every declared profile, summed counts."""
    order = _order(shards, "of_profiles")
    declared = {p for s in shards for p in s.run.get("declared_profiles", [])}
    proofs = [s.run.get("proof") or {} for s in shards]
    by_profile: dict[str, Any] = {}
    for proof in proofs:
        by_profile.update(proof.get("profiles") or {})
    weights = [s.run.get("weight") or {} for s in shards]
    statuses = [s.run.get("exit_status") for s in shards]
    first = shards[0].run
    return {
        "target": first.get("target"),
        "base_url": first.get("base_url"),
        "seed": first.get("seed"),
        "run_id": "+".join(str(s.run.get("run_id")) for s in shards),
        "profiles": first.get("profiles"),
        "declared_profiles": sorted(
            declared, key=lambda p: (order.index(p) if p in order else len(order), p)
        ),
        "counts": dict(Counter(c.verdict.value for c in cells)),
        "proof": {
            "total": _sum_proof([p.get("total") or {} for p in proofs]),
            "profiles": by_profile,
        },
        "interrupted": any(s.run.get("interrupted") is True for s in shards),
        "exit_status": max((x for x in statuses if isinstance(x, int)), default=None),
        "surfaces": first.get("surfaces"),
        "weight": {"total": sum(int(w.get("total") or 0) for w in weights)},
        "keyprobe_version": first.get("keyprobe_version"),
        "profiles_digest": first.get("profiles_digest"),
        "shard": None,
        "shards": [
            {
                "index": s.index,
                "count": s.count,
                "folder": str(s.folder),
                "run_id": s.run.get("run_id"),
                "cells": len(s.cells),
                "exit_status": s.run.get("exit_status"),
            }
            for s in shards
        ],
    }


def _merge_results(shards: list[ShardRun], out: Path) -> None:
    folders = [s.folder / RESULTS for s in shards]
    present = [f for f in folders if f.is_dir()]
    if not present:
        return
    if len(present) != len(folders):
        lacking = next(f for f in folders if not f.is_dir())
        raise MergeError(f"{lacking} not found: every shard or none must have Allure results")
    results = out / RESULTS
    results.mkdir()
    for folder in present:
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            target = results / path.name
            if path.name in _SHARED_FILES:
                if not target.exists():
                    shutil.copyfile(path, target)
                continue
            if target.exists():
                # Result files are named by UUID: a clash is a shard given under two names.
                raise MergeError(f"{path.name} is in more than one shard's {RESULTS}")
            _link_or_copy(path, target)
    environment = results / "environment.properties"
    if environment.exists():
        # Shard 1's environment names one shard; the merged report is of all of them.
        lines = [
            line
            for line in environment.read_text(encoding="utf-8").splitlines()
            if not line.startswith(("Shard=", "Proof=", "Run="))
        ]
        lines.append(f"Shards={len(shards)} (keyprobe merge)")
        environment.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _link_or_copy(path: Path, target: Path) -> None:
    """A hard link where the file system has them: a merge is thousands of small files (about
    six per cell), and linking them is a fraction of copying. Safe because nothing rewrites a
    result file in place: each is written once under a fresh UUID name and a later run of the
    shard unlinks it; the files that are rewritten (``_SHARED_FILES``) are always copied."""
    try:
        os.link(path, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(path, target)


def merge(folders: list[Path], into: Path) -> Merged:
    """Merge the shards in ``folders`` into ``into``. Its matrix.json, run.json and
    allure-results are replaced, each whole; anything else there (the previous Allure report,
    whose history the next report carries on) is left alone."""
    if not folders:
        raise MergeError("no shard folders given")
    resolved = into.resolve()
    for folder in folders:
        if folder.resolve() == resolved:
            raise MergeError(f"--into {into} is one of the shards: merge into another folder")
    shards = sorted((_read(f) for f in folders), key=lambda s: s.index)
    check_shards(shards)
    cells = _merged_cells(shards)
    into.mkdir(parents=True, exist_ok=True)
    work = into / f".merging-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        write_atomically(work / "matrix.json", dumps_matrix(cells, shards=len(shards)))
        run = merged_run(shards, cells)
        write_atomically(work / "run.json", json.dumps(run, indent=2) + "\n")
        _merge_results(shards, work)
        # Everything is written: now swap it in, the matrix last (it is what marks a run).
        if (work / RESULTS).is_dir():
            _replace_dir(work / RESULTS, into / RESULTS)
        os.replace(work / "run.json", into / "run.json")
        os.replace(work / "matrix.json", into / "matrix.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Merged(into, len(shards), len(cells))


def _replace_dir(new: Path, old: Path) -> None:
    """Readers see the old folder or the new one, never half of either."""
    if not old.exists():
        os.replace(new, old)
        return
    aside = old.with_name(f".{old.name}.old-{os.getpid()}")
    os.replace(old, aside)
    try:
        os.replace(new, old)
    except OSError:
        os.replace(aside, old)
        raise
    shutil.rmtree(aside, ignore_errors=True)
