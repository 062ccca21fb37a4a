"""The WebSocket API of one emulator: the ASGI ``websocket`` entry point for ``/ws-api/v3``,
the open connections, the user data stream hub, and the hooks the rest of the emulator calls
(an order operation over REST, a key changed through API Management)."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from keyprobe.emulator.wsapi import frames, handshake
from keyprobe.emulator.wsapi.connection import Connection
from keyprobe.emulator.wsapi.settings import WsSettings
from keyprobe.emulator.wsapi.stream import BALANCE_OPERATIONS, ORDER_OPERATIONS, StreamHub
from keyprobe.emulator.wsapi.time_unit import microsecond_send

if TYPE_CHECKING:
    from keyprobe.emulator.app import Emulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = "/ws-api/v3"


class WsApi:
    def __init__(self, emu: Emulator, settings: WsSettings) -> None:
        self.emu = emu
        self.settings = settings
        self.hub = StreamHub(emu.exchange, emu.clock.now_ms)
        self.connections: set[Connection] = set()
        # Connection attempts per IP within the window (ms), for the 300 / 5 min limit.
        self._attempts: dict[str, deque[int]] = {}

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send, client_ip: str) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope.get("path") != PATH:
            await send({"type": "websocket.close", "code": 1008})  # HTTP 403 before accept
            return
        emu = self.emu
        now = emu.clock.now_ms()
        if not self._attempt(client_ip, now):
            await handshake.refuse(send, handshake.too_many_connections(self.settings))
            return
        asked = handshake.read(bytes(scope.get("query_string", b"")), self.settings)
        if isinstance(asked, handshake.Refusal):
            await handshake.refuse(send, asked)
            return
        # Connecting costs weight; a banned or exhausted IP is refused the handshake.
        if emu.limiter.banned_until(client_ip, now) is not None or not emu.limiter.charge(
            client_ip, self.settings.connection_weight, now
        ):
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {"type": "websocket.accept", "headers": [(b"x-mbx-uuid", str(uuid.uuid4()).encode())]}
        )
        if asked.microseconds:
            send = microsecond_send(send)
        conn = Connection(self, send, client_ip, asked.return_rate_limits, now)
        self.connections.add(conn)
        await conn.run(receive)

    def _attempt(self, client_ip: str, now: int) -> bool:
        """Count a connection attempt from ``client_ip``; False past the limit."""
        window_ms = int(self.settings.connection_window_s * 1000)
        limit = self.settings.max_connection_attempts
        attempts = self._attempts.setdefault(client_ip, deque(maxlen=limit + 1))
        while attempts and attempts[0] <= now - window_ms:
            attempts.popleft()
        attempts.append(now)
        if len(self._attempts) > 10_000:  # many addresses (a hostile client): keep it bounded
            stale = [ip for ip, a in self._attempts.items() if not a or a[-1] <= now - window_ms]
            for ip in stale:
                del self._attempts[ip]
        return len(attempts) <= limit

    # ------------------------------------------------------------------ hooks
    def after_rest(
        self,
        endpoint_name: str,
        account: str,
        status: int,
        payload: Any,
        params: dict[str, str] | None = None,
    ) -> None:
        """A REST operation answered: order and balance changes go to the account's
        subscriptions as events."""
        if not self.hub.subscribed(account):
            return
        if endpoint_name in ORDER_OPERATIONS:
            self.hub.order_done(endpoint_name, account, status, payload)
        elif endpoint_name in BALANCE_OPERATIONS and status == 200:
            self.hub.balance_changed(endpoint_name, account, params or {})

    def server_shutdown(self) -> None:
        """The server is about to stop: every connection gets the serverShutdown event
        (no subscriptionId) so that clients reconnect [DOC reference §1.2]."""
        frame = frames.encode({"event": {"e": "serverShutdown", "E": self.emu.clock.now_ms()}})
        for conn in list(self.connections):
            conn.push(frame)

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
