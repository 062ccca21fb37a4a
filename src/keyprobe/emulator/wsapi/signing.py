"""The WebSocket API's signed payload (reference §2.1): every param but ``signature``, sorted
by name, ``k=v`` joined with ``&``, values **not** percent-encoded, rebuilt from the JSON
values. ``lenient`` also accepts what python-binance and the official SDK sign (§2.2)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote_plus

from keyprobe.binance.signing import Verifier, ws_payload
from keyprobe.emulator.wsapi.settings import SignatureMode

# What quote_plus leaves alone: a payload made only of these reads the same encoded or not.
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def payload(params: dict[str, str]) -> str:
    """The documented payload (strict): the wire contract's rule."""
    return ws_payload(params)


def _variants(params: dict[str, str], booleans: frozenset[str]) -> Iterator[str]:
    names = [k for k in sorted(params) if k != "signature"]
    # python-binance signs str(True) = "True" for a JSON true.
    as_python = {k: (params[k].capitalize() if k in booleans else params[k]) for k in names}
    variants = [params]
    if booleans:
        variants.append(as_python)
    needs_encoding = any(not _SAFE.issuperset(params[k]) or not _SAFE.issuperset(k) for k in names)
    for values in variants:
        if values is not params:
            yield "&".join(f"{k}={values[k]}" for k in names)
        if needs_encoding:  # urlencode() = quote_plus on names and values
            yield "&".join(f"{quote_plus(k)}={quote_plus(values[k])}" for k in names)


def verify(
    verifier: Verifier,
    params: dict[str, str],
    booleans: frozenset[str],
    signature: str,
    mode: SignatureMode,
) -> bool:
    """Whether ``signature`` signs ``params`` under ``mode``."""
    if verifier.verify(payload(params).encode(), signature):
        return True
    if mode is SignatureMode.STRICT:
        return False
    return any(verifier.verify(p.encode(), signature) for p in _variants(params, booleans))
