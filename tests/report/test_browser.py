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
from tests.report.cdp import Page, browser
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
    wide_matrix,
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


def _screenshot_page(page: Page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    shot = page.screenshot(SHOTS / name)
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


_SHOWN = (
    "[...document.querySelectorAll('td.cell')].filter(td => td.getClientRects().length)"
    ".map(td => [td.dataset.transport, td.getBoundingClientRect().right <= innerWidth])"
)


def test_a_wide_matrix_is_readable_on_a_laptop(tmp_path: Path) -> None:
    """Two transports and a new family make the grid wider than 1,366 px: it scrolls inside
    its box with the probe header and the profile column in place, and a filter shows one
    transport (or family) at a time, every column of it on screen."""
    cells = wide_matrix()
    source = tmp_path / "matrix.json"
    source.write_text(json.dumps({"schema": 1, "cells": cells}), encoding="utf-8")
    page_file = write_matrix_html(source, tmp_path / "matrix.html")
    with browser(1366, 900) as page:
        page.open(page_file.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        box = "document.querySelector('.scroller')"
        assert page.evaluate(f"{box}.scrollWidth > {box}.clientWidth + 1000")
        # Not scrolled: the per-profile "not ok" count is on the box's right edge anyway.
        tot = "document.querySelector('td.tot').getBoundingClientRect().right"
        right = page.evaluate(f"{box}.getBoundingClientRect().right")
        assert right - 30 <= page.evaluate(tot) <= right, (page.evaluate(tot), right)
        page.evaluate(f"{box}.scrollLeft = 1e6")
        _screenshot_page(page, "screenshot-matrix-wide-scrolled.png")
        # Scrolled to the far right and down: the profile names and probe names stay (a
        # short window, so that the 9 rows do not fit and the box scrolls down too).
        page.resize(1366, 400)
        page.evaluate(f"{box}.scrollLeft = 1e6; {box}.scrollTop = 1e6")
        assert page.evaluate(f"{box}.scrollTop > 50 && {box}.scrollLeft > 1000")
        frame = page.evaluate(f"{box}.getBoundingClientRect().toJSON()")
        profile = page.evaluate("document.querySelector('th.profile').getBoundingClientRect().left")
        heads = page.evaluate(
            "[...document.querySelectorAll('th.probe')].map(h => h.getBoundingClientRect().top)"
        )
        assert abs(profile - frame["left"]) <= 2, (profile, frame)
        assert max(abs(top - heads[0]) for top in heads) <= 1
        assert frame["top"] <= heads[0] <= frame["top"] + 40, (heads[0], frame)
        last = page.evaluate(
            "[...document.querySelectorAll('th.probe')].at(-1).getBoundingClientRect().right"
        )
        assert last <= page.evaluate("innerWidth")
        page.resize(1366, 900)

        # One transport: ws-api's cells only (32 columns: still scrolled, inside the box).
        page.evaluate(f"{box}.scrollLeft = 0; {box}.scrollTop = 0")
        page.click("nav label", "ws-api")
        assert {t for t, _ in page.evaluate(_SHOWN)} == {"ws-api"}
        assert len(page.evaluate(_SHOWN)) == len(cells) // 2
        # One family (of both transports, then of one): every column of it on screen.
        page.click("nav label", "all")  # the first "all" is the family group's
        page.click("nav label[for^=transport]", "all")
        page.click("nav label", "auth")
        both = page.evaluate(_SHOWN)
        assert len(both) == 9 * 7 * 2 and all(fits for _, fits in both)
        _screenshot_page(page, "screenshot-matrix-wide-auth.png")
        page.click("nav label", "ws-api")
        one = page.evaluate(_SHOWN)
        assert len(one) == 9 * 7 and {t for t, _ in one} == {"ws-api"}
