"""Who sent a WebSocket API request: the REST auth order (reference §5.5) applied per method
security type, with the session's key standing in after ``session.logon`` and an explicit
``apiKey`` + ``signature`` taking precedence over it (binance-ws-api.md §3.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyprobe.binance import errors
from keyprobe.binance.signing import KeyType
from keyprobe.binance.ws_methods import Auth, WsMethod
from keyprobe.emulator import params as P
from keyprobe.emulator.auth import check_key, check_permissions, check_timestamp
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.wsapi import frames
from keyprobe.emulator.wsapi import signing as ws_signing

if TYPE_CHECKING:
    from keyprobe.emulator.wsapi.api import WsApi

# Params every method takes besides its own (they never count as unread).
RETURN_RATE_LIMITS = "returnRateLimits"
# "Only Ed25519 keys are supported" for session.logon [DOC reference §3.1]; the code other
# types get is WsSettings.logon_refused_code.
LOGON_KEY_TYPES = frozenset({KeyType.ED25519})


def authenticate(
    api: WsApi,
    session_key: KeyRecord | None,
    client_ip: str,
    method: WsMethod,
    req: frames.Request,
    now: int,
) -> KeyRecord | None:
    """The key the request acts as (None for a NONE method); the first failing check raises
    as Binance reports it."""
    params = {k: v for k, v in req.params.items() if k != RETURN_RATE_LIMITS}
    endpoint = method.endpoint
    if method.auth is Auth.NONE:
        if req.duplicate:
            raise errors.duplicate_parameter()
        P.validate(endpoint, params, api.emu.rest)
        return None
    if method.auth is Auth.SESSION:
        if req.duplicate:
            raise errors.duplicate_parameter()
        P.validate(endpoint, params, api.emu.rest)
        if session_key is None:
            raise errors.error(api.settings.subscribe_without_logon_code)
        return session_key
    keys = api.emu.keys
    explicit = method.auth is Auth.EXPLICIT or "apiKey" in params or "signature" in params
    if explicit:
        if "apiKey" not in params:
            raise errors.mandatory_missing("apiKey")
        key = check_key(params["apiKey"], client_ip, keys, api.emu.rest)
    elif session_key is not None:
        key = session_key
    else:
        raise errors.mandatory_missing("apiKey")
    if req.duplicate:
        raise errors.duplicate_parameter()
    P.validate(endpoint, params, api.emu.rest)
    if explicit and "signature" not in params:
        raise errors.mandatory_missing("signature")
    rest = api.emu.rest  # the stages REST and the WS API share read the [rest] settings
    check_timestamp(
        params["timestamp"], P.recv_window_ms(params.get("recvWindow"), rest), now, rest
    )
    if method.name == "session.logon" and key.key_type not in LOGON_KEY_TYPES:
        raise errors.error(api.settings.logon_refused_code)
    if explicit and not ws_signing.verify(
        key.verifier, req.params, req.booleans, params["signature"], api.settings.signature
    ):
        raise errors.invalid_signature()
    check_permissions(key, method.permissions, now)
    return key
