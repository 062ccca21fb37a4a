"""Verdicts: comparing what came back with what was expected (DESIGN.md, "Data flow")."""

from __future__ import annotations

from dataclasses import dataclass

from keyprobe.binance.errors import Family
from keyprobe.binance.outcome import Outcome
from keyprobe.cells import Verdict
from keyprobe.harness.client import Answer
from keyprobe.harness.expectations import Expectation, is_refusal
from keyprobe.harness.probes import Probe
from keyprobe.harness.profiles import Profile


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str


def broken_reason(answer: Answer, expected: Outcome) -> str | None:
    """Why this answer says nothing about permissions (infrastructure), or None."""
    if answer.error is not None:
        return answer.error
    actual = answer.outcome
    if actual is None:
        return "no answer"
    status = actual.status
    if status == expected.status and actual.code == expected.code:
        return None  # an override may legitimately expect e.g. 404
    if actual.family is Family.CLOCK:
        # The timestamp check runs before the permission check, so an unexpected -1021 says
        # nothing about permissions; the client already re-measured the offset once.
        return (
            f"clock skew: the target refused the timestamp ({status}, {actual.code} "
            f"{actual.message!r}) even after keyprobe measured the server time again"
        )
    if status >= 500:
        return f"the target failed with HTTP {status}"
    if status == 429 and actual.code == -1015:
        # ORDERS count per account, across every runner on it: infrastructure, not the key.
        return "order rate limited (429, -1015): the account's ORDERS limit was reached"
    if status == 429:
        return "rate limited (429) despite the budget"
    if status == 418:
        return "the source IP is banned (418)"
    if status == 403:
        return "blocked by the WAF (403)"
    if status >= 400 and actual.code is None:
        return f"HTTP {status} without a Binance error body (is this a Binance Spot API?)"
    return None


def retryable(answer: Answer) -> bool:
    """Whether the answer that broke a check may clear on its own, so one retry is worth it: a
    timeout or refused connection, a 5xx, a 429 or 418. Never a request keyprobe did not send
    (the target is down, or asked to be left alone longer than keyprobe waits), clock skew
    (already re-measured once), a WAF 403 or an answer that is not Binance's."""
    if answer.error is not None:
        return answer.sent
    status = answer.status
    return status is not None and (status >= 500 or status in (429, 418))


def _got_through(probe: Probe, actual: Outcome) -> bool:
    """The answer can only come after authentication and authorization succeeded."""
    if 200 <= actual.status < 300:
        return True
    return actual.code is not None and (
        actual.code == probe.allowed.code or actual.family is Family.BUSINESS
    )


def judge(
    expectation: Expectation, answer: Answer, probe: Probe, declared: Profile | None = None
) -> Judgement:
    """``declared`` is the profile (for probes that inspect a successful answer)."""
    expected = expectation.outcome
    broken = broken_reason(answer, expected)
    if broken is not None:
        return Judgement(Verdict.BROKEN, broken)
    actual = answer.outcome
    assert actual is not None  # noqa: S101 - broken_reason answers for a missing outcome
    got = actual.label()
    if actual.message and actual.code is not None:
        got += f" {actual.message!r}"
    wanted = f"{expected.label()} ({expectation.why})"
    if expected.matches(actual):
        if probe.inspect is not None and actual.status == 200 and declared is not None:
            finding = probe.inspect(
                answer.body, declared.permissions, declared.ip_whitelist is not None
            )
            if finding is not None:
                return Judgement(*finding)
        return Judgement(Verdict.PASS, f"expected {wanted}, got {got}")
    if expectation.refusal and _got_through(probe, actual):
        return Judgement(Verdict.LEAK, f"expected {wanted}, but the target let it through: {got}")
    if not expectation.refusal and is_refusal(actual):
        return Judgement(Verdict.MISSING, f"expected {wanted}, but the target refused: {got}")
    return Judgement(Verdict.MISMATCH, f"expected {wanted}, got {got}")
