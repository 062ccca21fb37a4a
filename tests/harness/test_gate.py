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
from typing import Any

import jsonschema
import pytest

from keyprobe.cells import SCHEMA, Cell, Verdict, load_matrix
from keyprobe.emulator.app import Emulator
from keyprobe.harness.plugin.options import in_ci
from tests.harness.conftest import REPO, copy_suites, provision

PROFILES = """
[profiles.reader]
key_type = "hmac"
permissions = ["enableReading"]

[profiles.trader]
key_type = "ed25519"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""


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
    # In process (pytester's default, as test_plugin's runs): a subprocess adds only its
    # start-up; the gate itself still runs as the command a user types.
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def proof(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "reports" / "run.json").read_text())["proof"]
    return data


@pytest.mark.slow
def test_an_honest_run_is_proved_and_matches_the_schema(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, suites: Path
) -> None:
    # In CI too: the embedded emulator's keys are generated, no secret is needed.
    monkeypatch.setenv("CI", "true")
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
    total = proof(pytester.path)["total"]
    assert total["judged"] == total["cells"] == len(cells) and total["retried"] == 0


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
    monkeypatch.setenv("CI", "true")  # every secret is there: CI changes nothing
    result = _run(pytester, "--target", url, "-m", "cancel")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    done = gate(pytester.path)
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith("keyprobe gate: FAILED: ")
    assert "LEAK" in done.stdout and "(reader)" in done.stdout
    # A verdict is never retried: LEAK is an answer, not an accident of the infrastructure.
    cells = load_matrix(pytester.path / "reports" / "matrix.json")
    assert any(c.verdict is Verdict.LEAK for c in cells)
    assert not [c for c in cells if c.retried]
    assert proof(pytester.path)["total"]["retried"] == 0


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
    # The run's facts are broken (the target is down): no cell is retried one by one.
    total = proof(pytester.path)["total"]
    assert total["broken"] == total["cells"] > 0 and total["retried"] == 0
    result.stdout.fnmatch_lines([f"keyprobe proof: 0 of {total['cells']} cells judged, *"])


@pytest.mark.slow
def test_a_run_without_secrets_is_unproven(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    suites: Path,
) -> None:
    # Locally (CI unset), a live-style target and no KEYPROBE_* variables: every cell skips
    # with its reason and pytest exits 0; the gate does not call that green.
    monkeypatch.delenv("CI", raising=False)
    url = serve(Emulator())
    result = _run(pytester, "--target", url, "-m", "read")
    assert result.ret == 0
    done = gate(pytester.path)
    assert done.returncode == 3, done.stdout
    assert "no cell of reader, trader got a verdict" in done.stdout
    # run.json groups the skips by reason, per profile and in total.
    found = proof(pytester.path)
    reader = found["profiles"]["reader"]
    assert reader["judged"] == 0 and reader["skipped"] == reader["cells"] > 0
    assert reader["skipped_reasons"] == {
        "profile 'reader': set KEYPROBE_READER_API_KEY and KEYPROBE_READER_SECRET to run it": (
            reader["cells"]
        )
    }
    assert len(found["total"]["skipped_reasons"]) == 2
    line = f"0 of {found['total']['cells']} cells judged, {found['total']['skipped']} skipped"
    result.stdout.fnmatch_lines([f"keyprobe proof: {line}, 0 BROKEN, 0 retried"])


@pytest.mark.parametrize(
    ("value", "ci"),
    [("true", True), ("1", True), ("yes", True), ("TRUE", True), ("", False), ("false", False)],
)
def test_what_counts_as_ci(value: str, ci: bool) -> None:
    assert in_ci({"CI": value}) is ci
    assert in_ci({}) is False


def test_in_ci_missing_secrets_stop_the_run_naming_every_variable(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    suites: Path,
) -> None:
    emu = Emulator()
    url = serve(emu)
    keys = provision(emu, url, suites)
    # reader has its key but not its secret; trader has nothing (GitHub gives an unset secret
    # as an empty variable).
    api_key = keys.env["KEYPROBE_READER_API_KEY"]
    monkeypatch.setenv("KEYPROBE_READER_API_KEY", api_key)
    monkeypatch.setenv("KEYPROBE_TRADER_API_KEY", "")
    monkeypatch.delenv("KEYPROBE_READER_SECRET", raising=False)
    monkeypatch.setenv("CI", "true")
    result = _run(pytester, "--target", url, "-m", "read")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert int(result.ret) == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    assert errors[0].endswith(
        "2 profile(s) without their secrets, an error because CI is set (otherwise they are "
        "skipped): set reader: KEYPROBE_READER_SECRET; trader: KEYPROBE_TRADER_API_KEY, "
        "KEYPROBE_TRADER_PRIVATE_KEY (or KEYPROBE_TRADER_PRIVATE_KEY_FILE)"
    ), errors[0]
    out = result.stdout.str() + result.stderr.str()
    assert api_key not in out and "Traceback" not in out
    assert not (pytester.path / "reports" / "matrix.json").exists()  # nothing ran
    # With every secret set, CI runs as usual.
    keys.apply(monkeypatch)
    assert _run(pytester, "--target", url, "-m", "read", "-k", "account").ret == 0


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
