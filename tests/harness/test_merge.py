"""``keyprobe merge``'s refusals and its output, on shard folders written here: shards of
different runs, a missing or repeated shard and a cell in two shards are each one line (exit
4) and leave the output folder as it was; a good merge orders the cells as one run would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keyprobe.binance.outcome import Outcome
from keyprobe.cells import Cell, Verdict, dumps_matrix, load_matrix, matrix_shards
from keyprobe.merge import MergeError, merge

PROFILES = ["alpha", "beta", "gamma"]
PROBES = ["account", "place_order"]


def cell(profile: str, probe: str, verdict: Verdict = Verdict.PASS) -> Cell:
    return Cell(profile, probe, "read", "testnet", Outcome(200), Outcome(200), verdict, "ok")


def write_shard(
    folder: Path, index: int, count: int, cells: list[Cell], partition: str = "p1", **settings: Any
) -> Path:
    folder.mkdir(parents=True)
    (folder / "matrix.json").write_text(dumps_matrix(cells))
    run = {
        "target": "testnet",
        "seed": 7,
        "keyprobe_version": "0.1.0",
        "profiles_digest": "sha256:aa",
        "run_id": f"run{index}",
        "declared_profiles": sorted({c.profile for c in cells}),
        "exit_status": 0,
        "proof": {"total": {"cells": len(cells), "judged": len(cells), "skipped_reasons": {}}},
        "shard": {
            "index": index,
            "count": count,
            "of_profiles": PROFILES,
            "probe_order": PROBES,
            "partition": partition,
        },
        **settings,
    }
    (folder / "run.json").write_text(json.dumps(run))
    results = folder / "allure-results"
    results.mkdir()
    (results / f"{index}-result.json").write_text("{}")
    (results / "environment.properties").write_text(f"Target=testnet\nShard={index}/{count}\n")
    return folder


@pytest.fixture
def two(tmp_path: Path) -> list[Path]:
    return [
        write_shard(tmp_path / "s1", 1, 2, [cell("beta", "account"), cell("beta", "place_order")]),
        write_shard(
            tmp_path / "s2", 2, 2, [cell("alpha", "place_order"), cell("gamma", "account")]
        ),
    ]


def test_a_merge_orders_cells_as_one_run_and_counts_the_shards(
    tmp_path: Path, two: list[Path]
) -> None:
    into = tmp_path / "out"
    (into / "allure-report").mkdir(parents=True)  # the previous report: its history stays
    merged = merge(two, into)
    assert (merged.shards, merged.cells) == (2, 4)
    assert [(c.profile, c.probe) for c in load_matrix(into / "matrix.json")] == [
        ("alpha", "place_order"),
        ("beta", "account"),
        ("beta", "place_order"),
        ("gamma", "account"),
    ]
    assert matrix_shards(into / "matrix.json") == 2
    run = json.loads((into / "run.json").read_text())
    assert run["declared_profiles"] == PROFILES
    assert run["proof"]["total"]["cells"] == 4
    assert sorted(p.name for p in (into / "allure-results").iterdir()) == [
        "1-result.json",
        "2-result.json",
        "environment.properties",
    ]
    environment = (into / "allure-results" / "environment.properties").read_text()
    assert "Shard=" not in environment and "Shards=2" in environment
    assert (into / "allure-report").is_dir()
    assert not [p for p in into.iterdir() if p.name.startswith(".")]


def test_merged_results_are_the_shards_files_and_rewriting_one_leaves_the_shards_alone(
    tmp_path: Path, two: list[Path]
) -> None:
    # Result files are hard-linked where the file system allows it; the environment, which
    # the merge rewrites, must be a copy or shard 1's would name every shard too.
    (two[0] / "allure-results" / "1-result.json").write_text('{"name": "beta x account"}')
    into = tmp_path / "out"
    merge(two, into)
    merged = into / "allure-results"
    assert (merged / "1-result.json").read_text() == '{"name": "beta x account"}'
    assert (two[0] / "allure-results" / "environment.properties").read_text() == (
        "Target=testnet\nShard=1/2\n"
    )
    assert "Shards=2" in (merged / "environment.properties").read_text()
    # A second merge into the same folder replaces the results; the shards keep theirs.
    merge(two, into)
    assert (two[0] / "allure-results" / "1-result.json").read_text() == (
        '{"name": "beta x account"}'
    )
    assert sorted(p.name for p in merged.iterdir()) == [
        "1-result.json",
        "2-result.json",
        "environment.properties",
    ]


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("target", "demo", "target 'demo' differs"),
        ("seed", 8, "seed 8 differs"),
        ("keyprobe_version", "0.2.0", "keyprobe version '0.2.0' differs"),
        ("profiles_digest", "sha256:bb", "profiles file (sha256) 'sha256:bb' differs"),
    ],
)
def test_shards_of_different_runs_are_refused(
    tmp_path: Path, setting: str, value: Any, words: str
) -> None:
    a = write_shard(tmp_path / "s1", 1, 2, [cell("alpha", "account")])
    b = write_shard(tmp_path / "s2", 2, 2, [cell("beta", "account")], **{setting: value})
    with pytest.raises(MergeError, match=re.escape(f"{tmp_path / 's2'}: {words}")):
        merge([a, b], tmp_path / "out")
    assert not (tmp_path / "out" / "matrix.json").exists()


def test_a_missing_a_repeated_and_a_mixed_split_are_refused(tmp_path: Path) -> None:
    a = write_shard(tmp_path / "s1", 1, 3, [cell("alpha", "account")])
    b = write_shard(tmp_path / "s3", 3, 3, [cell("beta", "account")])
    with pytest.raises(MergeError, match="shard 2/3 missing: give the results of all 3 shards"):
        merge([a, b], tmp_path / "out")
    again = write_shard(tmp_path / "again", 1, 3, [cell("gamma", "account")])
    with pytest.raises(MergeError, match="shard 1/3 given twice"):
        merge([a, again, b], tmp_path / "out")
    other = write_shard(tmp_path / "other", 2, 2, [cell("gamma", "account")])
    with pytest.raises(MergeError, match="different splits"):
        merge([a, other], tmp_path / "out")


def test_shards_that_split_the_cells_differently_are_refused(tmp_path: Path) -> None:
    # Each shard computes the split from its own options: another --transport gives another
    # split, and cells would be in no shard.
    a = write_shard(tmp_path / "s1", 1, 2, [cell("alpha", "account")])
    b = write_shard(tmp_path / "s2", 2, 2, [cell("beta", "account")], partition="p2")
    with pytest.raises(MergeError, match=re.escape(f"{tmp_path / 's2'}: its cells were split")):
        merge([a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_cell_in_two_shards_is_refused(tmp_path: Path) -> None:
    a = write_shard(tmp_path / "s1", 1, 2, [cell("alpha", "account")])
    b = write_shard(tmp_path / "s2", 2, 2, [cell("alpha", "account", Verdict.LEAK)])
    with pytest.raises(MergeError, match=r"cell alpha x account \(rest\) is in both"):
        merge([a, b], tmp_path / "out")


def test_a_refusal_leaves_the_previous_merge_untouched(tmp_path: Path, two: list[Path]) -> None:
    into = tmp_path / "out"
    merge(two, into)
    before = (into / "matrix.json").read_text()
    with pytest.raises(MergeError):
        merge(two[:1], into)
    assert (into / "matrix.json").read_text() == before
    assert len(list((into / "allure-results").iterdir())) == 3


def test_unreadable_input_and_into_a_shard_are_refused(tmp_path: Path, two: list[Path]) -> None:
    with pytest.raises(MergeError, match="is one of the shards"):
        merge(two, two[0])
    (two[1] / "run.json").unlink()
    with pytest.raises(MergeError, match=r"run\.json not found: not a finished run"):
        merge(two, tmp_path / "out")


def test_the_command_is_one_line_and_exit_4(tmp_path: Path, two: list[Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "merge", str(two[0]), "--into", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        "keyprobe merge: shard 2/2 missing: give the results of all 2 shards"
    ]
    assert "Traceback" not in done.stderr
