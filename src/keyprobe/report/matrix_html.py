"""``reports/matrix.html``: the profiles × probes picture of a run, rendered from
``matrix.json`` (read by :mod:`keyprobe.cells`, the one parser of a cell) into one
self-contained page: inline CSS, no script, no outside asset.

Made to be read on a laptop (1,366 px) when the grid is wider than the screen: the header and
the profile column stay in place while the grid scrolls, cells are two short lines, and CSS-only
filters (radio buttons) show one probe family or one transport at a time. Columns are keyed by
transport × probe, so a second transport (``ws-api``) adds a column group, not a new page."""

from __future__ import annotations

import html
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from keyprobe.cells import VERDICTS, Cell, CellFileError, Verdict, load_matrix

# The old name of the error, for callers that still catch it.
MatrixError = CellFileError

# Probe families in the order the suites run them; a family keyprobe does not know yet goes
# after these, in the order the run met it.
CATEGORIES = ("read", "order", "cancel", "forbidden", "auth")

# Colour carries the severity (design: LEAK blocker, MISSING critical); the label repeats it
# in text so that the grid also reads without colour.
COLOURS = {
    Verdict.PASS: "#c8f0cf",
    Verdict.LEAK: "#d7191c",
    Verdict.MISSING: "#f28e2b",
    Verdict.MISMATCH: "#f6d55c",
    Verdict.BROKEN: "#8e7cc3",
    Verdict.SKIPPED: "#e5e7eb",
}
_INK = {Verdict.LEAK: "#fff", Verdict.BROKEN: "#fff"}
# What a cell's first line says when it is not a pass (a pass shows the status it got): short
# enough for a 40 px cell; the legend spells each one out.
TAGS = {
    Verdict.LEAK: "LEAK",
    Verdict.MISSING: "MISS",
    Verdict.MISMATCH: "DIFF",
    Verdict.BROKEN: "BRKN",
    Verdict.SKIPPED: "skip",
}


def _ordered(values: Sequence[str]) -> list[str]:
    """First-seen order: the harness writes cells in the declared profile and probe order."""
    return list(dict.fromkeys(values))


def _tooltip(cell: Cell) -> str:
    lines = [
        f"{cell.profile} × {cell.probe} ({cell.category}, {cell.transport}, {cell.target})",
        f"expected: {cell.expected.short() if cell.expected else '-'}",
        f"actual: {cell.actual.short() if cell.actual else 'no answer'}",
        f"verdict: {cell.verdict.value} — {cell.verdict.meaning}",
    ]
    if cell.reason:
        lines.append(cell.reason)
    if cell.first_attempt:
        lines.append(f"retried once; first attempt: {cell.first_attempt}")
    return "\n".join(lines)


def _lines(cell: Cell) -> tuple[str, str]:
    """The two lines of a cell: a pass shows the answer it got (status over code) so that the
    grid reads as the key's permission shape; anything else its tag over what it got."""
    actual = cell.actual
    if cell.verdict is Verdict.PASS and actual is not None:
        return str(actual.status), "" if actual.code is None else str(actual.code)
    got = "" if actual is None else actual.short().rsplit("/", 1)[-1]  # the code, else status
    return TAGS.get(cell.verdict, cell.verdict.value), got


class _Columns:
    """The grid's columns: transport × probe, grouped by transport and family, with the
    index-based class names the filters use (values from the JSON never reach the CSS)."""

    def __init__(self, cells: Sequence[Cell], families: list[str], transports: list[str]) -> None:
        category_of = {(c.transport, c.probe): c.category for c in cells}
        rank = {name: i for i, name in enumerate(families)}
        t_rank = {name: i for i, name in enumerate(transports)}
        pairs = list(dict.fromkeys((c.transport, c.probe) for c in cells))
        # A stable sort keeps the first-seen probe order within a transport and family.
        pairs.sort(key=lambda p: (t_rank[p[0]], rank[category_of[p]]))
        self.columns: list[tuple[str, str, str]] = [(t, p, category_of[(t, p)]) for t, p in pairs]
        self.family_class = {f: f"f{i}" for i, f in enumerate(families)}
        self.transport_class = {t: f"t{i}" for i, t in enumerate(transports)}

    def classes(self, transport: str, family: str) -> str:
        return f"{self.family_class[family]} {self.transport_class[transport]}"


