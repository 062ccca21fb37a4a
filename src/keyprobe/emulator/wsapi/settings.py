"""Every WebSocket API behaviour the reference leaves unsettled ([UNC] in
``binance-ws-api.md``), as one named setting each, with the question and the evidence.

Change a default here (or pass ``WsSettings(...)`` to ``Emulator``) once a recorded testnet run
settles it (reference §8 lists the questions). Smaller inferences that follow the docs' own
wording are commented where they are made: which subscription call raises -2035/-2036/-2042
(``session.py``), USER_STREAM needing a valid key and no permission (``binance/ws_methods.py``),
a banned or weight-exhausted IP refused at the handshake (HTTP 403, ``api.py``), and 429's
``error.data.retryAfter`` as the epoch ms the weight window ends (``limits.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SignatureMode(StrEnum):
    """Which signed payloads the WS API accepts (reference §2.2, §8 Q7).

    ``strict``: only the documented payload — all params but ``signature``, sorted, ``k=v``
    joined with ``&``, values rebuilt from the JSON (booleans ``true``/``false``), **not**
    percent-encoded. ccxt.pro signs exactly this.
    ``lenient``: also the ``quote_plus``-encoded payload (the official binance-sdk-spot and
    python-binance sign ``urlencode(params)``) and booleans rendered ``True``/``False``
    (python-binance's ``str(True)``). The SDK and python-binance only match the documented
    payload when every value is in ``[A-Za-z0-9_.~-]``, so whether Binance canonicalises is
    [UNC]; lenient is the default because it lets the unmodified official SDK work."""

    STRICT = "strict"
    LENIENT = "lenient"


@dataclass(frozen=True, slots=True)
class WsSettings:
    # --- signing (reference §2.2) -----------------------------------------------------------
    signature: SignatureMode = SignatureMode.LENIENT

    # --- session.logon with a non-Ed25519 key (reference §3.1, §8 Q1) -------------------------
    # "Only Ed25519 keys are supported" [DOC]; the error is [UNC]. A user who tried an HMAC key
    # "was consistently getting an invalid signature error" [OBS sieblyio/binance#626], so:
    # 400 / -1022 "Signature for this request is not valid.". The connection stays usable.
    logon_refused_code: int = -1022

    # --- userDataStream.subscribe without a logged-on session (reference §8 Q9) ---------------
    # [UNC]; the key is missing, so the WS API's key error: 401 / -2015.
    subscribe_without_logon_code: int = -2015

    # --- revocation (reference §3.1, §8 Q2-Q4) -----------------------------------------------
    # A logged-on key that was deleted, lost a permission it had at logon, or no longer allows
    # the connection's IP: the next request gets its own answer first (401/-2015 when it needed
    # the session key, a normal answer for NONE methods), then the unsolicited
    # {"id":null,"status":401,"error":{-2015}} frame, and the session is cleared [DOC order:
    # "after the next request the session will be revoked"; whether the request itself is
    # answered first is UNC].
    revocation_frame_after_answer: bool = True
    # A session key without the permission a request needs (read-only key → order.place): only
    # that request fails 401/-2015; the session stays (reference §8 Q2 is UNC).
    revoke_on_missing_permission: bool = False
    # The logon subscription (userDataStream.subscribe) ends with eventStreamTerminated when the
    # session is revoked; signature subscriptions of a key that becomes invalid end the same way
    # at the next account event or request on their connection (reference §8 Q4 is UNC).
    terminate_streams_on_revocation: bool = True

    # --- malformed requests (reference §5, §8 Q6) — all status 400, connection kept open ------
    # Not JSON, not an object, or no id/method: id null (the id cannot be trusted), -1000 with a
    # descriptive message, as the one capture of "params not an object" shows [OBS].
    malformed_request_code: int = -1000
    # "params" present but not an object: -1000 "Invalid 'params' in JSON request; expected an
    # object." [OBS one capture; Binance.US says -1135].
    bad_params_code: int = -1000
    # Unknown method: [UNC], no capture. -1020 "This operation is not supported." [DOC D-ERR].
    unknown_method_code: int = -1020
    # A binary frame in a JSON session: [UNC]; answered like a malformed request.
    binary_frame_code: int = -1000

    # --- sizes -------------------------------------------------------------------------------
    # A text frame above this gets a 400 error frame (id null) and the connection stays [UNC];
    # REST refuses query strings above 64 KiB, the same bound here.
    max_request_bytes: int = 1 << 16
    # The transport's hard cap: a frame above this closes the connection with 1009 (message too
    # big), as websockets does by itself. Not documented by Binance [UNC].
    max_frame_bytes: int = 1 << 20
    # A client that does not read its answers or pushes: more than this many frames queued
    # (the socket's send buffer full) → closed 1008 [UNC; Binance's own bound is unknown].
    max_pending_frames: int = 1_000

    # --- keep-alive and lifetime (reference §1.2) [DOC] -------------------------------------
    ping_interval_s: float | None = 20.0
    # "If no pong comes back within 1 minute it disconnects."
    ping_timeout_s: float | None = 60.0
    # "A connection lasts at most 24 h."
    max_lifetime_s: float = 24 * 3600.0

    # --- weights and limits [DOC] -------------------------------------------------------------
    connection_weight: int = 2
    # "300 connection attempts per 5 minutes per IP" [DOC D-WS L387-391]. What an attempt past
    # it gets is [UNC]: HTTP 429 with a JSON body, code -1003 (handshake.too_many_connections).
    max_connection_attempts: int = 300
    connection_window_s: float = 300.0
    max_active_subscriptions: int = 1_000
    max_lifetime_subscriptions: int = 65_535

    # --- the connection URL (reference §1.1, D-SBE) -----------------------------------------
    # responseFormat=sbe: the emulator answers JSON only, like an exchange where SBE is not
    # enabled, "the response will be HTTP 400" [DOC]; the body's code is [UNC] (no capture):
    # the generic -1000 until a recorded run settles it.
    sbe_refused_code: int = -1000

    # --- server shutdown (reference §1.2) ----------------------------------------------------
    # The serverShutdown event goes to every connection this long before they are closed
    # [DOC: the event exists; how long before the close is UNC].
    shutdown_notice_s: float = 0.1

    # --- event order on the connection that placed an order (reference §8 Q11) ---------------
    # [UNC]: the response first, then executionReport(s), then outboundAccountPosition.
    events_after_response: bool = True
