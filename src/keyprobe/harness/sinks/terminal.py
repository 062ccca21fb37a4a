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
    # One row per probe and transport: a key refused over REST but allowed over the
    # WebSocket API is two rows, one under the other.
    rows = [(probe, t) for probe in probes for t in matrix.transports() if matrix.has(probe, t)]
    labels = {row: row[0] if row[1] == "rest" else f"{row[0]} ({row[1]})" for row in rows}
    label_width = max(len(label) for label in labels.values()) + 2
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
        for probe, transport in rows:
            row = labels[(probe, transport)].ljust(label_width)
            for p in block:
                cell = matrix.get(p, probe, transport)
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
                c.probe if c.transport == "rest" else f"{c.probe} ({c.transport})"
                for c in matrix.cells()
                if c.profile == profile and c.verdict is verdict
            ]
            if probes:
                lines.append(
                    f"{profile} {what}: {', '.join(probes)} ({len(probes)} {verdict.value})"
                )
    return lines
