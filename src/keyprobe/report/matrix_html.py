"""``reports/matrix.html``: the profiles × probes picture of a run, rendered from
``matrix.json`` alone into one self-contained page (inline CSS, no script, no outside asset)."""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERDICTS = ("pass", "LEAK", "MISSING", "MISMATCH", "BROKEN", "skipped")
CATEGORIES = ("read", "order", "cancel", "forbidden", "auth")

# Colour carries the severity (design: LEAK blocker, MISSING critical); the label repeats it
# in text so that the grid also reads without colour.
COLOURS = {
    "pass": "#c8f0cf",
    "LEAK": "#d7191c",
    "MISSING": "#f28e2b",
    "MISMATCH": "#f6d55c",
    "BROKEN": "#8e7cc3",
    "skipped": "#e5e7eb",
}
_INK = {"LEAK": "#fff", "BROKEN": "#fff"}
_LABEL = {"pass": "ok", "skipped": "skip"}
_MEANING = {
    "pass": "as declared",
    "LEAK": "allowed where it must be denied",
    "MISSING": "denied where it should be allowed",
    "MISMATCH": "another answer than expected",
    "BROKEN": "target or infrastructure failed",
    "skipped": "the target cannot show this",
}


class MatrixError(Exception):
    """matrix.json is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None
    code: int | None

    def __str__(self) -> str:
        status = "-" if self.status is None else str(self.status)
        return status if self.code is None else f"{status}/{self.code}"


@dataclass(frozen=True, slots=True)
class MatrixCell:
    profile: str
    probe: str
    category: str
    target: str
    expected: Answer | None
    actual: Answer | None
    verdict: str
    reason: str = ""
    # A retried cell: what its first (BROKEN) attempt said.
    first_attempt: str | None = None


def _answer(raw: Any, where: str, field: str) -> Answer | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MatrixError(f"{where}: '{field}' must be an object with status and code or null")
    values = {}
    for key in ("status", "code"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise MatrixError(f"{where}: '{field}.{key}' must be an integer or null")
        values[key] = value
    return Answer(values["status"], values["code"])


def parse_cells(data: Any, source: str = "matrix.json") -> list[MatrixCell]:
    if isinstance(data, dict) and data.get("schema") == 1:
        data = data.get("cells")  # matrix.json schema 1 (keyprobe.cells)
    if not isinstance(data, list):
        raise MatrixError(f"{source}: expected a JSON list of cells, got {type(data).__name__}")
    cells = []
    for i, raw in enumerate(data):
        where = f"{source}: cell {i}"
        if not isinstance(raw, dict):
            raise MatrixError(f"{where}: expected an object")
        text = {}
        for key in ("profile", "probe", "category", "target", "verdict"):
            value = raw.get(key)
            if not isinstance(value, str) or not value:
                raise MatrixError(f"{where}: '{key}' must be a non-empty string")
            text[key] = value
        if text["verdict"] not in VERDICTS:
            raise MatrixError(
                f"{where}: unknown verdict {text['verdict']!r} (one of {', '.join(VERDICTS)})"
            )
        reason = raw.get("reason") or ""
        if not isinstance(reason, str):
            raise MatrixError(f"{where}: 'reason' must be a string")
        first = raw.get("first_attempt")
        if first is not None and not isinstance(first, str):
            raise MatrixError(f"{where}: 'first_attempt' must be a string or absent")
        cells.append(
            MatrixCell(
                expected=_answer(raw.get("expected"), where, "expected"),
                actual=_answer(raw.get("actual"), where, "actual"),
                reason=reason,
                first_attempt=first,
                **text,
            )
        )
    return cells


def load_cells(path: Path) -> list[MatrixCell]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MatrixError(f"{path} not found: run the suites first (`pytest suites/`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MatrixError(f"{path}: cannot read it ({exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MatrixError(f"{path}: not valid JSON ({exc})") from None
    return parse_cells(data, str(path))


def _ordered(values: Sequence[str]) -> list[str]:
    """First-seen order: the harness writes cells in the declared profile and probe order."""
    return list(dict.fromkeys(values))


def _tooltip(cell: MatrixCell) -> str:
    lines = [
        f"{cell.profile} × {cell.probe} ({cell.category}, {cell.target})",
        f"expected: {cell.expected if cell.expected else '-'}",
        f"actual: {cell.actual if cell.actual else 'no answer'}",
        f"verdict: {cell.verdict} — {_MEANING[cell.verdict]}",
    ]
    if cell.reason:
        lines.append(cell.reason)
    if cell.first_attempt:
        lines.append(f"retried once; first attempt: {cell.first_attempt}")
    return "\n".join(lines)


def _grid(target: str, cells: list[MatrixCell]) -> str:
    e = html.escape
    profiles = _ordered([c.profile for c in cells])
    probes = _ordered([c.probe for c in cells])
    category_of = {c.probe: c.category for c in cells}
    rank = {name: i for i, name in enumerate(CATEGORIES)}
    probes.sort(key=lambda p: rank.get(category_of[p], len(rank)))  # stable: keeps first-seen
    by_key = {(c.profile, c.probe): c for c in cells}

    groups: list[tuple[str, int]] = []
    for probe in probes:
        if groups and groups[-1][0] == category_of[probe]:
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((category_of[probe], 1))
    out = [f'<section class="target"><h2>target: {e(target)}</h2>', '<table class="grid">']
    out.append('<thead><tr><th class="corner" rowspan="2">profile \\ probe</th>')
    out += [f'<th class="cat" colspan="{n}">{e(cat)}</th>' for cat, n in groups]
    out.append('<th class="tot" rowspan="2">not ok</th></tr><tr>')
    out += [f'<th class="probe"><span>{e(p)}</span></th>' for p in probes]
    out.append("</tr></thead><tbody>")
    for profile in profiles:
        row = [f'<tr><th class="profile">{e(profile)}</th>']
        bad = 0
        for probe in probes:
            cell = by_key.get((profile, probe))
            if cell is None:
                row.append('<td class="cell none" title="not run">·</td>')
                continue
            bad += cell.verdict not in ("pass", "skipped")
            # A passing cell shows the answer it got, so the grid reads as the key's shape.
            passed = cell.verdict == "pass" and cell.actual is not None
            label = str(cell.actual) if passed else _LABEL.get(cell.verdict, cell.verdict)
            row.append(
                f'<td class="cell v-{cell.verdict}" data-verdict="{e(cell.verdict)}" '
                f'title="{e(_tooltip(cell))}">{e(label)}</td>'
            )
        row.append(f'<td class="tot{" bad" if bad else ""}">{bad}</td></tr>')
        out.append("".join(row))
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _style() -> str:
    verdict_rules = "\n".join(
        f".v-{v}{{background:{c};color:{_INK.get(v, '#111')}}}" for v, c in COLOURS.items()
    )
    return (
        "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;background:#fff}"
        "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
        ".sub{color:#555;margin:0 0 16px}"
        "table{border-collapse:collapse}"
        ".grid th,.grid td{border:1px solid #d1d5db;padding:3px 5px;text-align:center}"
        ".grid th.profile{text-align:left;white-space:nowrap;background:#f9fafb}"
        ".grid th.cat{background:#f3f4f6;text-transform:uppercase;font-size:11px;"
        "letter-spacing:.05em}"
        ".grid th.probe{vertical-align:bottom;background:#f9fafb;font-weight:500;"
        "font-size:12px}"
        ".grid th.probe span{writing-mode:vertical-rl;transform:rotate(180deg);"
        "white-space:nowrap}"
        ".grid td.cell{min-width:30px;font-size:11px;font-weight:600;cursor:help}"
        ".grid td.none{color:#9ca3af}"
        ".grid td.tot{font-weight:700}.grid td.tot.bad{color:#d7191c}"
        ".grid td.cell:hover{outline:2px solid #111;outline-offset:-2px}"
        ".totals td,.totals th{padding:4px 10px;border:1px solid #d1d5db;text-align:left}"
        ".swatch{display:inline-block;width:14px;height:14px;border-radius:3px;"
        "vertical-align:middle;margin-right:6px;border:1px solid #0002}"
        ".verdict-ok{color:#166534;font-weight:700}.verdict-bad{color:#d7191c;font-weight:700}"
        f"\n{verdict_rules}"
    )


def render(cells: Sequence[MatrixCell], title: str = "keyprobe — permission matrix") -> str:
    """The whole page. Every string from the JSON is HTML-escaped; nothing else is inserted."""
    e = html.escape
    counts = Counter(c.verdict for c in cells)
    failing = counts["LEAK"] + counts["MISSING"]
    targets = _ordered([c.target for c in cells])
    summary = (
        f'<p class="sub">{len(cells)} cells · {len(_ordered([c.profile for c in cells]))} '
        f"profiles · {len(_ordered([c.probe for c in cells]))} probes · "
        f"target{'s' if len(targets) != 1 else ''}: {e(', '.join(targets)) or '-'} · "
        + (
            f'<span class="verdict-bad">{failing} LEAK/MISSING</span>'
            if failing
            else '<span class="verdict-ok">no LEAK, no MISSING</span>'
        )
        + "</p>"
    )
    totals = [
        '<table class="totals" id="totals"><tr><th>verdict</th><th>cells</th><th>meaning</th></tr>'
    ]
    for verdict in VERDICTS:
        totals.append(
            f'<tr data-verdict="{verdict}"><td><span class="swatch v-{verdict}"></span>'
            f'{verdict}</td><td class="count">{counts[verdict]}</td>'
            f"<td>{_MEANING[verdict]}</td></tr>"
        )
    totals.append(f'<tr><th>total</th><th id="total">{len(cells)}</th><th></th></tr></table>')
    grids = [_grid(t, [c for c in cells if c.target == t]) for t in targets]
    body = "\n".join([f"<h1>{e(title)}</h1>", summary, "".join(totals), *grids])
    if not cells:
        body += '\n<p class="sub">matrix.json holds no cells.</p>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        # No network at all: a CSP that forbids every fetch proves it in the browser too.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_style()}</style></head>\n"
        f'<body>\n{body}\n<p class="sub">Hover a cell for expected vs actual.</p>\n'
        "</body></html>\n"
    )


def write_matrix_html(source: Path, target: Path) -> Path:
    """Render ``source`` (matrix.json) into ``target`` atomically: a reader never sees half a
    page, and a malformed source leaves an existing page untouched."""
    page = render(load_cells(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the page is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
