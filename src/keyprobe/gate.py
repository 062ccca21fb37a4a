"""``keyprobe gate``: the nightly's verdict on a finished run, read from ``matrix.json`` (and
``run.json`` beside it). A night is green only when it proved something: every declared
profile got at least one permission verdict, nothing was BROKEN beyond the allowance, and no
cell is LEAK or MISSING."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyprobe.cells import Cell, CellFileError, Verdict, load_matrix

EXIT_PROVED = 0
EXIT_WRONG_KEY = 1
EXIT_UNPROVEN = 3
EXIT_UNREADABLE = 4
# Counted beside the verdicts: cells whose first attempt was BROKEN and that were checked again.
RETRIED = "retried"


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What run.json adds to the cells: the profiles the run declared, how pytest ended."""

    declared: tuple[str, ...] = ()
    exit_status: int | None = None
    interrupted: bool = False


@dataclass(slots=True)
class GateResult:
    code: int
    summary: str
    per_profile: dict[str, Counter[str]] = field(default_factory=dict)
    # The cells a person must look at (LEAK, MISSING, MISMATCH, BROKEN), for CI annotations.
    failures: list[Cell] = field(default_factory=list)


def load_run_facts(path: Path) -> RunFacts:
    """run.json's facts; an absent file gives none (the gate then judges the cells alone)."""
    if not path.exists():
        return RunFacts()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CellFileError(f"{path}: cannot read it ({exc})") from None
    if not isinstance(data, dict):
        raise CellFileError(f"{path}: expected a JSON object")
    declared = data.get("declared_profiles", [])
    if not isinstance(declared, list) or not all(isinstance(p, str) for p in declared):
        raise CellFileError(f"{path}: 'declared_profiles' must be a list of names")
    status = data.get("exit_status")
    return RunFacts(
        tuple(declared),
        status if isinstance(status, int) and not isinstance(status, bool) else None,
        data.get("interrupted") is True,
    )


def judge_run(
    cells: list[Cell], facts: RunFacts, *, max_broken: int = 0, min_verdicts: int = 1
) -> GateResult:
    per_profile: dict[str, Counter[str]] = {}
    for name in facts.declared:
        per_profile[name] = Counter()
    for cell in cells:
        counted = per_profile.setdefault(cell.profile, Counter())
        counted[cell.verdict.value] += 1
        if cell.retried:
            counted[RETRIED] += 1
    counts: Counter[str] = Counter(c.verdict.value for c in cells)
    failures = [c for c in cells if c.verdict.failed]
    judged = sum(1 for c in cells if c.verdict.judged)
    totals = ", ".join(f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value])
    totals = f"{len(cells)} cells ({totals or 'none'})"

    wrong = counts[Verdict.LEAK.value] + counts[Verdict.MISSING.value]
    if wrong:
        culprits = sorted(
            name
            for name, c in per_profile.items()
            if c[Verdict.LEAK.value] or c[Verdict.MISSING.value]
        )
        summary = (
            f"FAILED: {counts[Verdict.LEAK.value]} LEAK, {counts[Verdict.MISSING.value]} "
            f"MISSING ({', '.join(culprits)}); {totals}"
        )
        return GateResult(EXIT_WRONG_KEY, summary, per_profile, failures)

    why: list[str] = []
    unproven = sorted(
        name for name, c in per_profile.items() if not any(c[v.value] for v in Verdict if v.judged)
    )
    if unproven:
        why.append(f"no cell of {', '.join(unproven)} got a verdict")
    broken = counts[Verdict.BROKEN.value]
    if broken > max_broken:
        why.append(f"{broken} BROKEN (more than --max-broken {max_broken})")
    if judged < min_verdicts:
        why.append(f"{judged} cell(s) judged (fewer than --min-verdicts {min_verdicts})")
    if facts.interrupted:
        why.append("the run was interrupted")
    elif facts.exit_status is not None and facts.exit_status >= 2:
        why.append(f"pytest exited with {facts.exit_status} (usage or internal error)")
    if why:
        return GateResult(
            EXIT_UNPROVEN, f"UNPROVEN: {'; '.join(why)}; {totals}", per_profile, failures
        )
    profiles = len(per_profile)
    summary = (
        f"PROVED: {judged} cell(s) judged across {profiles} profile(s), no LEAK or MISSING; "
        f"{totals}"
    )
    return GateResult(EXIT_PROVED, summary, per_profile, failures)


def gate(
    matrix: Path, run_json: Path | None = None, *, max_broken: int = 0, min_verdicts: int = 1
) -> GateResult:
    """Judge the run in ``matrix`` (run.json defaults to the file beside it)."""
    try:
        cells = load_matrix(matrix)
        facts = load_run_facts(run_json or matrix.with_name("run.json"))
    except CellFileError as exc:
        return GateResult(EXIT_UNREADABLE, f"UNREADABLE: {exc}")
    return judge_run(cells, facts, max_broken=max_broken, min_verdicts=min_verdicts)


def profile_lines(result: GateResult) -> list[str]:
    """One line per profile: its verdict counts, worst first."""
    order = (Verdict.LEAK, Verdict.MISSING, Verdict.MISMATCH, Verdict.BROKEN, Verdict.PASS)
    lines = []
    for name, counts in result.per_profile.items():
        shown = [
            f"{counts[v.value]} {v.value}" for v in (*order, Verdict.SKIPPED) if counts[v.value]
        ]
        if counts[RETRIED]:
            shown.append(f"{counts[RETRIED]} retried")
        lines.append(f"  {name}: {', '.join(shown) or 'no cells'}")
    return lines
