"""Expectations are derived from declarations and target capabilities; verdicts compare."""

from __future__ import annotations

from typing import Any

import pytest

from keyprobe.binance.outcome import OK, Outcome
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.cells import Verdict
from keyprobe.harness.client import Answer
from keyprobe.harness.expectations import Expectation, NotExpressible, derive
from keyprobe.harness.probes import BY_NAME, CATALOGUE
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.targets import TargetError, resolve_target
from keyprobe.harness.verdicts import judge

R, T, W = Permission.READING, Permission.SPOT_AND_MARGIN_TRADING, Permission.WITHDRAWALS
EMULATOR = resolve_target("emulator")
TESTNET = resolve_target("testnet")
MAINNET = resolve_target("mainnet", allow_mainnet=True)


def profile(*perms: Permission, kind: KeyKind = KeyKind.REGISTERED, **kw: object) -> Profile:
    return Profile("p", KeyType.HMAC, frozenset(perms), kind=kind, **kw)  # type: ignore[arg-type]


def expect(p: Profile, probe: str, target=EMULATOR) -> Expectation:
    e = derive(p, BY_NAME[probe], target)
    assert isinstance(e, Expectation), e
    return e


@pytest.mark.parametrize(
    ("perms", "probe", "status", "code"),
    [
        ((R,), "account", 200, None),
        ((R,), "place_order", 401, -2015),
        ((R,), "query_order", 400, -2013),
        ((T,), "account", 401, -2015),
        ((T,), "cancel_unknown_order", 400, -2011),
        ((T,), "test_order", 200, None),
        ((R,), "withdraw", 401, -1002),  # SAPI refuses a disabled feature with -1002
        ((R, W), "withdraw", 200, None),
        ((), "api_restrictions", 200, None),
        ((R, T), "missing_key_header", 401, -2014),
        ((R, T), "malformed_key", 401, -2014),
        ((R, T), "unknown_key", 401, -2015),
        ((R, T), "wrong_secret", 400, -1022),
        ((R, T), "stale_timestamp", 400, -1021),
        ((R, T), "future_timestamp", 400, -1021),
        # Auth probes ask GET /api/v3/order of an unknown id (weight 4): -2013 is "let through".
        ((R, T), "foreign_address", 400, -2013),
        ((T,), "wrong_secret", 400, -1022),  # signature is checked before permission
    ],
)
def test_derived_from_declared_permissions(perms, probe, status, code) -> None:
    e = expect(profile(*perms), probe)
    assert (e.outcome.status, e.outcome.code) == (status, code)
    assert e.refusal == (status in (400, 401) and code not in (-2011, -2013))


def test_the_two_timestamp_messages_differ() -> None:
    p = profile(R)
    assert "outside of the recvWindow" in (expect(p, "stale_timestamp").outcome.message or "")
    assert "ahead of the server" in (expect(p, "future_timestamp").outcome.message or "")


def test_key_kind_and_ip_policy_come_first() -> None:
    unknown = profile(R, T, kind=KeyKind.UNKNOWN)
    assert expect(unknown, "account").outcome.code == -2015
    assert expect(unknown, "withdraw").outcome.code == -2008  # SAPI: "Invalid Api-Key ID."
    assert expect(unknown, "malformed_key").outcome.code == -2014
    malformed = profile(R, kind=KeyKind.MALFORMED)
    assert expect(malformed, "unknown_key").outcome.code == -2015  # the attack swaps the key
    assert expect(malformed, "wrong_secret").outcome.code == -2014
    bound = profile(R, ip_whitelist=("127.0.0.1",))
    foreign = expect(bound, "foreign_address")
    assert (foreign.outcome.status, foreign.outcome.code) == (401, -2015)
    assert "127.0.0.2" in foreign.why
    assert expect(bound, "account").outcome == OK


def test_an_override_wins() -> None:
    p = profile(R, expect={"account": Outcome(401, -2015)})
    e = expect(p, "account")
    assert e.overridden and e.refusal and e.outcome.code == -2015


def test_targets_skip_what_they_cannot_express() -> None:
    read_only = profile(R)
    full = profile(R, T)
    # Keys lack permissions on the testnet too: the cell runs and expects the refusal.
    on_testnet = derive(read_only, BY_NAME["place_order"], TESTNET)
    assert isinstance(on_testnet, Expectation) and on_testnet.outcome.code == -2015
    assert isinstance(derive(full, BY_NAME["place_order"], TESTNET), Expectation)
    assert isinstance(derive(full, BY_NAME["api_restrictions"], TESTNET), NotExpressible)
    bound = profile(R, T, ip_whitelist=("1.2.3.4",))
    assert isinstance(derive(bound, BY_NAME["foreign_address"], TESTNET), NotExpressible)
    # Without a second egress a live target cannot show the foreign-address cell.
    no_egress = derive(full, BY_NAME["foreign_address"], MAINNET)
    assert isinstance(no_egress, NotExpressible) and "--egress-address" in no_egress.reason


