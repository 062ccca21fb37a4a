"""Rate-limit frames of a WebSocket API connection: the ``rateLimits`` array, the 429 and
418 answers (``error.data.retryAfter`` as epoch ms), and the request journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyprobe.binance import errors
from keyprobe.binance.ws_methods import WsMethod
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.wsapi import frames
from keyprobe.emulator.wsapi.methods import Answer

if TYPE_CHECKING:
    from keyprobe.emulator.wsapi.api import WsApi

# Close codes (RFC 6455).
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008


class LimitsMixin:
    """Part of ``Connection``."""

    __slots__ = ("_closing", "api", "client_ip")
    api: WsApi
    client_ip: str
    _closing: int | None

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
        emu = self.api.emu
        if emu.limiter.banned_until(self.client_ip, now) is not None:
            self._closing = CLOSE_POLICY
            return self._banned(request_id, now, rate_limits)
        window = emu.limits.request_weight
        exc = errors.too_much_weight(window.limit, window.human())
        retry_after = window.start(now) + window.length_ms
        data = {"serverTime": now, "retryAfter": retry_after}
        return frames.failure(request_id, 429, frames.error_body(exc, data), rate_limits)

    def _banned(self, request_id: frames.RequestId, now: int, rate_limits: Any) -> str:
        until = self.api.emu.limiter.banned_until(self.client_ip, now) or now
        exc = errors.ip_banned(until)
        data = {"serverTime": now, "retryAfter": until}
        return frames.failure(request_id, 418, frames.error_body(exc, data), rate_limits)

    def rate_limits(
        self, method: WsMethod | None, account: str | None, now: int
    ) -> list[dict[str, Any]]:
        emu = self.api.emu
        window = emu.limits.request_weight
        out = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": window.interval,
                "intervalNum": window.num,
                "limit": window.limit,
                "count": emu.limiter.used_weight(self.client_ip, now),
            }
        ]
        if method is not None and method.order_limits and account is not None:
            out += self.order_limits(account, now)
        return out

    def order_limits(self, account: str, now: int) -> list[dict[str, Any]]:
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": window.interval,
                "intervalNum": window.num,
                "limit": window.limit,
                "count": count,
            }
            for window, count in self.api.emu.limiter.order_counts(account, now)
        ]
