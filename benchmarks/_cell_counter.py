"""A pytest plugin for ``cell_costs.py`` (``-p _cell_counter``): after each cell, the
requests the counting emulator answered since the one before (``/_bench/stats``), by node
id, written to ``$KEYPROBE_CELL_COUNTS`` at the end. Serial runs only (``-n 0``)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

_URL = os.environ.get("KEYPROBE_CELL_COUNTER_URL", "")
_seen = [0]
_counts: dict[str, int] = {}


def _answered() -> int:
    with urllib.request.urlopen(f"{_URL}/_bench/stats", timeout=10) as answer:  # noqa: S310
        return int(json.loads(answer.read())["requests"])


def pytest_sessionstart(session: Any) -> None:
    _seen[0] = _answered()  # the run's start (facts, sweep) is not a cell's


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    now = _answered()
    _counts[nodeid] = now - _seen[0]
    _seen[0] = now


def pytest_unconfigure(config: Any) -> None:
    Path(os.environ["KEYPROBE_CELL_COUNTS"]).write_text(json.dumps(_counts))
