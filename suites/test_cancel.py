"""Cancel probes: the probe's own order, a non-existent order (-2011 proves TRADE
with no side effect), all open orders.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.cancel


def test_cancel(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
