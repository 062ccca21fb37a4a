"""xdist scheduling that keeps every order-touching cell on one worker, in order.

Cells that place or cancel orders share accounts (cancel-all takes every open order of the
account, another cell's setup order included), so they must never run at the same time.
xdist's own ``loadgroup`` cannot be relied on for this: it tags grouped tests by rewriting
``item._nodeid`` in the worker, which pytest 9 no longer reads (the node id is derived from
``item._id``), so the tag silently never arrives and the group's tests spread over workers —
the intermittent ``cancel_own_order`` -2011. This scheduler decides the grouping in the
controller, from the test ids alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

ORDERS_SCOPE = "keyprobe-orders"


def cell_probe(nodeid: str) -> str | None:
    """The probe of a suite cell's node id (``...::test_order[read_only-place_order]``)."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    param = nodeid[nodeid.rindex("[") + 1 : -1]
    # Profile names match [A-Za-z0-9_]{1,64}: the first '-' ends the profile; a transport
    # other than REST adds its suffix (Transport.id_suffix).
    _, sep, probe = param.partition("-")
    return probe.removesuffix("-ws") if sep else None


def make_scheduler(
    config: pytest.Config, log: Any, touches_orders: Callable[[str], bool]
) -> Any | None:
    """A LoadScope scheduler whose scopes are: all order cells together, every other test on
    its own (so the rest is balanced like ``--dist load``). None when xdist is not in use or
    the user asked for ``--dist each``."""
    dist = config.getvalue("dist")
    if dist in ("no", "each"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OrderCellsTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            probe = cell_probe(nodeid)
            return ORDERS_SCOPE if probe is not None and touches_orders(probe) else nodeid

    return OrderCellsTogether(config, log)
