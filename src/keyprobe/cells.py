"""The record of one checked cell and the verdict vocabulary, shared by the harness (which
writes them), the reports and ``keyprobe gate`` (which read them): ``matrix.json`` is written
and read here and nowhere else. Its format is documented in ``docs/matrix.schema.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from keyprobe.binance.outcome import Outcome

# Version of the matrix.json layout. 1: {"schema": 1, "cells": [...]}; a bare list of cells
# (what keyprobe 0.1 wrote) is read as version 0.
SCHEMA = 1


class Verdict(StrEnum):
    """What one cell proved (DESIGN.md, "Data flow of one check")."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    # Allowed where it must be denied: the worst outcome (Allure severity blocker).
    LEAK = "LEAK"
    # Denied where it should be allowed (critical).
    MISSING = "MISSING"
    # Another answer than the expected one or its opposite.
    MISMATCH = "MISMATCH"
    # 5xx, timeout, 429/418, target down: infrastructure, never a permission verdict.
    BROKEN = "BROKEN"
    # The target cannot show this cell, or its secrets are missing; the reason says which.
    SKIPPED = "skipped"

    @property
    def judged(self) -> bool:
        """The cell got a permission verdict (pass, LEAK, MISSING or MISMATCH)."""
        return self not in (Verdict.BROKEN, Verdict.SKIPPED)

    @property
    def failed(self) -> bool:
        return self not in (Verdict.PASS, Verdict.SKIPPED)

    @property
    def short(self) -> str:
        """The grid's label when the cell has no answer worth showing."""
        return _SHORT.get(self, self.value)

    @property
    def meaning(self) -> str:
        return _MEANING[self]

    @property
    def severity(self) -> str | None:
        """Allure's severity for a failed cell of this verdict (None: not a failure)."""
        return _SEVERITY.get(self)


_SHORT = {Verdict.PASS: "ok", Verdict.SKIPPED: "skip"}
_MEANING = {
    Verdict.PASS: "as declared",
    Verdict.LEAK: "allowed where it must be denied",
    Verdict.MISSING: "denied where it should be allowed",
    Verdict.MISMATCH: "another answer than expected",
    Verdict.BROKEN: "target or infrastructure failed",
    Verdict.SKIPPED: "the target cannot show this",
}
_SEVERITY = {
    Verdict.LEAK: "blocker",
    Verdict.MISSING: "critical",
    Verdict.MISMATCH: "normal",
    Verdict.BROKEN: "normal",
}
# The order verdicts are counted and listed in, worst news last but LEAK first in the eye.
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)


class CellFileError(ValueError):
    """A matrix.json that cannot be read; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One profile × probe × transport on one target: what was expected, what came back, and
    the verdict with its (redacted) reason."""

    profile: str
    probe: str
    category: str
    target: str
    expected: Outcome | None
    actual: Outcome | None
    verdict: Verdict
    reason: str = ""
    transport: str = "rest"
    # The cell was BROKEN at first and checked once more (the verdict is the retry's): what
    # the first attempt said, redacted ("BROKEN: the target failed with HTTP 503").
    first_attempt: str | None = None

    @property
    def retried(self) -> bool:
        return self.first_attempt is not None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.profile, self.probe, self.transport)

    def short(self) -> str:
        """What a grid shows: the answer a passing cell got (``200``, ``401/-2015``) — so the
        grid reads as the key's permission shape — else the verdict."""
        if self.verdict is Verdict.PASS and self.actual is not None:
            return self.actual.short()
        return self.verdict.short

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "probe": self.probe,
            "category": self.category,
            "target": self.target,
            "transport": self.transport,
            "expected": _outcome_dict(self.expected),
            "actual": _outcome_dict(self.actual),
            "verdict": self.verdict.value,
            "reason": self.reason,
            **({} if self.first_attempt is None else {"first_attempt": self.first_attempt}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: Any, where: str = "cell") -> Cell:
        if not isinstance(raw, dict):
            raise CellFileError(f"{where}: expected an object")
        text: dict[str, str] = {}
        for key in ("profile", "probe", "category", "target", "verdict"):
            value = raw.get(key)
            if not isinstance(value, str) or not value:
                raise CellFileError(f"{where}: '{key}' must be a non-empty string")
            text[key] = value
        try:
            verdict = Verdict(text.pop("verdict"))
        except ValueError:
            legal = ", ".join(v.value for v in Verdict)
            raise CellFileError(
                f"{where}: unknown verdict {raw['verdict']!r} (one of {legal})"
            ) from None
        transport = raw.get("transport", "rest")
        if not isinstance(transport, str) or not transport:
            raise CellFileError(f"{where}: 'transport' must be a non-empty string")
        reason = raw.get("reason") or ""
        if not isinstance(reason, str):
            raise CellFileError(f"{where}: 'reason' must be a string")
        first = raw.get("first_attempt")
        if first is not None and not isinstance(first, str):
            raise CellFileError(f"{where}: 'first_attempt' must be a string or absent")
        return cls(
            first_attempt=first,
            expected=_outcome(raw.get("expected"), where, "expected"),
            actual=_outcome(raw.get("actual"), where, "actual"),
            verdict=verdict,
            reason=reason,
            transport=transport,
            **text,
        )

    @classmethod
    def from_json(cls, text: str) -> Cell:
        return cls.from_dict(json.loads(text))


