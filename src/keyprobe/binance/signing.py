"""Signing and verification for Binance REST requests: HMAC-SHA256, RSA (PKCS#1 v1.5 / SHA-256,
2048-4096 bit) and Ed25519, over the payload rule of reference §3.2."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote, unquote_plus

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa


class KeyType(StrEnum):
    HMAC = "hmac"
    RSA = "rsa"
    ED25519 = "ed25519"


KEY_TYPES: tuple[str, ...] = tuple(k.value for k in KeyType)

RSA_MIN_BITS = 2048
RSA_MAX_BITS = 4096


class MaskedRepr:
    """Base of every class that holds key material and masks it in its ``__repr__``. Pretty
    printers that walk a dataclass's fields themselves, ignoring ``__repr__`` (Hypothesis's
    falsifying examples, IPython), honour ``_repr_pretty_``: they get the masked repr too."""

    __slots__ = ()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class KeyMaterialError(ValueError):
    """Unusable key material: a bad PEM, the wrong algorithm, an RSA size out of range."""


# ----------------------------------------------------------------------------- payload rule


def strip_signature(raw: bytes) -> tuple[bytes, list[bytes]]:
    """Split a raw ``a=1&b=2`` string into (the string without its ``signature`` pairs, the raw
    signature values). Order and encoding of every other byte are kept: Binance verifies what was
    sent, not a re-encoding of it."""
    if not raw:
        return b"", []
    kept: list[bytes] = []
    signatures: list[bytes] = []
    for part in raw.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"signature":
            signatures.append(value)
        else:
            kept.append(part)
    return b"&".join(kept), signatures


def signature_payload(raw_query: bytes, raw_body: bytes) -> bytes:
    """Query string then body, both without their ``signature`` pair, with no separator."""
    return strip_signature(raw_query)[0] + strip_signature(raw_body)[0]


def ws_payload(params: Mapping[str, str]) -> str:
    """The WebSocket API's signed payload (reference binance-ws-api.md §2.1): every param but
    ``signature``, sorted by name, ``k=v`` joined with ``&``, values **not** percent-encoded."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")


