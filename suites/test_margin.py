"""Margin probes: the cancel of a margin order that does not exist (-2011 proves Spot & Margin
Trading) and borrow-repay REPAY with no debt (-3015 proves enableMargin; embedded emulator or
--margin-repay only).

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.margin


def test_margin(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
