"""The permission vocabulary: the flags of ``GET /sapi/v1/account/apiRestrictions``."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """One API-key permission flag, named exactly as Binance's apiRestrictions payload names it."""

    READING = "enableReading"
    SPOT_AND_MARGIN_TRADING = "enableSpotAndMarginTrading"
    WITHDRAWALS = "enableWithdrawals"
    INTERNAL_TRANSFER = "enableInternalTransfer"
    MARGIN = "enableMargin"
    FUTURES = "enableFutures"
    UNIVERSAL_TRANSFER = "permitsUniversalTransfer"
    VANILLA_OPTIONS = "enableVanillaOptions"


PERMISSION_NAMES: tuple[str, ...] = tuple(p.value for p in Permission)


def parse_permission(name: str) -> Permission:
    """Return the permission called ``name``; ``ValueError`` names the legal values otherwise."""
    try:
        return Permission(name)
    except ValueError:
        raise ValueError(
            f"unknown permission {name!r}; expected one of: {', '.join(PERMISSION_NAMES)}"
        ) from None
