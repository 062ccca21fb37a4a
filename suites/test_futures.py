"""Futures probes (USDⓈ-M, /fapi): the account read, order/test (never sent to matching) and
the cancel of an order that does not exist (-2011 proves futures TRADE with no effect).

Cells (profile x probe) come from fixtures/profiles.toml and the probe catalogue;
expectations are derived from the declared permissions (keyprobe.harness.expectations)."""

import pytest

pytestmark = pytest.mark.futures


def test_futures(probe_cell, keyprobe_check):
    keyprobe_check(probe_cell)
