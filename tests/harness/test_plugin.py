"""The plugin end to end, through pytester: the shipped suites against the embedded emulator
and against separately served emulators (real sockets, real keys), with wrong declarations,
dead targets, skewed clocks, tight rate limits, mainnet rules and interrupted runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyprobe.binance.endpoints import BY_ROUTE
from keyprobe.binance.signing import KeyType, encode_params, load_signer
from keyprobe.binance.ws_methods import BY_METHOD
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.ratelimit import RateLimits, Window
from keyprobe.harness.check import has_door
from keyprobe.harness.orders import FAMILY
from keyprobe.harness.probes import CATALOGUE, PROBE_NAMES, Category, Scenario
from keyprobe.harness.profiles import load_profiles
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.targets import Transport
from tests.harness.conftest import REPO, SHIPPED_PROFILES, Provisioned, copy_suites, provision


def cells_of(category: Category | None = None) -> int:
    """Cells per profile (of one category): every probe over every door it has."""
    return sum(
        1
        for p in CATALOGUE
        for t in Transport
        if has_door(p, t) and (category is None or p.category is category)
    )


PER_PROFILE = cells_of()
# Cells per profile only the embedded emulator can show (it lets keyprobe revoke a key
# mid-session): skipped, with the reason, on every URL target, before any request is sent.
EMBEDDED_ONLY = sum(
    1 for p in CATALOGUE if p.scenario is Scenario.REVOCATION or p.category is Category.LIFECYCLE
)
# Cells per profile sent to a URL target only on request (margin_repay: --margin-repay).
OPT_IN = sum(1 for p in CATALOGUE if p.opt_in)
# The shipped profiles file's profiles, and the REST cells per profile.
SHIPPED = len(load_profiles(SHIPPED_PROFILES, PROBE_NAMES))
REST_PER_PROFILE = sum(1 for p in CATALOGUE if has_door(p, Transport.REST))

PROFILES_TWO = """
[profiles.reader]
key_type = "ed25519"
permissions = ["enableReading"]
ip_whitelist = ["127.0.0.1"]

[profiles.trader]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""


GHOST = '\n[profiles.ghost]\nkind = "unknown"\nkey_type = "hmac"\n'


def matrix(
    pytester: pytest.Pytester, transport: str = "rest"
) -> dict[tuple[str, str], dict[str, Any]]:
    """The cells of one transport (REST by default), by (profile, probe)."""
    document = json.loads((pytester.path / "reports" / "matrix.json").read_text())
    assert document["schema"] == 1
    cells = document["cells"]
    return {(c["profile"], c["probe"]): c for c in cells if c["transport"] == transport}


def verdicts(pytester: pytest.Pytester) -> dict[tuple[str, str], str]:
    return {k: c["verdict"] for k, c in matrix(pytester).items()}


def artifacts(root: Path) -> str:
    texts = []
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".xml", ".properties", ".txt", ".log"}:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def assert_no_secret(text: str, secrets: list[str]) -> None:
    assert secrets
    for secret in secrets:
        assert secret not in text, "a secret reached an artifact"
    assert "PRIVATE KEY" not in text
    # Every signature that appears is masked.
    for chunk in text.split("signature=")[1:]:
        assert chunk.startswith("***"), chunk[:40]


# ----------------------------------------------------------------------------- embedded


