"""``keyprobe gate`` on real runs: the suites run as a subprocess against an emulator over a
real socket, then the gate (a subprocess too) judges what they wrote. Green only when the run
proved something; 1 when a key does more or less than declared; 3 when nothing was proved;
4 when there is nothing to read. Also: matrix.json is what docs/matrix.schema.json says."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from keyprobe.cells import SCHEMA, Cell, Verdict, load_matrix
from keyprobe.emulator.app import Emulator
from tests.harness.conftest import REPO, copy_suites, provision

PROFILES = """
[profiles.reader]
key_type = "hmac"
permissions = ["enableReading"]

[profiles.trader]
key_type = "ed25519"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""
RUN_LIMIT_S = 120


def gate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "gate", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def suites(pytester: pytest.Pytester) -> Path:
    return copy_suites(pytester, PROFILES)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=RUN_LIMIT_S)


@pytest.mark.slow
def test_an_honest_run_is_proved_and_matches_the_schema(
    pytester: pytest.Pytester, suites: Path
) -> None:
    result = _run(pytester, "-m", "read or cancel")
    assert result.ret == 0, result.stdout.str()[-2000:]
    done = gate(pytester.path)
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("keyprobe gate: PROVED:"), first
    assert "  reader: " in done.stdout and "  trader: " in done.stdout

    document = json.loads((pytester.path / "reports" / "matrix.json").read_text())
    schema = json.loads((REPO / "docs" / "matrix.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["schema"] == SCHEMA
    cells = load_matrix(pytester.path / "reports" / "matrix.json")
    # Written and read back through the one record: nothing lost on the way.
    assert [c.to_dict() for c in cells] == document["cells"]
    assert {c.profile for c in cells} == {"reader", "trader"}


@pytest.mark.slow
def test_a_key_that_does_more_than_declared_fails_the_gate(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    suites: Path,
) -> None:
    emu = Emulator()
    url = serve(emu)
    # "reader" is declared read-only, but its key can trade: every TRADE cell is a LEAK.
    keys = provision(emu, url, suites, {"reader": ["enableReading", "enableSpotAndMarginTrading"]})
    keys.apply(monkeypatch)
    result = _run(pytester, "--target", url, "-m", "cancel")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    done = gate(pytester.path)
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith("keyprobe gate: FAILED: ")
    assert "LEAK" in done.stdout and "(reader)" in done.stdout


@pytest.mark.slow
def test_a_run_that_reached_nothing_is_unproven(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, suites: Path
) -> None:
    # A closed port: every cell is BROKEN. pytest says 1 like a failed check; the gate says 3.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provision(Emulator(), url, suites).apply(monkeypatch)  # the secrets are there; the target isn't
    result = _run(pytester, "--target", url, "-m", "read")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    done = gate(pytester.path)
    assert done.returncode == 3, done.stdout
    assert "UNPROVEN" in done.stdout and "BROKEN (more than --max-broken 0)" in done.stdout
    assert "no cell of reader, trader got a verdict" in done.stdout


@pytest.mark.slow
def test_a_run_without_secrets_is_unproven(
    pytester: pytest.Pytester, serve: Callable[[Emulator], str], suites: Path
) -> None:
    # A live-style target and no KEYPROBE_* variables: every cell skips, pytest exits 0.
    url = serve(Emulator())
    result = _run(pytester, "--target", url, "-m", "read")
    assert result.ret == 0
    done = gate(pytester.path)
    assert done.returncode == 3, done.stdout
    assert "no cell of reader, trader got a verdict" in done.stdout


def test_nothing_to_read_is_exit_4_with_one_line(tmp_path: Path) -> None:
    missing = gate(tmp_path)
    assert missing.returncode == 4
    assert missing.stderr.strip().splitlines() == [
        f"keyprobe gate: UNREADABLE: {Path('reports/matrix.json')} not found: run the suites "
        "first (`pytest suites/`)"
    ]
    bad = tmp_path / "m.json"
    bad.write_text("{not json", encoding="utf-8")
    done = gate(tmp_path, str(bad))
    assert done.returncode == 4 and str(bad) in done.stderr and "Traceback" not in done.stderr
    bad.write_text(json.dumps({"schema": 1, "cells": [{"profile": 1}]}), encoding="utf-8")
    done = gate(tmp_path, str(bad))
    assert done.returncode == 4 and "cell 0: 'profile' must be a non-empty string" in done.stderr


def _cell(profile: str, verdict: Verdict) -> Cell:
    return Cell(profile, "account", "read", "emulator", None, None, verdict)


@pytest.mark.parametrize(
    ("verdicts", "extra", "code"),
    [
        ({"a": [Verdict.PASS], "b": [Verdict.PASS, Verdict.SKIPPED]}, [], 0),
        ({"a": [Verdict.PASS], "b": [Verdict.LEAK]}, [], 1),
        ({"a": [Verdict.MISSING], "b": [Verdict.BROKEN]}, [], 1),
        ({"a": [Verdict.PASS], "b": [Verdict.SKIPPED]}, [], 3),
        ({"a": [Verdict.PASS], "b": [Verdict.PASS, Verdict.BROKEN]}, [], 3),
        ({"a": [Verdict.PASS, Verdict.BROKEN], "b": [Verdict.PASS]}, ["--max-broken", "1"], 0),
        ({"a": [Verdict.PASS], "b": [Verdict.MISMATCH]}, ["--min-verdicts", "3"], 3),
    ],
)
def test_the_gate_judges_proof_not_only_failures(
    tmp_path: Path, verdicts: dict[str, list[Verdict]], extra: list[str], code: int
) -> None:
    cells = [_cell(p, v) for p, vs in verdicts.items() for v in vs]
    path = tmp_path / "reports" / "matrix.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"schema": 1, "cells": [c.to_dict() for c in cells]}))
    run = {"declared_profiles": sorted(verdicts), "exit_status": 1, "interrupted": False}
    (path.parent / "run.json").write_text(json.dumps(run))
    done = gate(tmp_path, *extra)
    assert done.returncode == code, done.stdout + done.stderr


def test_a_declared_profile_without_cells_and_an_interrupted_run_are_unproven(
    tmp_path: Path,
) -> None:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps({"schema": 1, "cells": [_cell("a", Verdict.PASS).to_dict()]}))
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"declared_profiles": ["a", "ghost"], "exit_status": 0}))
    done = gate(tmp_path, str(path))
    assert done.returncode == 3 and "no cell of ghost got a verdict" in done.stdout
    run.write_text(json.dumps({"declared_profiles": ["a"], "interrupted": True, "exit_status": 2}))
    done = gate(tmp_path, str(path))
    assert done.returncode == 3 and "the run was interrupted" in done.stdout
    run.write_text(json.dumps({"declared_profiles": ["a"], "exit_status": 0}))
    assert gate(tmp_path, str(path)).returncode == 0
