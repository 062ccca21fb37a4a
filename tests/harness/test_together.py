"""``together.at_once``: the calls run at the same time (each waits at a barrier only all of
them reach), their results come back in the order given, and a call's exception is raised
in the caller's thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from keyprobe.harness.together import at_once


def test_the_calls_run_at_once_and_answer_in_the_order_given() -> None:
    barrier = threading.Barrier(3, timeout=10)  # broken after 10 s if they ran one by one

    def call(value: int, delay: float) -> Callable[[], int]:
        def run() -> int:
            barrier.wait()
            time.sleep(delay)  # the first given finishes last
            return value

        return run

    assert at_once([call(1, 0.2), call(2, 0.1), call(3, 0.0)]) == [1, 2, 3]


def test_a_calls_exception_is_raised_in_the_caller() -> None:
    def fails() -> int:
        raise LookupError("no such key")

    with pytest.raises(LookupError, match="no such key"):
        at_once([lambda: 1, fails, lambda: 3])
    assert at_once([]) == []
    with pytest.raises(LookupError):
        at_once([fails])  # one call runs in the caller's thread
