"""The error codes of the permission families beyond spot (reference
``binance-permissions-beyond-spot.md`` §7), as plain rows that ``errors.py`` adds to its
catalogue: (code, name, HTTP status, family, message templates). Their statuses are 400 by the
"4XX sender errors" rule [INF there]; the messages are exact as seen."""

from __future__ import annotations

FamilyErrorRow = tuple[int, str, int, str, tuple[str, ...]]

FAMILY_ERRORS: tuple[FamilyErrorRow, ...] = (
    # Futures order/test checks filters: a too-small notional (§1.3, observed live).
    (
        -4164,
        "MIN_NOTIONAL",
        400,
        "business",
        ("Order's notional must be no smaller than 5 (unless you choose reduce only).",),
    ),
    # Margin: borrow-repay REPAY with nothing borrowed (§2 M3, §7 "SAPI margin").
    (-3015, "REPAY_EXCEEDS_BORROW", 400, "business", ("Repay amount exceeds borrow amount.",)),
    # Sub-accounts (§4, §7): the master calling a sub-only endpoint (observed), and the other
    # direction, whose exact text is unsettled (the emulator's setting; variant 1 is its
    # default [INF]).
    (
        -12022,
        "SUB_ACCOUNT_ONLY",
        400,
        "business",
        (
            "This endpoint is allowed to request from sub account only",
            "This endpoint is allowed to request from master account only",
        ),
    ),
    # An account without the sub-account function asking a master-only endpoint (observed).
    (-8012, "SUB_ACCOUNT_NOT_ENABLED", 400, "business", ("Sub-account function is not enabled.",)),
)
