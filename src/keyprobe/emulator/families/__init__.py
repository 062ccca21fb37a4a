"""The permission families beyond spot (reference ``binance-permissions-beyond-spot.md``):
USDⓈ-M futures at /fapi (futures.py), margin orders and borrow/repay (margin.py), sub-accounts
(subaccounts.py); ``Families`` (state.py) is what the app holds of them; every unsettled
answer is a named setting in ``emulator/families_settings.py``."""

from keyprobe.emulator.families.state import Families

__all__ = ["Families"]
