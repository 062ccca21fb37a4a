"""The session and the user data stream subscriptions of a WebSocket API connection:
session.logon/status/logout, revocation, userDataStream.subscribe[.signature]/unsubscribe."""

from __future__ import annotations

from typing import Any

from keyprobe.binance import errors
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.wsapi import frames
from keyprobe.emulator.wsapi.limits import LimitsMixin
from keyprobe.emulator.wsapi.methods import Call
from keyprobe.emulator.wsapi.stream import Event, Subscription


class SessionMixin(LimitsMixin):
    """Part of ``Connection``."""

    __slots__ = (
        "_next_subscription_id",
        "authorized_since",
        "connected_since",
        "return_rate_limits",
        "session_key",
        "session_permissions",
        "subscriptions",
    )
    connected_since: int
    return_rate_limits: bool
    session_key: KeyRecord | None
    session_permissions: frozenset[Permission]
    authorized_since: int | None
    subscriptions: dict[int, Subscription]
    _next_subscription_id: int

    def push(self, frame: str) -> None:
        raise NotImplementedError  # Connection's

    def push_event(self, subscription_id: int, event: Event) -> None:
        raise NotImplementedError  # Connection's

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

    def subscribe(self, call: Call, *, via_logon: bool) -> dict[str, int]:
        key = call.signer
        settings = self.api.settings
        if any(s.account == key.account for s in self.subscriptions.values()):
            raise errors.error(-2035)
        if len(self.subscriptions) >= settings.max_active_subscriptions:
            raise errors.error(-2042)
        if self._next_subscription_id >= settings.max_lifetime_subscriptions:
            raise errors.error(-2042)
        sub = Subscription(self._next_subscription_id, key.account, key, via_logon, self)
        self._next_subscription_id += 1
        self.subscriptions[sub.subscription_id] = sub
        self.api.hub.add(sub)
        return {"subscriptionId": sub.subscription_id}

    def unsubscribe(self, call: Call) -> dict[str, Any]:
        raw = call.params.get("subscriptionId")
        if raw is None:
            for sub in list(self.subscriptions.values()):
                self.end_subscription(sub)
            return {}
        target = self.subscriptions.get(int(raw))
        if target is None:
            raise errors.error(-2036)
        self.end_subscription(target)
        return {}

    def end_subscription(self, sub: Subscription) -> None:
        """Drop ``sub`` and tell the client with eventStreamTerminated."""
        self.subscriptions.pop(sub.subscription_id, None)
        self.api.hub.remove(sub)
        self.push(frames.event(sub.subscription_id, self.api.hub.terminated()))