def test_shipped_suites_pass_on_the_embedded_emulator_with_two_workers(
    pytester: pytest.Pytester,
) -> None:
    copy_suites(pytester)
    result = pytester.runpytest("-n", "2", "--seed", "4242", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=SHIPPED * PER_PROFILE)
    out = result.stdout.str()
    assert "keyprobe seed: 4242" in out
    assert "keyprobe matrix" in out and "read_only" in out
    cells = matrix(pytester)
    assert len(cells) == SHIPPED * REST_PER_PROFILE
    cell = cells[("read_only", "place_order")]
    assert cell["expected"] == {"status": 401, "code": -2015} == cell["actual"]
    assert cell["verdict"] == "pass" and cell["target"] == "emulator"
    assert cells[("spot_trading", "place_order")]["actual"] == {"status": 200, "code": None}
    # The same probe over the WebSocket API: one row of the matrix per door.
    ws = matrix(pytester, "ws-api")
    assert len(ws) == SHIPPED * (PER_PROFILE - REST_PER_PROFILE)
    assert ws[("read_only", "place_order")]["actual"] == {"status": 401, "code": -2015}
    assert ws[("spot_trading", "place_order")]["actual"] == {"status": 200, "code": None}
    run = json.loads((pytester.path / "reports" / "run.json").read_text())
    assert run["seed"] == 4242
    results = pytester.path / "reports" / "allure-results"
    assert len(list(results.glob("*-result.json"))) == SHIPPED * PER_PROFILE
    assert "Seed=4242" in (results / "environment.properties").read_text()
    # Secrets the controller generated for the emulator appear nowhere.
    secrets = [s for s in REDACTOR.secrets() if len(s) >= 16]
    assert_no_secret(artifacts(pytester.path) + out + result.stderr.str(), secrets)


def test_ids_are_profile_dash_probe_and_select_with_k_and_markers(
    pytester: pytest.Pytester,
) -> None:
    copy_suites(pytester)
    result = pytester.runpytest("--collect-only", "-q", "-k", "read_only-place_order")
    result.stdout.fnmatch_lines(
        [
            "test_order.py::test_order[[]read_only-place_order[]]",
            "test_order.py::test_order[[]read_only-place_order-ws[]]",
        ]
    )
    result = pytester.runpytest("-m", "auth", "-k", "ip_bound", "-q")
    result.assert_outcomes(passed=cells_of(Category.AUTH))
    result = pytester.runpytest("-m", "auth", "-k", "ip_bound", "-q", "--transport", "rest")
    result.assert_outcomes(passed=7)


def test_a_wrong_override_in_the_profiles_file_is_missing(pytester: pytest.Pytester) -> None:
    copy_suites(
        pytester,
        PROFILES_TWO + "\n[profiles.reader.expect]\nplace_order = { status = 200 }\n",
    )
    result = pytester.runpytest("-m", "order", "-k", "reader")
    # place_order over each door: both MISSING; the other order probes pass.
    result.assert_outcomes(passed=cells_of(Category.ORDER) - 2, failed=2)
    result.stdout.fnmatch_lines(["*MISSING: reader-place_order: expected (200, -)*refused*"])
    assert verdicts(pytester)[("reader", "place_order")] == "MISSING"


# ----------------------------------------------------------------------------- declarations vs keys


@pytest.fixture
def two_profiles(pytester: pytest.Pytester) -> Path:
    return copy_suites(pytester, PROFILES_TWO)


def run_against(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    keys: Provisioned,
    *args: str,
) -> pytest.RunResult:
    keys.apply(monkeypatch)
    return pytester.runpytest("--target", keys.url, *args)


