"""The weight budget is one budget for every process of a run (xdist workers), kept in a
locked file; it honours the server's count and Retry-After."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from pathlib import Path

import pytest

from keyprobe.harness.budget import (
    OutOfBudget,
    RateBudget,
    budget_path,
    resume_waiting,
    set_announcer,
    stop_waiting,
)

WINDOW_MS = 1000
LIMIT = 50  # capacity 40 with the default headroom
WEIGHT = 10


def _worker(path: str, rounds: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budget = RateBudget(Path(path), LIMIT, WINDOW_MS)
    out.put([budget.acquire(WEIGHT) for _ in range(rounds)])


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    path = str(tmp_path / "budget.json")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(path, 8, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    windows = queue.get(timeout=60) + queue.get(timeout=60)
    for proc in procs:
        proc.join(timeout=60)
    per_window = Counter(windows)
    capacity = RateBudget(Path(path), LIMIT, WINDOW_MS).capacity
    assert capacity == 40
    # 160 weight at 40 per window cannot fit in fewer than 4 windows, by either process.
    assert all(count * WEIGHT <= capacity for count in per_window.values()), per_window
    assert len(per_window) >= 4


class FakeTime:
    def __init__(self) -> None:
        self.ms = 1_000_000
        self.slept: list[float] = []

    def now(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ms += int(seconds * 1000)


def test_retry_after_blocks_the_next_request(tmp_path: Path) -> None:
    t = FakeTime()
    budget = RateBudget(tmp_path / "b.json", 1000, 60_000, now_ms=t.now, sleep=t.sleep)
    budget.acquire(1)
    budget.observe(None, retry_after_s=7)
    budget.acquire(1)
    assert sum(t.slept) >= 7


def test_the_servers_count_wins_when_higher(tmp_path: Path) -> None:
    t = FakeTime()
    t.ms = 60_000 * 100  # the start of a window
    budget = RateBudget(tmp_path / "b.json", 100, 60_000, now_ms=t.now, sleep=t.sleep)
    first = budget.acquire(10)
    budget.observe(used_weight=75)  # another client on our IP spent most of the window
    second = budget.acquire(10)
    assert second == first + 1 and t.slept


def test_budget_files_are_per_target_and_source() -> None:
    a = budget_path("http://127.0.0.1:1", "127.0.0.1")
    assert a != budget_path("http://127.0.0.1:1", "127.0.0.2")
    assert a == budget_path("http://127.0.0.1:1", "127.0.0.1")


def test_a_real_sleep_is_short_when_the_window_rolls(tmp_path: Path) -> None:
    budget = RateBudget(tmp_path / "b.json", 10, 200)
    start = time.monotonic()
    for _ in range(3):
        budget.acquire(8)
    assert time.monotonic() - start < 2


def test_a_file_counted_against_another_limit_does_not_make_this_run_wait(tmp_path: Path) -> None:
    t = FakeTime()
    path = tmp_path / "b.json"
    RateBudget(path, 6000, 60_000, now_ms=t.now, sleep=t.sleep).acquire(4000)
    raised = RateBudget(path, 100_000_000, 60_000, now_ms=t.now, sleep=t.sleep)
    raised.acquire(1000)
    assert t.slept == [] and raised.used() == 1000
    assert json.loads(path.read_text())["limit"] == 100_000_000


def test_a_lower_count_in_a_header_does_not_drop_reservations_in_flight(tmp_path: Path) -> None:
    t = FakeTime()
    t.ms = 60_000 * 100
    budget = RateBudget(tmp_path / "b.json", 100, 60_000, now_ms=t.now, sleep=t.sleep)
    budget.acquire(70)  # another process reserved this; its answer has not come back yet
    budget.observe(used_weight=5)  # an answer sent before that reservation
    assert budget.used() == 70


def test_a_long_wait_is_announced_once_and_a_stop_ends_it(tmp_path: Path) -> None:
    t = FakeTime()
    t.ms = 60_000 * 100
    lines: list[str] = []
    previous = set_announcer(lines.append)
    budget = RateBudget(tmp_path / "b.json", 100, 60_000, now_ms=t.now, sleep=t.sleep)
    try:
        budget.acquire(80)
        budget.acquire(10)  # waits out the window in slices
        assert len(lines) == 1
        assert "waiting 60s" in lines[0] and "80 of 80 request weight" in lines[0]
        stop_waiting()
        budget.acquire(70)  # fits in this window: sent, stopping or not
        with pytest.raises(OutOfBudget, match="not sent"):
            budget.acquire(80)
    finally:
        resume_waiting()
        set_announcer(previous)
