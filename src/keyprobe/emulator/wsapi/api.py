"""The WebSocket API of one emulator: the ASGI ``websocket`` entry point for ``/ws-api/v3``,
the open connections, the user data stream hub, and the hooks the rest of the emulator calls
(an order operation over REST, a key changed through API Management)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from keyprobe.emulator.wsapi.connection import Connection
from keyprobe.emulator.wsapi.settings import WsSettings
from keyprobe.emulator.wsapi.stream import ORDER_OPERATIONS, StreamHub

if TYPE_CHECKING:
    from keyprobe.emulator.app import Emulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = "/ws-api/v3"


class WsApi:
    def __init__(self, emu: Emulator, settings: WsSettings | None = None) -> None:
        self.emu = emu
        self.settings = settings or WsSettings()
        self.hub = StreamHub(emu.exchange, emu.clock.now_ms)
        self.connections: set[Connection] = set()

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send, client_ip: str) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope.get("path") != PATH:
            await send({"type": "websocket.close", "code": 1008})  # HTTP 403 before accept
            return
        query = dict(parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1")))
        return_rate_limits = query.get("returnRateLimits", "true").lower() != "false"
        emu = self.emu
        now = emu.clock.now_ms()
        # Connecting costs weight; a banned or exhausted IP is refused the handshake.
        if emu.limiter.banned_until(client_ip, now) is not None or not emu.limiter.charge(
            client_ip, self.settings.connection_weight, now
        ):
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {"type": "websocket.accept", "headers": [(b"x-mbx-uuid", str(uuid.uuid4()).encode())]}
        )
        conn = Connection(self, send, client_ip, return_rate_limits, now)
        self.connections.add(conn)
        await conn.run(receive)

    # ------------------------------------------------------------------ hooks
    def after_rest(self, endpoint_name: str, account: str, status: int, payload: Any) -> None:
        """A REST order operation answered: its events go to the account's subscriptions."""
        if endpoint_name in ORDER_OPERATIONS and self.hub.subscribed(account):
            self.hub.order_done(endpoint_name, account, status, payload)

    def key_changed(self) -> None:
        """API Management changed or deleted a key. Logged-on sessions notice at their next
        request (the id-null 401 frame); signature subscriptions of a key that is no longer
        valid for their connection end now with eventStreamTerminated."""
        if not self.settings.terminate_streams_on_revocation:
            return
        now = self.emu.clock.now_ms()
        for sub in list(self.hub.subscriptions()):
            if sub.via_logon:
                continue
            conn = sub.connection
            if not isinstance(conn, Connection):
                continue
            current = self.emu.keys.get(sub.key.api_key)
            had = [p for p in sub.key.permissions if sub.key.has(p, now)]
            if (
                current is None
                or not current.allows_ip(conn.client_ip)
                or not all(current.has(p, now) for p in had)
            ):
                conn.end_subscription(sub)