def test_declared_more_than_granted_is_missing_and_granted_more_is_leak(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
) -> None:
    emu = Emulator()
    keys = provision(
        emu,
        serve(emu),
        two_profiles,
        grants={
            # reader was declared read-only but can trade and withdraw
            "reader": ["enableReading", "enableSpotAndMarginTrading", "enableWithdrawals"],
            # trader was declared able to trade but cannot
            "trader": ["enableReading"],
        },
    )
    result = run_against(pytester, monkeypatch, keys, "-m", "order or cancel or forbidden")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    v = verdicts(pytester)
    for probe in ("test_order", "place_order", "cancel_unknown_order", "cancel_own_order"):
        assert v[("reader", probe)] == "LEAK", probe
        assert v[("trader", probe)] == "MISSING", probe
    assert v[("reader", "withdraw")] == "LEAK"
    assert v[("reader", "api_restrictions")] == "LEAK"  # the read-back shows extra flags
    assert v[("trader", "api_restrictions")] == "MISSING"
    assert v[("reader", "margin_account")] == "pass"
    result.stdout.fnmatch_lines(
        ["*LEAK: reader-place_order: expected (401, -2015)*let it through*"]
    )
    # The worst first: one line per lying profile, after the grid, before pytest's summary.
    every = json.loads((pytester.path / "reports" / "matrix.json").read_text())["cells"]

    def named(c: dict[str, Any]) -> str:
        return c["probe"] if c["transport"] == "rest" else f"{c['probe']} ({c['transport']})"

    leaks = [named(c) for c in every if c["profile"] == "reader" and c["verdict"] == "LEAK"]
    missing = [named(c) for c in every if c["profile"] == "trader" and c["verdict"] == "MISSING"]
    assert "place_order (ws-api)" in leaks and "place_order (ws-api)" in missing
    out = result.stdout.str()
    leak_line = f"reader can do more than declared: {', '.join(leaks)} ({len(leaks)} LEAK)"
    missing_line = (
        f"trader cannot do what it declares: {', '.join(missing)} ({len(missing)} MISSING)"
    )
    assert leak_line in out and missing_line in out
    assert out.index("keyprobe matrix") < out.index(leak_line) < out.index("short test summary")
    # LEAK is a blocker in Allure.
    results = pytester.path / "reports" / "allure-results"
    by_name = {
        r["name"]: r for r in map(json.loads, map(Path.read_text, results.glob("*-result.json")))
    }
    leak = by_name["reader · place order → expect 401/-2015"]
    assert [lb for lb in leak["labels"] if lb["name"] == "severity"] == [
        {"name": "severity", "value": "blocker"}
    ]
    assert leak["steps"][-1]["name"] == "check: LEAK"
    assert leak["status"] == "failed"
    # Orders the LEAK placed were cancelled: nothing of keyprobe's stays open.
    assert open_keyprobe_orders(keys) == []


def signed_get(keys: Provisioned, profile: str, path: str, params: list[tuple[str, str]]) -> object:
    """An independent signed request (not through the harness client)."""
    creds = keys.credentials[profile]
    query = encode_params([*params, ("timestamp", str(int(time.time() * 1000)))])
    signature = load_signer(creds.key_type, creds.private).sign(query.encode())
    query += "&" + encode_params([("signature", signature)])
    response = httpx.get(
        f"{keys.url}{path}?{query}", headers={"X-MBX-APIKEY": creds.api_key}, timeout=10
    )
    return response.json()


def open_keyprobe_orders(keys: Provisioned) -> list[str]:
    found = []
    for profile in keys.credentials:
        orders = signed_get(keys, profile, "/api/v3/openOrders", [])
        if isinstance(orders, list):
            found += [o["clientOrderId"] for o in orders if o["clientOrderId"].startswith(FAMILY)]
    return found


