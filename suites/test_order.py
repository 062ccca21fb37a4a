"""Order probes: order/test, a resting LIMIT_MAKER order, cancel-replace; they need
enableSpotAndMarginTrading.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.order


def test_order(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
