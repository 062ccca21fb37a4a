"""The emulator's unsettled answers as one table of values: ``QUESTIONS`` (the questions of
``unsettled_table.py`` with their defaults), ``Behaviour`` (a value for every question),
``DEFAULT`` (read from the packaged ``behaviour.toml``, the one place a default is written), and
the behaviour file: TOML, one table per section (``[rest]``, ``[ws]`` ...), key = setting name.
A partial file keeps the default of every key it does not name. The emulator's settings objects
and the harness constants that mirror an emulator choice are views of a ``Behaviour``."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from keyprobe.binance.errors import CATALOGUE, error
from keyprobe.binance.outcome import Outcome
from keyprobe.binance.unsettled_readers import Value
from keyprobe.binance.unsettled_table import ENTRIES, Entry

__all__ = [
    "DEFAULT",
    "QUESTIONS",
    "Behaviour",
    "BehaviourError",
    "Question",
    "describe",
    "dump_behaviour",
    "load_behaviour",
    "propose",
    "refusal",
]

PACKAGED = "behaviour.toml"
# The packaged file's head; the file is render_behaviour(DEFAULT, note=PACKAGED_NOTE) (a test
# holds it so: its comments are the table's questions and evidence).
PACKAGED_NOTE = """\
The emulator's answers to the questions Binance's docs and users' captures leave open.
keyprobe reads this file for the embedded emulator and for `keyprobe emulator` (give another
with --behaviour FILE; a partial file keeps these values for every key it does not name).
A recorded live run that settles a question lands here, as a pull request: change the value;
the question and the evidence are src/keyprobe/binance/unsettled_table.py's."""


class BehaviourError(Exception):
    """A behaviour file that cannot be used; the message is one line: file, key, why."""


@dataclass(frozen=True)
class Question:
    id: str  # "section.name"
    question: str
    default: Value
    evidence: str
    # (status, code, msg) of one recorded answer -> the value that reproduces it, or None.
    from_answer: Callable[[int, int | None, str | None], Value] | None
    kind: type[bool] | type[int] | type[str] = int
    choices: tuple[str, ...] = ()

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]


_ENTRIES: dict[str, Entry] = {e.id: e for e in ENTRIES}
_TYPE_NAME = {bool: "a boolean", int: "an integer", str: "a string"}


def _shown(value: object) -> str:
    """A value as the file would spell it."""
    if isinstance(value, bool | int | str):
        return _toml_value(value)
    return repr(value)


def _why_not(entry: Entry, value: object) -> str | None:
    """Why ``value`` cannot be ``entry``'s value (None: it can). bool is not an int here."""
    if type(value) is not entry.kind:
        expected = _TYPE_NAME[entry.kind]
        if entry.choices:
            expected = "one of " + ", ".join(entry.choices)
        return f"expected {expected}, got {_shown(value)}"
    if entry.choices and value not in entry.choices:
        return f"expected one of {', '.join(entry.choices)}, got {_shown(value)}"
    if entry.id.endswith("_code") and value not in CATALOGUE:
        # The emulator answers with the catalogue's status and message for the code.
        return f"expected a code of the error catalogue (binance/errors.py), got {_shown(value)}"
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if entry.id.endswith("_status") and not 100 <= value <= 599:
        return f"expected an HTTP status (100-599), got {_shown(value)}"
    if not entry.id.endswith(("_code", "_status")) and value < 0:  # sizes, counts, times
        return f"expected an integer >= 0, got {_shown(value)}"
    return None


def _why_inconsistent(values: Mapping[str, Value]) -> str | None:
    """A message variant must exist for its code (the sub-account refusal's)."""
    code = values["families.sub_on_master_only_code"]
    variant = values["families.sub_on_master_only_variant"]
    assert isinstance(code, int) and isinstance(variant, int)  # noqa: S101  # checked types
    count = len(CATALOGUE[code].messages)
    if variant >= count:
        return f"families.sub_on_master_only_variant: expected below {count} for code {code}"
    return None


def _check(values: Mapping[str, object], where: str) -> dict[str, Value]:
    checked: dict[str, Value] = {}
    for key, value in values.items():
        entry = _ENTRIES.get(key)
        if entry is None:
            raise BehaviourError(f"{where}: {key}: not a known setting")
        why = _why_not(entry, value)
        if why is not None:
            raise BehaviourError(f"{where}: {key}: {why}")
        checked[key] = value  # type: ignore[assignment]  # checked against entry.kind above
    return checked


