"""What one cell costs its target in requests (REST requests and WebSocket API frames), for
``--shard``'s balance only: a shard's time is its requests times the target's latency, so the
partition evens out estimated requests. Never a verdict's input.

The figures are counts measured per cell on the shipped matrix against a separately started
counting emulator (``benchmarks/cell_costs.py`` prints every cell's count beside its estimate).
Most cells send one request. A cell whose setup places an order, or whose probe may leave one
resting, costs more when its key may trade (the order rests, and the cell's teardown cancels
it) and, for some, when it may read (a listing follows). A cell the target statically cannot
express (a lifecycle probe off the embedded emulator, ``margin_repay`` without
``--margin-repay``, a /sapi probe where there is none) sends nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from keyprobe.binance.permissions import Permission
from keyprobe.harness.expectations import LOGON_KEY_TYPES, expressible
from keyprobe.harness.probes import BY_NAME, Probe, Setup
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.targets import Target, Transport

# A cell's identity as the suites parametrize it: (profile, probe, transport).
CellKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Cost:
    """Requests of a key the target refuses (unknown, malformed), of a registered key, and
    what the key's trading and reading permissions add."""

    refused: int
    registered: int
    trading: int = 0
    reading: int = 0


# Measured per cell (see the module docstring); a probe not named here sends one request, or
# three with another account's setup order (the setup, the probe, the teardown's cancel).
_COSTS: dict[str, _Cost] = {
    "place_order": _Cost(1, 1, trading=1),
    "cancel_own_order": _Cost(2, 2, trading=1),
    "cancel_open_orders": _Cost(2, 2, trading=1, reading=1),
    "cancel_replace": _Cost(2, 2, trading=2),
    "user_stream_logon": _Cost(2, 2),
    "user_stream_events": _Cost(1, 2, trading=2),
    # The embedded emulator's lifecycle probes (API Management changes included).
    "permission_removed": _Cost(1, 1, trading=4, reading=1),
    "trading_expired": _Cost(1, 5),
}
# session_revocation logs on first: only an Ed25519 key gets further than the refused logon.
_REVOCATION = _Cost(1, 6, trading=2)
# Every key the shard places orders with is listed twice (the start sweep and the end
# sweep); the cost rides on the profile's order cells, which stay on one shard.
SWEEP_LISTINGS = 2


def requests(profile: Profile, probe: Probe, transport: Transport, target: Target) -> int:
    """The estimated requests of the cell (profile, probe, transport) on ``target``. Only the
    declarations and the target's static capabilities count: every shard of a run computes
    the same figure before it has measured anything."""
    if expressible(profile, probe, target, transport) is not None:
        return 0
    if probe.name == "session_revocation":
        cost = _REVOCATION if profile.key_type in LOGON_KEY_TYPES else _Cost(1, 1)
    elif probe.name in _COSTS:
        cost = _COSTS[probe.name]
    else:
        one = 3 if probe.setup is Setup.OTHER_ACCOUNT_ORDER else 1
        cost = _Cost(one, one)
    if profile.kind is not KeyKind.REGISTERED:
        return cost.refused
    return (
        cost.registered
        + (cost.trading if profile.has(Permission.SPOT_AND_MARGIN_TRADING) else 0)
        + (cost.reading if profile.has(Permission.READING) else 0)
    )


def of_cells(
    profiles: Sequence[Profile], target: Target, cells: Sequence[CellKey]
) -> Callable[[CellKey], int]:
    """Each cell's estimated requests; a registered profile's first order cell also carries
    its key's sweep listings (a profile's order cells stay on one shard, and the shard that
    places orders with a key sweeps it at the start and the end)."""
    by_name = {p.name: p for p in profiles}
    sweeps: dict[str, CellKey] = {}
    # The embedded emulator starts with keys of its own (nothing to sweep); nothing sweeps
    # where no order may be placed.
    swept = target.caps.state_changes and not target.embedded
    for cell in cells if swept else ():
        profile = by_name[cell[0]]
        if profile.kind is KeyKind.REGISTERED and BY_NAME[cell[1]].touches_orders:
            sweeps.setdefault(profile.name, cell)
    costs = {
        cell: requests(by_name[cell[0]], BY_NAME[cell[1]], Transport(cell[2]), target)
        + (SWEEP_LISTINGS if sweeps.get(cell[0]) == cell else 0)
        for cell in cells
    }
    return costs.__getitem__
