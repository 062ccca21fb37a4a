"""The authentication pipeline, in the order of reference §5.5: key header and format, key
exists, IP whitelist, parameter syntax, timestamp window, signature, permission."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from keyprobe.binance import errors
from keyprobe.binance.endpoints import Api, Endpoint, permission_denied_code, unknown_key_code
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import decode_signature_value, signature_payload, strip_signature
from keyprobe.emulator import params as P
from keyprobe.emulator.keys import KeyRecord, KeyRegistry, key_format_ok
from keyprobe.emulator.rest_settings import RestSettings

# The length of the keys Binance issues [DOC examples, OBS ccxt#3057].
ISSUED_KEY_LENGTH = 64
# Timestamps at or above this are microseconds (ms timestamps stay below it until year 5138).
MICROSECOND_THRESHOLD = 10**14


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request that passed authentication."""

    key: KeyRecord
    params: dict[str, str]


def check_timestamp(raw: str, recv_window: Decimal, now_ms: int, rest: RestSettings) -> None:
    """Binance's pseudo-code: accept iff ``timestamp < serverTime + 1000`` and
    ``serverTime - timestamp <= recvWindow``; the two failures have different messages. A
    microsecond timestamp is read as one only when rest.accepts_microseconds (else it is far
    ahead)."""
    stamp = Decimal(int(raw))
    if stamp >= MICROSECOND_THRESHOLD and rest.accepts_microseconds:
        stamp /= 1000
    if stamp >= now_ms + 1000:
        raise errors.timestamp_ahead()
    if now_ms - stamp > recv_window:
        raise errors.timestamp_outside_recv_window()


def check_key(
    api_key: str | None,
    client_ip: str,
    keys: KeyRegistry,
    rest: RestSettings,
    unknown_code: int | None = None,
) -> KeyRecord:
    """The first three stages (shared by REST and the WebSocket API): key format, key
    exists, IP whitelist. ``unknown_code``: SAPI's own (-2008) where it differs."""
    if not api_key:
        raise P.chosen(rest.missing_key_code, errors.bad_api_key_format())
    if not key_format_ok(api_key):
        raise P.chosen(rest.malformed_key_code, errors.bad_api_key_format())
    key = keys.get(api_key)
    if key is None:
        if unknown_code is None:
            short = len(api_key) < ISSUED_KEY_LENGTH
            unknown_code = rest.short_key_code if short else rest.unknown_key_code
        raise errors.error(unknown_code)
    if not key.allows_ip(client_ip):
        raise errors.rejected_api_key()
    return key


def check_permissions(
    key: KeyRecord, permissions: Iterable[Permission], now_ms: int, denied_code: int = -2015
) -> None:
    """The last stage: every permission the action needs."""
    for permission in permissions:
        if not key.has(permission, now_ms):
            raise errors.error(denied_code)


def _signature_value(raw: P.RawRequest) -> str | None:
    # "If a parameter is sent in both the query string and request body, the query string
    # parameter will be used" — the signature included.
    _, in_query = strip_signature(raw.query)
    if in_query:
        return decode_signature_value(in_query[0])
    if P.body_is_form(raw.content_type):
        _, in_body = strip_signature(raw.body)
        if in_body:
            return decode_signature_value(in_body[0])
    return None


def authenticate(
    endpoint: Endpoint,
    raw: P.RawRequest,
    parsed: P.Parsed,
    api_key: str | None,
    client_ip: str,
    keys: KeyRegistry,
    now_ms: int,
    rest: RestSettings,
    denied_code: int | None = None,
) -> Caller:
    """Run every check a SIGNED endpoint makes before its business logic; raise the first
    failure as Binance reports it. ``denied_code``: the permission refusal, where the app's
    settings choose it (margin orders)."""
    sapi = endpoint.api is Api.SAPI
    key = check_key(api_key, client_ip, keys, rest, unknown_key_code(endpoint) if sapi else None)

    params = parsed.get()
    if sapi and not params.get("signature"):
        raise errors.unauthorized()  # SAPI without a signature: 401 -1002 (observed)
    P.validate(endpoint, params, rest)
    recv_window = P.recv_window_ms(params.get("recvWindow"), rest)
    if rest.timestamp_before_signature:
        check_timestamp(params["timestamp"], recv_window, now_ms, rest)
    signature = _signature_value(raw)
    body = raw.body if P.body_is_form(raw.content_type) else b""
    payload = signature_payload(raw.query, body)
    if signature is None or not key.verifier.verify(payload, signature):
        raise errors.invalid_signature()
    if not rest.timestamp_before_signature:
        check_timestamp(params["timestamp"], recv_window, now_ms, rest)

    if denied_code is None:
        denied_code = permission_denied_code(endpoint)
    check_permissions(key, endpoint.permissions, now_ms, denied_code)
    return Caller(key, params)
