"""The handler of each endpoint of the families beyond spot, by endpoint name
(``binance/endpoints_families.py``)."""

from __future__ import annotations

from keyprobe.emulator.families import futures, margin, subaccounts
from keyprobe.emulator.families.state import Handler

ROUTES: dict[str, Handler] = {
    "futuresAccountConfig": futures.account_config,
    "futuresAccountV2": futures.account_v2,
    "futuresAccountV3": futures.account_v3,
    "futuresTestOrder": futures.order_test,
    "futuresCancelOrder": futures.cancel_order,
    "marginCancelOrder": margin.cancel_order,
    "marginBorrowRepay": margin.borrow_repay,
    "subAccountList": subaccounts.sub_account_list,
}
