"""Verdicts: comparing what came back with what was expected (DESIGN.md, "Data flow")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from keyprobe.harness.expectations import REFUSAL_CODES, Expectation
from keyprobe.harness.probes import Outcome, Probe


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    # Allowed where it must be denied: the worst outcome (Allure severity blocker).
    LEAK = "LEAK"
    # Denied where it should be allowed (critical).
    MISSING = "MISSING"
    MISMATCH = "MISMATCH"
    # 5xx, timeout, 429/418, target down: infrastructure, never a permission verdict.
    BROKEN = "BROKEN"
    SKIPPED = "skipped"


# "Timestamp for this request is outside of the recvWindow" / "...ahead of the server's time".
CLOCK_SKEW = -1021

# Business answers that can only come after authentication and authorization succeeded.
BUSINESS_CODES = frozenset({-1013, -2010, -2011, -2013, -2021, -2022, -2026, -2039})


@dataclass(frozen=True, slots=True)
class Actual:
    """What the target answered (already redacted), or why there was no answer."""

    status: int | None
    code: int | None = None
    message: str | None = None
    body: Any = None
    error: str | None = None

    def label(self) -> str:
        if self.status is None:
            return "(no answer)"
        return f"({self.status}, {'-' if self.code is None else self.code})"

    @classmethod
    def from_body(cls, status: int, body: Any) -> Actual:
        code = msg = None
        if isinstance(body, dict) and isinstance(body.get("code"), int) and status >= 400:
            code = body["code"]
            msg = body.get("msg") if isinstance(body.get("msg"), str) else None
        return cls(status, code, msg, body)


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str


def broken_reason(actual: Actual, expected: Outcome) -> str | None:
    if actual.error is not None:
        return actual.error
    status = actual.status
    if status is None:
        return "no answer"
    if status == expected.status and actual.code == expected.code:
        return None  # an override may legitimately expect e.g. 404
    if actual.code == CLOCK_SKEW:
        # The timestamp check runs before the permission check, so an unexpected -1021 says
        # nothing about permissions; the client already re-measured the offset once.
        return (
            f"clock skew: the target refused the timestamp ({status}, {CLOCK_SKEW} "
            f"{actual.message!r}) even after keyprobe measured the server time again"
        )
    if status >= 500:
        return f"the target failed with HTTP {status}"
    if status == 429:
        return "rate limited (429) despite the budget"
    if status == 418:
        return "the source IP is banned (418)"
    if status == 403:
        return "blocked by the WAF (403)"
    if status >= 400 and actual.code is None:
        return f"HTTP {status} without a Binance error body (is this a Binance Spot API?)"
    return None


def _matches(expected: Outcome, actual: Actual) -> bool:
    if actual.status != expected.status or actual.code != expected.code:
        return False
    if expected.message is None:
        return True
    return (actual.message or "").startswith(expected.message)


def _got_through(probe: Probe, actual: Actual) -> bool:
    if actual.status is not None and 200 <= actual.status < 300:
        return True
    return actual.code is not None and (
        actual.code == probe.allowed.code or actual.code in BUSINESS_CODES
    )


def _refused(actual: Actual) -> bool:
    return actual.status == 401 or actual.code in REFUSAL_CODES


def judge(
    expectation: Expectation, actual: Actual, probe: Probe, declared: Any = None
) -> Judgement:
    """``declared`` is the profile (for probes that inspect a successful answer)."""
    expected = expectation.outcome
    broken = broken_reason(actual, expected)
    if broken is not None:
        return Judgement(Verdict.BROKEN, broken)
    got = actual.label()
    if actual.message and actual.code is not None:
        got += f" {actual.message!r}"
    wanted = f"{expected.label()} ({expectation.why})"
    if _matches(expected, actual):
        if probe.inspect is not None and actual.status == 200 and declared is not None:
            finding = probe.inspect(
                actual.body, declared.permissions, declared.ip_whitelist is not None
            )
            if finding is not None:
                return Judgement(Verdict(finding[0]), finding[1])
        return Judgement(Verdict.PASS, f"expected {wanted}, got {got}")
    if expectation.refusal and _got_through(probe, actual):
        return Judgement(Verdict.LEAK, f"expected {wanted}, but the target let it through: {got}")
    if not expectation.refusal and _refused(actual):
        return Judgement(Verdict.MISSING, f"expected {wanted}, but the target refused: {got}")
    return Judgement(Verdict.MISMATCH, f"expected {wanted}, got {got}")
