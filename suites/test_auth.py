"""Auth probes: one deliberate fault each (key header, unknown key, signature, clock,
source address).

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.auth


def test_auth(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
