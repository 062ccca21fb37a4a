"""Rate limits: weight headers on every response, fixed windows, 429 with Retry-After, the
418 ban, ORDERS per account with its headers, and successful orders weighing 0."""

from __future__ import annotations

import httpx

from keyprobe.emulator.app import Emulator
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.ratelimit import RateLimits, Window
from tests.emulator.conftest import FrozenTime, make_holder
from tests.emulator.test_auth_pipeline import LIMIT_ORDER, _client_for, assert_error
from tests.emulator.wire import call


def _weights(r: httpx.Response) -> tuple[int, int]:
    return int(r.headers["x-mbx-used-weight"]), int(r.headers["x-mbx-used-weight-1m"])


def test_weight_headers_on_success_and_errors(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    assert _weights(client.get("/api/v3/ping")) == (1, 1)
    assert _weights(client.get("/api/v3/exchangeInfo")) == (21, 21)
    r = call(client, "GET", "/api/v3/account", holder, api_key="C" * 64)
    assert r.status_code == 401
    assert _weights(r) == (41, 41)  # a refused request still costs its weight
    r = call(
        client, "GET", "/api/v3/depth", None, {"symbol": "BTCUSDT", "limit": "1000"}, sign=False
    )
    assert _weights(r) == (91, 91)


def test_successful_orders_weigh_zero_failed_ones_do_not(
    client: httpx.Client, emu: Emulator
) -> None:
    holder = make_holder(emu)
    before = _weights(client.get("/api/v3/ping"))[0]
    r = call(client, "POST", "/api/v3/order", holder, LIMIT_ORDER)
    assert r.status_code == 200, r.text
    assert _weights(r)[0] == before
    assert r.headers["x-mbx-order-count-10s"] == "1"
    assert r.headers["x-mbx-order-count-1d"] == "1"
    bad = call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "price": "0.00001"})
    assert bad.status_code == 400
    assert _weights(bad)[0] == before + 1
    assert "x-mbx-order-count-10s" not in bad.headers


def test_weight_limit_gives_429_then_418(frozen: FrozenTime) -> None:
    limits = RateLimits(request_weight=Window(10, 1, "M"), ban_after_violations=2, ban_ms=120_000)
    frozen.ms = 1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 15_000  # 15 s into a minute
    emu = Emulator(clock=Clock(source=frozen), limits=limits)
    client = _client_for(emu)
    for _ in range(10):
        assert client.get("/api/v3/ping").status_code == 200
    r = client.get("/api/v3/ping")
    assert_error(
        r,
        429,
        -1003,
        "Too much request weight used; current limit is 10 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    )
    assert r.headers["retry-after"] == "45"
    assert client.get("/api/v3/ping").status_code == 429
    banned = client.get("/api/v3/ping")
    assert banned.status_code == 418
    assert banned.json()["code"] == -1003
    assert banned.json()["msg"].startswith("Way too much request weight used; IP banned until ")
    assert banned.headers["retry-after"] == "120"
    # The ban outlives the window.
    frozen.ms += 60_000
    assert client.get("/api/v3/ping").status_code == 418
    frozen.ms += 61_000
    assert client.get("/api/v3/ping").status_code == 200


def test_window_rolls_over(frozen: FrozenTime) -> None:
    limits = RateLimits(request_weight=Window(3, 1, "M"))
    emu = Emulator(clock=Clock(source=frozen), limits=limits)
    client = _client_for(emu)
    for _ in range(3):
        client.get("/api/v3/ping")
    assert client.get("/api/v3/ping").status_code == 429
    frozen.ms += 60_000
    r = client.get("/api/v3/ping")
    assert r.status_code == 200
    assert r.headers["x-mbx-used-weight-1m"] == "1"


def test_orders_limit_is_per_account(frozen: FrozenTime) -> None:
    limits = RateLimits(orders=(Window(2, 10, "S"), Window(100, 1, "D")))
    frozen.ms -= frozen.ms % 10_000
    emu = Emulator(clock=Clock(source=frozen), limits=limits)
    client = _client_for(emu)
    alice = make_holder(emu, account="alice")
    alice2 = make_holder(emu, account="alice")
    bob = make_holder(emu, account="bob")
    for holder in (alice, alice2):
        r = call(client, "POST", "/api/v3/order", holder, LIMIT_ORDER, timestamp=frozen.ms)
        assert r.status_code == 200, r.text
    r = call(client, "POST", "/api/v3/order", alice, LIMIT_ORDER, timestamp=frozen.ms)
    assert_error(r, 429, -1015, "Too many new orders; current limit is 2 orders per 10 SECOND.")
    assert r.headers["retry-after"] == "10"
    ok = call(client, "POST", "/api/v3/order", bob, LIMIT_ORDER, timestamp=frozen.ms)
    assert ok.status_code == 200
    counts = call(client, "GET", "/api/v3/rateLimit/order", alice, timestamp=frozen.ms).json()
    assert [(c["interval"], c["intervalNum"], c["limit"], c["count"]) for c in counts] == [
        ("SECOND", 10, 2, 2),
        ("DAY", 1, 100, 2),
    ]


def test_exchange_info_publishes_the_limits(client: httpx.Client) -> None:
    limits = client.get("/api/v3/exchangeInfo").json()["rateLimits"]
    assert {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 6000,
    } in limits
    assert {
        "rateLimitType": "ORDERS",
        "interval": "SECOND",
        "intervalNum": 10,
        "limit": 50,
    } in limits
