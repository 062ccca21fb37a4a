"""Many concurrent clients on shared accounts, over a real socket (issue 5): no 5xx, no lost or
duplicated order, funds conserved, rate-limit counters exact.

Worker threads (each its own keep-alive connection and a key of its own; several keys share
each account) place LIMIT orders that can never fill, cancel their own and each other's orders
(so two cancels of one order race), cancel everything of a symbol now and then, cancel
unknown orders and read. The clock is frozen, so no rate-limit window rolls over mid-test, and
the limits are generous except that every request is still weighed. Bounded: a fixed number
of steps per worker and a deadline."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import READ, TRADE, FrozenTime, make_holder
from tests.emulator.hostile import GENEROUS, assert_acceptable
from tests.emulator.wire import Holder, enc

ACCOUNTS = ("acct-a", "acct-b", "acct-c")
KEYS_PER_ACCOUNT = 3
WORKERS_PER_KEY = 2
STEPS = 60
DEADLINE_S = 60.0
# (symbol, BUY price, BUY qty, SELL price, SELL qty): BUY at half the price, SELL at twice
# it: within PERCENT_PRICE_BY_SIDE, above the NOTIONAL minimum, and never crossing.
BOOK = (
    ("BTCUSDT", "32500.00", "0.00020", "130000.00", "0.00010"),
    ("ETHUSDT", "1600.00", "0.0050", "6400.00", "0.0010"),
    ("BNBUSDT", "300.00", "0.020", "1200.00", "0.005"),
)
SYMBOLS = tuple(row[0] for row in BOOK)
MIXED = (KeyType.HMAC, KeyType.ED25519, KeyType.HMAC)


@dataclass
class Ledger:
    """What the clients saw, merged across threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    placed: dict[tuple[str, int], str] = field(default_factory=dict)  # (symbol, id) -> account
    placements: list[tuple[str, int]] = field(default_factory=list)
    cancels: Counter[tuple[str, int]] = field(default_factory=Counter)
    weight: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[tuple[str, str, int | None]] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


