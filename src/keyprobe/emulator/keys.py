"""The key registry: who holds which API key, how it signs, what it may do and from where."""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from keyprobe.binance.permissions import PERMISSION_NAMES, Permission
from keyprobe.binance.signing import (
    KEY_TYPES,
    KeyMaterialError,
    KeyType,
    MaskedRepr,
    Verifier,
    load_verifier,
)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Binance does not document the -2014 rule; keys it issues are 64 alphanumerics, so anything
# that is not a plausible key token (empty, too long, odd characters) is a format error.
MAX_KEY_LENGTH = 128


def key_format_ok(api_key: str) -> bool:
    return 0 < len(api_key) <= MAX_KEY_LENGTH and api_key.isascii() and api_key.isalnum()


@dataclass(frozen=True, slots=True, repr=False)
class KeyRecord(MaskedRepr):
    """One API key as the exchange stores it. ``ip_whitelist`` None = unrestricted, () = nobody."""

    api_key: str
    key_type: KeyType
    verifier: Verifier
    permissions: frozenset[Permission]
    ip_whitelist: tuple[IpNetwork, ...] | None = None
    account: str = "default"
    create_time_ms: int = 0
    # "Spot & Margin Trading" switches itself off at this time (Binance's 30-day rule), if set.
    trading_expires_ms: int | None = None
    label: str = ""
    # The account's master account, if it is a sub-account (beyond-spot reference §4).
    master: str | None = None
    # Key states that refuse the futures API whatever the key's flags say (§1.2, §1.4): a key
    # created before the futures account was opened, an account on Portfolio Margin.
    created_before_futures_account: bool = False
    portfolio_margin: bool = False

    @classmethod
    def create(
        cls,
        api_key: str,
        key_type: KeyType | str,
        secret_or_public_pem: str,
        permissions: Iterable[Permission | str],
        ip_whitelist: Sequence[str] | None = None,
        account: str | None = None,
        **extra: Any,
    ) -> KeyRecord:
        kt = KeyType(key_type)
        return cls(
            api_key=api_key,
            key_type=kt,
            verifier=load_verifier(kt, secret_or_public_pem),
            permissions=frozenset(Permission(p) for p in permissions),
            ip_whitelist=None if ip_whitelist is None else parse_whitelist(ip_whitelist),
            account=account or api_key[:8],
            **extra,
        )

    def allows_ip(self, ip: str) -> bool:
        if self.ip_whitelist is None:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self.ip_whitelist)

    def has(self, permission: Permission, now_ms: int) -> bool:
        if permission not in self.permissions:
            return False
        if permission is Permission.SPOT_AND_MARGIN_TRADING and self.trading_expires_ms:
            return now_ms < self.trading_expires_ms
        return True

    def __repr__(self) -> str:
        return (
            f"KeyRecord(api_key=...{self.api_key[-4:]}, type={self.key_type.value}, "
            f"account={self.account!r}, permissions={sorted(self.permissions)})"
        )


def parse_whitelist(entries: Sequence[str]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


@dataclass(repr=False)
class KeyRegistry(MaskedRepr):
    """API keys by their ``X-MBX-APIKEY`` value. Registration is allowed while serving."""

    _keys: dict[str, KeyRecord] = field(default_factory=dict)
    # The server clock: stamps a key's createTime when it is registered without one.
    now_ms: Callable[[], int] | None = None
    # The 30-day rule (families_settings.trading_authority_ms): None = off.
    trading_authority_ms: int | None = None

    def __repr__(self) -> str:
        # The dict's keys are the API keys themselves: show the (masked) records only.
        return f"KeyRegistry({list(self._keys.values())!r})"

    def register(self, record: KeyRecord, previous: KeyRecord | None = None) -> None:
        """Add ``record``, or replace ``previous`` with it (an edit in API Management)."""
        self._keys[record.api_key] = self._stamped(record, previous)

    def _stamped(self, record: KeyRecord, previous: KeyRecord | None) -> KeyRecord:
        now = self.now_ms() if self.now_ms is not None else None
        if now is not None and record.create_time_ms == 0:
            record = replace(record, create_time_ms=now)
        period = self.trading_authority_ms
        if period is None:
            return record
        # Binance's 30-day rule: without an IP whitelist, Spot & Margin Trading is valid for
        # the period from its activation; whitelisted keys never expire; an existing key is
        # affected from its next edit.
        if Permission.SPOT_AND_MARGIN_TRADING not in record.permissions or record.ip_whitelist:
            return replace(record, trading_expires_ms=None)
        if previous is None:
            start = record.create_time_ms
            return replace(record, trading_expires_ms=record.trading_expires_ms or start + period)
        active_before = (
            Permission.SPOT_AND_MARGIN_TRADING in previous.permissions
            and previous.ip_whitelist is None
            and previous.trading_expires_ms is not None
        )
        if active_before:
            return replace(record, trading_expires_ms=previous.trading_expires_ms)
        return replace(record, trading_expires_ms=(now or record.create_time_ms) + period)

    def remove(self, api_key: str) -> None:
        """API Management deletes a key: the next request with it is refused."""
        self._keys.pop(api_key, None)

    def get(self, api_key: str) -> KeyRecord | None:
        return self._keys.get(api_key)

    def __iter__(self) -> Iterator[KeyRecord]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)


