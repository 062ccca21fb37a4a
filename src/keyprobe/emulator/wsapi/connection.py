"""One WebSocket API connection: the read loop, the per-request pipeline (rate limits, then
the REST auth order per security type: key format, key exists, IP, params, timestamp,
signature, permission), the session (logon/status/logout, revocation) and the connection's
user data stream subscriptions.

Each request is handled synchronously on the event loop thread, like a REST request, so it is
atomic with respect to the engine, the key registry and the rate-limit counters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import TYPE_CHECKING, Any

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.permissions import Permission
from keyprobe.binance.ws_methods import Auth, WsMethod, lookup
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.wsapi import frames, limits
from keyprobe.emulator.wsapi.authorize import RETURN_RATE_LIMITS, authenticate
from keyprobe.emulator.wsapi.methods import HANDLERS, Answer, Call
from keyprobe.emulator.wsapi.stream import Event, Subscription

if TYPE_CHECKING:
    from keyprobe.emulator.wsapi.api import WsApi

log = logging.getLogger("keyprobe.emulator.wsapi")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

_RETURN_RATE_LIMITS = RETURN_RATE_LIMITS

# Close codes (RFC 6455).
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008


class Connection:
    __slots__ = (
        "__weakref__",
        "_closing",
        "_flushing",
        "_lifetime",
        "_outbox",
        "_send",
        "api",
        "authorized_since",
        "client_ip",
        "connected_since",
        "next_subscription_id",
        "return_rate_limits",
        "session_key",
        "session_permissions",
        "subscriptions",
    )

    def __init__(
        self, api: WsApi, send: Send, client_ip: str, return_rate_limits: bool, now: int
    ) -> None:
        self.api = api
        self._send = send
        self.client_ip = client_ip
        self.return_rate_limits = return_rate_limits
        self.connected_since = now
        self.session_key: KeyRecord | None = None
        self.session_permissions: frozenset[Permission] = frozenset()
        self.authorized_since: int | None = None
        self.subscriptions: dict[int, Subscription] = {}
        self.next_subscription_id = 0
        self._outbox: deque[str] | None = None
        self._flushing = False
        self._closing: int | None = None
        self._lifetime: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ the loop
    async def run(self, receive: Receive) -> None:
        settings = self.api.settings
        loop = asyncio.get_running_loop()
        self._lifetime = loop.call_later(settings.max_lifetime_s, self._expire)
        try:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return  # websocket.disconnect
                # Every frame counts, the malformed and the refused ones too.
                self.api.emu.requests_by_ip[self.client_ip] += 1
                text = message.get("text")
                if text is None:
                    out = [
                        self._shape_error(
                            settings.binary_frame_code,
                            "Binary frames are not supported; send JSON text frames.",
                        )
                    ]
                    after: list[Callable[[], None]] = []
                else:
                    out, after = self.handle(text)
                for frame in out:
                    await self._emit(frame)
                for callback in after:
                    callback()
                if self._closing is not None:
                    await self._close(self._closing)
                    return
        finally:
            self.teardown()

    def _expire(self) -> None:
        """The 24-hour lifetime is over: close as Binance does, from the server side."""
        self._lifetime = None
        self._closing = CLOSE_NORMAL
        self._spawn(self._close(CLOSE_NORMAL))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):  # already gone
            await self._send({"type": "websocket.close", "code": code})

    def teardown(self) -> None:
        if self._lifetime is not None:
            self._lifetime.cancel()
            self._lifetime = None
        for sub in list(self.subscriptions.values()):
            self.api.hub.remove(sub)
        self.subscriptions.clear()
        self.api.connections.discard(self)

    # ------------------------------------------------------------------ output
    async def _emit(self, frame: str) -> None:
        if self._flushing:
            # A send is blocked (the client does not read) or a push is being drained: queue
            # behind it, within the cap.
            self.push(frame)
            return
        if self._outbox is None:
            self._outbox = deque()
        self._outbox.append(frame)
        await self._drain()

    async def _drain(self) -> None:
        self._flushing = True
        try:
            while self._outbox:
                await self._send({"type": "websocket.send", "text": self._outbox.popleft()})
        except Exception:  # the peer went away; the read loop ends too
            if self._outbox:
                self._outbox.clear()
        finally:
            self._flushing = False

    def push(self, frame: str) -> None:
        """Queue an unsolicited frame (an event) from outside the read loop."""
        if self._outbox is None:
            self._outbox = deque()
        if len(self._outbox) >= self.api.settings.max_pending_frames:
            self._outbox.clear()
            self._closing = CLOSE_POLICY
            self._spawn(self._close(CLOSE_POLICY))
            return
        self._outbox.append(frame)
        if not self._flushing:
            self._flushing = True  # claimed now, so frames queued before the task runs wait
            self._spawn(self._drain_later())

    async def _drain_later(self) -> None:
        self._flushing = False
        await self._drain()

    def push_event(self, subscription_id: int, event: Event) -> None:
        if subscription_id in self.subscriptions:
            self.push(frames.event(subscription_id, event))

    # ------------------------------------------------------------------ requests
    def _shape_error(self, code: int, msg: str) -> str:
        return frames.failure(None, 400, {"code": code, "msg": msg}, None)

    def handle(self, text: str) -> tuple[list[str], list[Callable[[], None]]]:
        """One request frame → the frames to send, and what to do once they are sent."""
        settings = self.api.settings
        emu = self.api.emu
        if len(text) > settings.max_request_bytes:
            return [self._shape_error(settings.malformed_request_code, "Request too large.")], []
        try:
            req = frames.parse(text, settings.malformed_request_code, settings.bad_params_code)
        except frames.FrameError as exc:
            return [frames.failure(exc.request_id, 400, frames.error_body(exc.error), None)], []
        params = req.params
        return_limits = self.return_rate_limits
        if _RETURN_RATE_LIMITS in params:
            return_limits = params[_RETURN_RATE_LIMITS].lower() != "false"
        now = emu.clock.now_ms()
        limiter = emu.limiter
        ip = self.client_ip

        def rate_limits(method: WsMethod | None, account: str | None = None) -> Any:
            if not return_limits:
                return None
            return limits.rate_limits(self.api, self.client_ip, method, account, now)

        if limiter.banned_until(ip, now) is not None:
            self._closing = CLOSE_POLICY
            return [limits.banned(self.api, self.client_ip, req.id, now, rate_limits(None))], []
        method = lookup(req.method)
        if method is None:
            unknown = errors.error(settings.unknown_method_code)
            if not limiter.charge(ip, 1, now):
                return [self._over_limit(req.id, now, rate_limits(None))], []
            return [frames.failure(req.id, 400, frames.error_body(unknown), rate_limits(None))], []
        weight = method.weight(params)
        if not limiter.charge(ip, weight, now):
            return [self._over_limit(req.id, now, rate_limits(method))], []

        out: list[str] = []
        after: list[Callable[[], None]] = []
        revoked = self.session_key is not None and not self._session_valid(now)
        revocation: list[str] = []
        if revoked:
            revocation.append(self._revoke())
            after.append(self._end_logon_streams)
        answer: Answer
        key: KeyRecord | None = None
        try:
            if revoked and method.auth is not Auth.NONE and "apiKey" not in params:
                raise errors.rejected_api_key()  # the request relied on the revoked session
            key = authenticate(self.api, self.session_key, self.client_ip, method, req, now)
            call = Call(
                self,
                method,
                {k: v for k, v in params.items() if k != _RETURN_RATE_LIMITS},
                key,
                now,
            )
            answer = HANDLERS[method.name](call)
        except BinanceError as exc:
            answer = Answer(exc.status, error=frames.error_body(exc))
        except Exception:
            log.exception("internal error in %s", method.name)
            answer = Answer(500, error=frames.error_body(errors.error(-1000)))

        uses_session = method.auth is Auth.SESSION or (
            method.auth is Auth.SIGNED and "apiKey" not in params and "signature" not in params
        )
        if (
            settings.revoke_on_missing_permission
            and not revoked
            and uses_session
            and self.session_key is not None
            and answer.error is not None
            and answer.error.get("code") == -2015
        ):
            revocation.append(self._revoke())
            after.append(self._end_logon_streams)
        self._journal(now, method.name, key, params, answer)
        rest = method.rest_endpoint
        if rest is not None and key is not None and answer.placed:
            limiter.count_order(key.account, now)
        if rest is not None and rest.free_when_successful and answer.status == 200:
            limiter.refund(ip, weight, now)
        answer_limits = rate_limits(method, key.account if key else None)
        if answer.error is None:
            frame = frames.success(req.id, answer.result, answer_limits)
        else:
            frame = frames.failure(req.id, answer.status, answer.error, answer_limits)
        if settings.revocation_frame_after_answer:
            out += [frame, *revocation]
        else:
            out += [*revocation, frame]
        if rest is not None and key is not None and rest.name in _ORDER_OPS:
            hub = self.api.hub
            account = key.account
            if hub.subscribed(account) and (answer.status == 200 or rest.name == "cancelReplace"):
                payload = answer.result if answer.error is None else answer.error
                status = answer.status

                def publish() -> None:
                    hub.order_done(rest.name, account, status, payload)

                if settings.events_after_response:
                    after.append(publish)
                else:
                    publish()
        return out, after

    def _journal(
        self, now: int, name: str, key: KeyRecord | None, params: dict[str, str], answer: Answer
    ) -> None:
        """The emulator's request journal, as for REST (``WS`` and the method name; no secret:
        the key by its last 4 characters)."""
        from keyprobe.emulator.app import JournalEntry

        api_key = key.api_key if key is not None else params.get("apiKey", "")
        code = answer.error.get("code") if answer.error is not None else None
        self.api.emu.journal.append(
            JournalEntry(now, "WS", name, self.client_ip, api_key[-4:], answer.status, code)
        )

    def _over_limit(self, request_id: frames.RequestId, now: int, rate_limits: Any) -> str:
        frame, banned = limits.over_limit(self.api, self.client_ip, request_id, now, rate_limits)
        if banned:
            self._closing = CLOSE_POLICY
        return frame

    def order_limits(self, account: str, now: int) -> list[dict[str, Any]]:
        return limits.order_limits(self.api, account, now)

    # ------------------------------------------------------------------ session
    def _session_valid(self, now: int) -> bool:
        key = self.session_key
        if key is None:
            return False
        current = self.api.emu.keys.get(key.api_key)
        if current is None or not current.allows_ip(self.client_ip):
            return False
        if not all(current.has(p, now) for p in self.session_permissions):
            return False
        # Still valid: act with the key as it is now (API Management may have added to it).
        self.session_key = current
        return True

    def _revoke(self) -> str:
        """Clear the session (its stream ends once the answers are out); the unsolicited
        401 frame that says so."""
        self.session_key = None
        self.session_permissions = frozenset()
        self.authorized_since = None
        exc = errors.rejected_api_key()
        return frames.failure(None, exc.status, frames.error_body(exc), None)

    def _end_logon_streams(self) -> None:
        if not self.api.settings.terminate_streams_on_revocation:
            return
        for sub in list(self.subscriptions.values()):
            if sub.via_logon:
                self.end_subscription(sub)

    def _end_session(self) -> None:
        self.session_key = None
        self.session_permissions = frozenset()
        self.authorized_since = None
        for sub in list(self.subscriptions.values()):
            if sub.via_logon:
                self.end_subscription(sub)

    def logon(self, call: Call) -> dict[str, Any]:
        key = call.signer
        if self.session_key is not None and self.session_key.api_key != key.api_key:
            self._end_session()
        self.session_key = key
        self.session_permissions = frozenset(p for p in key.permissions if key.has(p, call.now))
        self.authorized_since = call.now
        return self.session_status(call.now)

    def session_status(self, now: int) -> dict[str, Any]:
        return {
            "apiKey": self.session_key.api_key if self.session_key else None,
            "authorizedSince": self.authorized_since,
            "connectedSince": self.connected_since,
            "returnRateLimits": self.return_rate_limits,
            "serverTime": now,
            "userDataStream": bool(self.subscriptions),
        }

    def logout(self, now: int) -> dict[str, Any]:
        self._end_session()
        return self.session_status(now)

    # ------------------------------------------------------------------ user data stream
    def subscription_list(self) -> list[dict[str, int]]:
        return [{"subscriptionId": s} for s in sorted(self.subscriptions)]

    def end_subscription(self, sub: Subscription) -> None:
        """Drop ``sub`` and tell the client with eventStreamTerminated."""
        self.subscriptions.pop(sub.subscription_id, None)
        self.api.hub.remove(sub)
        self.push(frames.event(sub.subscription_id, self.api.hub.terminated()))


# Background sends (pushes, server-side closes), referenced until done.
_TASKS: set[asyncio.Future[None]] = set()

_ORDER_OPS = frozenset({"newOrder", "cancelOrder", "cancelOpenOrders", "cancelReplace"})
