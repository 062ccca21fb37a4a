"""The terminal sink: the matrix as a grid at the end of a run (probes down, profiles across)."""

from __future__ import annotations

from keyprobe.cells import Verdict
from keyprobe.harness.sinks.matrix import Matrix

# The counts line lists what was proved or not shown first, then the failures.
_COUNT_ORDER = (
    Verdict.PASS,
    Verdict.SKIPPED,
    Verdict.LEAK,
    Verdict.MISSING,
    Verdict.MISMATCH,
    Verdict.BROKEN,
)


def render(matrix: Matrix, width: int = 120) -> list[str]:
    """Probes down, profiles across (there are fewer profiles than probes); split into column
    blocks that fit ``width``."""
    profiles, probes = matrix.profiles(), matrix.probes()
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
                cell = matrix.get(p, probe)
                row += (cell.short() if cell else "-").ljust(col_width[p])
            lines.append(row.rstrip())
        lines.append("")
    counts = matrix.counts()
    lines.append(
        "cells: "
        + ", ".join(f"{counts[v.value]} {v.value}" for v in _COUNT_ORDER if v.value in counts)
        + f" (of {len(matrix)})"
    )
    return lines


def worst_first(matrix: Matrix) -> list[str]:
    """One line per profile whose key does more (LEAK) or less (MISSING) than declared, for a
    person reading a CI log: the answer without scrolling the grid."""
    lines: list[str] = []
    for profile in matrix.profiles():
        for verdict, what in (
            (Verdict.LEAK, "can do more than declared"),
            (Verdict.MISSING, "cannot do what it declares"),
        ):
            probes = [
                c.probe for c in matrix.cells() if c.profile == profile and c.verdict is verdict
            ]
            if probes:
                lines.append(
                    f"{profile} {what}: {', '.join(probes)} ({len(probes)} {verdict.value})"
                )
    return lines
