"""The harness under faults, end to end: the suites run as a real subprocess (bounded by a
timeout) against the real emulator behind a fault-injecting app on a real socket, or against a
separately started ``keyprobe emulator`` that is killed mid-run. Every affected check is BROKEN
with a reason that says what happened, the other checks still report, the run finishes and
its exit code says it cannot be trusted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.harness import corpus
from keyprobe.harness.orders import FAMILY
from tests.harness.conftest import REST_ONLY, Provisioned, copy_suites, provision, run_rest_suites
from tests.harness.faulty import Fault, Faulty
from tests.launch import with_default_sigint

PROFILES = """
[profiles.h]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]

[profiles.r]
key_type = "rsa"
permissions = ["enableReading"]

[profiles.e]
key_type = "ed25519"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
ip_whitelist = ["127.0.0.1"]
"""
PROFILE_NAMES = ("h", "r", "e")
# Every run must end well inside this, whatever the target does.
RUN_LIMIT_S = 90


def cells(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads((root / "reports" / "matrix.json").read_text())
    return {(c["profile"], c["probe"]): c for c in data["cells"]}


def run_suites(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, keys: Provisioned, *args: str
) -> tuple[pytest.RunResult, float]:
    return run_rest_suites(pytester, monkeypatch, keys, *args, timeout=RUN_LIMIT_S)


@pytest.fixture
def profiles(pytester: pytest.Pytester) -> Path:
    return copy_suites(pytester, PROFILES)


@pytest.mark.slow
def test_5xx_429_418_and_slow_answers_break_only_the_checks_they_hit(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    profiles: Path,
) -> None:
    emu = Emulator()
    once = Fault("/api/v3/order", status=429, retry_after=1, times=1, method="GET")
    faulty = Faulty(
        emu,
        [
            Fault("/api/v3/allOrders", status=503),
            Fault("/api/v3/account/commission", status=429, retry_after=1),
            Fault("/api/v3/rateLimit/order", status=418, retry_after=1),
            Fault("/api/v3/myTrades", delay=2.5),
            once,  # a 429 that clears: honoured, retried, and the check passes
        ],
    )
    keys = provision(emu, serve(faulty), profiles)  # type: ignore[arg-type]
    result, took = run_suites(
        pytester, monkeypatch, keys, "-m", "read", "-n", "2", "--probe-timeout", "1", "-rA"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = cells(pytester.path)
    assert len(found) == 3 * 7
    reasons = {
        "all_orders": "the target failed with HTTP 503",
        "commission": "rate limited (429)",
        "rate_limit_order": "banned (418)",
        "my_trades": "timeout after 1s",
    }
    for profile in PROFILE_NAMES:
        for probe, reason in reasons.items():
            cell = found[(profile, probe)]
            assert cell["verdict"] == "BROKEN" and reason in cell["reason"], cell
        for probe in ("account", "open_orders", "query_order"):
            assert found[(profile, probe)]["verdict"] == "pass", found[(profile, probe)]
    assert once.hits == 1
    # The 429 that cleared: its cell was retried once after the Retry-After, visibly.
    firsts = [found[(p, "query_order")].get("first_attempt") for p in PROFILE_NAMES]
    assert [f for f in firsts if f] == ["BROKEN: rate limited (429) despite the budget"], firsts
    result.stdout.fnmatch_lines(["*BROKEN: h-all_orders: the target failed with HTTP 503*"])
    assert "Traceback" not in result.stdout.str()
    assert took < RUN_LIMIT_S


def _allure_results(root: Path) -> list[dict[str, Any]]:
    results = root / "reports" / "allure-results"
    return [json.loads(p.read_text()) for p in results.glob("*-result.json")]


def _label(result: dict[str, Any], name: str) -> str | None:
    return next((lb["value"] for lb in result["labels"] if lb["name"] == name), None)


@pytest.mark.slow
def test_a_cell_broken_by_a_503_is_retried_once_and_the_retry_decides(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    profiles: Path,
) -> None:
    """A target that answers 503 to the first attempt of two cells, then answers: both pass
    after one retry, and the first attempt is in matrix.json, run.json and Allure. A 503 that
    persists is retried once, never twice, and stays BROKEN. Cells with a verdict are sent
    once: never retried."""
    emu = Emulator()
    faulty = Faulty(emu)
    keys = provision(emu, serve(faulty), profiles)  # type: ignore[arg-type]
    h_key, r_key = keys.credentials["h"].api_key, keys.credentials["r"].api_key
    faulty.faults += [
        Fault("/api/v3/account", status=503, times=1, api_key=h_key),
        Fault("/api/v3/myTrades", status=503, times=1, api_key=r_key),
        Fault("/api/v3/allOrders", status=503),  # down for every attempt
    ]
    result, took = run_suites(pytester, monkeypatch, keys, "-m", "read", "-n", "2")
    assert took < RUN_LIMIT_S
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the three all_orders cells
    found = cells(pytester.path)
    assert len(found) == 3 * 7
    first = "BROKEN: the target failed with HTTP 503"
    for key in (("h", "account"), ("r", "my_trades")):
        assert found[key]["verdict"] == "pass", found[key]
        assert found[key]["first_attempt"] == first, found[key]
    for profile in PROFILE_NAMES:
        cell = found[(profile, "all_orders")]
        assert cell["verdict"] == "BROKEN" and cell["first_attempt"] == first, cell
    retried = {k for k, c in found.items() if "first_attempt" in c}
    assert retried == {("h", "account"), ("r", "my_trades")} | {
        (p, "all_orders") for p in PROFILE_NAMES
    }
    # What the target saw: a retry is one more request, a verdict is never asked again.
    assert faulty.count("/api/v3/account", h_key) == 2
    assert faulty.count("/api/v3/account", r_key) == 1
    assert faulty.count("/api/v3/myTrades", r_key) == 2
    assert faulty.count("/api/v3/myTrades", h_key) == 1
    assert faulty.faults[2].hits == 3 * 2

    line = "18 of 21 cells judged, 0 skipped, 3 BROKEN, 5 retried"
    result.stdout.fnmatch_lines([f"keyprobe proof: {line}"])
    run = json.loads((pytester.path / "reports" / "run.json").read_text())
    assert run["proof"]["total"] == {
        "cells": 21,
        "judged": 18,
        "skipped": 0,
        "broken": 3,
        "retried": 5,
        "skipped_reasons": {},
    }
    assert run["proof"]["profiles"]["h"]["retried"] == 2
    assert run["proof"]["profiles"]["e"] == {
        "cells": 7,
        "judged": 6,
        "skipped": 0,
        "broken": 1,
        "retried": 1,
        "skipped_reasons": {},
    }
    env = (pytester.path / "reports" / "allure-results" / "environment.properties").read_text()
    assert f"Proof={line}" in env.splitlines()

    # Allure: the retried cell passed, its first attempt is a step with the exchange in it.
    (h_account,) = [
        r
        for r in _allure_results(pytester.path)
        if _label(r, "profile") == "h" and _label(r, "story") == "account"
    ]
    assert h_account["status"] == "passed"
    assert "retried" in {lb["value"] for lb in h_account["labels"] if lb["name"] == "tag"}
    step = h_account["steps"][0]
    assert step["name"] == "first attempt: BROKEN: the target failed with HTTP 503"
    assert step["steps"][0]["name"].startswith("probe: ")
    assert step["steps"][0]["attachments"]
    assert h_account["steps"][-1]["name"] == "check: pass"

    # The gate counts the recovered cells as proved; the persistent 503s are unproven.
    done = subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "gate"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3 and "3 BROKEN (more than --max-broken 0)" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "gate", "--max-broken", "3"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "  h: 1 BROKEN, 6 pass, 2 retried" in done.stdout.splitlines(), done.stdout


@pytest.mark.parametrize(("status", "retry_after"), [(418, 3600), (429, 600)])
def test_a_long_retry_after_fails_the_rest_fast_instead_of_waiting(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    profiles: Path,
    status: int,
    retry_after: int,
) -> None:
    """Binance bans for minutes to days (418) and a 429 may ask for long: keyprobe must not
    sleep through it, and must not keep hammering a target that asked it to stop."""
    emu = Emulator()
    faulty = Faulty(emu, [Fault("/api/v3/rateLimit/order", status=status, retry_after=retry_after)])
    keys = provision(emu, serve(faulty), profiles)  # type: ignore[arg-type]
    result, took = run_suites(pytester, monkeypatch, keys, "-m", "read or auth", "-rA")
    assert took < 60
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = cells(pytester.path)
    assert len(found) == 3 * 14  # every check reported
    hit = found[("h", "rate_limit_order")]
    assert hit["verdict"] == "BROKEN" and f"({status})" in hit["reason"], hit
    after = [c for c in found.values() if c["verdict"] == "BROKEN" and "not sent" in c["reason"]]
    assert after, "checks after the ban were sent anyway"
    assert all(f"Retry-After {retry_after}" in c["reason"] for c in after), after[0]
    assert {c["verdict"] for c in found.values()} <= {"pass", "BROKEN"}
    # Nothing was sent to the target once it asked us to wait.
    assert faulty.faults[0].hits == 1


def test_a_persistent_minus_1021_is_clock_skew_not_a_permission_verdict(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    profiles: Path,
) -> None:
    """The target's /api/v3/time is 30 s ahead of the clock it checks timestamps with: every
    re-measurement gives the same wrong offset, so -1021 persists."""
    emu = Emulator()
    keys = provision(emu, serve(Faulty(emu, time_shift_ms=30_000)), profiles)  # type: ignore[arg-type]
    result, _ = run_suites(pytester, monkeypatch, keys, "-m", "read or order or auth")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = cells(pytester.path)
    verdicts = {c["verdict"] for c in found.values()}
    assert not verdicts & {"LEAK", "MISSING"}, verdicts
    for (_profile, probe), cell in found.items():
        if probe in ("stale_timestamp", "future_timestamp"):
            continue  # they ask for -1021 and get it
        if cell["verdict"] in ("skipped", "pass"):
            # Refused before the timestamp is checked (no key, unknown key...): still right.
            assert cell["verdict"] == "skipped" or cell["actual"]["code"] != -1021, cell
            continue
        assert cell["verdict"] == "BROKEN", cell
        assert "clock skew" in cell["reason"] and "-1021" in cell["reason"], cell
    for profile in PROFILE_NAMES:
        for probe in ("account", "open_orders", "place_order", "wrong_secret"):
            assert "clock skew" in found[(profile, probe)]["reason"], (profile, probe)
    # Allure files them under "Clock skew".
    results = pytester.path / "reports" / "allure-results"
    messages = [
        r.get("statusDetails", {}).get("message", "")
        for r in map(json.loads, map(Path.read_text, results.glob("*-result.json")))
    ]
    assert sum("clock skew" in m for m in messages) >= 3 * 7


# ----------------------------------------------------------------------------- target dies

KILL_TARGET_AFTER = """
import os, signal

