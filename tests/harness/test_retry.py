"""Which BROKEN cells earn their one retry (infrastructure that may clear), and which never do
(a verdict, a request keyprobe did not send, a target that is down). The retry itself, over
real sockets, is in test_faults.py."""

from __future__ import annotations

import pytest

from keyprobe.binance.outcome import Outcome
from keyprobe.harness.client import Answer
from keyprobe.harness.verdicts import retryable


@pytest.mark.parametrize(
    ("answer", "retry"),
    [
        (Answer(Outcome(503, None)), True),
        (Answer(Outcome(500, None)), True),
        (Answer(Outcome(429, -1003)), True),
        (Answer(Outcome(418, -1003)), True),
        (Answer(None, error="http://127.0.0.1:1: timeout after 1s (ReadTimeout)"), True),
        (Answer(None, error="cannot reach http://127.0.0.1:1: ConnectError: refused"), True),
        # Not sent at all: the target is taken as down, or asked us to stay away for long.
        (Answer(None, error="not sent: the last 3 requests failed (...)", sent=False), False),
        (Answer(Outcome(403, None)), False),  # a WAF: retrying will not change it
        (Answer(Outcome(400, -1021)), False),  # clock skew: already re-measured once
        (Answer(Outcome(401, -2015)), False),  # a refusal is an answer
        (Answer(Outcome(200, None)), False),
    ],
)
def test_only_infrastructure_that_may_clear_is_retried(answer: Answer, retry: bool) -> None:
    assert retryable(answer) is retry
