"""matrix.html from a hand-made matrix.json: one cell per entry, coloured by verdict, escaped,
self-contained, columns keyed by transport × probe with filters; malformed input gives one
clear error and leaves the old page alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keyprobe.cells import CellFileError, Verdict, load_matrix, parse_matrix
from keyprobe.report import MatrixError
from keyprobe.report.matrix_html import COLOURS, TAGS, render, write_matrix_html
from tests.report.conftest import cell, hand_made_matrix


@pytest.fixture
def page() -> str:
    return render(parse_matrix(hand_made_matrix()))


def test_one_coloured_cell_per_entry(page: str) -> None:
    cells = re.findall(r'<td class="cell v-([A-Za-z]+) [^"]*" data-verdict="([A-Za-z]+)"', page)
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
    assert page.count('<th class="profile" scope="row">') == 3
    assert page.count('<th class="probe ') == 4
    assert "2 LEAK/MISSING" in page
    # Columns follow the category order read, order, cancel, forbidden.
    heads = re.findall(r'<th class="cat [^"]*" colspan="(\d)"[^>]*>(\w+)</th>', page)
    assert heads == [("1", "read"), ("1", "order"), ("1", "cancel"), ("1", "forbidden")]
    # Per-profile count of cells that are neither pass nor skipped.
    assert re.findall(r'<span class="n n-all-all(?: bad)?">(\d+)</span>', page) == ["1", "2", "1"]


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
    page = render(parse_matrix([{**cell("a", "account", "pass"), "first_attempt": first}]))
    (title,) = [t for t in re.findall(r'title="([^"]*)"', page) if "a × account" in t]
    assert f"retried once; first attempt: {first}" in title


def test_cells_of_two_targets_get_a_grid_each() -> None:
    page = render(
        parse_matrix([cell("a", "account", "pass"), cell("a", "account", "pass", target="testnet")])
    )
    assert page.count('<table class="grid">') == 2
    assert "target: testnet" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"profile": "x"}', "schema None is not one this keyprobe reads"),
        ('"cells"', "expected a JSON object with schema and cells, got str"),
        ('{"schema": 1, "cells": {}}', "'cells' must be a list"),
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
        load_matrix(tmp_path / "matrix.json")


def test_write_is_complete_and_readable(tmp_path: Path) -> None:
    source = tmp_path / "matrix.json"
    source.write_text(json.dumps(hand_made_matrix()), encoding="utf-8")
    target = write_matrix_html(source, tmp_path / "out" / "matrix.html")
    assert target.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert target.stat().st_mode & 0o044 == 0o044
    assert sorted(p.name for p in target.parent.iterdir()) == ["matrix.html"]


def test_matrix_error_is_the_cell_file_error() -> None:
    """One parser of a cell (keyprobe.cells); the old name still catches its errors."""
    assert MatrixError is CellFileError


def test_schema_1_document_and_bare_list_render_the_same(tmp_path: Path) -> None:
    bare, wrapped = tmp_path / "bare.json", tmp_path / "schema1.json"
    bare.write_text(json.dumps(hand_made_matrix()), encoding="utf-8")
    wrapped.write_text(json.dumps({"schema": 1, "cells": hand_made_matrix()}), encoding="utf-8")
    one = write_matrix_html(bare, tmp_path / "a.html").read_text(encoding="utf-8")
    two = write_matrix_html(wrapped, tmp_path / "b.html").read_text(encoding="utf-8")
    assert one == two and '<th id="total">12</th>' in one


def _transports() -> str:
    cells = [
        cell("a", "account", "pass"),
        cell("a", "place_order", "LEAK", category="order", expected=(401, -2015)),
        {**cell("a", "account", "pass"), "transport": "ws-api"},
        {
            **cell("a", "place_order", "MISSING", category="order", actual=(401, -2015)),
            "transport": "ws-api",
        },
        {
            **cell("a", "user_stream", "BROKEN", category="stream", actual=None),
            "transport": "ws-api",
        },
    ]
    return render(parse_matrix(cells))


def test_a_second_transport_is_a_column_group_of_its_own() -> None:
    page = _transports()
    found = re.findall(
        r'data-verdict="(\w+)" data-profile="a" data-probe="(\w+)" data-transport="([\w-]+)"', page
    )
    assert found == [
        ("pass", "account", "rest"),
        ("LEAK", "place_order", "rest"),
        ("pass", "account", "ws-api"),
        ("MISSING", "place_order", "ws-api"),
        ("BROKEN", "user_stream", "ws-api"),
    ]
    groups = re.findall(r'data-family="(\w+)" data-transport="([\w-]+)">\w+<small>', page)
    assert groups == [
        ("read", "rest"),
        ("order", "rest"),
        ("read", "ws-api"),
        ("order", "ws-api"),
        ("stream", "ws-api"),  # a family keyprobe does not know yet goes last
    ]
    assert "transports: rest, ws-api" in page


def test_cells_show_the_answer_or_the_verdict_over_what_came_back() -> None:
    page = _transports()
    lines = re.findall(r'title="[^"]*">([^<]*)<br><small>([^<]*)</small></td>', page)
    assert lines == [
        ("200", ""),
        (TAGS[Verdict.LEAK], "200"),
        ("200", ""),
        (TAGS[Verdict.MISSING], "-2015"),
        (TAGS[Verdict.BROKEN], ""),
    ]
    # The legend spells every tag out.
    for verdict, tag in TAGS.items():
        assert f'<span class="swatch v-{verdict.value}">{tag}</span>{verdict.value}' in page


def test_filters_hide_every_other_family_and_transport() -> None:
    page = _transports()
    labels = dict(re.findall(r'<label for="((?:family|transport)-\w+)">([\w-]+)</label>', page))
    assert labels == {
        "family-all": "all",
        "family-f0": "read",
        "family-f1": "order",
        "family-f2": "stream",
        "transport-all": "all",
        "transport-t0": "rest",
        "transport-t1": "ws-api",
    }
    for ident in labels:
        assert f'<input type="radio" name="{ident.split("-")[0]}" id="{ident}"' in page
    # Checking "order" hides the cells and headers of every other family.
    assert "#family-f1:checked~main .cell:not(.f1)," in page
    assert "#family-f1:checked~main th.probe:not(.f1){display:none}" in page
    assert "#transport-t1:checked~main th.cat:not(.t1)," in page
    order_ws = re.search(r'<td class="cell v-MISSING (f\d) (t\d)"', page)
    assert order_ws is not None and order_ws.groups() == ("f1", "t1")


def test_the_not_ok_count_follows_the_filters() -> None:
    counts = dict(re.findall(r'<span class="n n-([\w-]+)(?: bad)?">(\d+)</span>', _transports()))
    assert counts["all-all"] == "3"  # LEAK, MISSING, BROKEN
    assert (counts["all-t0"], counts["all-t1"]) == ("1", "2")
    assert (counts["f1-all"], counts["f1-t0"], counts["f1-t1"]) == ("2", "1", "1")
    assert (counts["f0-all"], counts["f2-t1"], counts["f2-t0"]) == ("0", "1", "0")
    assert "#family-f1:checked~#transport-t1:checked~main td.tot .n-f1-t1{display:inline}" in (
        _transports()
    )


def test_names_from_the_json_never_reach_the_stylesheet() -> None:
    page = render(parse_matrix([cell("a", "b", "pass", category="evil}</style><script>")]))
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "evil" not in style and "<script" not in page
    assert "evil}&lt;/style&gt;&lt;script&gt;" in page
