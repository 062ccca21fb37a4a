"""The conformance corpus: what a run asked a target and what it answered, as one JSON object
per line per exchange, with the request's *shape* only (names and value classes, never a
value) so that a corpus can be shared, replayed against the emulator and turned into the
emulator's behaviour settings. Written by ``sinks/corpus.py`` (the suites' ``--record``) and by
``keyprobe settle``; read by ``keyprobe conformance``. ``docs/corpus.schema.json`` documents a
line; this module is the one place lines are made and read."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyprobe
from keyprobe.harness.redaction import ExchangeRecord

FORMAT = 1
RUN, EXCHANGE = "run", "exchange"
# Every file of a corpus folder that is read: one per recording process (``*.part`` files are
# unfinished recordings and are never read).
SUFFIX = ".jsonl"

_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*")
# Parameters whose value is a secret or a credential by definition: never classified further.
_SECRET_PARAMS = frozenset({"signature", "apiKey", "listenKey"})
# What key material, a signature or a listenKey looks like inside any string of a line: a run
# of 32 or more base64-alphabet characters with letters and digits (API keys and HMAC secrets
# are 64, listenKeys 60, hex signatures 64, base64 ones and PEM lines longer), or PEM armour.
# Names keyprobe writes (check ids, header names, paths) have separators and no such run; "/"
# counts as one (a path's), which a base64 value of any length still holds long runs without.
_KEYLIKE = re.compile(r"[A-Za-z0-9+=]{32,}|-----BEGIN [A-Z ]+-----")
_DIGIT, _LETTER = re.compile(r"\d"), re.compile(r"[A-Za-z]")


def value_class(name: str, value: str) -> str:
    """A parameter value's class, never the value: ``integer``, ``decimal``, ``boolean``,
    ``enum`` (an upper-case word such as ``LIMIT`` or ``BTCUSDT``), ``text``, ``empty``, or
    ``secret`` for a signature, API key or listenKey."""
    if name in _SECRET_PARAMS:
        return "secret"
    if value == "":
        return "empty"
    if value in ("true", "false"):
        return "boolean"
    if _INTEGER.fullmatch(value):
        return "integer"
    if _DECIMAL.fullmatch(value):
        return "decimal"
    if _ENUM.fullmatch(value):
        return "enum"
    return "text"


def run_line(
    target: str, surfaces: dict[str, str], *, source: str, ws_api: bool = True
) -> dict[str, Any]:
    """The first line of every corpus file: which target answered, and what it served."""
    return {
        "kind": RUN,
        "format": FORMAT,
        "source": source,
        "target": target,
        "surfaces": dict(surfaces),
        "ws_api": ws_api,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "keyprobe_version": keyprobe.__version__,
    }


@dataclass(frozen=True, slots=True)
class KeyShape:
    """The key an exchange was sent with, as declared: never the key itself."""

    kind: str  # registered | unknown | malformed
    type: str  # hmac | rsa | ed25519
    permissions: tuple[str, ...]
    ip_restricted: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "type": self.type,
            "permissions": list(self.permissions),
            "ip_restricted": self.ip_restricted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyShape:
        return cls(
            str(data["kind"]),
            str(data["type"]),
            tuple(sorted(str(p) for p in data["permissions"])),
            bool(data["ip_restricted"]),
        )


def answer_of(record: ExchangeRecord) -> dict[str, Any]:
    """What a corpus keeps of an answer: status, Binance code and message, the content type,
    and the *names* of the weight and order-count headers (their values change by the second)."""
    body = record.body
    code = msg = None
    if isinstance(body, dict) and (record.status or 0) >= 400:
        code = body.get("code") if isinstance(body.get("code"), int) else None
        msg = body.get("msg") if isinstance(body.get("msg"), str) else None
    headers = record.headers
    return {
        "status": record.status,
        "code": code,
        "msg": msg,
        "content_type": headers.get("content-type"),
        "weight_headers": sorted(h for h in headers if h.startswith("x-mbx-used-weight")),
        "order_count_headers": sorted(h for h in headers if h.startswith("x-mbx-order-count")),
        "no_answer": record.status is None,
    }


def exchange_line(
    record: ExchangeRecord,
    *,
    check: str,
    step: int,
    role: str,
    transport: str,
    key: KeyShape,
    probe: str | None = None,
    fault: str | None = None,
    question: str | None = None,
) -> dict[str, Any]:
    """One exchange of a check (``probe``) or of a settle question (``question``)."""
    return {
        "kind": EXCHANGE,
        "check": check,
        "step": step,
        "role": role,
        "probe": probe,
        "question": question,
        "fault": fault,
        "transport": transport,
        "method": record.method,
        "path": record.path,
        "params": [{"name": n, "class": value_class(n, v)} for n, v in record.params],
        "key": key.to_json(),
        "answer": answer_of(record),
    }


def role_of(title: str) -> str:
    """A step's role from its title (check.py titles steps ``setup: ...``, ``probe...``)."""
    head = title.split(":", 1)[0].split(" ", 1)[0]
    return head if head in ("setup", "safety", "probe") else "conversation"


