"""A demo key set for ``keyprobe emulator`` run without ``--keys``: one key per common role,
written to two files — what the exchange registers, and what the key holders keep."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material
from keyprobe.emulator.keys import KeyRecord


@dataclass(frozen=True, slots=True)
class DemoRole:
    label: str
    key_type: KeyType
    permissions: tuple[Permission, ...]
    ip_whitelist: tuple[str, ...] | None = None


READ = Permission.READING
TRADE = Permission.SPOT_AND_MARGIN_TRADING

ROLES: tuple[DemoRole, ...] = (
    DemoRole("trader_hmac", KeyType.HMAC, (READ, TRADE)),
    DemoRole("trader_ed25519", KeyType.ED25519, (READ, TRADE)),
    DemoRole("trader_rsa", KeyType.RSA, (READ, TRADE)),
    DemoRole("read_only", KeyType.ED25519, (READ,)),
    DemoRole("ip_bound", KeyType.HMAC, (READ, TRADE), ("127.0.0.1/32",)),
    DemoRole("withdrawer", KeyType.ED25519, (READ, Permission.WITHDRAWALS), ("127.0.0.1",)),
)


def _toml_str(value: str) -> str:
    if "\n" in value:
        return '"""\n' + value.rstrip("\n") + '\n"""'
    return json.dumps(value)


def _toml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_demo_keys(directory: Path | None = None) -> tuple[Path, list[KeyRecord]]:
    """Generate the demo keys; return the folder holding ``keys.toml`` (for ``--keys``) and
    ``credentials.toml`` (api keys with their secrets/private keys), both readable only by
    the owner."""
    folder = directory or Path(tempfile.mkdtemp(prefix="keyprobe-emulator-"))
    folder.mkdir(parents=True, exist_ok=True)
    server_lines: list[str] = []
    client_lines: list[str] = []
    records: list[KeyRecord] = []
    for role in ROLES:
        api_key = generate_api_key()
        material = generate_key_material(role.key_type)
        material_field = "secret" if role.key_type is KeyType.HMAC else "public_key"
        server_lines += [
            "[[key]]",
            f"label = {_toml_str(role.label)}",
            f"api_key = {_toml_str(api_key)}",
            f"type = {_toml_str(role.key_type.value)}",
            f"{material_field} = {_toml_str(material.public)}",
            f"permissions = {_toml_list(tuple(p.value for p in role.permissions))}",
        ]
        if role.ip_whitelist is not None:
            server_lines.append(f"ip_whitelist = {_toml_list(role.ip_whitelist)}")
        server_lines.append("")
        private_field = "secret" if role.key_type is KeyType.HMAC else "private_key"
        client_lines += [
            f"[{role.label}]",
            f"api_key = {_toml_str(api_key)}",
            f"type = {_toml_str(role.key_type.value)}",
            f"{private_field} = {_toml_str(material.private)}",
            "",
        ]
        records.append(
            KeyRecord.create(
                api_key,
                role.key_type,
                material.public,
                role.permissions,
                ip_whitelist=role.ip_whitelist,
                label=role.label,
            )
        )
    _write_private(folder / "keys.toml", "\n".join(server_lines))
    _write_private(folder / "credentials.toml", "\n".join(client_lines))
    return folder, records


def write_admin_token(directory: Path | None = None) -> Path:
    """A fresh API Management token (``X-Keyprobe-Token``, see ``control.py``) in
    ``admin-token`` beside the demo credentials (or in a new private folder), mode 0600."""
    folder = directory or Path(tempfile.mkdtemp(prefix="keyprobe-emulator-"))
    path = folder / "admin-token"
    _write_private(path, secrets.token_urlsafe(32))
    return path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
