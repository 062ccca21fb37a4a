"""The WebSocket-only probes (session_logon, the user data stream, revocation) end to end:
the shipped suites over real sockets against the embedded emulator (every cell passes, every
frame is a redacted step in Allure, no secret anywhere), and against emulators with a planted
bug, which each probe must catch: an HMAC key allowed to log on, a stream that delivers no
events, a revocation that does not clear the session, one that takes the open order with it.
Planted in-process: pytester runs the suites in this process, so the embedded emulator is the
patched one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.binance.unsettled import DEFAULT, refusal
from keyprobe.emulator import control
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.wsapi import WsSettings, authorize
from keyprobe.emulator.wsapi.connection import Connection
from keyprobe.emulator.wsapi.stream import StreamHub
from keyprobe.harness import api_management, expectations
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, load_profiles
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.ws_probes import WS_ONLY
from tests.harness.conftest import SHIPPED_PROFILES, copy_suites, provision
from tests.harness.test_plugin import artifacts, assert_no_secret, matrix

SHIPPED = load_profiles(SHIPPED_PROFILES, PROBE_NAMES)
PROFILES = len(SHIPPED)
# Registered keys that are not Ed25519: session.logon refuses them.
NOT_ED25519 = sum(
    1 for p in SHIPPED if p.kind is KeyKind.REGISTERED and p.key_type is not KeyType.ED25519
)


def session_cells(pytester: pytest.Pytester) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        k: c
        for k, c in matrix(pytester, "ws-api").items()
        if k[1].startswith(("session", "user_stream"))
    }


def test_the_session_probes_pass_on_the_embedded_emulator_and_leak_no_secret(
    pytester: pytest.Pytester,
) -> None:
    copy_suites(pytester)
    result = pytester.runpytest("-m", "session", "-n", "0")
    result.assert_outcomes(passed=PROFILES * len(WS_ONLY))
    cells = session_cells(pytester)
    assert cells[("spot_trading", "session_logon")]["actual"] == {"status": 400, "code": -1022}
    assert cells[("read_only", "user_stream_logon")]["actual"] == {"status": 200, "code": None}
    events = cells[("spot_trading", "user_stream_events")]["reason"]
    assert "delivered its executionReport (NEW)" in events
    revoked = cells[("ip_bound", "session_revocation")]
    assert revoked["actual"] == {"status": 401, "code": -2015}
    assert "the session was cleared and the open order is still there" in revoked["reason"]
    # Every frame of a conversation is a step in Allure, apiKey and signature masked.
    results = pytester.path / "reports" / "allure-results"
    titles: set[str] = set()
    masked = 0
    for path in results.glob("*-result.json"):
        body = json.loads(path.read_text())
        if "ip_bound-session_revocation-ws" in json.dumps(body):
            titles |= {step["name"] for step in body.get("steps", [])}
    for path in results.glob("*-attachment*"):
        text = path.read_text(errors="replace")
        if text.startswith("{") and '"params"' in text:
            record = json.loads(text)
            for name, value in record["params"]:
                if name in ("apiKey", "signature"):
                    assert value == "***", name
                    masked += 1
            if record["path"].startswith(api_management.PREFIX):
                assert record["path"] == api_management.PREFIX + "***"
    assert masked > 0
    joined = " | ".join(sorted(titles))
    for title in (
        "session.logon",
        "API Management: take the permission away",
        "the id-null 401 revocation frame",
        "API Management: restore the key",
    ):
        assert title in joined, joined
    # The generated keys (the revocation keys too) and the API Management token: nowhere.
    secrets = [s for s in REDACTOR.secrets() if len(s) >= 16]
    assert_no_secret(artifacts(pytester.path) + result.stdout.str() + result.stderr.str(), secrets)


def test_an_hmac_key_allowed_to_log_on_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authorize, "LOGON_KEY_TYPES", frozenset(KeyType))
    copy_suites(pytester)
    result = pytester.runpytest("-m", "session", "-k", "logon and not revocation", "-n", "0")
    cells = session_cells(pytester)
    for profile in ("spot_trading", "trade_only", "no_permissions"):
        logon = cells[(profile, "session_logon")]
        assert logon["verdict"] == "LEAK", logon
        assert logon["actual"] == {"status": 200, "code": None}
        # The logon step decides the subscription probe too: it never got to subscribe.
        stream = cells[(profile, "user_stream_logon")]
        assert stream["verdict"] == "LEAK" and stream["reason"].startswith("session.logon:")
    assert cells[("read_only", "session_logon")]["verdict"] == "pass"
    result.assert_outcomes(passed=2 * PROFILES - 2 * NOT_ED25519, failed=2 * NOT_ED25519)


def test_a_stream_without_the_order_s_events_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StreamHub, "order_done", lambda *_args: None)
    copy_suites(pytester)
    result = pytester.runpytest("-m", "session", "-k", "user_stream_events", "-n", "0")
    cells = session_cells(pytester)
    traders = ("spot_trading", "trade_only", "ip_bound", "sub_trader")
    for profile in traders:
        cell = cells[(profile, "user_stream_events")]
        assert cell["verdict"] == "MISSING", cell
        assert "delivered no executionReport" in cell["reason"]
    # The keys that may not trade are refused the order: nothing to deliver, still a pass.
    result.assert_outcomes(passed=PROFILES - len(traders), failed=len(traders))
    # The orders those cells placed were cancelled by their teardown all the same.
    assert "could not cancel" not in result.stdout.str()


def test_a_revocation_that_does_not_clear_the_session_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Connection, "_session_valid", lambda _self, _now: True)
    copy_suites(pytester)
    result = pytester.runpytest("-m", "session", "-k", "session_revocation", "-n", "0")
    cells = session_cells(pytester)
    # ip_bound and sub_trader lost TRADE: the session still answered its next (READ) request.
    for name in ("ip_bound", "sub_trader"):
        trader = cells[(name, "session_revocation")]
        assert trader["verdict"] == "LEAK", trader
        assert trader["reason"].startswith("the next request on the session:")
    # read_only lost READ: the request is refused, but the session still holds the key.
    reader = cells[("read_only", "session_revocation")]
    assert reader["verdict"] == "LEAK", reader
    assert "the session still holds the key" in reader["reason"]
    result.assert_outcomes(passed=PROFILES - 3, failed=3)
    # The key was restored: its order was cancelled by the teardown.
    assert "could not cancel" not in result.stdout.str()


def test_a_revocation_that_takes_the_open_order_is_a_mismatch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = control.handle

    def handle_and_cancel(keys: Any, token: str, method: str, path: str, *rest: Any) -> Any:
        answer = original(keys, token, method, path, *rest)
        record = keys.get(path[len(control.PREFIX) :])
        if method == "PATCH" and record is not None and EMULATORS:
            for emulator in EMULATORS:
                for order in emulator.exchange.open_orders(record.account, None):
                    emulator.exchange.cancel_order(
                        record.account,
                        {"symbol": order["symbol"], "orderId": str(order["orderId"])},
                    )
        return answer

    EMULATORS: list[Emulator] = []
    real_init = Emulator.__init__

    def init(self: Emulator, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        EMULATORS.append(self)

    monkeypatch.setattr(Emulator, "__init__", init)
    monkeypatch.setattr(control, "handle", handle_and_cancel)
    copy_suites(pytester)
    result = pytester.runpytest("-m", "session", "-k", "ip_bound and session_revocation", "-n", "0")
    cell = session_cells(pytester)[("ip_bound", "session_revocation")]
    assert cell["verdict"] == "MISMATCH", cell
    assert "is not open any more" in cell["reason"]
    result.assert_outcomes(failed=1)


def test_elsewhere_the_revocation_probe_is_skipped_and_logon_codes_are_not_believed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    """A URL target has no API Management keyprobe may use: skipped with the reason, never
    BROKEN. And a target that refuses HMAC logons with another code than the [UNC] choice
    shows as MISMATCH: the expectation is the harness's own setting, not the target's."""
    emulator = Emulator(ws_settings=WsSettings(logon_refused_code=-2015))
    url = serve(emulator)
    profiles = copy_suites(pytester, SHIPPED_PROFILES)
    keys = provision(emulator, url, profiles)
    keys.apply(monkeypatch)
    result = pytester.runpytest(
        "--target", url, "-m", "session", "-k", "session_logon or revocation", "-n", "0"
    )
    cells = session_cells(pytester)
    for profile in ("spot_trading", "trade_only"):
        logon = cells[(profile, "session_logon")]
        assert logon["verdict"] == "MISMATCH", logon
        assert logon["expected"] == {"status": 400, "code": -1022}
        assert logon["actual"] == {"status": 401, "code": -2015}
    revocations = [c for k, c in cells.items() if k[1] == "session_revocation"]
    assert len(revocations) == PROFILES
    for cell in revocations:
        assert cell["verdict"] == "skipped"
        assert "API Management" in cell["reason"]
    # The HMAC/RSA logons differ; nothing is BROKEN.
    result.assert_outcomes(passed=PROFILES - NOT_ED25519, failed=NOT_ED25519, skipped=PROFILES)
    assert "0 BROKEN" in result.stdout.str()


def test_the_harness_s_choices_match_the_emulator_s_defaults() -> None:
    """Both read the one table (the harness does not read the emulator): a value pinned in
    binance/behaviour.toml moves the expectation and the emulator's answer together."""
    settings = WsSettings()
    assert refusal("ws.logon_refused_code") == expectations.LOGON_REFUSED
    assert expectations.LOGON_REFUSED.code == settings.logon_refused_code
    assert settings.subscribe_without_logon_code == expectations.NO_SESSION_CODE
    assert DEFAULT.value("ws.subscribe_without_logon_code") == expectations.NO_SESSION_CODE
    assert refusal("rest.malformed_key_code") == expectations.MALFORMED_KEY
    assert DEFAULT.value("rest.unknown_key_code") == expectations.UNKNOWN_KEY_CODE
    assert expectations.LOGON_KEY_TYPES == authorize.LOGON_KEY_TYPES
    assert api_management.PREFIX == control.PREFIX
    assert api_management.TOKEN_HEADER.lower().encode() == control.TOKEN_HEADER


def test_ws_only_probes_exist_over_the_websocket_api_only(tmp_path: Path) -> None:
    from keyprobe.harness.check import has_door
    from keyprobe.harness.targets import Transport

    for probe in WS_ONLY:
        assert has_door(probe, Transport.WS_API) and not has_door(probe, Transport.REST)
