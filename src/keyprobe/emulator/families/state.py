"""What the app holds for the families beyond spot: their settings, the key registry (sub-accounts
are found through their keys), margin debts, and the gate and routes they add."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.endpoint_model import Api, Endpoint, Security
from keyprobe.binance.endpoints import permission_denied_code
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.auth import Caller
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.families_settings import FamiliesSettings
from keyprobe.emulator.keys import KeyRecord, KeyRegistry

Result = tuple[int, Any]
Handler = Callable[["Families", Exchange, Caller], Result]

# The futures API's content type: no charset (observed, beyond-spot reference §7).
FUTURES_JSON_TYPE = b"application/json"


class Families:
    def __init__(self, settings: FamiliesSettings, keys: KeyRegistry) -> None:
        self.settings = settings
        self.keys = keys
        # (account, asset) -> borrowed and not repaid (cross margin; isolated keyed by symbol).
        self.debts: dict[tuple[str, str], Decimal] = {}
        self.next_tran_id = 100_000_001

    def denied_code(self, endpoint: Endpoint) -> int:
        """The code a key lacking ``endpoint``'s permissions gets (margin orders: a setting)."""
        if endpoint.name == "marginCancelOrder":
            return self.settings.margin_order_denied_code
        return permission_denied_code(endpoint)

    def gate(self, endpoint: Endpoint, key: KeyRecord, now_ms: int) -> None:
        """After the auth pipeline: the key states that refuse the futures API whatever the
        key's flags (§1.2, §1.4), and the unsettled futures-read rule (a setting)."""
        if endpoint.api is not Api.FAPI:
            return
        if key.created_before_futures_account or key.portfolio_margin:
            raise errors.rejected_api_key()
        needs_futures = self.settings.futures_reads_need_futures
        if (
            needs_futures
            and endpoint.security is Security.USER_DATA
            and not key.has(Permission.FUTURES, now_ms)
        ):
            raise errors.rejected_api_key()

    def futures_error(self, exc: BinanceError, client_ip: str) -> BinanceError:
        """/fapi's text for -2015 (a setting: it drifted over the years)."""
        if exc.code != -2015:
            return exc
        msg = self.settings.futures_rejected_message
        if self.settings.futures_ip_suffix:
            msg += f", request ip: {client_ip}"
        return BinanceError(exc.status, exc.code, msg, exc.retry_after)

    def subs_of(self, master: str) -> list[str]:
        """The sub-accounts of ``master``: accounts whose keys name it as their master."""
        return sorted({k.account for k in self.keys if k.master == master})

    def tran_id(self) -> int:
        self.next_tran_id += 1
        return self.next_tran_id

    def reset(self) -> None:
        self.debts.clear()