class Behaviour:
    """A value for every question id; immutable. ``with_values`` validates what it is given."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Value], *, where: str = "behaviour") -> None:
        missing = sorted(set(_ENTRIES) - set(values))
        if missing:
            raise BehaviourError(f"{where}: {missing[0]}: no value")
        checked = _check(values, where)
        why = _why_inconsistent(checked)
        if why is not None:
            raise BehaviourError(f"{where}: {why}")
        self._values: Mapping[str, Value] = MappingProxyType(checked)

    def value(self, question_id: str) -> Value:
        try:
            return self._values[question_id]
        except KeyError:
            raise KeyError(f"{question_id}: not a known setting") from None

    def integer(self, question_id: str) -> int:
        value = self.value(question_id)
        assert type(value) is int, question_id  # noqa: S101  # the table says int
        return value

    def flag(self, question_id: str) -> bool:
        value = self.value(question_id)
        assert type(value) is bool, question_id  # noqa: S101
        return value

    def text(self, question_id: str) -> str:
        value = self.value(question_id)
        assert type(value) is str, question_id  # noqa: S101
        return value

    def with_values(self, values: Mapping[str, object], *, where: str = "behaviour") -> Behaviour:
        return Behaviour({**self._values, **_check(values, where)}, where=where)

    def values(self) -> Mapping[str, Value]:
        return self._values

    def changed(self, base: Behaviour | None = None) -> dict[str, Value]:
        """The values that differ from ``base`` (default: ``DEFAULT``)."""
        other = (base or DEFAULT)._values
        return {k: v for k, v in self._values.items() if other[k] != v}

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Behaviour) and dict(self._values) == dict(other._values)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return f"Behaviour({dict(self._values)!r})"


def _flatten(document: Mapping[str, object], where: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    sections = {e.id.split(".", 1)[0] for e in ENTRIES}
    for section, table in document.items():
        if section not in sections:
            raise BehaviourError(f"{where}: [{section}]: not a known section")
        if not isinstance(table, dict):
            raise BehaviourError(f"{where}: {section}: expected a table [{section}]")
        for name, value in table.items():
            flat[f"{section}.{name}"] = value
    return flat


def _read(text: str, where: str) -> dict[str, object]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BehaviourError(f"{where}: not valid TOML: {exc}") from None
    return _flatten(document, where)


def _packaged() -> dict[str, Value]:
    text = resources.files("keyprobe.binance").joinpath(PACKAGED).read_text(encoding="utf-8")
    return _check(_read(text, PACKAGED), PACKAGED)


# The packaged file names every setting (Behaviour refuses one without a value).
DEFAULT = Behaviour(_packaged())
QUESTIONS: tuple[Question, ...] = tuple(
    Question(e.id, e.question, DEFAULT.value(e.id), e.evidence, e.from_answer, e.kind, e.choices)
    for e in ENTRIES
)
BY_ID: Mapping[str, Question] = MappingProxyType({q.id: q for q in QUESTIONS})


def describe(behaviour: Behaviour) -> list[str]:
    """Every unsettled answer in one place, for a person: id, value, default, question and
    evidence, the changed ones marked."""
    lines: list[str] = []
    for q in QUESTIONS:
        value = behaviour.value(q.id)
        mark = "changed, " if value != q.default else ""
        lines.append(f"{q.id} = {_toml_value(value)}   ({mark}default {_toml_value(q.default)})")
        lines += [f"    {q.question}", f"    evidence: {q.evidence}"]
    changed = len(behaviour.changed())
    lines.append(f"{len(QUESTIONS)} unsettled answers, {changed} changed from the packaged file")
    return lines


Answer = tuple[int, int | None, str | None]  # (status, code, msg) as recorded


def propose(answers: Mapping[str, Answer], base: Behaviour | None = None) -> dict[str, Value]:
    """The settings that reproduce recorded ``answers`` (question id -> the answer to the
    request that asks it), where they differ from ``base`` (default ``DEFAULT``): what
    ``dump_behaviour`` writes for a corpus. An answer that says nothing (``from_answer`` None
    or returning None) proposes nothing; an unknown id is a KeyError."""
    current = base or DEFAULT
    proposed: dict[str, Value] = {}
    for question_id, (status, code, msg) in answers.items():
        read = BY_ID[question_id].from_answer
        value = read(status, code, msg) if read is not None else None
        if value is not None and value != current.value(question_id):
            proposed[question_id] = value
    current.with_values(proposed)  # a proposal is a legal behaviour (a code in the catalogue)
    return proposed


def refusal(question_id: str, behaviour: Behaviour | None = None) -> Outcome:
    """The answer a code-valued setting chooses: the catalogue's status and message for it
    (what the emulator sends, and what a harness constant mirroring the choice expects)."""
    exc = error((behaviour or DEFAULT).integer(question_id))
    return Outcome(exc.status, exc.code, exc.msg)


def load_behaviour(path: Path, base: Behaviour | None = None) -> Behaviour:
    """``base`` (default ``DEFAULT``) with the values of the file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BehaviourError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BehaviourError(f"{path}: not UTF-8 text") from None
    return (base or DEFAULT).with_values(_read(text, str(path)), where=str(path))


def _toml_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a JSON string is a TOML basic string (checked by reading back)


def render_behaviour(values: Mapping[str, object], *, note: str = "") -> str:
    """The TOML text of ``values`` (validated), each key under its question and evidence."""
    checked = _check(values, "behaviour")
    lines = [f"# {line}" for line in note.splitlines()]
    section = ""
    for q in QUESTIONS:
        if q.id not in checked:
            continue
        if q.section != section:
            section = q.section
            lines += ["", f"[{section}]"]
        lines += [f"# {q.question}", f"# evidence: {q.evidence}"]
        lines.append(f"{q.name} = {_toml_value(checked[q.id])}")
    text = "\n".join(lines).lstrip("\n") + "\n"
    if _check(_read(text, "rendered"), "rendered") != checked:
        raise BehaviourError("behaviour: a value does not survive TOML")  # pragma: no cover
    return text


def dump_behaviour(values: Mapping[str, object], path: Path, *, note: str = "") -> None:
    """Write ``values`` (some or all settings) as a behaviour file ``load_behaviour`` reads."""
    path.write_text(render_behaviour(values, note=note), encoding="utf-8")
