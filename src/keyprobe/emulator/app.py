"""The emulator as one ASGI app: routing, rate limits, the auth pipeline, then the exchange.

Served by uvicorn on 127.0.0.1 for suites and third-party clients, or mounted in-process
(``httpx.ASGITransport``). Every handler runs synchronously on the event loop thread, which
makes each request atomic with respect to exchange state and rate-limit counters."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from keyprobe.binance import errors
from keyprobe.binance.endpoints import BY_ROUTE, PATHS, REMOVED_PATHS, Api, Endpoint, Security
from keyprobe.binance.errors import BinanceError
from keyprobe.binance.unsettled import DEFAULT, Behaviour
from keyprobe.emulator import control, routes
from keyprobe.emulator import params as P
from keyprobe.emulator.auth import authenticate
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.families import Families
from keyprobe.emulator.families.state import FUTURES_JSON_TYPE
from keyprobe.emulator.families_settings import FamiliesSettings
from keyprobe.emulator.keys import KeyRecord, KeyRegistry
from keyprobe.emulator.ratelimit import RateLimiter, RateLimits
from keyprobe.emulator.rest_settings import RestSettings
from keyprobe.emulator.symbols import Seed
from keyprobe.emulator.wsapi import WsApi, WsSettings

log = logging.getLogger("keyprobe.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_TYPE = b"application/json;charset=UTF-8"
# Binance's front end refuses very large requests before the API sees them.
MAX_BODY_BYTES = 1 << 20
MAX_QUERY_BYTES = 1 << 16
ADMIN_PREFIX = "/_keyprobe/"


class Flavor(StrEnum):
    """``exchange``: the /api surface plus the SAPI forbidden-action endpoints.
    ``testnet``: the real Spot Testnet's surface, where every /sapi path is a bare 404."""

    EXCHANGE = "exchange"
    TESTNET = "testnet"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request the emulator answered (no secrets: the key appears by its last 4 chars)."""

    time_ms: int
    method: str
    path: str
    client_ip: str
    key_suffix: str
    status: int
    code: int | None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


def _encode(payload: Any) -> bytes:
    # orjson writes the same compact UTF-8 JSON as json.dumps(separators=(",", ":"),
    # ensure_ascii=False) about 10x faster (the encoder was ~15% of a signed account request);
    # what it refuses (integers beyond 64 bits) goes through json.
    try:
        return orjson.dumps(payload)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, _encode(payload), [(b"content-type", JSON_TYPE)])


def _error_reply(exc: BinanceError) -> Reply:
    reply = Reply(exc.status, exc.body(), [(b"content-type", JSON_TYPE)])
    if exc.retry_after is not None:
        reply.headers.append((b"retry-after", str(exc.retry_after).encode()))
    return reply


def _is_meta(path: str) -> bool:
    """The emulator's own endpoints (reset, the request counts), not requests to count; API
    Management (control.py) is keyprobe's traffic like any other."""
    return path.startswith(ADMIN_PREFIX) and not path.startswith(control.PREFIX)


def _empty_reply(status: int) -> Reply:
    # What the testnet sends for /sapi and unknown paths: no body, text/plain.
    return Reply(status, b"", [(b"content-type", b"text/plain; charset=utf-8")])


