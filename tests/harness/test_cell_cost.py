"""What a cell is estimated to cost its target (``cell_cost.requests``) and the balance the
partition gets from it. That the estimates are the requests the emulator really answers is
measured over sockets in tests/harness/test_sharded_run.py (per shard, at the emulator)."""

from __future__ import annotations

import pytest

from keyprobe.harness import cell_cost
from keyprobe.harness.cell_cost import CellKey
from keyprobe.harness.check import has_door
from keyprobe.harness.probes import BY_NAME, CATALOGUE, PROBE_NAMES
from keyprobe.harness.profiles import Profile, load_profiles
from keyprobe.harness.shards import partition
from keyprobe.harness.targets import Target, Transport, resolve_target
from tests.harness.conftest import SHIPPED_PROFILES

PROFILES = {p.name: p for p in load_profiles(SHIPPED_PROFILES, PROBE_NAMES)}
LIVE = resolve_target("http://127.0.0.1:9", egress_address="127.0.0.9")
EMBEDDED = resolve_target("emulator")


def cost(profile: str, probe: str, target: Target = LIVE, transport: str = "rest") -> int:
    return cell_cost.requests(PROFILES[profile], BY_NAME[probe], Transport(transport), target)


def everything(profiles: list[Profile]) -> list[CellKey]:
    return [
        (p.name, probe.name, t.value)
        for p in profiles
        for probe in CATALOGUE
        for t in Transport
        if has_door(probe, t)
    ]


def test_a_cell_the_target_cannot_express_costs_nothing() -> None:
    # The lifecycle probes change a key through the embedded emulator's API Management.
    assert cost("spot_trading", "permission_removed") == 0
    assert cost("spot_trading", "permission_removed", EMBEDDED) == 6
    assert cost("read_only", "session_revocation", transport="ws-api") == 0
    assert cost("read_only", "session_revocation", EMBEDDED, "ws-api") == 6
    # margin_repay only with --margin-repay.
    assert cost("spot_trading", "margin_repay") == 0
    repaying = resolve_target("http://127.0.0.1:9", margin_repay=True)
    assert cost("spot_trading", "margin_repay", repaying) == 1


def test_a_key_that_may_trade_costs_its_orders_teardown() -> None:
    # The order rests, and the cell's teardown cancels it; a refused order leaves nothing.
    assert cost("spot_trading", "place_order") == 2
    assert cost("read_only", "place_order") == 1
    assert cost("unknown_key", "place_order") == 1
    # A listing of the open orders follows only for a key that may read.
    assert cost("spot_trading", "cancel_open_orders") == 4
    assert cost("trade_only", "cancel_open_orders") == 3
    # Another account's setup order: placed, probed, cancelled, whatever the probing key.
    assert cost("unknown_key", "cross_account_cancel") == 3
    # Only an Ed25519 key gets past session.logon.
    assert cost("spot_trading", "session_revocation", EMBEDDED, "ws-api") == 1
    assert cost("sub_trader", "session_revocation", EMBEDDED, "ws-api") == 8


def test_sweep_listings_ride_on_each_registered_profiles_first_order_cell() -> None:
    cells = everything(list(PROFILES.values()))
    live = cell_cost.of_cells(list(PROFILES.values()), LIVE, cells)
    embedded = cell_cost.of_cells(list(PROFILES.values()), EMBEDDED, cells)
    first = next(c for c in cells if c[0] == "read_only" and BY_NAME[c[1]].touches_orders)
    assert live(first) - embedded(first) == cell_cost.SWEEP_LISTINGS  # no sweep embedded
    # An unknown key holds no order to sweep: its cells cost what they send.
    unknown = [c for c in cells if c[0] == "unknown_key"]
    assert [live(c) for c in unknown] == [cost(*c[:2], LIVE, c[2]) for c in unknown]


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize("target", [LIVE, EMBEDDED], ids=["url", "embedded"])
def test_the_shipped_matrix_splits_into_shards_of_equal_estimated_cost(
    count: int, target: Target
) -> None:
    profiles = list(PROFILES.values())
    cells = everything(profiles)
    costs = cell_cost.of_cells(profiles, target, cells)
    shards = partition(cells, count, lambda name: BY_NAME[name].touches_orders, costs)
    loads = [sum(map(costs, shard)) for shard in shards]
    assert sum(loads) == sum(map(costs, cells))
    assert max(loads) - min(loads) <= 1, loads
