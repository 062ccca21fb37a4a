"""``keyprobe conformance DIR...``: does the emulator answer as the recorded target did? Every
recorded shape is replayed on the embedded emulator (``replay.py``) and its answer compared,
field by field, with the recorded one; the command prints how many shapes match and, for each
difference, the field, the recorded value and the emulator's. Exit 0 all match, 1 any
difference, 4 an unreadable corpus (one line naming the file and line).

``--write-behaviour FILE``: a difference on a shape that names a question of the emulator's
behaviour table (``binance/unsettled.py``) proposes the value that reproduces the recorded
answer (the question's ``from_answer``); the file (``dump_behaviour``) then makes the emulator
answer as recorded: ``keyprobe emulator --behaviour FILE``, ``conformance --behaviour FILE``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from keyprobe.binance.unsettled import (
    BY_ID,
    DEFAULT,
    Behaviour,
    BehaviourError,
    dump_behaviour,
    load_behaviour,
)
from keyprobe.harness import corpus

if TYPE_CHECKING:  # the replay machinery is imported when a replay runs, not for --help
    from keyprobe.replay import Recorded, Replayed

EXIT_MATCH, EXIT_DIFFERENT, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 4
EXIT_INTERRUPTED = 130
# What is compared of an exchange, in this order (the request's method and path first: a
# check that sent something else is a difference of the probe, not of the answer).
FIELDS = (
    "request",
    "status",
    "code",
    "msg",
    "content_type",
    "weight_headers",
    "order_count_headers",
    "no_answer",
)
NOT_SENT = "(not sent)"
# The suites' auth probes whose REST answer settles a question of the behaviour table (settle's
# questions name theirs in the corpus; these are found by their fault).
QUESTION_OF_FAULT = {
    ("no_key_header", "rest"): "rest.missing_key_code",
    ("malformed_key", "rest"): "rest.malformed_key_code",
    ("unknown_key", "rest"): "rest.unknown_key_code",
}


@dataclass(frozen=True, slots=True)
class Difference:
    shape: str  # check id, step, request
    field: str
    recorded: Any
    emulator: Any
    question: str | None  # the setting that decides it, where the shape names one
    # The recorded answer (status, code, msg), for the settings a difference proposes.
    answer: tuple[int | None, int | None, str | None]


@dataclass(slots=True)
class Comparison:
    shapes: int = 0
    matching: int = 0
    found: list[Difference] = field(default_factory=list)


def _recorded_view(data: dict[str, Any]) -> dict[str, Any]:
    return {**data["answer"], "request": f"{data['method']} {data['path']}"}


def compare(recorded: list[Recorded], replayed: list[Replayed]) -> Comparison:
    """Each recorded exchange against the exchange in the same place of the replayed check."""
    out = Comparison()
    for rec, got in zip(recorded, replayed, strict=True):
        for index, line in enumerate(rec.lines):
            data = line.data
            want = _recorded_view(data)
            shape = f"{rec.check} #{data['step']} {want['request']}"
            answer = (want.get("status"), want.get("code"), want.get("msg"))
            question = data.get("question") or (
                QUESTION_OF_FAULT.get((str(data.get("fault")), str(data["transport"])))
                if data["role"] == "probe"
                else None
            )
            out.shapes += 1
            if got.unsent is not None or index >= len(got.lines):
                why = got.unsent or NOT_SENT
                out.found.append(
                    Difference(shape, "request", want["request"], why, question, answer)
                )
                continue
            have = got.lines[index]
            wrong = [f for f in FIELDS if want.get(f) != have.get(f)]
            if not wrong:
                out.matching += 1
            for f in wrong:
                out.found.append(Difference(shape, f, want.get(f), have.get(f), question, answer))
        for extra in got.lines[len(rec.lines) :]:
            out.shapes += 1
            shape = f"{rec.check} (not recorded) {extra['request']}"
            out.found.append(
                Difference(shape, "request", NOT_SENT, extra["request"], None, (None, None, None))
            )
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "[]"
    return "null" if value is None else str(value)


def render(comparison: Comparison, target: str, flavor: str, files: int) -> list[str]:
    lines = [
        f"keyprobe conformance: {comparison.shapes} shapes in {files} file(s) recorded on "
        f"{target}, replayed on the emulator ({flavor} flavor)"
    ]
    if not comparison.found:
        lines.append(
            f"keyprobe conformance: the emulator matches {target} on {comparison.shapes} shapes"
        )
        return lines
    rows = [(d.shape, d.field, _shown(d.recorded), _shown(d.emulator)) for d in comparison.found]
    heads = ("shape", "field", "recorded", "emulator")
    widths = [min(70, max(len(r[i]) for r in [heads, *rows])) for i in range(4)]
    lines.append(
        f"keyprobe conformance: {comparison.matching} of {comparison.shapes} shapes match; "
        f"{len(rows)} difference(s):"
    )
    for row in [heads, *rows]:
        cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


@dataclass(frozen=True, slots=True)
class Proposal:
    values: dict[str, Any]
    # Differences no setting of the table explains (the emulator's code, or the probe's).
    unexplained: int
    # Questions whose recorded answers asked for two values (the first is kept).
    conflicts: list[str]


def propose(comparison: Comparison, base: Behaviour) -> Proposal:
    """The settings that make the emulator give each recorded answer it does not give now."""
    values: dict[str, Any] = {}
    conflicts: list[str] = []
    unexplained = 0
    for d in comparison.found:
        question = BY_ID.get(d.question or "")
        status, code, msg = d.answer
        value = None
        if question is not None and question.from_answer is not None and status is not None:
            value = question.from_answer(status, code, msg)
        if question is None or value is None or value == base.value(question.id):
            # No setting, or the setting already says so: the difference has another cause.
            unexplained += 1
            continue
        if question.id in values and values[question.id] != value:
            conflicts.append(question.id)
            continue
        values[question.id] = value
    return Proposal(values, unexplained, sorted(set(conflicts)))


def proposal_lines(proposal: Proposal, base: Behaviour, path: Path | None) -> list[str]:
    """The settings to change, named, with where they went (or how to write them)."""
    if not proposal.values:
        lines = []
    elif path is None:
        lines = [
            f"keyprobe conformance: {len(proposal.values)} setting(s) would remove differences "
            "(write them with --write-behaviour FILE):"
        ]
    else:
        lines = [f"keyprobe conformance: {len(proposal.values)} setting(s) proposed -> {path}"]
    lines += [f"  {k} = {v!r} (now {base.value(k)!r})" for k, v in proposal.values.items()]
    if proposal.unexplained:
        lines.append(
            f"keyprobe conformance: {proposal.unexplained} difference(s) no setting explains "
            "(the emulator's or the probe's code must change)"
        )
    lines += [
        f"keyprobe conformance: {q}: recorded answers disagree; the first is proposed"
        for q in proposal.conflicts
    ]
    return lines


def write_proposal(proposal: Proposal, base: Behaviour, path: Path, corpora: str) -> None:
    """The behaviour file: ``base``'s own settings plus the proposed ones (validated)."""
    values = {**base.changed(), **proposal.values}
    base.with_values(values, where=str(path))  # BehaviourError before anything is written
    note = (
        f"Proposed by keyprobe conformance from {corpora}: the settings that make the "
        "emulator answer as recorded. Check: keyprobe conformance ... --behaviour THIS_FILE"
    )
    dump_behaviour(values, path, note=note)