class Emulator:
    """A local Binance Spot exchange. Construct, register keys, serve (see ``server.py``)."""

    def __init__(
        self,
        *,
        flavor: Flavor | str = Flavor.EXCHANGE,
        keys: Iterable[KeyRecord] = (),
        clock: Clock | None = None,
        limits: RateLimits | None = None,
        seed: Seed | None = None,
        trust_proxy: bool = False,
        journal_size: int = 10_000,
        latency_ms: float = 0.0,
        ws_settings: WsSettings | None = None,
        admin_token: str | None = None,
        families: FamiliesSettings | None = None,
        behaviour: Behaviour = DEFAULT,
    ) -> None:
        """``behaviour``: the answers to the unsettled questions (binance/unsettled.py);
        ``ws_settings``, ``families`` and ``limits``, when given, replace their view of it."""
        self.flavor = Flavor(flavor)
        self.clock: Clock = clock or Clock()
        self.behaviour = behaviour
        self.rest = RestSettings.of(behaviour)
        settings = families or FamiliesSettings.of(behaviour)
        self.keys = KeyRegistry(
            now_ms=self.clock.now_ms, trading_authority_ms=settings.trading_authority_ms
        )
        # Futures, margin orders, sub-accounts (emulator/families/), with their settings.
        self.families = Families(settings, self.keys)
        for record in keys:
            self.keys.register(record)
        self.limiter: RateLimiter = RateLimiter(limits or RateLimits.of(behaviour))
        self.exchange: Exchange = Exchange(seed, self.clock.now_ms, behaviour)
        self.trust_proxy = trust_proxy
        self.journal: deque[JournalEntry] = deque(maxlen=journal_size)
        # Requests per client address (REST requests and WebSocket API frames received; not
        # the reset and this count's own requests): GET /_keyprobe/requests, zeroed by a reset.
        self.requests_by_ip: Counter[str] = Counter()
        # Added before every answer: simulates the round trip to a remote exchange.
        self.latency_ms = latency_ms
        # The WebSocket API at /ws-api/v3, on the same engine, keys and rate limiter.
        self.ws_api = WsApi(self, ws_settings or WsSettings.of(behaviour))
        # API Management (control.py) answers only requests that carry this token.
        self.admin_token = admin_token or secrets.token_urlsafe(32)

    @property
    def limits(self) -> RateLimits:
        return self.limiter.limits

    def reset(self) -> None:
        """The testnet's monthly reset: orders and trades wiped, balances refilled, keys kept."""
        self.exchange.reset()
        self.limiter.reset()
        self.families.reset()
        self.requests_by_ip.clear()

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            headers = {k.lower(): v for k, v in scope.get("headers", [])}
            await self.ws_api(scope, receive, send, self._client_ip(scope, headers))
            return
        if scope["type"] != "http":
            return
        body, too_large = await _read_body(receive)
        try:
            reply = self._handle(scope, body, too_large)
        except Exception:  # a handler bug must cost one request, not the server
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            reply = _error_reply(errors.error(-1000))
        reply.headers.append((b"x-mbx-uuid", str(uuid.uuid4()).encode()))
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [*reply.headers, (b"content-length", str(len(reply.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ dispatch
    def _client_ip(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        if self.trust_proxy and b"x-forwarded-for" in headers:
            return headers[b"x-forwarded-for"].decode("latin-1").split(",")[0].strip()
        client = scope.get("client")
        return str(client[0]) if client else "0.0.0.0"  # noqa: S104 - a label, not a bind

    def _handle(self, scope: Scope, body: bytes, too_large: bool) -> Reply:
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        client_ip = self._client_ip(scope, headers)
        api_key = _header_text(headers.get(b"x-mbx-apikey"))
        now = self.clock.now_ms()
        if path.startswith(control.PREFIX):
            client = scope.get("client")
            peer = str(client[0]) if client else ""
            status, payload = control.handle(
                self.keys, self.admin_token, method, path, headers, body, peer
            )
            if status == 200 and method != "GET":
                self.ws_api.key_changed()
            reply = _json_reply(status, payload)
        elif path.startswith(ADMIN_PREFIX):
            reply = self._admin(method, path)
        else:
            raw = P.RawRequest(
                bytes(scope.get("query_string", b"")),
                body,
                _header_text(headers.get(b"content-type")) or "",
            )
            reply = self._dispatch(method, path, raw, api_key, client_ip, now, too_large)
        code = None
        if reply.status >= 400 and reply.body.startswith(b'{"code"'):
            code = json.loads(reply.body)["code"]
        self.journal.append(
            JournalEntry(now, method, path, client_ip, (api_key or "")[-4:], reply.status, code)
        )
        if not _is_meta(path):
            self.requests_by_ip[client_ip] += 1
        return reply

    def _dispatch(
        self,
        method: str,
        path: str,
        raw: P.RawRequest,
        api_key: str | None,
        client_ip: str,
        now: int,
        too_large: bool,
    ) -> Reply:
        if path.startswith("/sapi/") and self.flavor is Flavor.TESTNET:
            return _empty_reply(404)
        endpoint = BY_ROUTE.get((method, path))
        if endpoint is None:
            if path in REMOVED_PATHS:  # /api/v3/userDataStream: rest.removed_stream_status
                return _empty_reply(self.rest.removed_stream_status)
            return _empty_reply(405 if path in PATHS else 404)
        if too_large or len(raw.query) > MAX_QUERY_BYTES:
            return _empty_reply(413)

        if self.limiter.banned_until(client_ip, now) is not None:
            return self._banned(client_ip, now)
        # A malformed request still costs its base weight.
        parsed = P.parse(raw)
        weight = endpoint.weight(parsed.params) if endpoint.ip_weight else 0
        if not self.limiter.charge(client_ip, weight, now):
            if self.limiter.banned_until(client_ip, now) is not None:
                return self._banned(client_ip, now)
            window = self.limits.request_weight
            exc = errors.too_much_weight(window.limit, window.human())
            exc.retry_after = self.limiter.retry_after_s(window, now)
            return self._with_weight(_error_reply(exc), client_ip, now)

        futures = endpoint.api is Api.FAPI
        try:
            reply = self._serve(endpoint, raw, parsed, api_key, client_ip, now)
        except BinanceError as exc:
            if futures:
                exc = self.families.futures_error(exc, client_ip)
            elif exc.code == -2015 and self.rest.rejected_ip_suffix:
                # The futures form of the text, on spot: rest.rejected_ip_suffix.
                exc = BinanceError(exc.status, exc.code, f"{exc.msg}, request ip: {client_ip}")
            reply = _error_reply(exc)
        if futures:
            reply.headers = [(k, FUTURES_JSON_TYPE if k == b"content-type" else v)
                             for k, v in reply.headers]  # fmt: skip
        if endpoint.free_when_successful and reply.status == 200:
            self.limiter.refund(client_ip, weight, now)
        return self._with_weight(reply, client_ip, now)

    def _banned(self, client_ip: str, now: int) -> Reply:
        until = self.limiter.banned_until(client_ip, now) or now
        exc = errors.ip_banned(until)
        exc.status, exc.retry_after = 418, -(-(until - now) // 1000)
        return self._with_weight(_error_reply(exc), client_ip, now)

    def _serve(
        self,
        endpoint: Endpoint,
        raw: P.RawRequest,
        parsed: P.Parsed,
        api_key: str | None,
        client_ip: str,
        now: int,
    ) -> Reply:
        if endpoint.security is Security.NONE:
            # NONE endpoints ignore X-MBX-APIKEY entirely, even a malformed one.
            params = parsed.get()
            P.validate(endpoint, params, self.rest)
            status, payload = routes.public(self, endpoint, params)
            return _json_reply(status, payload)
        caller = authenticate(
            endpoint, raw, parsed, api_key, client_ip, self.keys, now, self.rest,
            self.families.denied_code(endpoint),
        )  # fmt: skip
        self.families.gate(endpoint, caller.key, now)
        if endpoint.name == "newOrder":
            # cancelReplace decides itself (orderRateLimitExceededMode may still cancel).
            limit_error = self.limiter.order_limit_error(caller.key.account, now)
            if limit_error is not None:
                raise limit_error
        status, payload = routes.signed(self, endpoint, caller)
        reply = _json_reply(status, payload)
        # The user data stream sees orders whichever transport placed them.
        self.ws_api.after_rest(endpoint.name, caller.key.account, status, payload, caller.params)
        if endpoint.counts_as_order and status == 200 and routes.placed_order(endpoint, payload):
            self.limiter.count_order(caller.key.account, now)
            for window, count in self.limiter.order_counts(caller.key.account, now):
                name = f"x-mbx-order-count-{window.suffix.lower()}".encode()
                reply.headers.append((name, str(count).encode()))
        return reply

    def _with_weight(self, reply: Reply, client_ip: str, now: int) -> Reply:
        used = str(self.limiter.used_weight(client_ip, now)).encode()
        suffix = self.limits.request_weight.suffix.lower().encode()
        reply.headers.append((b"x-mbx-used-weight", used))
        reply.headers.append((b"x-mbx-used-weight-" + suffix, used))
        return reply

    def _admin(self, method: str, path: str) -> Reply:
        if method == "POST" and path == ADMIN_PREFIX + "reset":
            self.reset()
            return _json_reply(200, {})
        if method == "GET" and path == ADMIN_PREFIX + "requests":
            by_ip = dict(sorted(self.requests_by_ip.items()))
            return _json_reply(200, {"total": sum(by_ip.values()), "by_ip": by_ip})
        return _empty_reply(404)


def _header_text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    too_large = False
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            too_large = True
        elif chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), too_large
