"""The matrix sink: every cell of the run, gathered in the controlling process (xdist workers
send theirs with their test reports), ordered as declared, and written to ``matrix.json``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from keyprobe.cells import Cell, Verdict, dumps_matrix, write_atomically

# The user property under which a test report carries its cell (Cell.to_json).
CELL_PROPERTY = "keyprobe_cell"
# The request weight one cell cost the target (setup, safety, probe and teardown), sent with
# the cell's teardown report so that the controller adds up every process's share.
WEIGHT_PROPERTY = "keyprobe_weight"


class Matrix:
    """Cells keyed by profile × probe × transport, in the declared profile and probe order."""

    def __init__(self, profile_order: Sequence[str] = (), probe_order: Sequence[str] = ()) -> None:
        self._cells: dict[tuple[str, str, str], Cell] = {}
        self._profiles = list(profile_order)
        self._probes = list(probe_order)

    def add(self, cell: Cell) -> None:
        self._cells[cell.key] = cell

    def __len__(self) -> int:
        return len(self._cells)

    def get(self, profile: str, probe: str, transport: str = "rest") -> Cell | None:
        return self._cells.get((profile, probe, transport))

    def _ordered(self, seen: Iterable[str], order: list[str]) -> list[str]:
        rank = {name: i for i, name in enumerate(order)}
        return sorted(set(seen), key=lambda n: (rank.get(n, len(rank)), n))

    def profiles(self) -> list[str]:
        return self._ordered((c.profile for c in self._cells.values()), self._profiles)

    def probes(self) -> list[str]:
        return self._ordered((c.probe for c in self._cells.values()), self._probes)

    def transports(self) -> list[str]:
        """REST first, then the others in the order they appear."""
        seen = dict.fromkeys(c.transport for c in self._cells.values())
        return sorted(seen, key=lambda t: (t != "rest", list(seen).index(t)))

    def has(self, probe: str, transport: str) -> bool:
        return any(c.probe == probe and c.transport == transport for c in self._cells.values())

    def cells(self) -> list[Cell]:
        probe_rank = {n: i for i, n in enumerate(self.probes())}
        profile_rank = {n: i for i, n in enumerate(self.profiles())}
        return sorted(
            self._cells.values(),
            key=lambda c: (profile_rank[c.profile], probe_rank[c.probe], c.transport),
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for cell in self._cells.values():
            out[cell.verdict.value] = out.get(cell.verdict.value, 0) + 1
        return out

    def write(self, path: Path) -> None:
        write_atomically(path, dumps_matrix(self.cells()))

    def proof(self, declared: Sequence[str] = ()) -> dict[str, Any]:
        """What the run proved, for run.json: cells judged, skipped (reasons grouped), BROKEN
        and retried, per profile (every declared one, even without cells) and in total."""
        names = list(dict.fromkeys([*declared, *self.profiles()]))
        by_profile = {
            name: [c for c in self._cells.values() if c.profile == name] for name in names
        }
        return {
            "total": proof_counts(self._cells.values()),
            "profiles": {name: proof_counts(cells) for name, cells in by_profile.items()},
        }


def proof_counts(cells: Iterable[Cell]) -> dict[str, Any]:
    cells = list(cells)
    skipped = Counter(c.reason for c in cells if c.verdict is Verdict.SKIPPED)
    return {
        "cells": len(cells),
        "judged": sum(1 for c in cells if c.verdict.judged),
        "skipped": sum(skipped.values()),
        "broken": sum(1 for c in cells if c.verdict is Verdict.BROKEN),
        "retried": sum(1 for c in cells if c.retried),
        "skipped_reasons": dict(skipped.most_common()),
    }


def proof_line(counts: dict[str, Any]) -> str:
    """The one line the terminal summary and the Allure environment both show."""
    return (
        f"{counts['judged']} of {counts['cells']} cells judged, {counts['skipped']} skipped, "
        f"{counts['broken']} BROKEN, {counts['retried']} retried"
    )
