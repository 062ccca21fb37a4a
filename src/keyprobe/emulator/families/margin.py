"""Margin beyond the account read (beyond-spot reference §2): the cancel of a margin order
(Spot & Margin Trading) and borrow/repay (enableMargin, security type MARGIN). The emulator's
margin book is empty, so every cancel names an unknown order (-2011, §2 M2); a REPAY beyond
what the account borrowed is -3015 (§2 M3), so REPAY with no debt is the least risky probe."""

from __future__ import annotations

from decimal import Decimal

from keyprobe.binance import errors
from keyprobe.emulator.auth import Caller
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.exchange.rules import get_decimal, get_long, get_required
from keyprobe.emulator.families.state import Families, Result


def cancel_order(_fam: Families, ex: Exchange, c: Caller) -> Result:
    """DELETE /sapi/v1/margin/order: 400 -2011 "Unknown order sent." (§2 M2, §7)."""
    ex.spec(get_required(c.params, "symbol"))
    order_id, client_id = get_long(c.params, "orderId"), c.params.get("origClientOrderId")
    if order_id is None and not client_id:
        raise errors.one_of_missing("orderId", "origClientOrderId")
    raise errors.unknown_order()


def borrow_repay(fam: Families, ex: Exchange, c: Caller) -> Result:
    """POST /sapi/v1/margin/borrow-repay → ``{"tranId": N}``. BORROW records a debt; REPAY
    takes it back, and more than was borrowed is 400 -3015."""
    p = c.params
    asset = get_required(p, "asset").upper()
    isolated = get_required(p, "isIsolated").upper()
    if isolated not in ("TRUE", "FALSE"):
        raise errors.illegal_chars("isIsolated", "TRUE, FALSE")
    # Isolated margin is per symbol; cross margin is one account.
    where = asset
    if isolated == "TRUE":
        where = f"{ex.spec(get_required(p, 'symbol')).symbol}:{asset}"
    amount = get_decimal(p, "amount")
    if amount is None or amount <= 0:
        raise errors.mandatory_missing("amount")
    kind = get_required(p, "type")
    key = (c.key.account, where)
    owed = fam.debts.get(key, Decimal(0))
    if kind == "BORROW":
        fam.debts[key] = owed + amount
    elif kind == "REPAY":
        if amount > owed:
            raise errors.error(-3015)
        fam.debts[key] = owed - amount
    else:
        raise errors.illegal_chars("type", "BORROW, REPAY")
    return 200, {"tranId": fam.tran_id()}
