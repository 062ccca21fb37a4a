"""The IP whitelist is checked against the real socket peer: a client bound to 127.0.0.2
is foreign to a key whitelisted for 127.0.0.1 (Linux routes all of 127/8 to loopback)."""

from __future__ import annotations

import httpx
import pytest

from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import make_holder
from tests.emulator.wire import call

REJECTED = b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'


def _client(server: EmulatorServer, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.url, transport=transport, timeout=5)


@pytest.mark.parametrize(
    ("whitelist", "source", "allowed"),
    [
        (["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.2", False),
        (["127.0.0.0/30"], "127.0.0.2", True),
        (["127.0.0.0/31"], "127.0.0.2", False),
        ([], "127.0.0.1", False),
        (None, "127.0.0.3", True),
    ],
)
def test_whitelist_over_a_real_socket(
    served: EmulatorServer, whitelist: list[str] | None, source: str, allowed: bool
) -> None:
    holder = make_holder(served.app, ip_whitelist=whitelist)
    with _client(served, source) as client:
        r = call(client, "GET", "/api/v3/account", holder)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 401
        assert r.content == REJECTED


def test_forwarded_for_is_ignored_unless_trusted(served: EmulatorServer) -> None:
    holder = make_holder(served.app, ip_whitelist=["203.0.113.7"])
    with _client(served, "127.0.0.1") as client:
        client.headers["X-Forwarded-For"] = "203.0.113.7"
        assert call(client, "GET", "/api/v3/account", holder).content == REJECTED
        served.app.trust_proxy = True
        assert call(client, "GET", "/api/v3/account", holder).status_code == 200


def test_journal_records_the_peer_without_secrets(served: EmulatorServer) -> None:
    holder = make_holder(served.app)
    with _client(served, "127.0.0.2") as client:
        call(client, "GET", "/api/v3/account", holder)
    entry = served.app.journal[-1]
    assert (entry.method, entry.path, entry.client_ip, entry.status) == (
        "GET",
        "/api/v3/account",
        "127.0.0.2",
        200,
    )
    assert entry.key_suffix == holder.api_key[-4:]
    assert holder.api_key not in repr(entry)
