"""Verdict rules the matrix depends on, one per test (issue 17). Kept small: the verdict code
is being restructured, and these pin behaviour, not its shape."""

from __future__ import annotations

from keyprobe.binance.outcome import OK, Outcome
from keyprobe.cells import Verdict
from keyprobe.harness.client import Answer
from keyprobe.harness.expectations import Expectation
from keyprobe.harness.probes import BY_NAME
from keyprobe.harness.verdicts import judge

# An allowed cell: the profile declares the permission, so 200 is expected.
ALLOWED = Expectation(OK, False, "declared")


def test_a_400_refusal_of_an_allowed_request_is_missing() -> None:
    """-1022 travels with HTTP 400, not 401 (reference binance-spot-auth.md §5.3 L364), yet it
    is a refusal by the auth pipeline (§5.5 L430-432): a cell that expected 200 and got it
    was denied what it should have been allowed, MISSING, not a MISMATCH."""
    actual = Answer(Outcome(400, -1022, "Signature for this request is not valid."))
    judgement = judge(ALLOWED, actual, BY_NAME["account"])
    assert judgement.verdict is Verdict.MISSING, judgement.reason
    assert "refused" in judgement.reason
