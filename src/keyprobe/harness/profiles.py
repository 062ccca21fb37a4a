"""Key profiles: the keys a user holds and what each is supposed to be able to do, read from a
TOML file (``fixtures/profiles.toml``) and validated before any test is collected."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from keyprobe.binance.outcome import Outcome
from keyprobe.binance.permissions import PERMISSION_NAMES, Permission
from keyprobe.binance.signing import KEY_TYPES, KeyType


class ProfilesFileError(ValueError):
    """A profiles file that cannot be used; the message names the file, profile and field."""


class KeyKind(StrEnum):
    """How the key relates to the target.

    ``registered``: a real key the target knows (generated for the emulator, from the
    environment on live targets). ``unknown``: a well-formed key the target has never seen
    (expect -2015). ``malformed``: an ``X-MBX-APIKEY`` value of the wrong shape (expect -2014).
    The last two are generated on every target, so they need no secrets."""

    REGISTERED = "registered"
    UNKNOWN = "unknown"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    key_type: KeyType
    permissions: frozenset[Permission]
    ip_whitelist: tuple[str, ...] | None = None
    kind: KeyKind = KeyKind.REGISTERED
    description: str = ""
    # Per-probe overrides of the derived expectation (``[profiles.NAME.expect]``).
    expect: Mapping[str, Outcome] = field(default_factory=dict)
    # The account the key belongs to (None: an account of its own, named like the profile),
    # and that account's master if it is a sub-account (beyond-spot reference §4).
    account: str | None = None
    master: str | None = None
    # Key states that refuse the whole futures API whatever the flags say (§1.2, §1.4): a key
    # created before the futures account was opened, an account on Portfolio Margin. The
    # embedded emulator registers the key so; elsewhere they declare what the real key is.
    created_before_futures_account: bool = False
    portfolio_margin: bool = False

    @property
    def account_name(self) -> str:
        return self.account or self.name

    @property
    def futures_refused(self) -> str | None:
        """Why the futures API refuses this key whatever its flags, or None."""
        if self.created_before_futures_account:
            return "the key was created before the futures account (reference §1.4)"
        if self.portfolio_margin:
            return "the account is on Portfolio Margin (reference §1.2)"
        return None

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def allows_address(self, address: str) -> bool:
        """Whether the declared IP policy admits ``address`` (no policy admits everyone)."""
        if self.ip_whitelist is None:
            return True
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(e, strict=False) for e in self.ip_whitelist)

    @property
    def env_prefix(self) -> str:
        return "KEYPROBE_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_"


_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_PROFILE_FIELDS = (
    "key_type", "permissions", "ip_whitelist", "kind", "description", "expect", "account",
    "master", "created_before_futures_account", "portfolio_margin",
)  # fmt: skip
_KEY_STATES = ("created_before_futures_account", "portfolio_margin")
_EXPECT_FIELDS = ("status", "code", "message")


def load_profiles(path: Path, probe_names: Collection[str]) -> list[Profile]:
    """Read and validate ``path``. ``probe_names`` are the probes an ``expect`` table may name."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfilesFileError(f"{path}: cannot read the profiles file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfilesFileError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"profiles"})
    if unknown:
        raise ProfilesFileError(
            f"{path}: unknown top-level field {unknown[0]!r}; use [profiles.NAME]"
        )
    tables = data.get("profiles")
    if not isinstance(tables, dict) or not tables:
        raise ProfilesFileError(f"{path}: no profiles; declare at least one [profiles.NAME] table")
    profiles = [_parse_profile(path, name, table, probe_names) for name, table in tables.items()]
    _check_accounts(path, profiles)
    return profiles


def _check_accounts(path: Path, profiles: list[Profile]) -> None:
    """``master`` names a known account that is no sub-account itself, and the profiles of one
    account agree on its master."""
    masters: dict[str, tuple[str, str | None]] = {}
    for p in profiles:
        seen = masters.setdefault(p.account_name, (p.name, p.master))
        if seen[1] != p.master:
            raise ProfilesFileError(
                f"{path}: profile {p.name!r}: field 'master': account {p.account_name!r} has "
                f"master {seen[1]!r} in profile {seen[0]!r}; the profiles of one account agree"
            )
    for p in profiles:
        if p.master is None:
            continue
        where = f"{path}: profile {p.name!r}: field 'master'"
        if p.master == p.account_name:
            raise ProfilesFileError(f"{where}: {p.master!r} is the key's own account")
        if p.master not in masters:
            known = ", ".join(sorted(masters))
            raise ProfilesFileError(f"{where}: unknown account {p.master!r}; known: {known}")
        if masters[p.master][1] is not None:
            raise ProfilesFileError(
                f"{where}: {p.master!r} is itself a sub-account (of {masters[p.master][1]!r}); "
                "a master account has no master"
            )


