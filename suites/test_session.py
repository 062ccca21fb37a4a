"""Session probes, on the WebSocket API only: session.logon per key type, the user data
stream (logon and signature subscriptions, the events of an order the probe places), and on
the embedded emulator a permission revoked mid-session.

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions and key type
(keyprobe.harness.expectations.ws_only)."""

import pytest

pytestmark = pytest.mark.session


def test_session(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
