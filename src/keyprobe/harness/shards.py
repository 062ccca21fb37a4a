"""``--shard K/N``: a deterministic partition of a run's cells over N runners, by profile first.

Cells of one profile share its account's order budget (Binance counts ORDERS per account,
not per IP), so a profile's cells stay on one shard wherever the shards outnumber no profile
count; only when there are more shards than profiles is a profile split, and then its
order-touching cells stay together. Every process computes the same partition from the same
inputs (the declared profiles, the catalogue, the transports), so xdist workers and the
controller agree without being told."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyprobe.harness import cell_cost
from keyprobe.harness.cell_cost import CellKey
from keyprobe.harness.check import has_door
from keyprobe.harness.probes import BY_NAME, CATALOGUE

if TYPE_CHECKING:
    from keyprobe.harness.run import Run


_SPEC = re.compile(r"(\d+)/(\d+)")


class ShardError(ValueError):
    """A ``--shard`` value that names no shard."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def to_json(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N; anything else is a ShardError with one line saying why."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise ShardError(f"--shard {text!r}: expected K/N, e.g. 1/2 (shard K of N, from 1)")
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise ShardError(f"--shard {text}: N must be 1 or more")
    if not 1 <= index <= count:
        raise ShardError(f"--shard {text}: K must be 1-{count}")
    return Shard(index, count)


@dataclass(frozen=True, slots=True)
class _Unit:
    """Cells that go to one shard together."""

    profile_rank: int
    part: int
    cells: tuple[CellKey, ...]


def _units(
    cells: Sequence[CellKey], count: int, touches_orders: Callable[[str], bool]
) -> list[_Unit]:
    profiles = list(dict.fromkeys(c[0] for c in cells))
    units = [
        _Unit(rank, 0, tuple(c for c in cells if c[0] == name))
        for rank, name in enumerate(profiles)
    ]

    # More shards than profiles: split the largest unit, its order cells kept in one piece.
    # A unit of order cells alone is never split: two shards placing orders with one key
    # could not tell each other's resting orders from an earlier run's (the start sweep).
    def splittable(unit: _Unit) -> bool:
        return len(unit.cells) >= 2 and not all(touches_orders(c[1]) for c in unit.cells)

    while len(units) < count:
        candidates = [u for u in units if splittable(u)]
        if not candidates:
            break
        big = max(candidates, key=lambda u: (len(u.cells), -u.profile_rank, -u.part))
        orders = tuple(c for c in big.cells if touches_orders(c[1]))
        rest = tuple(c for c in big.cells if not touches_orders(c[1]))
        if orders and rest:
            first, second = orders, rest
        else:
            half = len(big.cells) // 2
            first, second = big.cells[:half], big.cells[half:]
        units.remove(big)
        units += [
            _Unit(big.profile_rank, big.part * 2, first),
            _Unit(big.profile_rank, big.part * 2 + 1, second),
        ]
    return sorted(units, key=lambda u: (u.profile_rank, u.part))


def partition(
    cells: Sequence[CellKey],
    count: int,
    touches_orders: Callable[[str], bool],
    requests: Callable[[CellKey], int] | None = None,
) -> list[list[CellKey]]:
    """The cells of each of ``count`` shards (index 0 is shard 1), in the given order.
    Longest-processing-time first over whole profiles: the costliest unit goes to the shard
    that costs least so far (ties: the lowest shard). Whole profiles leave the shards a
    profile apart (11 profiles on 4 shards: 3 against 2), so then the costliest shard hands
    cells that place no order, its last first, to the cheapest, while that narrows the gap:
    a profile's order cells stay on one shard, its reads and auth cells may not. A shard's cost
    is its cells' ``requests(cell)`` (default: two for an order-touching cell, else one)."""

    def cost(cell: CellKey) -> int:
        if requests is not None:
            return requests(cell)
        return 2 if touches_orders(cell[1]) else 1

    loads = [0] * count
    owner: dict[CellKey, int] = {}
    units = _units(cells, count, touches_orders)

    def unit_cost(unit: _Unit) -> int:
        return sum(cost(c) for c in unit.cells)

    for unit in sorted(units, key=lambda u: (-unit_cost(u), u.profile_rank, u.part)):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += unit_cost(unit)
        for cell in unit.cells:
            owner[cell] = target
    _balance(cells, owner, loads, touches_orders, cost)
    out: list[list[CellKey]] = [[] for _ in range(count)]
    for cell in cells:
        out[owner[cell]].append(cell)
    return out


def _balance(
    cells: Sequence[CellKey],
    owner: dict[CellKey, int],
    loads: list[int],
    touches_orders: Callable[[str], bool],
    cost: Callable[[CellKey], int],
) -> None:
    movable = [c for c in reversed(cells) if not touches_orders(c[1])]
    while True:
        heavy = max(range(len(loads)), key=lambda i: (loads[i], -i))
        light = min(range(len(loads)), key=lambda i: (loads[i], i))
        cell = next((c for c in movable if owner[c] == heavy), None)
        if cell is None or loads[heavy] - loads[light] <= cost(cell):
            return
        owner[cell] = light
        loads[heavy] -= cost(cell)
        loads[light] += cost(cell)


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """This run's shard and its cells (of all the run's cells)."""

    shard: Shard
    cells: frozenset[CellKey]
    profiles: tuple[str, ...]
    total: int
    # The requests the partition expects this shard to send (cell_cost.py), and a digest of
    # the whole partition: shards that computed different partitions (another --transport,
    # --egress-address or --margin-repay) would leave cells in no shard; merge refuses them.
    estimated_requests: int = 0
    digest: str = ""

    def to_json(self) -> dict[str, int | str]:
        return {
            **self.shard.to_json(),
            "cells": len(self.cells),
            "of_cells": self.total,
            "estimated_requests": self.estimated_requests,
            "partition": self.digest,
        }

    def places_orders_with(self, profile: str) -> bool:
        """Whether a cell of this shard places or cancels orders with ``profile``'s key (every
        check uses its own profile's key; none sets up an order with another's)."""
        return any(c[0] == profile and BY_NAME[c[1]].touches_orders for c in self.cells)

    def header(self) -> str:
        return (
            f"keyprobe shard: {self.shard.label}: {len(self.cells)} of {self.total} cells "
            f"(an estimated {self.estimated_requests} requests), "
            f"profiles {', '.join(self.profiles) or '(none)'}"
        )


def plan_of(run: Run) -> ShardPlan | None:
    """None for an unsharded run. The same in every process of the run: the cells are those
    the suites parametrize (every profile x probe x transport with a door), costed from the
    declarations and the target's static capabilities only (``cell_cost.requests``)."""
    if run.info.options.shard is None:
        return None
    shard = parse_shard(run.info.options.shard)
    everything = [
        (profile.name, probe.name, transport.value)
        for profile in run.profiles
        for probe in CATALOGUE
        for transport in run.transports()
        if has_door(probe, transport)
    ]
    cost = cell_cost.of_cells(run.profiles, run.target, everything)
    shards = partition(everything, shard.count, lambda name: BY_NAME[name].touches_orders, cost)
    mine = shards[shard.index - 1]
    profiles = tuple(dict.fromkeys(c[0] for c in mine))
    digest = hashlib.sha256(json.dumps(shards).encode()).hexdigest()[:16]
    return ShardPlan(
        shard, frozenset(mine), profiles, len(everything), sum(map(cost, mine)), digest
    )