def _groups(columns: list[tuple[str, str, str]]) -> list[tuple[str, str, int]]:
    """Runs of columns of one transport and family: (transport, family, how many)."""
    out: list[tuple[str, str, int]] = []
    for transport, _probe, family in columns:
        if out and out[-1][:2] == (transport, family):
            out[-1] = (transport, family, out[-1][2] + 1)
        else:
            out.append((transport, family, 1))
    return out


def _grid(target: str, cells: list[Cell], columns: _Columns, show_transport: bool) -> str:
    e = html.escape
    profiles = _ordered([c.profile for c in cells])
    by_key = {c.key: c for c in cells}
    present = {(c.transport, c.probe) for c in cells}
    cols = [col for col in columns.columns if (col[0], col[1]) in present]
    out = [
        f'<section class="target"><h2>target: {e(target)}</h2>',
        '<div class="scroller"><table class="grid">',
        '<thead><tr><th class="corner" rowspan="2">profile \\ probe</th>',
    ]
    for transport, family, n in _groups(cols):
        label = f"{e(family)}<small>{e(transport)}</small>" if show_transport else e(family)
        out.append(
            f'<th class="cat {columns.classes(transport, family)}" colspan="{n}" '
            f'data-family="{e(family)}" data-transport="{e(transport)}">{label}</th>'
        )
    out.append('<th class="tot" rowspan="2" title="cells neither pass nor skipped">not ok</th>')
    out.append("</tr><tr>")
    out += [
        f'<th class="probe {columns.classes(t, f)}" title="{e(p)} ({e(f)}, {e(t)})">'
        f"<span>{e(p)}</span></th>"
        for t, p, f in cols
    ]
    out.append("</tr></thead><tbody>")
    for profile in profiles:
        row = [f'<tr><th class="profile" scope="row">{e(profile)}</th>']
        bad: Counter[tuple[str, str]] = Counter()
        for transport, probe, family in cols:
            classes = columns.classes(transport, family)
            cell = by_key.get((profile, probe, transport))
            if cell is None:
                row.append(f'<td class="cell none {classes}" title="not run">·</td>')
                continue
            if cell.verdict.failed:
                bad.update(_scopes(columns, transport, family))
            top, bottom = _lines(cell)
            row.append(
                f'<td class="cell v-{cell.verdict.value} {classes}" '
                f'data-verdict="{e(cell.verdict.value)}" data-profile="{e(cell.profile)}" '
                f'data-probe="{e(cell.probe)}" data-transport="{e(cell.transport)}" '
                f'title="{e(_tooltip(cell))}">{e(top)}<br><small>{e(bottom)}</small></td>'
            )
        row.append(_total(columns, bad) + "</tr>")
        out.append("".join(row))
    out.append("</tbody></table></div></section>")
    return "\n".join(out)


def _scopes(columns: _Columns, transport: str, family: str) -> list[tuple[str, str]]:
    """The filter settings (family, transport) under which a column is shown."""
    f, t = columns.family_class[family], columns.transport_class[transport]
    return [(f, t), (f, "all"), ("all", t), ("all", "all")]


def _total(columns: _Columns, bad: Counter[tuple[str, str]]) -> str:
    """A row's count of cells that are neither pass nor skipped, for every filter setting;
    the stylesheet shows the one of the checked filters (all × all by default)."""
    spans = []
    for f in ["all", *columns.family_class.values()]:
        for t in ["all", *columns.transport_class.values()]:
            n = bad[(f, t)]
            spans.append(f'<span class="n n-{f}-{t}{" bad" if n else ""}">{n}</span>')
    return f'<td class="tot">{"".join(spans)}</td>'


