"""The matrix: one cell per (profile, probe) with expected and actual (status, code) and the
verdict; printed at the end of a run and written to ``reports/matrix.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CELL_PROPERTY = "keyprobe_cell"

_SHORT = {
    "pass": "ok",
    "skipped": "skip",
    "LEAK": "LEAK",
    "MISSING": "MISSING",
    "MISMATCH": "MISMATCH",
    "BROKEN": "BROKEN",
}


@dataclass(frozen=True, slots=True)
class Pair:
    status: int | None
    code: int | None


@dataclass(frozen=True, slots=True)
class Cell:
    profile: str
    probe: str
    category: str
    target: str
    expected: Pair | None
    actual: Pair | None
    verdict: str
    reason: str = ""

    def short(self) -> str:
        """What the matrix shows: the answer a passing cell got (``200``, ``401/-2015``) — so
        the grid shows the key's shape, allowed and denied — else the verdict."""
        if self.verdict == "pass" and self.actual is not None and self.actual.status is not None:
            status = str(self.actual.status)
            return status if self.actual.code is None else f"{status}/{self.actual.code}"
        return _SHORT.get(self.verdict, self.verdict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Cell:
        data: dict[str, Any] = json.loads(text)
        for key in ("expected", "actual"):
            if data.get(key) is not None:
                data[key] = Pair(**data[key])
        return cls(**data)


def write_atomically(path: Path, text: str) -> None:
    """Whole or not at all: a run stopped mid-write (Ctrl-C, CI timeout) leaves the previous
    file, never half of a new one, for ``keyprobe report`` and the nightly gate to read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Matrix:
    """Cells collected from test reports (in the controller under xdist)."""

    def __init__(self, profile_order: Sequence[str] = (), probe_order: Sequence[str] = ()) -> None:
        self._cells: dict[tuple[str, str], Cell] = {}
        self._profiles = list(profile_order)
        self._probes = list(probe_order)

    def add(self, cell: Cell) -> None:
        self._cells[(cell.profile, cell.probe)] = cell

    def __len__(self) -> int:
        return len(self._cells)

    def _ordered(self, seen: Iterable[str], order: list[str]) -> list[str]:
        rank = {name: i for i, name in enumerate(order)}
        return sorted(set(seen), key=lambda n: (rank.get(n, len(rank)), n))

    def profiles(self) -> list[str]:
        return self._ordered((p for p, _ in self._cells), self._profiles)

    def probes(self) -> list[str]:
        return self._ordered((q for _, q in self._cells), self._probes)

    def cells(self) -> list[Cell]:
        probe_rank = {n: i for i, n in enumerate(self.probes())}
        profile_rank = {n: i for i, n in enumerate(self.profiles())}
        return sorted(
            self._cells.values(), key=lambda c: (profile_rank[c.profile], probe_rank[c.probe])
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for cell in self._cells.values():
            out[cell.verdict] = out.get(cell.verdict, 0) + 1
        return out

    def write_json(self, path: Path) -> None:
        cells = [asdict(c) for c in self.cells()]
        write_atomically(path, json.dumps(cells, indent=2, ensure_ascii=False) + "\n")

    def render(self, width: int = 120) -> list[str]:
        """Probes down, profiles across (there are fewer profiles than probes); split into
        column blocks that fit ``width``."""
        profiles, probes = self.profiles(), self.probes()
        if not profiles:
            return []
        label_width = max(len(p) for p in probes) + 2
        col_width = {p: max(len(p), 9) + 2 for p in profiles}
        blocks: list[list[str]] = [[]]
        used = label_width
        for p in profiles:
            if blocks[-1] and used + col_width[p] > width:
                blocks.append([])
                used = label_width
            blocks[-1].append(p)
            used += col_width[p]
        lines: list[str] = []
        for block in blocks:
            header = "".ljust(label_width) + "".join(p.ljust(col_width[p]) for p in block)
            lines.append(header.rstrip())
            for probe in probes:
                row = probe.ljust(label_width)
                for p in block:
                    cell = self._cells.get((p, probe))
                    row += (cell.short() if cell else "-").ljust(col_width[p])
                lines.append(row.rstrip())
            lines.append("")
        counts = self.counts()
        lines.append(
            "cells: "
            + ", ".join(f"{counts[v]} {v}" for v in _SHORT if v in counts)
            + f" (of {len(self._cells)})"
        )
        return lines
