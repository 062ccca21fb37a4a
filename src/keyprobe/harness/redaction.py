"""The one redaction point: every exchange, log line and report text passes through here
before it reaches logs, test ids, Allure, JUnit or the terminal."""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

MASK = "***"
# Below this length a "secret" is too generic to replace blindly (it would mangle text).
_MIN_SECRET = 8

_SIGNATURE = re.compile(r"(?i)(signature=)[^&\s\"'<>]+")
_API_KEY_HEADER = re.compile(r"(?i)(x-mbx-apikey[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+")
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL)


class Redactor:
    """Knows every secret of the run (API keys, HMAC secrets, private PEMs) and removes them,
    plus anything that looks like a signature, an API-key header or a PEM block."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False

    def add(self, *secrets: str) -> None:
        with self._lock:
            for secret in secrets:
                for part in _secret_parts(secret):
                    if part not in self._secrets:
                        self._secrets.add(part)
                        self._stale = True

    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def _current(self) -> re.Pattern[str] | None:
        # Compiled on first use after a change, not on every add: a run adds secrets key by
        # key, and recompiling the whole alternation each time grew quadratically (25-90 ms per
        # add with the shipped profiles' PEM lines). Unchanged (the common case: every string
        # of every exchange), no lock: a flag read is atomic, and a secret added while a text
        # is being masked is a race the lock did not close either.
        if not self._stale:
            return self._pattern
        with self._lock:
            if self._stale:
                # Longest first, so a PEM is masked whole rather than line by line.
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = (
                    re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None
                )
                self._stale = False
            return self._pattern

    def text(self, value: str) -> str:
        pattern = self._current()
        if pattern is not None:
            value = pattern.sub(MASK, value)
        value = _PEM.sub(MASK, value)
        value = _SIGNATURE.sub(r"\1" + MASK, value)
        return _API_KEY_HEADER.sub(r"\1" + MASK, value)

    def obj(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value


def _secret_parts(secret: str) -> list[str]:
    """A secret and the pieces of it that can leak on their own (each line of a PEM body)."""
    secret = secret.strip()
    if len(secret) < _MIN_SECRET:
        return []
    parts = [secret]
    if "-----BEGIN" in secret:
        parts.extend(
            line.strip()
            for line in secret.splitlines()
            if len(line.strip()) >= _MIN_SECRET and not line.startswith("-----")
        )
    return parts


# The run's redactor: one per process, fed by the plugin as credentials appear.
REDACTOR = Redactor()


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One request and its answer, already redacted: the only form in which an exchange is
    ever logged, attached or reported."""

    method: str
    path: str
    params: list[tuple[str, str]]
    source_address: str | None
    sent_api_key: bool
    status: int | None
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)


# Response headers worth keeping: rate-limit accounting and ids. Nothing that could carry a key.
_KEPT_HEADERS = ("content-type", "retry-after", "x-mbx-uuid")


def record_exchange(
    request: httpx.Request,
    response: httpx.Response | None,
    *,
    source_address: str | None,
    error: str | None = None,
    redactor: Redactor = REDACTOR,
) -> ExchangeRecord:
    params: list[tuple[str, str]] = []
    raw_query = request.url.query.decode("ascii", "replace")
    for pair in raw_query.split("&") if raw_query else []:
        name, _, value = pair.partition("=")
        name = unquote(name)
        shown = MASK if name == "signature" else redactor.text(unquote(value))
        params.append((name, shown))
    status = body = None
    headers: dict[str, str] = {}
    elapsed = None
    if response is not None:
        status = response.status_code
        try:
            body = redactor.obj(response.json())
        except (ValueError, UnicodeDecodeError):
            body = redactor.text(response.text[:2000])
        for name, value in response.headers.items():
            lname = name.lower()
            if lname in _KEPT_HEADERS or lname.startswith(("x-mbx-used-weight", "x-mbx-order")):
                headers[lname] = redactor.text(value)
        try:
            elapsed = round(response.elapsed.total_seconds() * 1000, 1)
        except RuntimeError:  # .elapsed is only set once the response is closed
            elapsed = None
    return ExchangeRecord(
        method=request.method,
        path=request.url.path,
        params=params,
        source_address=source_address,
        sent_api_key="x-mbx-apikey" in request.headers,
        status=status,
        body=body,
        headers=headers,
        elapsed_ms=elapsed,
        error=None if error is None else redactor.text(error),
    )


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through the redactor (and drops its args)."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redactor.text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


# httpx logs every URL (signature included) at INFO; these loggers never get past WARNING.
NOISY_LOGGERS = ("httpx", "httpcore", "hpack", "faker")


def quiet_http_loggers() -> None:
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    keyprobe_logger = logging.getLogger("keyprobe")
    if not any(isinstance(f, RedactingFilter) for f in keyprobe_logger.filters):
        keyprobe_logger.addFilter(RedactingFilter())
