"""The WebSocket API's connection URL (reference binance-ws-api.md §1.1): ``returnRateLimits``,
``timeUnit`` and ``responseFormat`` (+ ``sbeSchemaId``/``sbeSchemaVersion``), and the
handshake refusals: "All error responses during the HTTP handshake are encoded as JSON with
the Content-Type header set to application/json;charset=UTF-8" [DOC D-SBE] — HTTP 400 for bad
URL params, 429 past the connection-attempt limit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from keyprobe.binance import errors
from keyprobe.emulator.wsapi.settings import WsSettings

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# "timeUnit=MICROSECOND|microsecond" [DOC D-WS L120]; MILLISECOND is the default.
TIME_UNITS = {"MILLISECOND": False, "millisecond": False, "MICROSECOND": True, "microsecond": True}


@dataclass(frozen=True, slots=True)
class Handshake:
    """What the URL asked for, once accepted."""

    return_rate_limits: bool = True
    microseconds: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: int
    msg: str


def read(query_string: bytes, settings: WsSettings) -> Handshake | Refusal:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    formats = set(values.get("responseFormat", []))
    if {"sbe", "json"} <= formats:
        # "If you provide both responseFormat=sbe and responseFormat=json, the response will
        # be HTTP 400" [DOC D-SBE]; the code: ws.duplicate_response_format_code.
        code = settings.duplicate_response_format_code
        return Refusal(400, code, errors.error(code, 2 if code == -1101 else 0).msg)
    if formats - {"sbe", "json"}:
        return _refusal(errors.error(-1100, 1, "responseFormat", "^(json|sbe)$"))
    if "sbe" in formats:
        # The emulator answers JSON only, like an exchange where SBE is not enabled: "the
        # response will be HTTP 400" [DOC D-SBE]; the body's code is WsSettings.sbe_refused_code.
        # Every handshake error is HTTP 400 [DOC D-SBE], whatever the code's own status.
        exc = errors.error(settings.sbe_refused_code)
        return Refusal(400, exc.code, exc.msg)
    units = values.get("timeUnit", [])
    if len(units) > 1:
        return _refusal(errors.error(-1101, 2))
    if units and units[0] not in TIME_UNITS:
        legal = "^(MILLISECOND|MICROSECOND|millisecond|microsecond)$"
        return _refusal(errors.error(-1100, 1, "timeUnit", legal))
    limits = values.get("returnRateLimits", ["true"])[-1]
    return Handshake(limits.lower() != "false", bool(units) and TIME_UNITS[units[0]])


def _refusal(exc: errors.BinanceError) -> Refusal:
    return Refusal(exc.status, exc.code, exc.msg)


def too_many_connections(settings: WsSettings) -> Refusal:
    """Past ``max_connection_attempts`` per ``connection_window_s`` from one IP [DOC limit;
    the answer: ws.too_many_connections_status and _code]."""
    minutes = settings.connection_window_s / 60
    return Refusal(
        settings.too_many_connections_status,
        settings.too_many_connections_code,
        f"Too many new connections; current limit is {settings.max_connection_attempts} "
        f"connection attempts per {minutes:g} minutes.",
    )


async def refuse(send: Send, refusal: Refusal) -> None:
    """Answer the handshake with an HTTP error and a JSON body (ASGI's websocket.http.response
    extension, which uvicorn offers)."""
    body = json.dumps({"code": refusal.code, "msg": refusal.msg}).encode()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json;charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})
