"""Account probes: an order another account placed (the master's, a sub-account's, another
key holder's), queried and cancelled with this key: -2013 / -2011, as if it did not exist.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.accounts


def test_accounts(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
