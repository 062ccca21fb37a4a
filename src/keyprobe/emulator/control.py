"""API Management: change a key's permissions or IP whitelist, or delete it, while the
emulator runs — what a Binance user does on the API Management page, and what the revocation
probes need (a logged-on WebSocket session must notice at its next request).

Under ``/_keyprobe/keys/<apiKey>`` (a path no Binance client uses), from loopback only, with
the token written beside the demo credentials (``admin-token``) in ``X-Keyprobe-Token``:

* ``GET``    → ``{"type", "permissions", "ipWhitelist", "account"}``
* ``PATCH``  JSON ``{"permissions": [...], "ipWhitelist": [...] | null,
  "tradingAuthorityExpirationTime": ms | null}`` (any of them) → new state; enableFutures is
  refused for a key created before the futures account (beyond-spot reference §1.4)
* ``DELETE`` → ``{}``

REST answers follow from the next request; open orders are untouched. With the 30-day rule on
(``families_settings.trading_authority_ms``) an edit that activates Spot & Margin Trading on an
unrestricted key starts its period, and an IP whitelist ends it; an explicit
``tradingAuthorityExpirationTime`` is applied last."""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import replace
from typing import Any

from keyprobe.binance.permissions import PERMISSION_NAMES, Permission
from keyprobe.emulator.keys import KeyRecord, KeyRegistry, parse_whitelist

PREFIX = "/_keyprobe/keys/"
TOKEN_HEADER = b"x-keyprobe-token"

Result = tuple[int, dict[str, Any]]
_EDITABLE = frozenset({"permissions", "ipWhitelist", "tradingAuthorityExpirationTime"})


def _state(record: KeyRecord) -> dict[str, Any]:
    return {
        "type": record.key_type.value,
        "permissions": sorted(p.value for p in record.permissions),
        "ipWhitelist": None
        if record.ip_whitelist is None
        else [str(net) for net in record.ip_whitelist],
        "account": record.account,
        "master": record.master,
        "tradingAuthorityExpirationTime": record.trading_expires_ms,
    }


def _is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def handle(
    keys: KeyRegistry,
    token: str,
    method: str,
    path: str,
    headers: dict[bytes, bytes],
    body: bytes,
    peer: str,
) -> Result:
    """Answer one API Management request. ``peer`` is the socket's address (never a
    forwarded one)."""
    if not _is_loopback(peer):
        return 403, {"error": "API Management answers loopback clients only"}
    sent = headers.get(TOKEN_HEADER, b"").decode("latin-1")
    if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        return 401, {"error": f"missing or wrong {TOKEN_HEADER.decode()} header"}
    api_key = path[len(PREFIX) :]
    record = keys.get(api_key)
    if record is None:
        return 404, {"error": "no such key"}
    if method == "GET":
        return 200, _state(record)
    if method == "DELETE":
        keys.remove(api_key)
        return 200, {}
    if method != "PATCH":
        return 405, {"error": "use GET, PATCH or DELETE"}
    try:
        change = json.loads(body or b"{}")
    except ValueError:
        return 400, {"error": "the body must be JSON"}
    if not isinstance(change, dict) or set(change) - _EDITABLE:
        return 400, {"error": f"expected an object with any of {sorted(_EDITABLE)}"}
    updated = record
    if "permissions" in change:
        names = change["permissions"]
        if not isinstance(names, list) or not all(n in PERMISSION_NAMES for n in names):
            return 400, {"error": f"permissions must be a list of {list(PERMISSION_NAMES)}"}
        if Permission.FUTURES.value in names and record.created_before_futures_account:
            return 400, {"error": "enableFutures cannot be enabled on a key created before the "
                         "futures account"}  # fmt: skip
        updated = replace(updated, permissions=frozenset(Permission(n) for n in names))
    if "ipWhitelist" in change:
        entries = change["ipWhitelist"]
        if entries is not None and (
            not isinstance(entries, list) or not all(isinstance(e, str) for e in entries)
        ):
            return 400, {"error": "ipWhitelist must be null or a list of addresses/CIDR blocks"}
        try:
            whitelist = None if entries is None else parse_whitelist(entries)
        except ValueError as exc:
            return 400, {"error": str(exc)}
        updated = replace(updated, ip_whitelist=whitelist)
    expires = change.get("tradingAuthorityExpirationTime", -1)
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        return 400, {"error": "tradingAuthorityExpirationTime must be null or epoch ms"}
    keys.register(updated, previous=record)
    if "tradingAuthorityExpirationTime" in change:
        edited = keys.get(api_key) or updated
        keys.register(replace(edited, trading_expires_ms=expires))
    return 200, _state(keys.get(api_key) or updated)