class KeysFileError(ValueError):
    """A keys file that cannot be used; the message names the file, the key and the field."""


_KEY_FIELDS = {
    "api_key",
    "type",
    "secret",
    "public_key",
    "permissions",
    "ip_whitelist",
    "account",
    "label",
    "master",
    "created_before_futures_account",
    "portfolio_margin",
}


def load_keys_file(path: Path) -> list[KeyRecord]:
    """Read a keys file (TOML, one ``[[key]]`` table per key) into records."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeysFileError(f"{path}: cannot read the keys file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KeysFileError(f"{path}: not valid TOML: {exc}") from None
    unknown_top = set(data) - {"key"}
    if unknown_top:
        raise KeysFileError(
            f"{path}: unknown top-level field(s) {sorted(unknown_top)}; use [[key]]"
        )
    tables = data.get("key", [])
    if not isinstance(tables, list):
        raise KeysFileError(f"{path}: 'key' must be an array of tables ([[key]])")
    records: list[KeyRecord] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        record = _parse_key(path, index, table)
        if record.api_key in seen:
            raise KeysFileError(
                f"{path}: key #{index}: field 'api_key': duplicate of an earlier key"
            )
        seen.add(record.api_key)
        records.append(record)
    return records


def _parse_key(path: Path, index: int, table: Any) -> KeyRecord:
    where = f"{path}: key #{index}"

    def fail(field_name: str, why: str) -> KeysFileError:
        return KeysFileError(f"{where}: field '{field_name}': {why}")

    if not isinstance(table, dict):
        raise KeysFileError(f"{where}: must be a table")
    label = table.get("label")
    if isinstance(label, str) and label:
        where = f"{path}: key #{index} ({label})"
    unknown = set(table) - _KEY_FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field; expected one of {sorted(_KEY_FIELDS)}")
    api_key = table.get("api_key")
    if not isinstance(api_key, str) or not api_key:
        raise fail("api_key", "missing or not a string")
    key_type = table.get("type")
    if key_type not in KEY_TYPES:
        raise fail("type", f"{key_type!r} is not one of {', '.join(KEY_TYPES)}")
    kt = KeyType(key_type)
    material_field = "secret" if kt is KeyType.HMAC else "public_key"
    wrong_field = "public_key" if kt is KeyType.HMAC else "secret"
    if wrong_field in table:
        raise fail(wrong_field, f"not used by {kt.value} keys (give '{material_field}')")
    material = table.get(material_field)
    if not isinstance(material, str) or not material.strip():
        raise fail(material_field, f"missing; {kt.value} keys need it")
    permissions = table.get("permissions", [])
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise fail("permissions", "must be a list of strings")
    for name in permissions:
        if name not in PERMISSION_NAMES:
            raise fail("permissions", f"unknown permission {name!r}; expected {PERMISSION_NAMES}")
    whitelist = table.get("ip_whitelist")
    if whitelist is not None:
        if not isinstance(whitelist, list) or not all(isinstance(e, str) for e in whitelist):
            raise fail("ip_whitelist", "must be a list of addresses or CIDR blocks")
        try:
            parse_whitelist(whitelist)
        except ValueError as exc:
            raise fail("ip_whitelist", str(exc)) from None
    account = table.get("account")
    if account is not None and (not isinstance(account, str) or not account):
        raise fail("account", "must be a non-empty string")
    master = table.get("master")
    if master is not None and (not isinstance(master, str) or not master):
        raise fail("master", "must be a non-empty string (the master's account)")
    states = {}
    for flag in ("created_before_futures_account", "portfolio_margin"):
        value = table.get(flag, False)
        if not isinstance(value, bool):
            raise fail(flag, "must be true or false")
        states[flag] = value
    if states["created_before_futures_account"] and "enableFutures" in permissions:
        raise fail("permissions", "enableFutures cannot be on for a key created before the "
                   "futures account (beyond-spot reference §1.4)")  # fmt: skip
    try:
        return KeyRecord.create(
            api_key,
            kt,
            material,
            permissions,
            ip_whitelist=whitelist,
            account=account,
            label=label if isinstance(label, str) else "",
            master=master,
            **states,
        )
    except KeyMaterialError as exc:
        raise fail(material_field, str(exc)) from None
