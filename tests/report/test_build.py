"""``keyprobe report`` with the real, npm-installed Allure CLI on a hand-made results folder:
single file, no outside reference, categories, trend carried over and bounded, and a failed
build never replaces a good report."""

from __future__ import annotations

import json
import shutil
import stat
import sys
from pathlib import Path

import pytest

from keyprobe.harness.sinks import allure_files as allure_meta
from keyprobe.report import ReportError, build_report
from keyprobe.report.build import outside_references, strip_outside_references
from tests.report.conftest import (
    embedded_files,
    hand_made_matrix,
    needs_java,
    needs_npm,
    write_results,
)

pytestmark = [needs_npm, needs_java, pytest.mark.slow]


def _quiet(message: str) -> None:
    pass


def _trend(index: Path) -> list[dict[str, object]]:
    files = embedded_files(index.read_text(encoding="utf-8"))
    trend: list[dict[str, object]] = json.loads(files["history/history-trend.json"])
    return trend


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    write_results(
        folder / "allure-results",
        {
            "categories.json": allure_meta.categories_json(),
            "environment.properties": allure_meta.environment_properties(
                {"Target": "emulator", "Base URL": "http://127.0.0.1:1"}
            ),
        },
    )
    (folder / "matrix.json").write_text(json.dumps(hand_made_matrix()), encoding="utf-8")
    return folder


def _build(reports: Path, **kwargs: object) -> Path:
    built = build_report(
        reports / "allure-results",
        reports / "allure-report",
        matrix_json=reports / "matrix.json",
        progress=_quiet,
        **kwargs,  # type: ignore[arg-type]
    )
    return built.index


def test_single_offline_file_with_matrix_and_categories(reports: Path) -> None:
    index = _build(reports)
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html", "matrix.html"]
    assert (reports / "matrix.html").is_file()
    html = index.read_text(encoding="utf-8")
    assert outside_references(html) == []
    assert "googletagmanager" not in html and "gtag(" not in html
    assert 'href="matrix.html"' in html
    files = embedded_files(html)
    summary = json.loads(files["widgets/summary.json"])
    assert summary["statistic"]["total"] == 8
    categories = json.loads(files["data/categories.json"])
    found = {c["name"]: c["children"] for c in categories["children"]}
    assert {name: len(children) for name, children in found.items()} == {
        "Permission leak": 1,
        "Permission missing": 1,
        "Clock skew": 1,
        "Unexpected code": 1,
        "Rate limited": 1,
        "Target unavailable": 1,
    }
    env = json.loads(files["widgets/environment.json"])
    assert {"name": "Base URL", "values": ["http://127.0.0.1:1"]} in env
    # No leftovers next to the report: staging is cleaned up.
    assert sorted(p.name for p in reports.iterdir()) == [
        "allure-report",
        "allure-results",
        "matrix.html",
        "matrix.json",
    ]


def test_trend_is_carried_over_and_bounded(reports: Path) -> None:
    for _ in range(3):
        index = _build(reports, history_limit=2)
    trend = _trend(index)
    # Two runs kept by the bound, plus this one.
    assert len(trend) == 3
    assert all(t["data"]["total"] == 8 for t in trend)  # type: ignore[index]


@pytest.mark.parametrize("case", ["missing", "file", "empty", "only-extras"])
def test_bad_results_folder_keeps_the_old_report(reports: Path, case: str) -> None:
    index = _build(reports)
    before = index.read_bytes()
    results = reports / "allure-results"
    shutil.rmtree(results)
    if case == "file":
        results.write_text("x", encoding="utf-8")
    elif case == "empty":
        results.mkdir()
    elif case == "only-extras":
        results.mkdir()
        (results / "categories.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ReportError, match=r"run the suites first|not a folder"):
        _build(reports)
    assert index.read_bytes() == before


def test_failing_allure_keeps_the_old_report(
    reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _build(reports)
    before = index.read_bytes()
    fake = tmp_path / "bin" / "allure"
    fake.parent.mkdir()
    # Writes half a report, then fails: the swap must not happen.
    fake.write_text(
        f"#!{sys.executable}\nimport pathlib, sys\n"
        "out = pathlib.Path(sys.argv[sys.argv.index('-o') + 1])\n"
        "out.mkdir(parents=True)\n(out / 'index.html').write_text('<html>half')\nsys.exit(3)\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr("keyprobe.report.build.allure_executable", lambda progress: fake)
    with pytest.raises(ReportError, match="allure generate failed"):
        _build(reports)
    assert index.read_bytes() == before
    assert sorted(p.name for p in index.parent.parent.iterdir() if p.name.startswith(".")) == []


def test_malformed_matrix_stops_before_anything_is_replaced(reports: Path) -> None:
    index = _build(reports)
    before = index.read_bytes(), (reports / "matrix.html").read_bytes()
    (reports / "matrix.json").write_text("[{", encoding="utf-8")
    with pytest.raises(ReportError, match=r"matrix\.json: not valid JSON"):
        _build(reports)
    assert (index.read_bytes(), (reports / "matrix.html").read_bytes()) == before


def test_stripping_removes_analytics_and_remote_loads() -> None:
    html = (
        "<html><head><script async src='https://www.googletagmanager.com/gtag/js?id=G-1'>"
        "</script><script>window.dataLayer=[];function gtag(){dataLayer.push(arguments)}"
        "</script><link rel=stylesheet href=//cdn.example/x.css>"
        '<script src="data:text/javascript;base64,AAAA"></script></head>'
        '<body><a href="https://github.com/acme">a link is not a fetch</a></body></html>'
    )
    assert len(outside_references(html)) == 2
    clean = strip_outside_references(html)
    assert outside_references(clean) == []
    assert "gtag" not in clean and "data:text/javascript" in clean and "github.com/acme" in clean


def test_missing_npm_is_one_clear_message(
    reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    (empty_bin / "java").symlink_to(shutil.which("java") or "/usr/bin/java")
    monkeypatch.setenv("PATH", str(empty_bin))
    monkeypatch.setenv("KEYPROBE_CACHE", str(tmp_path / "fresh-cache"))
    with pytest.raises(ReportError, match=r"`npm` not found on PATH\. .*install Node\.js"):
        _build(reports)
    assert not (reports / "allure-report").exists()
    cache = tmp_path / "fresh-cache"
    assert not cache.exists() or list(cache.iterdir()) == []