def _filters(name: str, legend: str, values: list[str], classes: dict[str, str]) -> tuple[str, str]:
    """Radio buttons (siblings of the grids, so CSS can react to them) and their labels."""
    e = html.escape
    inputs = [f'<input type="radio" name="{name}" id="{name}-all" class="flt" checked>']
    labels = [f'<label for="{name}-all">all</label>']
    for value in values:
        ident = f"{name}-{classes[value]}"
        inputs.append(f'<input type="radio" name="{name}" id="{ident}" class="flt">')
        labels.append(f'<label for="{ident}">{e(value)}</label>')
    return "".join(inputs), f'<span class="group"><b>{legend}</b>{"".join(labels)}</span>'


def _style(columns: _Columns, head_px: int) -> str:
    verdict_rules = "".join(
        f".v-{v.value}{{background:{c};color:{_INK.get(v, '#111')}}}" for v, c in COLOURS.items()
    )
    filter_rules = []
    for name, classes in (("family", columns.family_class), ("transport", columns.transport_class)):
        for cls in classes.values():
            ident = f"{name}-{cls}"
            filter_rules.append(
                f"#{ident}:checked~main .cell:not(.{cls}),"
                f"#{ident}:checked~main th.cat:not(.{cls}),"
                f"#{ident}:checked~main th.probe:not(.{cls}){{display:none}}"
                f"#{ident}:checked~nav label[for={ident}]{{background:#1f2937;color:#fff}}"
            )
        filter_rules.append(
            f"#{name}-all:checked~nav label[for={name}-all]{{background:#1f2937;color:#fff}}"
        )
    for f in ["all", *columns.family_class.values()]:
        for t in ["all", *columns.transport_class.values()]:
            filter_rules.append(
                f"#family-{f}:checked~#transport-{t}:checked~main td.tot .n-{f}-{t}"
                "{display:inline}"
            )
    return (
        "*{box-sizing:border-box}"
        "body{font:13px/1.35 system-ui,sans-serif;margin:12px 16px;color:#111;background:#fff}"
        "h1{font-size:19px;margin:0 0 2px}h2{font-size:14px;margin:10px 0 4px}"
        ".sub{color:#555;margin:0 0 6px}"
        "header{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}"
        "header>div{flex:1 1 420px;max-width:760px}header>table{flex:0 0 auto}"
        "table{border-collapse:separate;border-spacing:0}"
        ".flt{position:absolute;opacity:0;pointer-events:none}"
        "nav{display:flex;gap:18px;flex-wrap:wrap;margin:4px 0 2px}"
        "nav .group b{font-weight:600;margin-right:6px;color:#374151}"
        "nav label{display:inline-block;padding:1px 8px;margin-right:2px;border:1px solid #d1d5db;"
        "border-radius:10px;cursor:pointer;font-size:12px;background:#f9fafb}"
        "nav label:hover{border-color:#111}"
        # The grid scrolls inside its box; the header rows and the profile column stay.
        ".scroller{overflow:auto;max-height:calc(100vh - 40px);max-width:100%;"
        "border:1px solid #d1d5db;display:inline-block}"
        ".grid th,.grid td{border-right:1px solid #d1d5db;border-bottom:1px solid #d1d5db;"
        "padding:2px 3px;text-align:center}"
        ".grid thead th{position:sticky;background:#f3f4f6;z-index:2}"
        f".grid thead tr:first-child th{{top:0;height:{head_px}px}}"
        f".grid thead tr+tr th{{top:{head_px}px}}"
        ".grid th.corner{left:0;z-index:4;text-align:left;font-size:11px;color:#555;"
        "vertical-align:bottom}"
        ".grid th.profile{position:sticky;left:0;z-index:1;text-align:left;white-space:nowrap;"
        "background:#f9fafb;font-size:12px;max-width:160px;overflow:hidden;text-overflow:ellipsis}"
        ".grid th.cat{text-transform:uppercase;font-size:10px;letter-spacing:.05em;"
        "white-space:nowrap}"
        ".grid th.cat small{display:block;text-transform:none;letter-spacing:0;color:#555;"
        "font-weight:400}"
        ".grid th.probe{vertical-align:bottom;font-weight:500;font-size:11px;padding:4px 2px}"
        ".grid th.probe span{writing-mode:vertical-rl;transform:rotate(180deg);"
        "white-space:nowrap}"
        ".grid td.cell{width:40px;min-width:40px;max-width:40px;height:30px;font-size:10px;"
        "font-weight:700;line-height:1.15;cursor:help;white-space:nowrap;overflow:hidden}"
        ".grid td.cell small{font-size:10px;font-weight:400}"
        ".grid td.none{color:#9ca3af}"
        # The per-profile count stays on the right edge while the grid scrolls.
        ".grid th.tot{white-space:nowrap;right:0;z-index:4;border-left:1px solid #d1d5db}"
        ".grid td.tot{position:sticky;right:0;z-index:1;border-left:1px solid #d1d5db;"
        "font-weight:700;background:#fff}.grid td.tot .bad{color:#d7191c}"
        ".grid td.tot .n{display:none}"
        ".grid td.cell:hover{outline:2px solid #111;outline-offset:-2px}"
        ".totals td,.totals th{padding:1px 8px;border-bottom:1px solid #e5e7eb;text-align:left;"
        "font-size:12px}"
        ".totals td.count{text-align:right;font-weight:700}"
        ".swatch{display:inline-block;min-width:30px;padding:0 3px;border-radius:3px;"
        "text-align:center;font-size:10px;font-weight:700;margin-right:6px;border:1px solid #0002}"
        ".verdict-ok{color:#166534;font-weight:700}.verdict-bad{color:#d7191c;font-weight:700}"
        + verdict_rules
        + "".join(filter_rules)
    )


