"""A failing run read as a person would: the suites run for real (lying profiles in both
directions, a wrong hand-written expectation, three kinds of BROKEN, see bad_night.py), then
``keyprobe report``, then headless Chromium — driven over DevTools, because Allure shows a test
only after clicks — opens the Categories page, one LEAK test with its redacted exchange, and
matrix.html. Screenshots are kept under reports/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from keyprobe.report import build_report
from tests.report.bad_night import EXPECTED, NIGHT_PROBES, BadNight, run_bad_night
from tests.report.cdp import Page, browser
from tests.report.conftest import (
    SHOTS,
    needs_chromium,
    needs_java,
    needs_npm,
    report_text,
)

pytestmark = [needs_npm, needs_java, needs_chromium, pytest.mark.slow]

# What the Categories page must list (and nothing else: no "Product defects" bucket). The
# counts follow from EXPECTED: 6 LEAK, 7 MISSING, 1 MISMATCH, and BROKEN for both profiles on
# my_trades (-1021), commission (429) and all_orders (503).
CATEGORIES = {
    "Permission leak": 6,
    "Permission missing": 7,
    "Unexpected code": 1,
    "Clock skew": 2,
    "Rate limited": 2,
    "Target unavailable": 2,
}
_TOP_NODES = """[...document.querySelectorAll('.tree__content > .node > .node__title')].map(
    n => [n.querySelector('.node__name').innerText, Number(n.querySelector('.node__stats')
    .innerText)])"""
_CELLS = """[...document.querySelectorAll('td.cell')].map(td => [td.dataset.profile,
    td.dataset.probe, td.dataset.verdict, td.innerText.replace(/\\s+/g, ' ').trim(),
    td.getBoundingClientRect().right <= innerWidth, td.getClientRects().length > 0])"""


def _local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file:", "data:", "blob:", "about:"))]


def _shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    shot = page.screenshot(SHOTS / name)
    assert shot.stat().st_size > 10_000, "an empty screenshot"
    return shot


def _secrets(night: BadNight) -> list[str]:
    found = (
        night.keys.secrets() + sorted(night.faulty.signatures()) + sorted(night.faulty.api_keys())
    )
    return [s for s in found if len(s) >= 16]


def test_a_bad_night_reads_right_in_chromium(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = run_bad_night(pytester, monkeypatch)
    out = night.result.stdout.str()
    assert night.result.ret == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    cells = night.cells()
    verdicts = {(str(c["profile"]), str(c["probe"])): str(c["verdict"]) for c in cells}
    assert len(cells) == 2 * len(NIGHT_PROBES)  # two profiles
    assert {k: v for k, v in verdicts.items() if v != "pass"} == EXPECTED, out[-3000:]
    # The categories agree with the matrix, not only with the numbers written above.
    counts = Counter(EXPECTED.values())
    assert (counts["LEAK"], counts["MISSING"], counts["MISMATCH"]) == (
        CATEGORIES["Permission leak"],
        CATEGORIES["Permission missing"],
        CATEGORIES["Unexpected code"],
    )
    assert counts["BROKEN"] == sum(
        CATEGORIES[n] for n in ("Clock skew", "Rate limited", "Target unavailable")
    )

    reports = night.reports
    built = build_report(
        reports / "allure-results",
        reports / "allure-report",
        matrix_json=reports / "matrix.json",
        progress=lambda _message: None,
    )
    assert built.matrix is not None

    with browser(1366, 900) as page:
        # Categories: one bucket per meaning, with its count.
        page.open(built.index.as_uri() + "#categories")
        page.wait_for("document.querySelectorAll('.tree__content > .node').length > 0")
        assert dict(page.evaluate(_TOP_NODES)) == CATEGORIES
        _shot(page, "screenshot-bad-night-categories.png")

        # One LEAK: expected vs actual, the reason, severity, and the redacted exchange.
        page.click(".node__title", "Permission leak")
        page.click(".node__title", "Failed: LEAK: dashboard-test_order:")
        page.click(".node__leaf", "#")
        page.wait_for("!!document.querySelector('.test-result-overview')")
        pane = page.text(".test-result-overview")
        assert (
            "Failed: LEAK: dashboard-test_order: expected (401, -2015) "
            "(enableSpotAndMarginTrading not declared), but the target let it through: (200, -)"
        ) in " ".join(pane.split())
        for shown in ("Categories: Permission leak", "Severity: blocker", "expected: 401/-2015"):
            assert shown in pane, pane[:2000]
        page.click(".step__title", "probe: POST /api/v3/order/test")
        page.click(".attachment-row", "application/json")
        exchange_text = page.wait_for(
            "[...document.querySelectorAll('.attachment-row__content')]"
            ".map(n => n.innerText).find(t => t.includes('/api/v3/order/test')) || ''"
        )
        exchange = json.loads(exchange_text)
        assert (exchange["method"], exchange["path"], exchange["status"]) == (
            "POST",
            "/api/v3/order/test",
            200,
        )
        assert ["signature", "***"] in exchange["params"]  # redacted, never the value
        assert exchange["sent_api_key"] is True and "X-MBX-APIKEY" not in exchange_text
        page.click(".step__title", "check: LEAK")
        page.click(".attachment-row", "text/plain")
        page.wait_for(
            "[...document.querySelectorAll('.attachment-row__content')]"
            ".some(n => n.innerText.includes('but the target let it through: (200, -)'))"
        )
        # Back to the top of the test (opening the attachment scrolled its pane).
        page.evaluate("document.querySelectorAll('*').forEach(n => { n.scrollTop = 0 })")
        _shot(page, "screenshot-bad-night-leak.png")
        visible = page.text()

        # The matrix, reached by the link the report carries on every page.
        page.click("#keyprobe-matrix-link", "Permission matrix")
        page.wait_for("location.pathname.endsWith('/matrix.html')")
        page.wait_for("document.readyState === 'complete' && !!document.querySelector('td.cell')")
        shown = page.evaluate(_CELLS)
        assert len(shown) == len(cells)
        grid = {(p, q): v for p, q, v, _text, _fits, _shown in shown}
        assert grid == verdicts
        # Readable at 1,366 px: every column on screen, no page-wide horizontal scroll.
        assert all(fits for *_, fits, _shown in shown)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        labels = {(p, q): text for p, q, v, text, _f, _s in shown if v in ("LEAK", "MISSING")}
        assert labels[("dashboard", "place_order")] == "LEAK 200"
        assert labels[("bot", "place_order")] == "MISS -2015"
        assert all(t.startswith(("LEAK", "MISS")) for t in labels.values())
        _shot(page, "screenshot-bad-night-matrix.png")

        # One family at a time: "order" leaves its 3 columns, the LEAK/MISSING pairs.
        page.click("nav label", "order")
        on_screen = [(p, q, v) for p, q, v, _t, _f, seen in page.evaluate(_CELLS) if seen]
        assert sorted(on_screen) == sorted(
            (who, probe, EXPECTED[(who, probe)])
            for who in ("dashboard", "bot")
            for probe in ("test_order", "place_order", "cancel_replace")
        )
        not_ok = page.evaluate(
            "[...document.querySelectorAll('td.tot .n')].filter(n => n.getClientRects().length)"
            ".map(n => n.innerText)"
        )
        assert not_ok == ["3", "3"]
        page.evaluate("0")  # drain the last network events
        assert _local(page.requests) == [], page.requests

    # No secret of the run anywhere a reader can get to, the report decoded.
    texts = [report_text(built.index), built.matrix.read_text(encoding="utf-8"), visible, out]
    texts += [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (reports / "allure-results").iterdir()
    ]
    blob = "\n".join(texts)
    assert "PRIVATE KEY" not in blob
    secrets = _secrets(night)
    assert len(secrets) >= 4, "the run sent no secret to look for"
    for secret in secrets:
        assert secret not in blob, "a secret of the run reached the report"