def _parse_profile(path: Path, name: str, table: Any, probe_names: Collection[str]) -> Profile:
    where = f"{path}: profile {name!r}"

    def fail(field_name: str, why: str) -> ProfilesFileError:
        return ProfilesFileError(f"{where}: field {field_name!r}: {why}")

    if not _NAME.fullmatch(name):
        # Profile names become test ids (name-probe) and environment variable names.
        raise ProfilesFileError(f"{where}: the name must match [A-Za-z0-9_]{{1,64}}")
    if not isinstance(table, dict):
        raise ProfilesFileError(f"{where}: must be a table")
    for key in table:
        if key not in _PROFILE_FIELDS:
            raise fail(key, f"unknown field; expected one of {', '.join(_PROFILE_FIELDS)}")

    key_type = table.get("key_type")
    if key_type not in KEY_TYPES:
        raise fail("key_type", f"{key_type!r} is not one of {', '.join(KEY_TYPES)}")

    kind_raw = table.get("kind", KeyKind.REGISTERED.value)
    try:
        kind = KeyKind(kind_raw)
    except ValueError:
        legal = ", ".join(k.value for k in KeyKind)
        raise fail("kind", f"{kind_raw!r} is not one of {legal}") from None

    raw_permissions = table.get("permissions", [])
    if not isinstance(raw_permissions, list) or not all(
        isinstance(p, str) for p in raw_permissions
    ):
        raise fail("permissions", "must be a list of permission names")
    for p in raw_permissions:
        if p not in PERMISSION_NAMES:
            raise fail(
                "permissions",
                f"unknown permission {p!r}; expected one of {', '.join(PERMISSION_NAMES)}",
            )

    whitelist = table.get("ip_whitelist")
    if whitelist is not None:
        if not isinstance(whitelist, list) or not all(isinstance(e, str) for e in whitelist):
            raise fail("ip_whitelist", "must be a list of addresses or CIDR blocks")
        for entry in whitelist:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise fail("ip_whitelist", f"{entry!r} is not an address or CIDR block") from None

    description = table.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")

    names: dict[str, str | None] = {}
    for name_field in ("account", "master"):
        value = table.get(name_field)
        if value is not None and (not isinstance(value, str) or not _NAME.fullmatch(value)):
            raise fail(name_field, "must be an account name matching [A-Za-z0-9_]{1,64}")
        if value is not None and kind is not KeyKind.REGISTERED:
            raise fail(name_field, f"a {kind.value} key belongs to no account")
        names[name_field] = value
    states: dict[str, bool] = {}
    for state in _KEY_STATES:
        value = table.get(state, False)
        if not isinstance(value, bool):
            raise fail(state, "must be true or false")
        states[state] = value
    if states["created_before_futures_account"] and "enableFutures" in raw_permissions:
        raise fail(
            "permissions",
            "enableFutures cannot be on for a key created before the futures account "
            "(beyond-spot reference §1.4)",
        )

    return Profile(
        name=name,
        key_type=KeyType(key_type),
        permissions=frozenset(Permission(p) for p in raw_permissions),
        ip_whitelist=None if whitelist is None else tuple(whitelist),
        kind=kind,
        description=description,
        expect=_parse_expect(where, table.get("expect", {}), probe_names),
        account=names["account"],
        master=names["master"],
        **states,
    )


def _parse_expect(where: str, table: Any, probe_names: Collection[str]) -> dict[str, Outcome]:
    if not isinstance(table, dict):
        raise ProfilesFileError(f"{where}: field 'expect': must be a table of probe = {{...}}")
    overrides: dict[str, Outcome] = {}
    for probe, value in table.items():
        field_name = f"expect.{probe}"
        if probe not in probe_names:
            raise ProfilesFileError(
                f"{where}: field {field_name!r}: unknown probe; expected one of "
                f"{', '.join(sorted(probe_names))}"
            )
        if not isinstance(value, dict):
            raise ProfilesFileError(
                f"{where}: field {field_name!r}: must be {{ status = N, code = N }}"
            )
        for key in value:
            if key not in _EXPECT_FIELDS:
                raise ProfilesFileError(
                    f"{where}: field '{field_name}.{key}': unknown field; expected one of "
                    f"{', '.join(_EXPECT_FIELDS)}"
                )
        status = value.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise ProfilesFileError(
                f"{where}: field '{field_name}.status': must be an HTTP status (100-599)"
            )
        code = value.get("code")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            raise ProfilesFileError(f"{where}: field '{field_name}.code': must be an integer")
        message = value.get("message")
        if message is not None and not isinstance(message, str):
            raise ProfilesFileError(f"{where}: field '{field_name}.message': must be a string")
        overrides[probe] = Outcome(status, code, message)
    return overrides
