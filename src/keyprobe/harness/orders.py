"""Orders the suites place: run-scoped client order ids, the per-test ledger that cancels
them in teardown, and the sweep of orders an interrupted run left behind."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from keyprobe.harness.client import Answer, Sent, Wire
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.together import at_once

log = logging.getLogger("keyprobe.orders")

# Every client order id keyprobe sends starts with this: how a later run recognises them.
FAMILY = "kp-"
_ALNUM = string.ascii_letters + string.digits
_BASE36 = string.digits + string.ascii_lowercase


def _base36(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = _BASE36[r] + out
    return out or "0"


def new_run_id() -> str:
    """Sortable by start time, unique per run (not derived from the Faker seed: a rerun with
    the same seed is still another run)."""
    return _base36(int(time.time())) + secrets.token_hex(1)


def sharded_run_id(seed: int, count: int, index: int) -> tuple[str, str]:
    """(this shard's run id, the run's family) for shard ``index`` of ``count`` of the run
    with ``seed``. Every shard of one run has the same seed (``keyprobe merge`` refuses
    others), hence one family: a shard's start-of-run sweep keeps its siblings' orders (they
    may rest on a key this shard sweeps, e.g. a cross-account probe's setup order) however
    late it starts, while an earlier night (another seed) is still swept. The shard index
    keeps each shard's own end-of-run sweep to its own orders."""
    digest = hashlib.sha256(f"{seed}/{count}".encode()).digest()
    family = "s" + _base36(int.from_bytes(digest[:5], "big"))[:7]
    return f"{family}{_base36(index)}", family


def run_prefix(run_id: str) -> str:
    return f"{FAMILY}{run_id}-"


def run_of(client_order_id: str) -> str | None:
    """The run id inside a keyprobe client order id, None for anybody else's order."""
    if not client_order_id.startswith(FAMILY):
        return None
    run, sep, _ = client_order_id[len(FAMILY) :].partition("-")
    return run if sep and run else None


@dataclass(slots=True)
class ClientOrderIds:
    """``kp-<run>-<10 chars>``: within Binance's ``^[a-zA-Z0-9-_]{1,36}$`` and seeded."""

    run_id: str
    fake: Faker

    def __call__(self) -> str:
        return run_prefix(self.run_id) + self.fake.lexify("?" * 10, letters=_ALNUM)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    credentials: Credentials
    symbol: str
    client_order_id: str
    # True: the exchange accepted it. None: unknown (timeout, 5xx) - cancel it to be sure.
    confirmed: bool | None = True
    # The profile whose account holds it (for "2 orders left open on account X").
    account: str = ""


@dataclass(slots=True)
class Ledger:
    """Orders one test may have placed; ``close`` cancels whatever is still open."""

    wire: Wire
    source: str | None
    orders: list[PlacedOrder] = field(default_factory=list)
    # The account of each order ``close`` could not cancel.
    left_accounts: list[str] = field(default_factory=list)

    def add(self, order: PlacedOrder) -> None:
        self.orders.append(order)

    def close(self) -> list[str]:
        """Cancel each order; returns the ids that could not be cancelled (unknown is fine)."""
        left: list[str] = []
        for order in self.orders:
            sent = self.wire.call(
                "cancelOrder",
                [("symbol", order.symbol), ("origClientOrderId", order.client_order_id)],
                api_key=order.credentials.api_key,
                signer=order.credentials.signer(),
                source=self.source,
            )
            answer = sent.answer
            # 200: cancelled now; -2011: already cancelled, replaced or never placed.
            if answer.status != 200 and answer.code != -2011:
                why = answer.error or answer.label()
                log.warning("could not cancel %s: %s", order.client_order_id, why)
                if order.confirmed:
                    left.append(order.client_order_id)
                    self.left_accounts.append(order.account or "?")
        self.orders.clear()
        return left


def remember(
    ledger: Ledger,
    creds: Credentials,
    symbol: str,
    client_ids: list[str],
    answer: Answer,
    account: str,
) -> None:
    """Orders the teardown must cancel: accepted ones, and those whose fate is unknown."""
    if answer.status == 200:
        confirmed: bool | None = True
    elif answer.error is not None or (answer.status or 500) >= 500:
        confirmed = None
    else:
        return
    for client_id in client_ids:
        ledger.add(PlacedOrder(creds, symbol, client_id, confirmed, account))


@dataclass(slots=True)
class SweepResult:
    cancelled: int = 0
    failed: int = 0
    unreadable: list[str] = field(default_factory=list)
    # Account (profile) -> orders of the swept runs still open after the sweep.
    left: dict[str, int] = field(default_factory=dict)
    # Account -> why its open orders could not be listed.
    unlisted: dict[str, str] = field(default_factory=dict)

    def left_text(self) -> list[str]:
        """Plain sentences about what the sweep left (empty: nothing left)."""
        lines = [
            f"{n} order{'s' if n != 1 else ''} left open on account {account}; "
            "the next run sweeps them"
            for account, n in self.left.items()
            if n
        ]
        lines += [
            f"could not list the open orders of account {account} ({why}); any left open "
            "there: the next run sweeps them"
            for account, why in self.unlisted.items()
        ]
        return lines


def sweep(
    wire: Wire,
    keys: dict[str, Credentials],
    *,
    source: str | None,
    keep_run: str | None = None,
    keep_family: str | None = None,
    only_run: str | None = None,
    symbol: str | None = None,
) -> SweepResult:
    """Cancel keyprobe's open orders on every key that can list them. At session start
    (``keep_run`` = this run) it removes what earlier, interrupted runs left; at session end
    (``only_run`` = this run) it is the safety net behind the per-test teardown; ``symbol``
    then narrows the listing to the one symbol this run traded (6 weight instead of 80)."""
    result = SweepResult()

    def listing(creds: Credentials) -> Callable[[], Sent]:
        # With the symbol the listing costs 6 weight, without it 80 (every symbol).
        return functools.partial(
            wire.call,
            "openOrders",
            [("symbol", symbol)] if symbol else [],
            api_key=creds.api_key,
            signer=creds.signer(),
            source=source,
        )

    # Every key's listing at once: one round trip at the start and the end of a run instead
    # of one per key (the cancels that follow are rare: only what a run left).
    listings = at_once([listing(creds) for creds in keys.values()])
    for (profile, creds), listed in zip(keys.items(), listings, strict=True):
        signer = creds.signer()
        if listed.answer.status != 200 or not isinstance(listed.answer.body, list):
            result.unreadable.append(profile)
            if listed.answer.error is not None:
                # Not sent or not answered (a refusal is the key's shape: it cannot list).
                result.unlisted[profile] = listed.answer.error
            continue
        for order in listed.answer.body:
            client_id = str(order.get("clientOrderId", ""))
            run = run_of(client_id)
            if (
                run is None
                or run == keep_run
                or (keep_family is not None and run.startswith(keep_family))
                or (only_run is not None and run != only_run)
            ):
                continue
            sent = wire.call(
                "cancelOrder",
                [("symbol", str(order.get("symbol"))), ("origClientOrderId", client_id)],
                api_key=creds.api_key,
                signer=signer,
                source=source,
            )
            if sent.answer.status == 200:
                result.cancelled += 1
            elif sent.answer.code != -2011:
                result.failed += 1
                result.left[profile] = result.left.get(profile, 0) + 1
    return result
