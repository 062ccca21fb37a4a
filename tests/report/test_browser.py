"""Looking at the pages as a person would: a real suite run, its Allure report and matrix page
opened in headless Chromium from file://, with screenshots kept under reports/; nothing is
fetched from outside, and no secret of the run is in any artifact."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from keyprobe.harness.redaction import REDACTOR
from keyprobe.report import build_report, write_matrix_html
from tests.report.conftest import (
    ROOT,
    SHOTS,
    chromium,
    hand_made_matrix,
    needs_chromium,
    needs_java,
    needs_npm,
    page_requests,
    report_text,
)

pytestmark = [needs_npm, needs_java, needs_chromium, pytest.mark.slow]

# Two profiles keep the run short; every probe still runs for each of them.
SELECTION = "read_only or spot_trading"


def _quiet(message: str) -> None:
    pass


def _run_suites(pytester: pytest.Pytester) -> pytest.RunResult:
    for source in (ROOT / "suites").glob("*.py"):
        shutil.copy(source, pytester.path / source.name)
    (pytester.path / "fixtures").mkdir()
    shutil.copy(ROOT / "fixtures" / "profiles.toml", pytester.path / "fixtures" / "profiles.toml")
    # In-process, so that the secrets the run generates are known to REDACTOR here.
    return pytester.runpytest("-k", SELECTION)


def _screenshot(url: str, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / name
    shot.unlink(missing_ok=True)
    chromium(url, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000, "an empty screenshot"
    return shot


def _outside(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file:", "data:", "blob:", "about:"))]


def test_real_run_report_and_matrix_render_in_chromium(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    result = _run_suites(pytester)
    reports = pytester.path / "reports"
    cells = json.loads((reports / "matrix.json").read_text(encoding="utf-8"))["cells"]
    count = len(cells)
    assert count >= 2 * 20 and result.ret == 0, result.stdout.str()[-3000:]
    built = build_report(
        reports / "allure-results",
        reports / "allure-report",
        matrix_json=reports / "matrix.json",
        progress=_quiet,
    )
    assert built.matrix is not None

    # The report: the overview counts the run's test cases.
    net_log = tmp_path / "report-net.json"
    dom = chromium(built.index.as_uri(), "--dump-dom", f"--log-net-log={net_log}")
    text = re.sub(r"<[^>]+>", " ", dom)
    assert re.search(rf"\b{count}\s+test cases\b", text), text[:2000]
    assert "keyprobe-matrix-link" in dom
    assert _outside(page_requests(net_log)) == []
    _screenshot(built.index.as_uri(), "screenshot-allure-report.png")

    # The matrix page, as linked from the report: one cell per matrix entry.
    net_log = tmp_path / "matrix-net.json"
    dom = chromium(built.matrix.as_uri(), "--dump-dom", f"--log-net-log={net_log}")
    assert len(re.findall(r'<td class="cell v-', dom)) == count
    assert f'<th id="total">{count}</th>' in dom
    assert _outside(page_requests(net_log)) == []
    _screenshot(built.matrix.as_uri(), "screenshot-matrix.png")

    # No secret of the run anywhere a reader can get to (the report decoded, not just grepped).
    secrets = [s for s in REDACTOR.secrets() if len(s) >= 16]
    assert secrets, "the run generated no secret to look for"
    texts = [report_text(built.index), (reports / "matrix.html").read_text(encoding="utf-8")]
    texts += [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (reports / "allure-results").iterdir()
    ]
    blob = "\n".join(texts)
    assert "PRIVATE KEY" not in blob
    for secret in secrets:
        assert secret not in blob, "a secret of the run reached the report"


def test_the_outside_request_detector_sees_a_remote_load(tmp_path: Path) -> None:
    """Guards the check above against passing vacuously: a page that does load from outside
    (blocked here by the resolver rules) shows up as a page request."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<html><body><img src="https://analytics.invalid/pixel.gif">'
        "<script>fetch('http://tracker.invalid/x').catch(() => {})</script></body></html>",
        encoding="utf-8",
    )
    net_log = tmp_path / "net.json"
    chromium(page.as_uri(), "--dump-dom", f"--log-net-log={net_log}")
    outside = _outside(page_requests(net_log))
    assert any("analytics.invalid" in u for u in outside), outside
    assert any("tracker.invalid" in u for u in outside), outside


def test_every_verdict_colour_renders(tmp_path: Path) -> None:
    source = tmp_path / "matrix.json"
    source.write_text(json.dumps(hand_made_matrix()), encoding="utf-8")
    page = write_matrix_html(source, tmp_path / "matrix.html")
    dom = chromium(page.as_uri(), "--dump-dom")
    assert len(re.findall(r'<td class="cell v-', dom)) == 12
    assert "&lt;b&gt;odd" in dom and "<b>odd" not in dom
    _screenshot(page.as_uri(), "screenshot-matrix-verdicts.png")
