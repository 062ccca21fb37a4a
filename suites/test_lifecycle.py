"""Lifecycle probes (embedded emulator only): permissions that change while a key is in use,
through API Management, each on a key of its own — Spot & Margin Trading removed while an
order rests, and the trading permission's expiry (tradingAuthorityExpirationTime).

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.lifecycle


def test_lifecycle(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
