"""matrix.html from a hand-made matrix.json: one cell per entry, coloured by verdict, escaped,
self-contained; malformed input gives one clear error and leaves the old page alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keyprobe.report.matrix_html import (
    COLOURS,
    MatrixError,
    load_cells,
    parse_cells,
    render,
    write_matrix_html,
)
from tests.report.conftest import cell, hand_made_matrix


@pytest.fixture
def page() -> str:
    return render(parse_cells(hand_made_matrix()))


def test_one_coloured_cell_per_entry(page: str) -> None:
    cells = re.findall(r'<td class="cell v-([A-Za-z]+)" data-verdict="([A-Za-z]+)"', page)
    assert len(cells) == 12
    assert all(cls == verdict for cls, verdict in cells)
    found = {v: sum(1 for _, x in cells if x == v) for v in COLOURS}
    assert found == {"pass": 6, "LEAK": 1, "MISSING": 1, "MISMATCH": 1, "BROKEN": 1, "skipped": 2}
    # Each verdict has its own colour, and the stylesheet applies it.
    assert len(set(COLOURS.values())) == len(COLOURS)
    for verdict, colour in COLOURS.items():
        assert f".v-{verdict}{{background:{colour};" in page


def test_totals_and_grid_shape(page: str) -> None:
    totals = dict(re.findall(r'<tr data-verdict="(\w+)">.*?<td class="count">(\d+)</td>', page))
    assert totals == {
        "pass": "6",
        "LEAK": "1",
        "MISSING": "1",
        "MISMATCH": "1",
        "BROKEN": "1",
        "skipped": "2",
    }
    assert '<th id="total">12</th>' in page
    assert page.count('<th class="profile">') == 3
    assert page.count('<th class="probe">') == 4
    assert "2 LEAK/MISSING" in page
    # Columns follow the category order read, order, cancel, forbidden.
    heads = re.findall(r'<th class="cat" colspan="(\d)">(\w+)</th>', page)
    assert heads == [("1", "read"), ("1", "order"), ("1", "cancel"), ("1", "forbidden")]
    # Per-profile count of cells that are neither pass nor skipped.
    assert re.findall(r'<td class="tot(?: bad)?">(\d+)</td>', page) == ["1", "2", "1"]


def test_expected_and_actual_on_hover(page: str) -> None:
    titles = re.findall(r'title="([^"]*)"', page)
    leak = next(t for t in titles if "read_only × place_order" in t)
    assert "expected: 401/-2015" in leak and "actual: 200" in leak and "verdict: LEAK" in leak
    skipped = next(t for t in titles if "read_only × withdraw" in t)
    assert "actual: no answer" in skipped and "testnet has no /sapi" in skipped


def test_odd_profile_names_are_escaped(page: str) -> None:
    assert "<b>odd" not in page
    assert "&lt;b&gt;odd&amp;&quot;name&#x27;" in page


def test_no_outside_reference(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert re.search(r"""(src|href)\s*=\s*["']?//""", page) is None
    assert "url(" not in page and "@import" not in page and "<script" not in page
    assert "default-src 'none'" in page  # the browser would refuse any fetch anyway


def test_empty_matrix_renders() -> None:
    page = render([])
    assert '<th id="total">0</th>' in page and "holds no cells" in page


def test_a_retried_cell_shows_its_first_attempt_on_hover() -> None:
    first = "BROKEN: the target failed with HTTP 503"
    page = render(parse_cells([{**cell("a", "account", "pass"), "first_attempt": first}]))
    (title,) = [t for t in re.findall(r'title="([^"]*)"', page) if "a × account" in t]
    assert f"retried once; first attempt: {first}" in title


def test_cells_of_two_targets_get_a_grid_each() -> None:
    page = render(
        parse_cells([cell("a", "account", "pass"), cell("a", "account", "pass", target="testnet")])
    )
    assert page.count('<table class="grid">') == 2
    assert "target: testnet" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"profile": "x"}', "expected a JSON list"),
        ("[1]", "cell 0: expected an object"),
        ('[{"profile": "a"}]', "'probe' must be a non-empty string"),
        (json.dumps([cell("a", "b", "FINE")]), "unknown verdict 'FINE'"),
        (
            json.dumps([{**cell("a", "b", "pass"), "actual": {"status": "200"}}]),
            "'actual.status' must be an integer",
        ),
        (json.dumps([{**cell("a", "b", "pass"), "reason": 3}]), "'reason' must be a string"),
        (
            json.dumps([{**cell("a", "b", "pass"), "first_attempt": 3}]),
            "'first_attempt' must be a string",
        ),
    ],
)
def test_malformed_matrix_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    source = tmp_path / "matrix.json"
    source.write_text(content, encoding="utf-8")
    target = tmp_path / "matrix.html"
    target.write_text("the previous good page", encoding="utf-8")
    with pytest.raises(MatrixError, match=re.escape(message)) as err:
        write_matrix_html(source, target)
    assert str(source) in str(err.value)
    assert target.read_text(encoding="utf-8") == "the previous good page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matrix.html", "matrix.json"]


def test_missing_matrix_json(tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match="not found: run the suites first"):
        load_cells(tmp_path / "matrix.json")


def test_write_is_complete_and_readable(tmp_path: Path) -> None:
    source = tmp_path / "matrix.json"
    source.write_text(json.dumps(hand_made_matrix()), encoding="utf-8")
    target = write_matrix_html(source, tmp_path / "out" / "matrix.html")
    assert target.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert target.stat().st_mode & 0o044 == 0o044
    assert sorted(p.name for p in target.parent.iterdir()) == ["matrix.html"]
