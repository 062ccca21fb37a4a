"""The WebSocket API's rate-limit side: the ``rateLimits`` array of an answer (the per-IP
weight shared with REST, the account's ORDERS counters) and the 429/418 frames, whose
``error.data.retryAfter`` is an epoch-ms time (reference binance-ws-api.md §1.4, §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyprobe.binance import errors
from keyprobe.binance.ws_methods import WsMethod
from keyprobe.emulator.wsapi import frames

if TYPE_CHECKING:
    from keyprobe.emulator.wsapi.api import WsApi


def over_limit(
    api: WsApi, client_ip: str, request_id: frames.RequestId, now: int, rate_limits: Any
) -> tuple[str, bool]:
    """The frame for a request over the weight limit, and whether the IP is now banned (the
    connection is then closed after it)."""
    emu = api.emu
    if emu.limiter.banned_until(client_ip, now) is not None:
        return banned(api, client_ip, request_id, now, rate_limits), True
    window = emu.limits.request_weight
    exc = errors.too_much_weight(window.limit, window.human())
    retry_after = window.start(now) + window.length_ms
    data = {"serverTime": now, "retryAfter": retry_after}
    return frames.failure(request_id, 429, frames.error_body(exc, data), rate_limits), False


def banned(
    api: WsApi, client_ip: str, request_id: frames.RequestId, now: int, rate_limits: Any
) -> str:
    until = api.emu.limiter.banned_until(client_ip, now) or now
    exc = errors.ip_banned(until)
    data = {"serverTime": now, "retryAfter": until}
    return frames.failure(request_id, 418, frames.error_body(exc, data), rate_limits)


def rate_limits(
    api: WsApi, client_ip: str, method: WsMethod | None, account: str | None, now: int
) -> list[dict[str, Any]]:
    emu = api.emu
    window = emu.limits.request_weight
    out = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": window.interval,
            "intervalNum": window.num,
            "limit": window.limit,
            "count": emu.limiter.used_weight(client_ip, now),
        }
    ]
    if method is not None and method.order_limits and account is not None:
        out += order_limits(api, account, now)
    return out


def order_limits(api: WsApi, account: str, now: int) -> list[dict[str, Any]]:
    return [
        {
            "rateLimitType": "ORDERS",
            "interval": window.interval,
            "intervalNum": window.num,
            "limit": window.limit,
            "count": count,
        }
        for window, count in api.emu.limiter.order_counts(account, now)
    ]
