"""The embedded emulator's API Management, from the harness's side: change a key while it is
in use and put it back (the revocation probe). What a Binance user does on the API Management
page; only the embedded emulator offers it, with a token the run holds (never on disk).

The path and header are the emulator's (``emulator/control.py``), repeated because the harness
does not import the emulator; tests/harness/test_ws_only.py keeps the two equal."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from keyprobe.harness.redaction import MASK, REDACTOR, ExchangeRecord

PREFIX = "/_keyprobe/keys/"
TOKEN_HEADER = "X-Keyprobe-Token"  # noqa: S105 - the header's name, not a token


@dataclass(frozen=True, slots=True)
class Change:
    """A key's new state: its permission flags and its IP whitelist (None: unrestricted)."""

    permissions: tuple[str, ...]
    ip_whitelist: tuple[str, ...] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "permissions": list(self.permissions),
            "ipWhitelist": None if self.ip_whitelist is None else list(self.ip_whitelist),
        }


@dataclass(frozen=True, slots=True)
class ApiManagement:
    base_url: str
    token: str
    source: str | None
    timeout: float = 10.0

    def change(self, api_key: str, change: Change) -> ExchangeRecord:
        """PATCH the key to ``change``; the redacted record (the key shows as ``***``)."""
        return self.patch(api_key, change.as_json())

    def patch(self, api_key: str, body: dict[str, Any]) -> ExchangeRecord:
        """PATCH any of the key's editable fields (``permissions``, ``ipWhitelist``,
        ``tradingAuthorityExpirationTime``); the redacted record."""
        shown = [(k, json.dumps(v)) for k, v in body.items()]
        started = time.monotonic()
        status: int | None = None
        answer: Any = None
        error = None
        try:
            with httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                transport=httpx.HTTPTransport(local_address=self.source, retries=0),
                trust_env=False,  # this target only, never a proxy from the environment
            ) as client:
                response = client.patch(
                    PREFIX + api_key, json=body, headers={TOKEN_HEADER: self.token}
                )
            status = response.status_code
            try:
                answer = response.json()
            except ValueError:
                answer = response.text[:200]
        except httpx.HTTPError as exc:
            error = f"{self.base_url}: {type(exc).__name__}: {exc}"
        return ExchangeRecord(
            method="PATCH",
            path=PREFIX + MASK,
            params=shown,
            source_address=self.source,
            sent_api_key=False,
            status=status,
            body=REDACTOR.obj(answer),
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            error=None if error is None else REDACTOR.text(error),
        )
