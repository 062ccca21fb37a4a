"""Credentials: the API key and signing material each profile uses, from the environment on a
live target or generated at run time for the emulator. Nothing here ever prints a secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from keyprobe.binance.signing import (
    KeyMaterial,
    KeyMaterialError,
    KeyType,
    MaskedRepr,
    Signer,
    generate_api_key,
    generate_key_material,
    load_signer,
)
from keyprobe.harness.faults import malformed_api_key
from keyprobe.harness.profiles import KeyKind, Profile


class MissingSecrets(LookupError):
    """A profile's secrets are not in the environment; the message names the variables.
    ``missing`` names only the variables that are unset or empty (never a value)."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class BadSecrets(ValueError):
    """A profile's secret is present but unusable (e.g. not a PEM); the message says which."""


@dataclass(frozen=True, slots=True, repr=False)
class Credentials(MaskedRepr):
    """An API key plus the secret or private key that signs for it."""

    api_key: str
    key_type: KeyType
    private: str  # the HMAC secret or the PKCS#8 PEM

    def signer(self) -> Signer:
        return _signer(self.key_type, self.private)

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never appear in an artifact."""
        return (self.api_key, self.private)

    def __repr__(self) -> str:
        return f"Credentials({self.key_type.value}, api_key=***, private=***)"


# Loading an RSA PEM costs ~60 ms here (cryptography checks the key's consistency) and a run signs
# several requests per cell with the same few keys: load each once per process. Signers hold no
# per-request state, so sharing one is safe.
@lru_cache(maxsize=256)
def _signer(key_type: KeyType, private: str) -> Signer:
    return load_signer(key_type, private)


def env_names(profile: Profile) -> tuple[str, ...]:
    """The variables a live profile reads, in the order a user should set them."""
    p = profile.env_prefix
    if profile.key_type is KeyType.HMAC:
        return (p + "API_KEY", p + "SECRET")
    return (p + "API_KEY", p + "PRIVATE_KEY", p + "PRIVATE_KEY_FILE")


def from_env(profile: Profile, env: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if env is None else env
    p = profile.env_prefix
    api_key = env.get(p + "API_KEY", "")
    if profile.key_type is KeyType.HMAC:
        private = env.get(p + "SECRET", "")
        if not api_key or not private:
            missing = tuple(
                name
                for name, value in ((p + "API_KEY", api_key), (p + "SECRET", private))
                if not value
            )
            raise MissingSecrets(
                f"profile {profile.name!r}: set {p}API_KEY and {p}SECRET to run it", missing
            )
        return Credentials(api_key, profile.key_type, private)
    private = env.get(p + "PRIVATE_KEY", "")
    key_file = env.get(p + "PRIVATE_KEY_FILE", "")
    if not private and key_file:
        try:
            private = Path(key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise BadSecrets(
                f"profile {profile.name!r}: {p}PRIVATE_KEY_FILE: cannot read it ({exc.strerror})"
            ) from None
    if not api_key or not private:
        missing = tuple(
            name
            for name, value in (
                (p + "API_KEY", api_key),
                (f"{p}PRIVATE_KEY (or {p}PRIVATE_KEY_FILE)", private),
            )
            if not value
        )
        raise MissingSecrets(
            f"profile {profile.name!r}: set {p}API_KEY and {p}PRIVATE_KEY "
            f"(or {p}PRIVATE_KEY_FILE) to run it",
            missing,
        )
    credentials = Credentials(api_key, profile.key_type, private)
    try:
        credentials.signer()
    except KeyMaterialError as exc:
        raise BadSecrets(f"profile {profile.name!r}: the private key: {exc}") from None
    return credentials


def generate(profile: Profile) -> tuple[Credentials, KeyMaterial]:
    """Fresh key material for ``profile``; the KeyMaterial's public half is what a target
    registers. Unknown and malformed profiles get real signing material too, so that only
    the key itself is wrong."""
    material = generate_key_material(profile.key_type)
    malformed = profile.kind is KeyKind.MALFORMED
    api_key = malformed_api_key() if malformed else generate_api_key()
    return Credentials(api_key, profile.key_type, material.private), material