def encode_params(params: list[tuple[str, str]] | dict[str, str]) -> str:
    """Percent-encode parameters as UTF-8 (``%EF%BC%91``), in the order given: the string a
    client both signs and sends (the 2026 rule: sign exactly what goes on the wire)."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in items)


# ----------------------------------------------------------------------------- signers


class Signer(Protocol):
    """Holds private key material; produces the plain (not yet percent-encoded) signature."""

    @property
    def key_type(self) -> KeyType: ...

    def sign(self, payload: bytes) -> str: ...


class Verifier(Protocol):
    @property
    def key_type(self) -> KeyType: ...

    def verify(self, payload: bytes, signature: str) -> bool: ...


def hmac_sha256_hex(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


class HmacSigner:
    key_type = KeyType.HMAC

    def __init__(self, secret: str) -> None:
        self._secret = secret
        # Keyed once: copying a keyed HMAC skips re-deriving the inner and outer pads, which
        # was most of the cost of verifying a signature in the emulator.
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(self, payload: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(payload)
        return mac.hexdigest()

    def verify(self, payload: bytes, signature: str) -> bool:
        # Binance: the HMAC signature is case-insensitive, the secret and payload are not.
        # compare_digest raises on non-ASCII str; such a value is simply not a hex digest.
        if not signature.isascii():
            return False
        return hmac.compare_digest(self.sign(payload), signature.lower())

    def __repr__(self) -> str:
        return "HmacSigner(secret=***)"


class RsaSigner:
    key_type = KeyType.RSA

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._key = private_key

    def sign(self, payload: bytes) -> str:
        raw = self._key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()

    def __repr__(self) -> str:
        return f"RsaSigner({self._key.key_size} bit, private key=***)"


class Ed25519Signer:
    key_type = KeyType.ED25519

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        self._key = private_key

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self._key.sign(payload)).decode()

    def __repr__(self) -> str:
        return "Ed25519Signer(private key=***)"


def _b64decode(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


class RsaVerifier:
    key_type = KeyType.RSA

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self._key = public_key

    def verify(self, payload: bytes, signature: str) -> bool:
        raw = _b64decode(signature)
        if raw is None:
            return False
        try:
            self._key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"RsaVerifier({self._key.key_size} bit)"


class Ed25519Verifier:
    key_type = KeyType.ED25519

    def __init__(self, public_key: ed25519.Ed25519PublicKey) -> None:
        self._key = public_key

    def verify(self, payload: bytes, signature: str) -> bool:
        raw = _b64decode(signature)
        if raw is None or len(raw) != 64:
            return False
        try:
            self._key.verify(raw, payload)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return "Ed25519Verifier()"


def decode_signature_value(raw_value: bytes) -> str:
    """A signature as it arrived on the wire, form-decoded: ``%2B`` becomes ``+`` and a raw ``+``
    becomes a space (so an unencoded base64 signature fails, as it does at Binance)."""
    return unquote_plus(raw_value.decode("latin-1"))


# ----------------------------------------------------------------------------- PEM loading


def _normalise_pem(pem: str | bytes) -> bytes:
    text = pem.decode() if isinstance(pem, bytes) else pem
    return text.replace("\r\n", "\n").strip().encode() + b"\n"


def load_signer(key_type: KeyType, secret_or_pem: str, password: bytes | None = None) -> Signer:
    """A signer from an HMAC secret or a PKCS#8 private-key PEM."""
    if key_type is KeyType.HMAC:
        if not secret_or_pem:
            raise KeyMaterialError("the HMAC secret is empty")
        return HmacSigner(secret_or_pem)
    try:
        key = serialization.load_pem_private_key(_normalise_pem(secret_or_pem), password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a readable private-key PEM ({type(exc).__name__})") from None
    if key_type is KeyType.RSA:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyMaterialError("the private key is not an RSA key")
        _check_rsa_size(key.key_size)
        return RsaSigner(key)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyMaterialError("the private key is not an Ed25519 key")
    return Ed25519Signer(key)


def load_verifier(key_type: KeyType, secret_or_pem: str) -> Verifier:
    """A verifier from an HMAC secret or a public-key PEM (``-----BEGIN PUBLIC KEY-----``)."""
    if key_type is KeyType.HMAC:
        if not secret_or_pem:
            raise KeyMaterialError("the HMAC secret is empty")
        return HmacSigner(secret_or_pem)
    try:
        key = serialization.load_pem_public_key(_normalise_pem(secret_or_pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"not a readable public-key PEM ({type(exc).__name__})") from None
    if key_type is KeyType.RSA:
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyMaterialError("the public key is not an RSA key")
        _check_rsa_size(key.key_size)
        return RsaVerifier(key)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyMaterialError("the public key is not an Ed25519 key")
    return Ed25519Verifier(key)


def _check_rsa_size(bits: int) -> None:
    if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise KeyMaterialError(
            f"RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, this one has {bits}"
        )


# ----------------------------------------------------------------------------- generation


@dataclass(frozen=True, slots=True, repr=False)
class KeyMaterial(MaskedRepr):
    """Freshly generated key material: what the key's owner keeps (``private``: an HMAC secret
    or a PKCS#8 PEM) and what the exchange registers (``public``: the same secret, or the PEM
    public key)."""

    key_type: KeyType
    private: str
    public: str

    def __repr__(self) -> str:
        return f"KeyMaterial({self.key_type.value}, private=***)"


def generate_key_material(key_type: KeyType, rsa_bits: int = RSA_MIN_BITS) -> KeyMaterial:
    if key_type is KeyType.HMAC:
        secret = generate_api_key()
        return KeyMaterial(key_type, secret, secret)
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if key_type is KeyType.RSA:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        private_key = ed25519.Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyMaterial(key_type, private_pem, public_pem)


_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
API_KEY_LENGTH = 64


def generate_api_key() -> str:
    """A random 64-character alphanumeric string, the shape of Binance's API keys and secrets."""
    import secrets

    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))