def test_secrets_from_the_environment_reach_no_artifact(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
) -> None:
    emu = Emulator()
    keys = provision(emu, serve(emu), two_profiles, grants={"trader": ["enableReading"]})
    # Failures (MISSING) and log capture included: the paths most likely to leak.
    result = run_against(
        pytester,
        monkeypatch,
        keys,
        "-n",
        "2",
        "-m",
        "order or auth",
        "--junitxml",
        "junit.xml",
        "-o",
        "log_level=DEBUG",
        "-rA",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = artifacts(pytester.path) + result.stdout.str() + result.stderr.str()
    assert "MISSING" in text
    assert_no_secret(text, keys.secrets())


# ----------------------------------------------------------------------------- broken targets


def test_an_unreachable_target_is_broken_quickly_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)  # locally: profiles without secrets are skipped
    copy_suites(pytester, PROFILES_TWO + GHOST)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    result = pytester.runpytest("--target", f"http://127.0.0.1:{port}", "-m", "read", "-rA")
    assert time.monotonic() - started < 30
    # ghost needs no secrets; the others do.
    result.assert_outcomes(failed=cells_of(Category.READ), skipped=2 * cells_of(Category.READ))
    result.stdout.fnmatch_lines(
        [
            "*TARGET UNAVAILABLE*GET /api/v3/time*cannot reach*Connect*",
            "*BROKEN: ghost-account: GET /api/v3/time: cannot reach*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert set(verdicts(pytester).values()) == {"BROKEN", "skipped"}
    skipped = matrix(pytester)[("reader", "account")]
    assert "KEYPROBE_READER_API_KEY" in skipped["reason"]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_a_target_that_never_answers_is_broken_without_hanging(
    pytester: pytest.Pytester, silent_server: str
) -> None:
    copy_suites(pytester, GHOST)
    started = time.monotonic()
    result = pytester.runpytest("--target", silent_server, "--probe-timeout", "1")
    assert time.monotonic() - started < 30
    url_only = EMBEDDED_ONLY + OPT_IN
    result.assert_outcomes(failed=PER_PROFILE - url_only, skipped=url_only)
    result.stdout.fnmatch_lines(["*BROKEN: ghost-account: GET /api/v3/time*timeout after 1s*"])


# ----------------------------------------------------------------------------- clock and budget


@pytest.mark.parametrize("skew_ms", [45_000, -45_000])
def test_a_skewed_server_clock_is_compensated(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
    skew_ms: int,
) -> None:
    emu = Emulator()
    emu.clock.offset_ms = skew_ms
    keys = provision(emu, serve(emu), two_profiles)
    result = run_against(pytester, monkeypatch, keys, "-m", "read or auth")
    result.assert_outcomes(passed=2 * (cells_of(Category.READ) + cells_of(Category.AUTH)))
    # The offset was right from the start: no request was refused for its timestamp except
    # the two deliberate ones per profile and transport.
    assert sum(1 for e in emu.journal if e.code == -1021) == 2 * 2 * 2


def test_the_weight_budget_holds_across_two_workers(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
) -> None:
    # 300 weight per second: the read and auth cells of two profiles need ~550 from
    # 127.0.0.1, so two workers must share one budget to stay under it.
    emu = Emulator(limits=RateLimits(request_weight=Window(300, 1, "S"), ban_after_violations=0))
    keys = provision(emu, serve(emu), two_profiles)
    result = run_against(pytester, monkeypatch, keys, "-n", "2", "-m", "read or auth")
    result.assert_outcomes(passed=2 * (cells_of(Category.READ) + cells_of(Category.AUTH)))
    assert [e for e in emu.journal if e.status in (418, 429)] == []
    # Both doors draw on one budget per IP: REST routes and WebSocket API methods alike.
    per_second: dict[tuple[str, int], int] = {}
    for e in emu.journal:
        ep = BY_ROUTE.get((e.method, e.path))
        ws = BY_METHOD.get(e.path) if e.method == "WS" else None
        weigher = ep or ws
        if weigher is not None:
            key = (e.client_ip, e.time_ms // 1000)
            per_second[key] = per_second.get(key, 0) + weigher.weight({"symbol": "x"})
    assert max(per_second.values()) <= 300


# ----------------------------------------------------------------------------- mainnet rules


def test_mainnet_capabilities_never_send_a_state_changing_request(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
) -> None:
    profiles = copy_suites(pytester)  # the shipped profiles: every kind of key
    emu = Emulator()
    keys = provision(emu, serve(emu), profiles)
    result = run_against(
        pytester, monkeypatch, keys, "--capabilities", "mainnet", "--allow-mainnet", "-n", "2"
    )
    assert result.ret == pytest.ExitCode.OK
    cells = matrix(pytester)
    assert cells[("spot_trading", "place_order")]["verdict"] == "skipped"
    assert "never sends state-changing" in cells[("spot_trading", "place_order")]["reason"]
    assert cells[("withdrawals", "withdraw")]["verdict"] == "skipped"
    assert cells[("spot_trading", "cancel_unknown_order")]["verdict"] == "pass"
    assert cells[("withdrawals", "api_restrictions")]["verdict"] == "pass"
    seen = list(emu.journal)
    assert seen
    for entry in seen:
        route = (entry.method, entry.path)
        if entry.method == "WS":
            # The same rule over the WebSocket API: no placement, no cancel-all, no replace;
            # a cancel only of an order that does not exist.
            assert entry.path not in (
                "order.place",
                "openOrders.cancelAll",
                "order.cancelReplace",
            ), entry
            if entry.path == "order.cancel":
                assert entry.code in (-2011, -2015, -2014, -1022, -1021, -1102), entry
            continue
        if entry.method == "GET":
            assert entry.path != "/sapi/v1/margin/account", entry
            continue
        # order/test (spot, futures) and cancels (spot, futures, margin) only.
        cancels = {("DELETE", "/api/v3/order"), ("DELETE", "/fapi/v1/order"),
                   ("DELETE", "/sapi/v1/margin/order")}  # fmt: skip
        tests = {("POST", "/api/v3/order/test"), ("POST", "/fapi/v1/order/test")}
        assert route in cancels | tests, entry
        if route in cancels:
            # Only ever a cancel of an order that does not exist (or a refused one; -2008:
            # /sapi's unknown key).
            assert entry.code in (-2011, -2015, -2014, -1022, -1021, -2008), entry
    assert emu.exchange.open_orders(next(iter(emu.keys)).account) == []


# ----------------------------------------------------------------------------- interrupted runs

KILL_AFTER_FIRST_ORDER = """
import os, signal

KEYPROBE_SUITES = True


def pytest_runtest_logreport(report):
    # Die like a CI job hitting its timeout: no teardown, no session finish.
    if report.when == "call" and "place_order" in report.nodeid and report.passed:
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_orders_of_an_interrupted_run_are_swept_by_the_next(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
) -> None:
    emu = Emulator()
    keys = provision(emu, serve(emu), two_profiles)
    keys.apply(monkeypatch)
    (pytester.path / "conftest.py").write_text(KILL_AFTER_FIRST_ORDER)
    killed = pytester.runpytest_subprocess("--target", keys.url, "-m", "order", "-k", "trader")
    assert killed.ret == -9
    left = open_keyprobe_orders(keys)
    assert len(left) == 1  # the interrupted run's order is still resting
    (pytester.path / "conftest.py").write_text("KEYPROBE_SUITES = True\n")
    again = pytester.runpytest("--target", keys.url, "-m", "read", "-k", "trader-account")
    again.assert_outcomes(passed=2)  # over each door
    assert open_keyprobe_orders(keys) == []
    assert any(e.method == "DELETE" and e.status == 200 for e in emu.journal)


# ----------------------------------------------------------------------------- other targets


def test_a_testnet_shaped_target_runs_restricted_keys_and_a_leak_gets_the_hint(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
    two_profiles: Path,
) -> None:
    emu = Emulator(flavor="testnet")
    keys = provision(
        emu,
        serve(emu),
        two_profiles,
        grants={"reader": ["enableReading", "enableSpotAndMarginTrading"]},
    )
    result = run_against(pytester, monkeypatch, keys, "--capabilities", "testnet", "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cells = matrix(pytester)
    assert cells[("trader", "withdraw")]["verdict"] == "skipped"
    assert "/sapi" in cells[("trader", "withdraw")]["reason"]
    # The reader's key can trade though its profile says it cannot: a LEAK, never a skip.
    leak = cells[("reader", "place_order")]
    assert leak["verdict"] == "LEAK"
    assert "testnet's key page" in leak["reason"] and "may allow TRADE" in leak["reason"]
    assert cells[("trader", "place_order")]["verdict"] == "pass"
    assert not any(
        e.path.startswith("/sapi") and e.path != "/sapi/v1/system/status" for e in emu.journal
    )


def test_a_separately_started_keyprobe_emulator_with_secrets_in_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profiles = copy_suites(pytester)
    from keyprobe.harness.credentials import generate
    from keyprobe.harness.probes import PROBE_NAMES
    from keyprobe.harness.profiles import KeyKind, load_profiles

    lines: list[str] = []
    for profile in load_profiles(profiles, PROBE_NAMES):
        if profile.kind is not KeyKind.REGISTERED:
            continue
        creds, material = generate(profile)
        prefix = profile.env_prefix
        monkeypatch.setenv(prefix + "API_KEY", creds.api_key)
        field = "secret" if profile.key_type is KeyType.HMAC else "public_key"
        monkeypatch.setenv(
            prefix + ("SECRET" if profile.key_type is KeyType.HMAC else "PRIVATE_KEY"),
            creds.private,
        )
        lines += [
            "[[key]]",
            f'api_key = "{creds.api_key}"',
            f'type = "{profile.key_type.value}"',
            f'{field} = """{material.public}"""',
            f"permissions = {json.dumps(sorted(profile.permissions))}",
        ]
        if profile.ip_whitelist is not None:
            lines.append(f"ip_whitelist = {json.dumps(list(profile.ip_whitelist))}")
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyprobe.cli", "emulator", "--keys", str(keys_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    with proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            result = pytester.runpytest("--target", url, "--profiles", str(profiles), "-n", "2")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    # On a target keyprobe does not own, cancel-all runs only where the key can first show
    # that no one else's orders would be hit.
    url_only = EMBEDDED_ONLY + OPT_IN
    result.assert_outcomes(
        passed=SHIPPED * (PER_PROFILE - url_only) - 4, skipped=4 + SHIPPED * url_only
    )
    cell = matrix(pytester)[("trade_only", "cancel_open_orders")]
    assert cell["verdict"] == "skipped" and "cannot list them" in cell["reason"]


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("profiles", "args", "fragment"),
    [
        ('[profiles.a]\nkey_type = "hmac"\ncolour = "red"\n', [], "profile 'a': field 'colour'"),
        ('[profiles.a]\nkey_type = "hmac"\npermissions = ["x"]\n', [], "field 'permissions'"),
        ('[profiles.a]\nkey_type = "dsa"\n', [], "field 'key_type'"),
        ("[profiles.a\n", [], "not valid TOML"),
        (PROFILES_TWO, ["--target", "nowhere"], "--target 'nowhere'"),
        (PROFILES_TWO, ["--target", "mainnet"], "needs --allow-mainnet"),
        (PROFILES_TWO, ["--recv-window", "60001"], "--recv-window 60001"),
        (
            PROFILES_TWO,
            ["--target", "http://127.0.0.1:9", "--require-all-profiles"],
            "set reader: KEYPROBE_READER_API_KEY, KEYPROBE_READER_PRIVATE_KEY (or "
            "KEYPROBE_READER_PRIVATE_KEY_FILE); trader: KEYPROBE_TRADER_API_KEY, "
            "KEYPROBE_TRADER_SECRET",
        ),
        (PROFILES_TWO, ["--profiles", "missing.toml"], "cannot read the profiles file"),
    ],
)
def test_bad_input_is_one_clear_usage_error(
    pytester: pytest.Pytester, profiles: str, args: list[str], fragment: str
) -> None:
    copy_suites(pytester, profiles)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_options_and_markers_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for option in (
        "--target",
        "--profiles",
        "--allow-mainnet",
        "--require-all-profiles",
        "--seed",
        "--recv-window",
        "--capabilities",
        "--egress-address",
    ):
        result.stdout.fnmatch_lines([f"*{option}*"])
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.read: read probes*", "@pytest.mark.auth: auth*"])


def test_pytest_suites_from_the_repo_root_shows_no_faker_fixture() -> None:
    """The repo's pytest configuration applies to ``pytest suites/`` and turns faker's plugin
    (an autouse fixture on every test and Allure result) off; the suites seed their own Faker."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/test_read.py",
            "-k",
            "read_only-account",
            "--fixtures-per-test",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "keyprobe_check" in done.stdout
    assert "faker" not in done.stdout


def test_the_plugin_stays_idle_outside_the_suites(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert not [line for line in result.stdout.lines if line.startswith("keyprobe")]
    assert not (pytester.path / "reports").exists()