KEYPROBE_SUITES = True
_calls = []


def pytest_runtest_logreport(report):
    # The target's process dies in the middle of the run (after the fifth check).
    if report.when == "call":
        _calls.append(report.nodeid)
        if len(_calls) == 5:
            os.kill(int(os.environ["KEYPROBE_TEST_TARGET_PID"]), signal.SIGKILL)
"""


def keys_file(keys: Provisioned, path: Path) -> Path:
    """A ``keyprobe emulator --keys`` file for keys provisioned on another emulator."""
    lines: list[str] = []
    for record in keys.emulator.keys:
        creds = next(c for c in keys.credentials.values() if c.api_key == record.api_key)
        lines += ["[[key]]", f'api_key = "{record.api_key}"', f'type = "{record.key_type.value}"']
        if record.key_type is KeyType.HMAC:
            lines.append(f'secret = "{creds.private}"')
        else:
            public = keys.public[record.api_key]
            lines.append(f'public_key = """{public}"""')
        lines.append(f"permissions = {json.dumps(sorted(record.permissions))}")
        if record.ip_whitelist is not None:
            lines.append(f"ip_whitelist = {json.dumps([str(n) for n in record.ip_whitelist])}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_target_that_dies_mid_run_breaks_the_rest_and_the_run_ends(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, profiles: Path, tmp_path: Path
) -> None:
    keys = provision(Emulator(), "unused", profiles)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keyprobe.cli",
            "emulator",
            "--keys",
            str(keys_file(keys, tmp_path / "k.toml")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    with proc:
        try:
            assert proc.stdout is not None
            keys.url = proc.stdout.readline().strip()
            assert keys.url.startswith("http://127.0.0.1:")
            monkeypatch.setenv("KEYPROBE_TEST_TARGET_PID", str(proc.pid))
            (pytester.path / "conftest.py").write_text(KILL_TARGET_AFTER)
            result, took = run_suites(pytester, monkeypatch, keys, "-m", "read or order", "-rA")
        finally:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert took < 60
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = cells(pytester.path)
    assert len(found) == 3 * 10  # 7 read and 3 order probes: every check reported
    verdicts = [c["verdict"] for c in found.values()]
    assert verdicts.count("pass") >= 5
    broken = [c for c in found.values() if c["verdict"] == "BROKEN"]
    assert len(broken) >= 3 * 10 - 5 - 2
    assert all("cannot reach" in c["reason"] for c in broken), broken[0]
    assert not set(verdicts) & {"LEAK", "MISSING", "MISMATCH"}
    assert "Traceback" not in result.stdout.str()


# ----------------------------------------------------------------------------- interrupted run


def open_orders(emu: Emulator) -> list[str]:
    found = []
    for record in emu.keys:
        for order in emu.exchange.open_orders(record.account):
            if str(order["clientOrderId"]).startswith(FAMILY):
                found.append(str(order["clientOrderId"]))
    return found


def placed(emu: Emulator) -> int:
    seen = list(emu.journal)
    return sum(1 for e in seen if (e.method, e.path, e.status) == ("POST", "/api/v3/order", 200))


@pytest.mark.slow
def test_sigint_in_the_order_suite_leaves_no_order_and_no_half_written_report(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    profiles: Path,
) -> None:
    emu = Emulator()
    keys = provision(emu, serve(emu), profiles)
    keys.apply(monkeypatch)
    # Ctrl-C as a terminal sends it: to the whole process group, xdist workers included;
    # SIGINT at its default in the child however this pytest was started (tests/launch.py).
    proc = subprocess.Popen(
        with_default_sigint(
            [
                sys.executable,
                "-m",
                "pytest",
                "--target",
                keys.url,
                "-m",
                "order or cancel",
                *REST_ONLY,
                "-n",
                "2",
                "-p",
                "no:cacheprovider",
                "--record",
                "corpus",
            ]
        ),
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    # In the middle: a few orders placed (and some checks reported), more to come.
    while placed(emu) < 4:
        assert time.monotonic() < deadline and proc.poll() is None, "too few orders placed"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-2000:]
    reports = pytester.path / "reports"
    for name in ("matrix.json", "run.json"):
        if (reports / name).exists():
            json.loads((reports / name).read_text())  # whole, or not written at all
    if (reports / "run.json").exists():  # absent when no check had reported yet
        assert json.loads((reports / "run.json").read_text())["interrupted"] is True
    for path in (reports / "allure-results").glob("*.json"):
        json.loads(path.read_text())
    # The corpus (--record): each worker's file complete under its name, whole lines only.
    recorded = corpus.read([pytester.path / "corpus"])
    assert recorded and all(f.exchanges for f in recorded)
    # The next run starts by sweeping whatever the interrupted one left.
    again = pytester.runpytest_subprocess(
        "--target", keys.url, "-m", "read", "-k", "h-account", "-p", "no:cacheprovider",
        *REST_ONLY, timeout=60,
    )  # fmt: skip
    again.assert_outcomes(passed=1)
    assert open_orders(emu) == []
