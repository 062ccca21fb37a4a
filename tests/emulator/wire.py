"""A tiny, deliberately independent request builder for the emulator's tests: it signs the
exact bytes it sends (query, then body) the way Binance's docs describe."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from keyprobe.binance.signing import KeyType, load_signer


@dataclass(frozen=True)
class Holder:
    api_key: str
    key_type: KeyType
    private: str

    def sign(self, payload: bytes) -> str:
        return load_signer(self.key_type, self.private).sign(payload)

    def __repr__(self) -> str:
        return f"Holder(...{self.api_key[-4:]}, {self.key_type.value})"


def enc(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def call(
    client: httpx.Client,
    method: str,
    path: str,
    holder: Holder | None,
    params: dict[str, str] | None = None,
    *,
    where: str = "query",
    timestamp: int | None = None,
    sign: bool = True,
    api_key: str | None = None,
    tamper: bool = False,
) -> httpx.Response:
    """Send a signed request. ``where`` puts parameters in the query or the form body."""
    pairs = list((params or {}).items())
    if sign and holder is not None:
        pairs.append(("timestamp", str(timestamp if timestamp is not None else now_ms())))
    text = enc(pairs)
    if sign and holder is not None:
        signature = holder.sign(text.encode())
        if tamper:
            signature = holder.sign(text.encode() + b"x")
        text = f"{text}&signature={quote(signature, safe='')}" if text else ""
    headers = {}
    key = api_key if api_key is not None else (holder.api_key if holder else None)
    if key is not None:
        headers["X-MBX-APIKEY"] = key
    if where == "body":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return client.request(method, path, content=text.encode(), headers=headers)
    url = f"{path}?{text}" if text else path
    return client.request(method, url, headers=headers)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