def _outcome_dict(outcome: Outcome | None) -> dict[str, int | None] | None:
    # The message is not part of the record: the reason already quotes it where it matters.
    return None if outcome is None else {"status": outcome.status, "code": outcome.code}


def _outcome(raw: Any, where: str, field: str) -> Outcome | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CellFileError(f"{where}: '{field}' must be an object with status and code, or null")
    values: dict[str, int | None] = {}
    for key in ("status", "code"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise CellFileError(f"{where}: '{field}.{key}' must be an integer or null")
        values[key] = value
    status = values["status"]
    if status is None:
        # An answer without a status is no answer: older files wrote {"status": null}.
        return None
    return Outcome(status, values["code"])


def dumps_matrix(cells: Iterable[Cell], *, shards: int | None = None) -> str:
    """``shards``: the merged matrix of that many shards (``keyprobe merge``)."""
    document: dict[str, Any] = {"schema": SCHEMA}
    if shards is not None:
        document["shards"] = shards
    document["cells"] = [c.to_dict() for c in cells]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_matrix(data: Any, source: str = "matrix.json") -> list[Cell]:
    if isinstance(data, list):
        raw_cells: Any = data  # schema 0: keyprobe 0.1 wrote the bare list
    elif isinstance(data, dict):
        schema = data.get("schema")
        if schema != SCHEMA:
            raise CellFileError(
                f"{source}: schema {schema!r} is not one this keyprobe reads ({SCHEMA}); "
                "rebuild it with this version's `pytest suites/`"
            )
        raw_cells = data.get("cells")
        shards = data.get("shards", 1)
        if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
            raise CellFileError(f"{source}: 'shards' must be a positive integer or absent")
        if not isinstance(raw_cells, list):
            raise CellFileError(f"{source}: 'cells' must be a list")
    else:
        raise CellFileError(
            f"{source}: expected a JSON object with schema and cells, got {type(data).__name__}"
        )
    return [Cell.from_dict(raw, f"{source}: cell {i}") for i, raw in enumerate(raw_cells)]


def load_matrix(path: Path) -> list[Cell]:
    """The cells of ``path``; CellFileError (one line naming the file) for anything unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CellFileError(f"{path} not found: run the suites first (`pytest suites/`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CellFileError(f"{path}: cannot read it ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CellFileError(f"{path}: not valid JSON ({exc})") from None
    return parse_matrix(data, str(path))


def matrix_shards(path: Path) -> int:
    """How many shards ``path``'s matrix was merged from (1: one run, not merged)."""
    load_matrix(path)  # the one place that says what is wrong with the file
    data = json.loads(path.read_text(encoding="utf-8"))
    return int(data.get("shards", 1)) if isinstance(data, dict) else 1


def load_run_json(path: Path) -> dict[str, Any]:
    """A run's run.json (written by the suites' controller or ``keyprobe merge``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CellFileError(f"{path} not found: not a finished run of `pytest suites/`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CellFileError(f"{path}: cannot read it ({exc})") from None
    if not isinstance(data, dict):
        raise CellFileError(f"{path}: expected a JSON object")
    return data


def write_atomically(path: Path, text: str) -> None:
    """Whole or not at all: a run stopped mid-write (Ctrl-C, CI timeout) leaves the previous
    file, never half of a new one, for ``keyprobe report`` and ``keyprobe gate`` to read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
