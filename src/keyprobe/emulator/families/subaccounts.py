"""Sub-accounts (beyond-spot reference §4): each is its own account with its own keys (orders
never cross accounts: the exchange keys every order by account); the master-only list."""

from __future__ import annotations

from keyprobe.binance import errors
from keyprobe.emulator.auth import Caller
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.exchange.accounts import uid
from keyprobe.emulator.families.state import Families, Result


def sub_account_list(fam: Families, _ex: Exchange, c: Caller) -> Result:
    """GET /sapi/v1/sub-account/list. A sub-account key is refused (the settings' answer,
    unsettled); an account without sub-accounts gets 400 -8012 (observed, §4)."""
    if c.key.master is not None:
        settings = fam.settings
        raise errors.error(settings.sub_on_master_only_code, settings.sub_on_master_only_variant)
    subs = fam.subs_of(c.key.account)
    if not subs:
        raise errors.error(-8012)
    return 200, {
        "subAccounts": [
            {
                "email": f"{sub}_virtual@{uid(c.key.account)}.keyprobe.invalid",
                "isFreeze": False,
                "createTime": 0,
                "isManagedSubAccount": False,
                "isAssetManagementSubAccount": False,
            }
            for sub in subs
        ]
    }
