"""Account state: every account's balances, the funds its resting orders hold, and debits."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from keyprobe.binance import errors
from keyprobe.emulator.exchange.records import ZERO, Order


@dataclass(slots=True)
class Balance:
    free: Decimal
    locked: Decimal = ZERO


@dataclass(slots=True)
class Account:
    balances: dict[str, Balance]
    update_time: int


@lru_cache(maxsize=4096)  # asked on every account read; the answer never changes
def uid(account: str) -> int:
    """A stable nine-digit uid per account id, like Binance's."""
    digest = hashlib.sha256(account.encode()).digest()
    return 100_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000


class Accounts:
    """Every account the exchange has seen. An account exists from its first use, funded with
    the seed's balances (any valid key's account is usable at once, as on the testnet)."""

    def __init__(self, seed_balances: Mapping[str, Decimal], now_ms: Callable[[], int]) -> None:
        self._seed_balances = seed_balances
        self._now = now_ms
        self._accounts: dict[str, Account] = {}

    def get(self, account: str) -> Account:
        found = self._accounts.get(account)
        if found is None:
            found = self._fresh()
            self._accounts[account] = found
        return found

    def _fresh(self) -> Account:
        balances = {asset: Balance(amount) for asset, amount in self._seed_balances.items()}
        return Account(balances, self._now())

    @staticmethod
    def balance(account: Account, asset: str) -> Balance:
        return account.balances.setdefault(asset, Balance(ZERO))

    def hold(self, acct: Account, order: Order, asset: str, amount: Decimal) -> None:
        """Move ``amount`` of ``asset`` from free to locked for a resting ``order``."""
        balance = self.balance(acct, asset)
        balance.free -= amount
        balance.locked += amount
        order.held_asset, order.held = asset, amount
        acct.update_time = order.time

    def release(self, order: Order) -> None:
        """Give back what ``order`` holds (before it fills or is canceled)."""
        if order.held:
            balance = self.balance(self.get(order.account), order.held_asset)
            balance.locked -= order.held
            balance.free += order.held
            order.held = ZERO

    def debit(self, account: str, asset: str, amount: Decimal) -> None:
        """Take ``amount`` out of the free balance (a withdrawal or a transfer out of spot)."""
        acct = self.get(account)
        balance = acct.balances.get(asset)
        if balance is None or balance.free < amount:
            raise errors.insufficient_balance()
        balance.free -= amount
        acct.update_time = self._now()

    def reset(self) -> None:
        """Refill every known account to the seed."""
        for name in self._accounts:
            self._accounts[name] = self._fresh()

    def holdings(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        return {a: (b.free, b.locked) for a, b in self.get(account).balances.items()}
