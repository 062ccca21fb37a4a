"""The WebSocket API's settings: the documented limits and timings, and a view of every answer
the reference leaves unsettled (``binance-ws-api.md`` §8), whose question, evidence and value
live in the one table (``binance/unsettled_table.py``, values in ``binance/behaviour.toml``).
``WsSettings.of(behaviour)`` is the view of a ``Behaviour``; ``WsSettings(...)`` with keyword
arguments changes one setting for a test.

Smaller inferences that follow the docs' own wording are commented where they are made: which
subscription call raises -2035/-2036/-2042 (``session.py``), USER_STREAM needing a valid key and
no permission (``binance/ws_methods.py``), a banned or weight-exhausted IP refused at the
handshake (HTTP 403, ``api.py``), and 429's ``error.data.retryAfter`` as the epoch ms the weight
window ends (``limits.py``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from keyprobe.binance.unsettled import DEFAULT, Behaviour


class SignatureMode(StrEnum):
    """Which signed payloads the WS API accepts (reference §2.2, §8 Q7; ``ws.signature_mode``).

    ``strict``: only the documented payload — all params but ``signature``, sorted, ``k=v``
    joined with ``&``, values rebuilt from the JSON (booleans ``true``/``false``), **not**
    percent-encoded. ccxt.pro signs exactly this.
    ``lenient``: also the ``quote_plus``-encoded payload (the official binance-sdk-spot and
    python-binance sign ``urlencode(params)``) and booleans rendered ``True``/``False``
    (python-binance's ``str(True)``). The SDK and python-binance only match the documented
    payload when every value is in ``[A-Za-z0-9_.~-]``."""

    STRICT = "strict"
    LENIENT = "lenient"


# The settings that are views of the table: field name -> question id (the same name in [ws]).
TABLE_FIELDS: tuple[str, ...] = (
    "logon_refused_code",
    "subscribe_without_logon_code",
    "revocation_frame_after_answer",
    "revoke_on_missing_permission",
    "terminate_streams_on_revocation",
    "malformed_request_code",
    "bad_params_code",
    "unknown_method_code",
    "binary_frame_code",
    "max_request_bytes",
    "max_frame_bytes",
    "max_pending_frames",
    "sbe_refused_code",
    "duplicate_response_format_code",
    "too_many_connections_status",
    "too_many_connections_code",
    "events_after_response",
)


def _i(name: str) -> int:
    return DEFAULT.integer(f"ws.{name}")


def _b(name: str) -> bool:
    return DEFAULT.flag(f"ws.{name}")


_DEFAULT_SIGNATURE = SignatureMode(DEFAULT.text("ws.signature_mode"))


@dataclass(frozen=True, slots=True)
class WsSettings:
    # --- unsettled: views of the table (binance/unsettled_table.py says what each one is) ---
    signature: SignatureMode = _DEFAULT_SIGNATURE
    logon_refused_code: int = _i("logon_refused_code")
    subscribe_without_logon_code: int = _i("subscribe_without_logon_code")
    # A revoked session key: its next request gets its own answer, then (or, when False,
    # before it) the unsolicited {"id":null,"status":401,"error":{-2015}} frame; the session is
    # cleared.
    revocation_frame_after_answer: bool = _b("revocation_frame_after_answer")
    revoke_on_missing_permission: bool = _b("revoke_on_missing_permission")
    terminate_streams_on_revocation: bool = _b("terminate_streams_on_revocation")
    # Malformed requests are all status 400 with id null; the connection stays open.
    malformed_request_code: int = _i("malformed_request_code")
    bad_params_code: int = _i("bad_params_code")
    unknown_method_code: int = _i("unknown_method_code")
    binary_frame_code: int = _i("binary_frame_code")
    max_request_bytes: int = _i("max_request_bytes")
    max_frame_bytes: int = _i("max_frame_bytes")
    max_pending_frames: int = _i("max_pending_frames")
    sbe_refused_code: int = _i("sbe_refused_code")
    duplicate_response_format_code: int = _i("duplicate_response_format_code")
    too_many_connections_status: int = _i("too_many_connections_status")
    too_many_connections_code: int = _i("too_many_connections_code")
    shutdown_notice_s: float = _i("shutdown_notice_ms") / 1000
    events_after_response: bool = _b("events_after_response")

    # --- keep-alive and lifetime (reference §1.2) [DOC] -------------------------------------
    ping_interval_s: float | None = 20.0
    # "If no pong comes back within 1 minute it disconnects."
    ping_timeout_s: float | None = 60.0
    # "A connection lasts at most 24 h."
    max_lifetime_s: float = 24 * 3600.0

    # --- weights and limits [DOC] -------------------------------------------------------------
    connection_weight: int = 2
    # "300 connection attempts per 5 minutes per IP" [DOC D-WS L387-391].
    max_connection_attempts: int = 300
    connection_window_s: float = 300.0
    max_active_subscriptions: int = 1_000
    max_lifetime_subscriptions: int = 65_535

    @classmethod
    def of(cls, behaviour: Behaviour) -> WsSettings:
        """The view of ``behaviour``: its [ws] values, the documented rest as declared."""
        # Each value has the field's type: the table declares it and Behaviour checked it.
        values: dict[str, Any] = {name: behaviour.value(f"ws.{name}") for name in TABLE_FIELDS}
        return replace(
            cls(),
            signature=SignatureMode(behaviour.text("ws.signature_mode")),
            shutdown_notice_s=behaviour.integer("ws.shutdown_notice_ms") / 1000,
            **values,
        )
