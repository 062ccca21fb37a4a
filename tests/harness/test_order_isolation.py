"""Order cells of one account never overlap under xdist: cancel-all takes every open order of
the account, so a cancel-all running beside another cell's setup order cancels it (that cell
then answers 400/-2011 and is judged MISMATCH). Read from the Allure results of a real
``pytest suites/ -n 2 -m "order or cancel or session"`` run (every order cell, and others
beside them): which process ran each cell, and when."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from keyprobe.harness.check import has_door
from keyprobe.harness.probes import CATALOGUE
from keyprobe.harness.targets import Transport
from tests.harness.conftest import copy_suites

# The suites' markers of the categories holding order cells (one marker per suite file):
# only those run, with their other cells to keep the second worker busy (read, auth and
# forbidden cells would only add time: none of them touches an order).
CATEGORIES = tuple(sorted({p.category.value for p in CATALOGUE if p.touches_orders}))
ORDER_PROBES = {p.name for p in CATALOGUE if p.touches_orders}
# Order cells over every door: a WebSocket order shares the account with a REST one.
ORDER_CELLS = sum(1 for p in CATALOGUE if p.touches_orders for t in Transport if has_door(p, t))
PROFILES = """
[profiles.a]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]

[profiles.b]
key_type = "ed25519"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
"""


def _label(result: dict[str, Any], name: str) -> str:
    return next(str(label["value"]) for label in result["labels"] if label["name"] == name)


@pytest.mark.slow
def test_order_cells_run_in_one_process_one_after_another(pytester: pytest.Pytester) -> None:
    copy_suites(pytester, PROFILES)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "-m", " or ".join(CATEGORIES), timeout=180
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    runs = []
    for path in Path(pytester.path / "reports" / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        probe = _label(data, "story")
        runs.append((probe in ORDER_PROBES, _label(data, "thread"), data["start"], data["stop"]))
    order_runs = sorted((start, stop, thread) for touches, thread, start, stop in runs if touches)
    assert len(order_runs) == 2 * ORDER_CELLS
    # Both workers did work, so the test can tell "grouped" from "only one worker ran".
    assert len({thread for _, thread, _, _ in runs}) == 2
    assert len({thread for _, _, thread in order_runs}) == 1, order_runs
    for (_, stop, _), (start, _, _) in itertools.pairwise(order_runs):
        assert stop <= start, order_runs