# The reference's weights of the requests this test sends, as literals (never the code's own
# table, which is what is under test): binance-spot-auth.md §2.2 L168-177; successful order
# placement and cancel requests weigh 0, failed ones their weight (§6 L448-451).
WEIGHTS: dict[tuple[str, str], int] = {
    ("POST", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/myTrades"): 20,  # without orderId
    ("GET", "/api/v3/rateLimit/order"): 40,
}
FREE_WHEN_SUCCESSFUL = {
    ("POST", "/api/v3/order"),
    ("DELETE", "/api/v3/order"),
    ("DELETE", "/api/v3/openOrders"),
}


def documented_weight(method: str, path: str, params: dict[str, str]) -> int:
    if (method, path) == ("GET", "/api/v3/openOrders"):
        return 6 if params.get("symbol") else 80  # L170
    return WEIGHTS[(method, path)]


class Client:
    def __init__(self, url: str, holder: Holder, account: str, clock: FrozenTime, ledger: Ledger):
        self.http = httpx.Client(base_url=url, timeout=10.0)
        self.holder, self.account, self.clock, self.ledger = holder, account, clock, ledger

    def send(self, method: str, path: str, params: dict[str, str]) -> httpx.Response:
        text = enc([*params.items(), ("timestamp", str(self.clock.ms))])
        signature = quote(self.holder.sign(text.encode()), safe="")
        r = self.http.request(
            method,
            f"{path}?{text}&signature={signature}",
            headers={"X-MBX-APIKEY": self.holder.api_key},
        )
        # The documented weight; successful order placements and cancels weigh 0.
        weight = 0 if (method, path) in FREE_WHEN_SUCCESSFUL and r.status_code == 200 else None
        if weight is None:
            weight = documented_weight(method, path, params)
        with self.ledger.lock:
            self.ledger.weight += weight
            if r.status_code != 200:
                code = r.json().get("code") if r.content.startswith(b"{") else None
                self.ledger.codes[(method, path, code)] += 1
            self.ledger.statuses[r.status_code] += 1
            try:
                assert_acceptable(r)
            except AssertionError as exc:
                self.ledger.problems.append(str(exc))
        return r

    def close(self) -> None:
        self.http.close()


def _work(client: Client, rng: random.Random, deadline: float) -> None:
    ledger = client.ledger
    for _ in range(STEPS):
        if time.monotonic() > deadline:
            return
        symbol, buy_price, buy_qty, sell_price, sell_qty = rng.choice(BOOK)
        roll = rng.random()
        if roll < 0.5:
            side = rng.choice(("BUY", "SELL"))
            price, qty = (buy_price, buy_qty) if side == "BUY" else (sell_price, sell_qty)
            r = client.send(
                "POST",
                "/api/v3/order",
                {
                    "symbol": symbol,
                    "side": side,
                    **rng.choice(
                        ({"type": "LIMIT", "timeInForce": "GTC"}, {"type": "LIMIT_MAKER"})
                    ),
                    "quantity": qty,
                    # Now and then a price off the tick: a failed placement (weight 1).
                    "price": price + ("1" if rng.random() < 0.05 else ""),
                },
            )
            if r.status_code == 200:
                key = (symbol, r.json()["orderId"])
                with ledger.lock:
                    ledger.placements.append(key)
                    ledger.placed[key] = client.account
        elif roll < 0.85:
            # Cancel an order of this account, possibly one another thread cancels right now.
            with ledger.lock:
                mine = [k for k, a in ledger.placed.items() if a == client.account]
                key = rng.choice(mine) if mine else (symbol, 10**12)
            r = client.send("DELETE", "/api/v3/order", {"symbol": key[0], "orderId": str(key[1])})
            if r.status_code == 200:
                with ledger.lock:
                    ledger.cancels[(key[0], r.json()["orderId"])] += 1
        elif roll < 0.88:
            r = client.send("DELETE", "/api/v3/openOrders", {"symbol": symbol})
            if r.status_code == 200:
                with ledger.lock:
                    for order in r.json():
                        ledger.cancels[(order["symbol"], order["orderId"])] += 1
        elif roll < 0.94:
            client.send("GET", "/api/v3/openOrders", {"symbol": symbol})
        else:
            client.send("GET", "/api/v3/order", {"symbol": symbol, "orderId": str(10**12)})


def _assets(r: httpx.Response) -> dict[str, Decimal]:
    return {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"]) for b in r.json()["balances"]}


def _locked(r: httpx.Response) -> dict[str, Decimal]:
    return {b["asset"]: Decimal(b["locked"]) for b in r.json()["balances"]}


@pytest.fixture
def exchange(frozen: FrozenTime) -> Iterator[tuple[str, Emulator]]:
    emu = Emulator(limits=GENEROUS, clock=Clock(source=frozen))
    with EmulatorServer(emu) as server:
        yield server.url, emu


@pytest.mark.slow
def test_concurrent_orders_on_shared_accounts(
    exchange: tuple[str, Emulator], frozen: FrozenTime
) -> None:
    url, emu = exchange
    ledger = Ledger()
    clients: list[Client] = []
    per_account: dict[str, Client] = {}
    for account in ACCOUNTS:
        for key_type in MIXED[:KEYS_PER_ACCOUNT]:
            holder = make_holder(emu, key_type, permissions=(READ, TRADE), account=account)
            for _ in range(WORKERS_PER_KEY):
                clients.append(Client(url, holder, account, frozen, ledger))
        per_account[account] = clients[-1]

    start = {a: _assets(c.send("GET", "/api/v3/account", {})) for a, c in per_account.items()}

    deadline = time.monotonic() + DEADLINE_S
    threads = [
        threading.Thread(target=_work, args=(c, random.Random(i), deadline), daemon=True)
        for i, c in enumerate(clients)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(DEADLINE_S + 10)
    assert not any(th.is_alive() for th in threads), "a worker is stuck"
    assert time.monotonic() < deadline, "the run did not finish in time"

    try:
        assert not ledger.problems, ledger.problems[:5]
        assert all(status < 500 for status in ledger.statuses), ledger.statuses
        assert ledger.statuses[200] > len(clients) * STEPS // 3, ledger.codes

        # No duplicated order: ids are unique per symbol.
        assert len(ledger.placements) == len(set(ledger.placements))
        # Every cancel that succeeded cancelled a placed order, exactly once.
        assert set(ledger.cancels) <= set(ledger.placed)
        assert all(n == 1 for n in ledger.cancels.values()), ledger.cancels.most_common(3)
        assert sum(ledger.cancels.values()) > 0

        for account, client in per_account.items():
            open_now = client.send("GET", "/api/v3/openOrders", {}).json()
            open_keys = {(o["symbol"], o["orderId"]) for o in open_now}
            placed = {k for k, a in ledger.placed.items() if a == account}
            cancelled = {k for k in ledger.cancels if ledger.placed[k] == account}
            # No lost order: each is open or was cancelled, never both, never neither.
            assert open_keys.isdisjoint(cancelled)
            assert open_keys | cancelled == placed, account
            assert all(o["status"] == "NEW" and o["executedQty"] == "0.00000000" for o in open_now)
            for symbol in SYMBOLS:
                trades = client.send("GET", "/api/v3/myTrades", {"symbol": symbol}).json()
                assert trades == [], "an order filled"

            # Funds conserved: free + locked per asset unchanged, locked = what is open.
            r = client.send("GET", "/api/v3/account", {})
            assert _assets(r) == start[account]
            expected_locked: defaultdict[str, Decimal] = defaultdict(Decimal)
            for o in open_now:
                base, quote_asset = o["symbol"][:-4], o["symbol"][-4:]
                if o["side"] == "BUY":
                    expected_locked[quote_asset] += Decimal(o["price"]) * Decimal(o["origQty"])
                else:
                    expected_locked[base] += Decimal(o["origQty"])
            locked = {a: v for a, v in _locked(r).items() if v}
            assert locked == {a: v for a, v in expected_locked.items() if v}

            # ORDERS counter: one per successful placement of this account.
            counts = client.send("GET", "/api/v3/rateLimit/order", {}).json()
            placements = sum(1 for k in ledger.placements if ledger.placed[k] == account)
            assert [c["count"] for c in counts] == [placements, placements]

        # REQUEST_WEIGHT: the documented weight of every failed or non-order request, summed.
        last = per_account[ACCOUNTS[0]].send("GET", "/api/v3/account", {})
        assert int(last.headers["x-mbx-used-weight-1m"]) == ledger.weight
        assert int(last.headers["x-mbx-used-weight"]) == ledger.weight
    finally:
        for c in clients:
            c.close()
