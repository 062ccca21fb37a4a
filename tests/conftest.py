"""Fixtures shared by test modules of different folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recorded import recorded_once


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The corpus of one whole recorded run of the suites (two workers), shared by every test
    of the session that reads one: xdist workers share the parent of their base temp."""
    base = tmp_path_factory.getbasetemp()
    return recorded_once(base if worker_id == "master" else base.parent)
