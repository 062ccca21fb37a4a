"""The start-of-run sweep of a sharded run (issue 14): shard 2/2 starting while shard 1/2 has
orders resting leaves them alone (the shards of one run share a family of run ids), and still
cancels what an earlier run left on its keys, on separate accounts and on a shared one. A real
``pytest suites/ --shard 2/2`` run (pytester, in process) against a served emulator over
real sockets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keyprobe.emulator.app import Emulator
from keyprobe.harness.orders import run_prefix, sharded_run_id
from tests.harness.conftest import REST_ONLY, copy_suites, provision

pytestmark = pytest.mark.slow

# Two accounts of equal cells: the partition puts alpha (declared first) on shard 1/2 and
# beta on shard 2/2, each with its order cells.
PROFILES = """
[profiles.alpha]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]

[profiles.beta]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""
# Shard 1/2 of the current run (seed 7), and a run that died earlier (new_run_id's form:
# base36 seconds + 2 hex).
SHARD_ONE_RUN = sharded_run_id(7, 2, 1)[0]
EARLIER_RUN = "t5kpzz0b2"


def resting_order(emu: Emulator, account: str, client_id: str) -> None:
    """A BUY far below the price: it rests, like a keyprobe setup order."""
    emu.exchange.new_order(
        account,
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.00100",
            "price": "20000.00",
            "newClientOrderId": client_id,
        },
    )


def open_ids(emu: Emulator, account: str) -> list[str]:
    return [str(o["clientOrderId"]) for o in emu.exchange.open_orders(account)]


def test_a_late_shard_sweeps_leftovers_on_its_keys_but_not_another_shards_orders(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
) -> None:
    profiles = copy_suites(pytester, PROFILES)
    emu = Emulator()
    keys = provision(emu, serve(emu), profiles)
    by_key = {record.api_key: record.account for record in emu.keys}
    account = {name: by_key[creds.api_key] for name, creds in keys.credentials.items()}
    assert len(set(account.values())) == 2  # two accounts: a sweep on one cannot see the other
    shard_one = run_prefix(SHARD_ONE_RUN) + "setuporder"
    earlier = run_prefix(EARLIER_RUN) + "leftover01"
    resting_order(emu, account["alpha"], shard_one)
    resting_order(emu, account["beta"], earlier)
    monkeypatch.delenv("CI", raising=False)

    keys.apply(monkeypatch)
    # In process (pytester's default): a subprocess would add only its start-up.
    result = pytester.runpytest(
        "--target", keys.url, "-p", "no:cacheprovider", *REST_ONLY,
        "--shard", "2/2", "--seed", "7", "-m", "read", "-k", "account",
    )  # fmt: skip
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    assert "keyprobe shard: 2/2" in out and "profiles beta" in out, out[:2000]
    # Shard 1/2's order (another run id, a key shard 2/2 has no order cell of) survives ...
    assert open_ids(emu, account["alpha"]) == [shard_one]
    # ... the earlier run's leftover on shard 2/2's own key is swept.
    assert open_ids(emu, account["beta"]) == []
    assert "swept 1 open order(s)" in out + result.stderr.str()


SHARED_ACCOUNT = """
[profiles.alpha]
key_type = "hmac"
account = "desk"
permissions = ["enableReading", "enableSpotAndMarginTrading"]

[profiles.beta]
key_type = "hmac"
account = "desk"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""


def test_shards_of_one_run_keep_each_others_orders_on_a_shared_account(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Emulator], str],
) -> None:
    """Both keys list the one account's orders, so restricting the sweep to a shard's own
    keys is not enough: the shards of one run (one seed, one N) share a family of run ids,
    and a late shard keeps its sibling's order while an earlier night's leftover goes."""
    profiles = copy_suites(pytester, SHARED_ACCOUNT)
    emu = Emulator()
    keys = provision(emu, serve(emu), profiles)
    accounts = {record.account for record in emu.keys}
    assert len(accounts) == 1
    (desk,) = accounts
    sibling_run, family = sharded_run_id(7, 2, 1)
    mine, _ = sharded_run_id(7, 2, 2)
    assert mine.startswith(family) and mine != sibling_run
    sibling = run_prefix(sibling_run) + "setuporder"
    earlier = run_prefix(sharded_run_id(8, 2, 1)[0]) + "leftover01"
    resting_order(emu, desk, sibling)
    resting_order(emu, desk, earlier)
    monkeypatch.delenv("CI", raising=False)

    keys.apply(monkeypatch)
    result = pytester.runpytest(
        "--target", keys.url, "-p", "no:cacheprovider", *REST_ONLY,
        "--shard", "2/2", "--seed", "7", "-m", "read", "-k", "account",
    )  # fmt: skip
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    assert open_ids(emu, desk) == [sibling], out[-3000:]
    assert "swept 1 open order(s)" in out + result.stderr.str()
