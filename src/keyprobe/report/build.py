"""``keyprobe report``: Allure results → one offline ``index.html`` (plus the matrix page),
with the trend history of the previous report carried over and nothing that calls outside.

The new report is built in a staging folder next to the old one and swapped in only when
complete, so a failed build never replaces a good report."""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyprobe.report.allure_cli import (
    ToolError,
    allure_executable,
    generate_single_file,
)
from keyprobe.report.matrix_html import MatrixError, write_matrix_html

Progress = Callable[[str], None]

DEFAULT_HISTORY_LIMIT = 30
MATRIX_PAGE = "matrix.html"

# Allure 2's single file embeds every data file as d('<path>','<base64>'); history/ is among them.
_EMBEDDED_HISTORY = re.compile(r"d\('history/([A-Za-z0-9_.-]+\.json)','([A-Za-z0-9+/=]*)'\)")
# Tags whose src/href the browser fetches as the page opens (an <a href> is only a link).
_FETCHING_TAG = re.compile(
    r"<(script|link|img|iframe|source|embed|object|audio|video)\b[^>]*?"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*((?:https?:|wss?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)
_CSS_REMOTE = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])\s*((?:https?:)?//[^\"')\s]+)", re.I)
_ANALYTICS_SCRIPT = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*?"
    r"(?:googletagmanager|google-analytics|gtag\(|dataLayer)(?:(?!</script>).)*?</script>\s*",
    re.IGNORECASE | re.DOTALL,
)
_REMOTE_TAG = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//"
    r"[^>]*>(?:\s*</(?:script|iframe)>)?\s*",
    re.IGNORECASE,
)


class ReportError(Exception):
    """Bad input or a failed tool: one clear message for the user."""


@dataclass(frozen=True, slots=True)
class BuiltReport:
    index: Path
    matrix: Path | None
    result_files: int
    history_runs: int
    seconds: float
    bytes: int


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201 - progress for a person


def outside_references(html: str) -> list[str]:
    """URLs the browser would fetch on opening ``html``: remote src/href of fetching tags and
    remote CSS urls. Plain links (<a href>) are not fetched and are not reported."""
    found = [m.group(2) for m in _FETCHING_TAG.finditer(html)]
    found += [m.group(1) for m in _CSS_REMOTE.finditer(html)]
    return found


def strip_outside_references(html: str) -> str:
    """Remove analytics scripts and tags that load remote resources. Allure 2 omits its
    analytics with ALLURE_NO_ANALYTICS; this is the belt to that brace."""
    html = _ANALYTICS_SCRIPT.sub("", html)
    return _REMOTE_TAG.sub("", html)


def _bounded(name: str, data: Any, limit: int) -> Any:
    """Trends are lists and history.json maps a test to its items, newest first in both."""
    if isinstance(data, list):
        return data[:limit]
    if name == "history.json" and isinstance(data, dict):
        for entry in data.values():
            if isinstance(entry, dict) and isinstance(entry.get("items"), list):
                entry["items"] = entry["items"][:limit]
    return data


def carry_history(previous_report: Path, into: Path, limit: int) -> int:
    """Write the previous report's history files into ``into/history``; return how many runs
    its trend held (0 when there is no previous report or it has no readable history)."""
    files: dict[str, bytes] = {}
    index = previous_report / "index.html"
    if index.is_file():
        text = index.read_text(encoding="utf-8", errors="replace")
        for name, b64 in _EMBEDDED_HISTORY.findall(text):
            try:
                files[name] = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                continue
    folder = previous_report / "history"  # a multi-file report made by hand
    if not files and folder.is_dir():
        files = {p.name: p.read_bytes() for p in folder.glob("*.json")}
    runs = 0
    target = into / "history"
    for name, raw in files.items():
        try:
            data = json.loads(raw)
        except ValueError:
            continue  # a damaged history file only costs the trend, never the report
        data = _bounded(name, data, limit)
        if name == "history-trend.json" and isinstance(data, list):
            runs = len(data)
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(json.dumps(data), encoding="utf-8")
    return runs


def _check_results(results: Path) -> int:
    if not results.exists():
        raise ReportError(
            f"{results} does not exist: run the suites first (`pytest suites/`), "
            "which write their Allure results there."
        )
    if not results.is_dir():
        raise ReportError(f"{results} is not a folder of Allure results.")
    count = sum(1 for _ in results.glob("*-result.json"))
    if count == 0:
        raise ReportError(
            f"{results} holds no Allure results (*-result.json): run the suites first "
            "(`pytest suites/`), or point --results at the folder they wrote."
        )
    return count


def _matrix_link(html: str) -> str:
    """A fixed link on every page of the report to the permission matrix next to it."""
    link = (
        f'<a id="keyprobe-matrix-link" href="{MATRIX_PAGE}" style="position:fixed;right:16px;'
        "bottom:16px;z-index:10000;padding:8px 14px;border-radius:6px;background:#1f2937;"
        'color:#fff;font:600 14px sans-serif;text-decoration:none;box-shadow:0 2px 6px #0004">'
        "Permission matrix &rarr;</a>\n"
    )
    head, sep, tail = html.rpartition("</body>")
    return head + link + sep + tail if sep else html + link


def _swap_in(staged: Path, out: Path) -> None:
    """Replace ``out`` by ``staged``; on failure the old report is put back."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
        out.rename(old)
    try:
        staged.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_report(
    results: Path,
    out: Path,
    *,
    matrix_json: Path | None = None,
    matrix_html: Path | None = None,
    history_limit: int = DEFAULT_HISTORY_LIMIT,
    progress: Progress = _stderr,
) -> BuiltReport:
    """Build ``out/index.html`` from ``results``; also ``matrix_html`` from ``matrix_json``
    when that file exists (copied next to the report and linked from it)."""
    started = time.monotonic()
    tests = _check_results(results)
    matrix_page: Path | None = None
    if matrix_json is not None and matrix_json.exists():
        target = matrix_html or matrix_json.with_suffix(".html")
        try:
            write_matrix_html(matrix_json, target)
        except MatrixError as exc:
            raise ReportError(str(exc)) from None
        matrix_page = target
        progress(f"wrote {target}")
    try:
        allure = allure_executable(progress=progress)
    except ToolError as exc:
        raise ReportError(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    # Staging sits next to ``out`` so that the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.build-", dir=out.parent) as tmp:
        staging = Path(tmp)
        history_input = staging / "previous"
        history_input.mkdir()
        runs = carry_history(out, history_input, history_limit)
        if runs:
            progress(f"carrying over the trend of {runs} previous run(s)")
        staged = staging / "report"
        inputs = [results]
        if (history_input / "history").is_dir():
            inputs.append(history_input)
        try:
            generate_single_file(allure, inputs, staged, progress=progress)
        except ToolError as exc:
            raise ReportError(str(exc)) from None
        index = staged / "index.html"
        html = strip_outside_references(index.read_text(encoding="utf-8"))
        if matrix_page is not None:
            shutil.copyfile(matrix_page, staged / MATRIX_PAGE)
            html = _matrix_link(html)
        left = outside_references(html)
        if left:
            raise ReportError(
                "the generated report still loads outside resources "
                f"({', '.join(sorted(set(left))[:5])}); not replacing {out}"
            )
        index.write_text(html, encoding="utf-8")
        _swap_in(staged, out)
    final = out / "index.html"
    return BuiltReport(
        index=final,
        matrix=out / MATRIX_PAGE if matrix_page is not None else None,
        result_files=tests,
        history_runs=runs,
        seconds=time.monotonic() - started,
        bytes=final.stat().st_size,
    )
