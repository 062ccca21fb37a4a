"""Forbidden actions (withdraw, transfer, margin) and the apiRestrictions read-back.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.forbidden


def test_forbidden(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