def dumps(line: dict[str, Any]) -> str:
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class CorpusError(ValueError):
    """A corpus that cannot be used; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Line:
    path: Path
    number: int
    data: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.number}"


@dataclass(slots=True)
class CorpusFile:
    """One recording process's file: its run line and its exchanges, in order."""

    path: Path
    run: dict[str, Any]
    exchanges: list[Line]


def keylike(text: str) -> bool:
    """Whether ``text`` holds something that looks like key material (not shown, not even in
    part: the error line must not become the leak)."""
    for found in _KEYLIKE.finditer(text):
        run = found.group(0)
        if run.startswith("-----") or (_DIGIT.search(run) and _LETTER.search(run)):
            return True
    return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


_EXCHANGE_FIELDS = ("check", "step", "role", "transport", "method", "path", "params", "key")
_ANSWER_FIELDS = ("status", "code", "msg", "content_type", "weight_headers")


def _checked(path: Path, number: int, text: str) -> dict[str, Any]:
    where = f"{path}:{number}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not a JSON object ({exc.msg})") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: not a JSON object")
    if any(keylike(string) for string in _strings(data)):
        raise CorpusError(
            f"{where}: refused, holds something that looks like key material; a corpus "
            "never carries keys, secrets, signatures or listenKeys"
        )
    kind = data.get("kind")
    if kind == RUN:
        if data.get("format") != FORMAT:
            raise CorpusError(f"{where}: corpus format {data.get('format')!r}, expected {FORMAT}")
        if not isinstance(data.get("target"), str):
            raise CorpusError(f"{where}: the run line has no target")
    elif kind == EXCHANGE:
        missing = [f for f in _EXCHANGE_FIELDS if f not in data]
        answer = data.get("answer")
        if not isinstance(answer, dict):
            missing.append("answer")
        else:
            missing.extend(f"answer.{f}" for f in _ANSWER_FIELDS if f not in answer)
        if missing:
            raise CorpusError(f"{where}: an exchange without {', '.join(missing)}")
        try:
            KeyShape.from_json(data["key"])
        except (KeyError, TypeError):
            raise CorpusError(f"{where}: the key shape is incomplete") from None
    else:
        raise CorpusError(f"{where}: unknown kind {kind!r} (expected run or exchange)")
    return data


def read_file(path: Path) -> CorpusFile:
    """One corpus file, every line checked; raises CorpusError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read the corpus file ({exc})") from None
    run: dict[str, Any] | None = None
    exchanges: list[Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        data = _checked(path, number, raw)
        if data["kind"] == RUN:
            if run is not None or exchanges:
                raise CorpusError(f"{path}:{number}: a run line after the first line")
            run = data
        elif run is None:
            raise CorpusError(f"{path}:{number}: an exchange before the run line")
        else:
            exchanges.append(Line(path, number, data))
    if run is None:
        raise CorpusError(f"{path}:1: an empty corpus file (no run line)")
    return CorpusFile(path, run, exchanges)


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """The files of the corpora named: a folder's ``*.jsonl`` files, or a file itself."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(path.glob(f"*{SUFFIX}"))
            if not inside:
                raise CorpusError(f"{path}: no corpus file (*{SUFFIX}) in this folder")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise CorpusError(f"{path}: no such corpus file or folder")
    return found


def read(paths: Iterable[Path]) -> list[CorpusFile]:
    return [read_file(p) for p in corpus_files(paths)]