def test_mainnet_runs_only_side_effect_free_probes() -> None:
    full = profile(R, T, W, Permission.MARGIN, Permission.UNIVERSAL_TRANSFER)
    allowed = {p.name for p in CATALOGUE if isinstance(derive(full, p, MAINNET), Expectation)}
    assert allowed == {
        "account",
        "open_orders",
        "all_orders",
        "my_trades",
        "query_order",
        "commission",
        "rate_limit_order",
        "test_order",
        "cancel_unknown_order",
        "api_restrictions",
        "missing_key_header",
        "malformed_key",
        "unknown_key",
        "wrong_secret",
        "stale_timestamp",
        "future_timestamp",
        # The families beyond spot: the futures read, order/test and the cancels of orders
        # that do not exist; never margin_repay nor the cross-account probes (they place).
        "futures_account",
        "futures_test_order",
        "futures_cancel_unknown",
        "margin_cancel_unknown",
    }


@pytest.mark.parametrize(
    ("spec", "kwargs", "fragment"),
    [
        ("nonsense", {}, "expected emulator, testnet, demo, mainnet"),
        ("mainnet", {}, "--allow-mainnet"),
        ("ftp://x", {}, "expected emulator"),
        ("http://127.0.0.1:9/api", {}, "base URL only"),
        ("http://127.0.0.1:99999", {}, "port"),
        ("http://127.0.0.1:9", {"capabilities": "mainnet"}, "--allow-mainnet"),
        ("testnet", {"capabilities": "emulator"}, "URL targets only"),
        ("testnet", {"egress_address": "nope"}, "not an IP address"),
    ],
)
def test_bad_targets(spec: str, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(TargetError, match=fragment.replace("(", r"\(")):
        resolve_target(spec, **kwargs)


def test_a_loopback_url_target_can_use_a_second_loopback_address() -> None:
    target = resolve_target("http://127.0.0.1:8080/")
    assert target.base_url == "http://127.0.0.1:8080"
    assert (target.source_address, target.foreign_address) == ("127.0.0.1", "127.0.0.2")
    assert resolve_target("https://example.invalid").foreign_address is None


# ----------------------------------------------------------------------------- verdicts


def answer(
    status: int | None,
    code: int | None = None,
    message: str | None = None,
    *,
    body: object = None,
    error: str | None = None,
) -> Answer:
    outcome = None if status is None else Outcome(status, code, message)
    return Answer(outcome, body, error)


REFUSED = answer(401, -2015, "Invalid API-key, IP, or permissions for action.")
DENIED = Expectation(Outcome(401, -2015, "Invalid API-key"), True, "not declared")
ALLOWED = Expectation(OK, False, "declared")


@pytest.mark.parametrize(
    ("expectation", "actual", "verdict"),
    [
        (DENIED, REFUSED, Verdict.PASS),
        (DENIED, answer(200, body={}), Verdict.LEAK),
        (DENIED, answer(400, -2011, "Unknown order sent."), Verdict.LEAK),
        (ALLOWED, REFUSED, Verdict.MISSING),
        (ALLOWED, answer(400, -1013, "Filter failure: LOT_SIZE"), Verdict.MISMATCH),
        (DENIED, answer(401, -2015, "Something else"), Verdict.MISMATCH),
        (ALLOWED, answer(503), Verdict.BROKEN),
        (ALLOWED, answer(429, -1003), Verdict.BROKEN),
        (ALLOWED, answer(418, -1003), Verdict.BROKEN),
        (ALLOWED, answer(404), Verdict.BROKEN),
        (ALLOWED, answer(None, error="timeout"), Verdict.BROKEN),
        (DENIED, answer(403), Verdict.BROKEN),
    ],
)
def test_verdicts(expectation: Expectation, actual: Answer, verdict: Verdict) -> None:
    assert judge(expectation, actual, BY_NAME["place_order"]).verdict is verdict


def test_api_restrictions_read_back_is_diffed() -> None:
    probe = BY_NAME["api_restrictions"]
    declared = profile(R, ip_whitelist=("127.0.0.1",))
    body = {"enableReading": True, "enableWithdrawals": True, "ipRestrict": True}
    assert judge(ALLOWED, answer(200, body=body), probe, declared).verdict is Verdict.LEAK
    body = {"enableReading": True, "ipRestrict": False}
    assert judge(ALLOWED, answer(200, body=body), probe, declared).verdict is Verdict.LEAK
    body = {"enableReading": False, "ipRestrict": True}
    assert judge(ALLOWED, answer(200, body=body), probe, declared).verdict is Verdict.MISSING
    body = {"enableReading": True, "ipRestrict": True}
    assert judge(ALLOWED, answer(200, body=body), probe, declared).verdict is Verdict.PASS


def test_order_touching_probes_are_the_ones_that_place_or_cancel() -> None:
    touching = {p.name for p in CATALOGUE if p.touches_orders}
    assert touching == {
        "place_order",
        "cancel_replace",
        "cancel_own_order",
        "cancel_open_orders",
        "user_stream_events",
        "session_revocation",
        # Their setup places another account's order (it is cancelled in teardown).
        "cross_account_query",
        "cross_account_cancel",
    }


def test_a_cell_of_an_absent_surface_is_skipped_with_the_evidence() -> None:
    full = profile(R, T)
    found = {"api": "served: ...", "sapi": "absent: GET /sapi/v1/system/status answered 404"}
    target = resolve_target("http://127.0.0.1:1")
    skipped = derive(full, BY_NAME["api_restrictions"], target, surfaces=found)
    assert isinstance(skipped, NotExpressible)
    assert (
        "/sapi is not served" in skipped.reason and "system/status answered 404" in skipped.reason
    )
    # The /api cells of the same target still run.
    assert isinstance(derive(full, BY_NAME["account"], target, surfaces=found), Expectation)