class Command(Protocol):
    """A module that adds one subcommand (``keyprobe settle``: ``settling.py``)."""

    def add_parser(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], *more: Command) -> None:
    """``keyprobe conformance`` (and the commands ``more`` add): each sets ``run``, which
    ``cli.main`` calls."""
    for command in more:
        command.add_parser(sub)
    p = sub.add_parser(
        "conformance",
        help="replay a recorded corpus on the emulator and show every difference",
        description="Replay every shape of the corpora given (pytest suites/ --record DIR, "
        "keyprobe settle) on the embedded emulator, configured as their target, with fresh "
        "keys of the same types and permissions; print how many shapes match and each "
        "difference (field, recorded, emulator). Exit 0 all match, 1 a difference, 4 an "
        "unreadable corpus.",
    )
    p.add_argument("corpora", nargs="+", type=Path, metavar="DIR", help="a corpus folder or file")
    p.add_argument(
        "--behaviour",
        type=Path,
        default=None,
        metavar="FILE",
        help="replay on an emulator with this behaviour file (default: the packaged one)",
    )
    p.add_argument(
        "--write-behaviour",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the behaviour settings that remove the differences the table explains",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return conformance(args.corpora, behaviour=args.behaviour, write=args.write_behaviour)
    except KeyboardInterrupt:
        sys.stderr.write("keyprobe conformance: stopped (Ctrl-C); nothing written\n")
        return EXIT_INTERRUPTED


def conformance(
    paths: Iterable[Path],
    *,
    behaviour: Path | None = None,
    write: Path | None = None,
    out: Any = None,
) -> int:
    from keyprobe.replay import flavor_of, recorded_checks, replay

    out = out or sys.stdout
    paths = list(paths)
    try:
        base = DEFAULT if behaviour is None else load_behaviour(behaviour)
    except BehaviourError as exc:
        sys.stderr.write(f"keyprobe conformance: {exc}\n")
        return EXIT_USAGE
    try:
        files = corpus.read(paths)
    except corpus.CorpusError as exc:
        sys.stderr.write(f"keyprobe conformance: {exc}\n")
        return EXIT_UNREADABLE
    flavors = {flavor_of(f.run) for f in files}
    targets = sorted({str(f.run["target"]) for f in files})
    if len(flavors) > 1:
        sys.stderr.write(
            f"keyprobe conformance: corpora of targets with different surfaces "
            f"({', '.join(targets)}): replay them one target at a time\n"
        )
        return EXIT_UNREADABLE
    (flavor,) = flavors
    recorded = recorded_checks(files)
    # Announced: a replay of the suites' whole corpus takes about ten seconds.
    sys.stderr.write(
        f"keyprobe conformance: replaying {len(recorded)} recorded checks on a fresh emulator "
        "(Ctrl-C stops)\n"
    )
    replayed = replay(recorded, flavor, base)
    comparison = compare(recorded, replayed)
    lines = render(comparison, ", ".join(targets), flavor, len(files))
    proposal = propose(comparison, base)
    if write is not None:
        try:
            write_proposal(proposal, base, write, " ".join(str(p) for p in paths))
        except (BehaviourError, OSError) as exc:
            sys.stderr.write(f"keyprobe conformance: {write}: cannot write the proposal: {exc}\n")
            return EXIT_USAGE
    if comparison.found:
        lines += proposal_lines(proposal, base, write)
    for line in lines:
        out.write(line + "\n")
    return EXIT_DIFFERENT if comparison.found else EXIT_MATCH
