"""Independent requests sent at once, each on a thread of its own over the run's shared
``Wire`` (safe to share between threads): one round trip instead of one per request, where a
run's start and end would otherwise pay the target's latency once per question."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Every call's result, in the order given, whatever order they finished in. A call that
    raises raises here, in the caller's thread (the first such in the order given). The
    threads are daemons: a Ctrl-C in the caller is not held up by one still waiting."""
    if len(calls) == 1:
        return [calls[0]()]
    done: dict[int, T] = {}
    failed: dict[int, Exception] = {}

    def run(index: int) -> None:
        try:
            done[index] = calls[index]()
        except Exception as exc:  # re-raised below, as if called in the caller's thread
            failed[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(len(calls)):
        if index in failed:
            raise failed[index]
    return [done[index] for index in range(len(calls))]
