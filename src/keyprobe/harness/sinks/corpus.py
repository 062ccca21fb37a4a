"""``--record DIR``: every exchange of every check this process runs, as conformance-corpus lines
(``harness/corpus.py``). Each process writes a file of its own (xdist: one per worker, no
merge needed), as ``.NAME.jsonl.part`` renamed to ``NAME.jsonl`` when the process ends: a crash
leaves only a ``.part`` file, which is never read, and a Ctrl-C'd run keeps whole lines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from keyprobe.harness import corpus
from keyprobe.harness.check import CheckResult
from keyprobe.harness.profiles import Profile


def key_shape(profile: Profile) -> corpus.KeyShape:
    return corpus.KeyShape(
        profile.kind.value,
        profile.key_type.value,
        tuple(sorted(p.value for p in profile.permissions)),
        profile.ip_whitelist is not None,
    )


def result_lines(result: CheckResult) -> list[dict[str, Any]]:
    """The lines of one check: each exchange of its deciding attempt, in order (a first
    attempt broken by infrastructure says nothing about the target's behaviour)."""
    check = result.input
    shape = key_shape(check.profile)
    fault = check.probe.fault.value if check.probe.fault.value != "none" else None
    return [
        corpus.exchange_line(
            step.record,
            check=check.id,
            step=index,
            role=corpus.role_of(step.title),
            transport=check.transport.value,
            key=shape,
            probe=check.probe.name,
            fault=fault,
        )
        for index, step in enumerate(result.steps)
    ]


class CorpusWriter:
    """One process's corpus file, opened at the first line."""

    def __init__(self, folder: Path, name: str, run_line: dict[str, Any]) -> None:
        self.final = folder / f"{name}{corpus.SUFFIX}"
        self.part = folder / f".{name}{corpus.SUFFIX}.part"
        self._run_line = run_line
        self._file: IO[str] | None = None
        self._closed = False
        self.lines = 0

    def write(self, lines: list[dict[str, Any]]) -> None:
        # Closed at the first Ctrl-C (roles.py): what comes after is cleanup, not a probe.
        if not lines or self._closed:
            return
        if self._file is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.part.open("w", encoding="utf-8")
            self._file.write(corpus.dumps(self._run_line) + "\n")
        for line in lines:
            self._file.write(corpus.dumps(line) + "\n")
        self._file.flush()
        self.lines += len(lines)

    def add(self, result: CheckResult) -> None:
        self.write(result_lines(result))

    def close(self) -> None:
        """Complete lines only, then the file under its final name (atomic on one volume)."""
        self._closed = True
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self.part, self.final)
