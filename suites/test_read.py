"""Read probes: USER_DATA endpoints need enableReading.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.read


def test_read(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
