"""Order pacing by the account's own count (harness/order_pace.py): waits for the next window
when the target's X-MBX-ORDER-COUNT-* (every runner's orders) leaves no room, announces a
wait over 1 s, stops at Ctrl-C; end to end, two runners from two addresses on one account
against a served emulator get no -1015; a -1015 that does come is BROKEN, never a verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from keyprobe.binance.outcome import Outcome
from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material, load_signer
from keyprobe.cells import Verdict
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimits, Window
from keyprobe.harness import budget
from keyprobe.harness.budget import OutOfBudget
from keyprobe.harness.client import Answer, ServerClock, Wire
from keyprobe.harness.expectations import Expectation
from keyprobe.harness.facts import Options, measure_facts
from keyprobe.harness.order_pace import (
    WINDOW_GUARD_MS,
    OrderPace,
    counts_from_rate_limits,
    limits_from_rate_limits,
)
from keyprobe.harness.probes import BY_NAME
from keyprobe.harness.targets import resolve_target
from keyprobe.harness.verdicts import judge
from keyprobe.harness.ws_client import WsWire

KEY = "k" * 64


class FakeTime:
    # At the start of a window as the pace sees it (it lets windows turn WINDOW_GUARD_MS late).
    def __init__(self, start_ms: int = 1_000_000_000_000 + WINDOW_GUARD_MS) -> None:
        self.ms = start_ms
        self.slept = 0.0

    def now(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.ms += max(1, int(seconds * 1000))


@pytest.fixture
def said() -> Iterator[list[str]]:
    lines: list[str] = []
    previous = budget.set_announcer(lines.append)
    yield lines
    budget.set_announcer(previous)
    budget.resume_waiting()


def test_room_in_the_window_then_a_wait_for_the_next(said: list[str]) -> None:
    clock = FakeTime()
    pace = OrderPace({"10s": 5}, headroom=1.0, now_ms=clock.now, sleep=clock.sleep)
    for _ in range(5):
        pace.before_order(KEY)
    assert clock.slept == 0 and not said
    start = clock.ms
    pace.before_order(KEY, "POST /api/v3/order")
    assert clock.ms // 10_000 == start // 10_000 + 1  # waited for the next 10 s window
    assert pace.count(KEY, "10s") == 1
    [line] = said
    assert line.startswith("keyprobe: waiting ") and "POST /api/v3/order" in line
    assert "5 of 5 orders placed on this account in this 10s window" in line
    assert "(Ctrl-C stops)" in line and KEY not in line


def test_another_runners_orders_count_through_the_header(said: list[str]) -> None:
    clock = FakeTime()  # the start of a 10 s window
    pace = OrderPace({"10s": 10, "1d": 1000}, headroom=0.8, now_ms=clock.now, sleep=clock.sleep)
    pace.before_order(KEY)
    # The answer says 8 on the account: 7 came from somewhere else. 8 of 10 x 0.8 = no room.
    pace.observe(KEY, {"X-MBX-ORDER-COUNT-10S": "8", "X-MBX-ORDER-COUNT-1D": "8"})
    assert pace.count(KEY, "10s") == 8
    pace.before_order(KEY)
    assert clock.slept == pytest.approx(10.0, abs=0.1)
    assert pace.count(KEY, "1d") == 9  # the day window went on counting
    # Another account is not held back.
    other = "o" * 64
    before = clock.slept
    pace.before_order(other)
    assert clock.slept == before


def test_a_1015_blocks_the_account_for_its_retry_after(said: list[str]) -> None:
    clock = FakeTime()
    pace = OrderPace({"10s": 50}, now_ms=clock.now, sleep=clock.sleep)
    pace.observe(KEY, {}, code=-1015, retry_after_s=3)
    pace.before_order(KEY)
    assert clock.slept == pytest.approx(3.0, abs=0.1)
    assert "-1015" in said[0]


def test_no_wait_when_stopping_or_for_a_day(said: list[str]) -> None:
    clock = FakeTime()
    pace = OrderPace({"1d": 1}, headroom=1.0, now_ms=clock.now, sleep=clock.sleep)
    pace.before_order(KEY)
    with pytest.raises(OutOfBudget, match="1d window"):
        pace.before_order(KEY)  # the next day is longer than keyprobe waits
    assert clock.slept == 0
    pace = OrderPace({"10s": 1}, headroom=1.0, now_ms=clock.now, sleep=clock.sleep)
    pace.before_order(KEY)
    budget.stop_waiting()
    with pytest.raises(OutOfBudget, match="stopping"):
        pace.before_order(KEY)
    assert clock.slept == 0


def test_limits_come_from_exchange_info() -> None:
    rate_limits = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    ]
    assert limits_from_rate_limits(rate_limits) == {"10s": 50, "1d": 160000}
    assert limits_from_rate_limits("nonsense") == {}


def test_an_order_rate_limit_is_broken_not_a_verdict() -> None:
    expectation = Expectation(Outcome(200), False, "needs TRADE: declared")
    answer = Answer(Outcome(429, -1015, "Too many new orders."))
    judged = judge(expectation, answer, BY_NAME["place_order"])
    assert judged.verdict is Verdict.BROKEN
    assert judged.reason.startswith("order rate limited (429, -1015)")


def test_two_runners_on_one_account_get_no_1015(serve: Callable[[Emulator], str]) -> None:
    """Two Wires from two source addresses (two runners: two IP budgets, one account) place
    orders in turn against an emulator allowing 4 orders per second per account: the pace,
    fed by the emulator's headers, keeps every order under the limit (a runner alone cannot
    know what the other placed)."""
    emu = Emulator(limits=RateLimits(orders=(Window(4, 1, "S"), Window(160_000, 1, "D"))))
    url = serve(emu)
    material = generate_key_material(KeyType.ED25519)
    api_key = generate_api_key()
    emu.keys.register(
        KeyRecord.create(
            api_key,
            KeyType.ED25519,
            material.public,
            ["enableReading", "enableSpotAndMarginTrading"],
        )
    )
    signer = load_signer(KeyType.ED25519, material.private)
    target = resolve_target(url)
    facts = measure_facts(target, Options(target=url))
    assert facts.broken is None and facts.recipe is not None
    assert facts.order_limits == {"1s": 4, "1d": 160_000}
    wires = []
    for source in ("127.0.0.1", "127.0.0.2"):
        wire = Wire(url, ServerClock(facts.offset_ms))
        wire.order_pace = OrderPace(facts.order_limits, headroom=1.0)
        wires.append((wire, source))
    statuses = []
    try:
        for i in range(12):
            wire, source = wires[i % 2]
            sent = wire.call(
                "newOrder", facts.recipe.params(), api_key=api_key, signer=signer, source=source
            )
            statuses.append((sent.answer.status, sent.answer.code))
        for wire, source in wires:
            wire.call("cancelOpenOrders", [("symbol", facts.recipe.symbol)],
                      api_key=api_key, signer=signer, source=source)  # fmt: skip
    finally:
        for wire, _ in wires:
            wire.close()
    assert statuses == [(200, None)] * 12, statuses


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
def test_ws_and_rest_orders_share_one_pace(serve: Callable[[Emulator], str], paced: bool) -> None:
    """Two runners on one account, one placing over REST and one over the WebSocket API, from
    two addresses: the pace reads the account's count from the REST headers and from the WS
    answers' ``rateLimits`` alike, so no order gets -1015. Unpaced, the same sequence is
    refused, which shows the limit is really there to be kept."""
    emu = Emulator(limits=RateLimits(orders=(Window(4, 1, "S"), Window(160_000, 1, "D"))))
    url = serve(emu)
    material = generate_key_material(KeyType.ED25519)
    api_key = generate_api_key()
    emu.keys.register(
        KeyRecord.create(
            api_key,
            KeyType.ED25519,
            material.public,
            ["enableReading", "enableSpotAndMarginTrading"],
        )
    )
    signer = load_signer(KeyType.ED25519, material.private)
    target = resolve_target(url)
    facts = measure_facts(target, Options(target=url))
    assert facts.recipe is not None and target.ws_api_url is not None
    pace = OrderPace(facts.order_limits, headroom=1.0) if paced else None
    rest = Wire(url, ServerClock(facts.offset_ms))
    rest.order_pace = pace
    ws = WsWire(target.ws_api_url, ServerClock(facts.offset_ms), order_pace=pace)
    statuses = []
    try:
        for i in range(12):
            if i % 2:
                sent = ws.call(
                    "order.place",
                    facts.recipe.params(),
                    api_key=api_key,
                    signer=signer,
                    source="127.0.0.2",
                )
            else:
                sent = rest.call(
                    "newOrder", facts.recipe.params(), api_key=api_key, signer=signer,
                    source="127.0.0.1",
                )  # fmt: skip
            statuses.append((sent.answer.status, sent.answer.code))
        rest.call("cancelOpenOrders", [("symbol", facts.recipe.symbol)],
                  api_key=api_key, signer=signer, source="127.0.0.1")  # fmt: skip
    finally:
        rest.close()
        ws.close()
    if paced:
        assert statuses == [(200, None)] * 12, statuses
    else:
        assert (429, -1015) in statuses, statuses


def test_ws_rate_limits_become_header_counts() -> None:
    frame_limits = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 6000, "count": 9},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50,
         "count": 3},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000,
         "count": 7},
    ]  # fmt: skip
    assert counts_from_rate_limits(frame_limits) == {
        "x-mbx-order-count-10s": "3",
        "x-mbx-order-count-1d": "7",
    }
    assert counts_from_rate_limits("nonsense") == {}
    clock = FakeTime()
    pace = OrderPace({"10s": 5}, headroom=1.0, now_ms=clock.now, sleep=clock.sleep)
    pace.observe(KEY, counts_from_rate_limits(frame_limits))
    assert pace.count(KEY, "10s") == 3
