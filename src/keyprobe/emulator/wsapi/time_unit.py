"""``timeUnit=MICROSECOND`` on the connection URL: every time and timestamp field of every
frame the connection is sent is in microseconds [DOC D-WS L120; D-SBE "JSON responses ...
contain millisecond timestamps by default"]. The engine keeps milliseconds; the frames are
rewritten on their way out, so nothing else needs to know the connection's unit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from keyprobe.emulator.wsapi.frames import encode

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

# The time fields of the emulator's WS API frames: results (orders, trades, account, session,
# time), error data (the ban's serverTime/retryAfter) and user data events (E event time,
# T transaction time, O order creation, W working time, u last account update).
TIME_FIELDS = frozenset(
    {
        "serverTime",
        "transactTime",
        "time",
        "updateTime",
        "workingTime",
        "authorizedSince",
        "connectedSince",
        "retryAfter",
        "E",
        "T",
        "O",
        "W",
        "u",
    }
)


def to_microseconds(value: Any) -> Any:
    """``value`` (a decoded frame) with every time field's integer ×1000."""
    if isinstance(value, dict):
        return {
            k: v * 1000
            if k in TIME_FIELDS and isinstance(v, int) and not isinstance(v, bool)
            else to_microseconds(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [to_microseconds(v) for v in value]
    return value


def microsecond_send(send: Send) -> Send:
    """``send`` for a connection that asked for microseconds."""

    async def converted(message: Message) -> None:
        if message.get("type") == "websocket.send" and message.get("text") is not None:
            frame = to_microseconds(json.loads(message["text"]))
            message = {**message, "text": encode(frame)}
        await send(message)

    return converted