def render(cells: Sequence[Cell], title: str = "keyprobe — permission matrix") -> str:
    """The whole page. Every string from the JSON is HTML-escaped; class names and ids are
    made by keyprobe (indexes), never taken from the JSON."""
    e = html.escape
    counts = Counter(c.verdict for c in cells)
    failing = counts[Verdict.LEAK] + counts[Verdict.MISSING]
    targets = _ordered([c.target for c in cells])
    transports = _ordered([c.transport for c in cells])
    seen_families = _ordered([c.category for c in cells])
    families = [f for f in CATEGORIES if f in seen_families]
    families += [f for f in seen_families if f not in CATEGORIES]
    columns = _Columns(cells, families, transports)
    summary = (
        f'<p class="sub">{len(cells)} cells · {len(_ordered([c.profile for c in cells]))} '
        f"profiles · {len(_ordered([c.probe for c in cells]))} probes · "
        f"transport{'s' if len(transports) != 1 else ''}: {e(', '.join(transports)) or '-'} · "
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
        tag = "200" if verdict is Verdict.PASS else TAGS[verdict]
        totals.append(
            f'<tr data-verdict="{verdict.value}"><td><span class="swatch v-{verdict.value}">'
            f'{tag}</span>{verdict.value}</td><td class="count">{counts[verdict]}</td>'
            f"<td>{verdict.meaning}</td></tr>"
        )
    totals.append(f'<tr><th>total</th><th id="total">{len(cells)}</th><th></th></tr></table>')
    family_inputs, family_labels = _filters("family", "family", families, columns.family_class)
    transport_inputs, transport_labels = _filters(
        "transport", "transport", transports, columns.transport_class
    )
    show_transport = len(transports) > 1
    grids = [
        _grid(t, [c for c in cells if c.target == t], columns, show_transport) for t in targets
    ]
    head = (
        f'<header><div><h1>{e(title)}</h1>{summary}<p class="sub">A pass shows the answer it '
        "got (status over code); any other cell its verdict over what it got. Hover a cell for "
        "expected vs actual and the reason.</p></div>" + "".join(totals) + "</header>"
    )
    nav = f'<nav aria-label="show">{family_labels}{transport_labels}</nav>'
    body = "\n".join([family_inputs + transport_inputs, head, nav, "<main>", *grids, "</main>"])
    if not cells:
        body += '\n<p class="sub">matrix.json holds no cells.</p>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        # No network at all: a CSP that forbids every fetch proves it in the browser too.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_style(columns, 34 if show_transport else 22)}"
        "</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_matrix_html(source: Path, target: Path) -> Path:
    """Render ``source`` (matrix.json) into ``target`` atomically: a reader never sees half a
    page, and a malformed source leaves an existing page untouched."""
    page = render(load_matrix(source))
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
