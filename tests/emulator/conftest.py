"""Fixtures for the emulator's tests: an emulator per test, in-process (ASGI) or over a socket,
and keys generated at test time (no key material is committed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.wire import Holder

READ = "enableReading"
TRADE = "enableSpotAndMarginTrading"


def make_holder(
    emu: Emulator,
    key_type: KeyType = KeyType.HMAC,
    permissions: tuple[str, ...] = (READ, TRADE),
    ip_whitelist: list[str] | None = None,
    account: str | None = None,
) -> Holder:
    material = generate_key_material(key_type)
    api_key = generate_api_key()
    emu.keys.register(
        KeyRecord.create(
            api_key,
            key_type,
            material.public,
            permissions,
            ip_whitelist=ip_whitelist,
            account=account,
        )
    )
    return Holder(api_key, key_type, material.private)


class FrozenTime:
    """A clock source tests move by hand."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def frozen() -> FrozenTime:
    return FrozenTime()


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    transport = httpx.ASGITransport(app=emu, client=("127.0.0.1", 50000))
    # httpx's sync Client cannot drive an ASGI app; the wire helper uses this via anyio.
    with httpx.Client(transport=_SyncASGI(transport), base_url="http://testserver") as c:
        yield c


class _SyncASGI(httpx.BaseTransport):
    """Runs httpx's ASGITransport from synchronous tests (one event loop per request)."""

    def __init__(self, inner: httpx.ASGITransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        async def go() -> httpx.Response:
            req = httpx.Request(
                request.method, request.url, headers=request.headers, content=request.read()
            )
            response = await self._inner.handle_async_request(req)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(go())


@pytest.fixture
def frozen_emu(frozen: FrozenTime) -> Emulator:
    return Emulator(clock=Clock(source=frozen))


@pytest.fixture
def served() -> Iterator[EmulatorServer]:
    """A fresh emulator on 127.0.0.1, port 0, over a real socket."""
    server = EmulatorServer(Emulator())
    server.start()
    yield server
    server.stop()


# Where ccxt's REST calls for anything but /api go: a closed loopback port (never Binance).
CCXT_CLOSED = "http://127.0.0.1:9/closed"


def ccxt_config(holder: Holder) -> dict[str, Any]:
    """ccxt's (and ccxt.pro's) binance settings for a spot-only run with ``holder``'s key:
    no /sapi currency or margin lookups (reference tooling notes)."""
    return {
        "apiKey": holder.api_key,
        "secret": holder.private,  # ccxt takes a PEM here for RSA/Ed25519 keys
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "defaultType": "spot",
        },
    }


def point_ccxt_at(ex: Any, base_url: str) -> None:
    """ccxt's /api URLs to the emulator at ``base_url``; every other REST URL to a closed port."""
    for name, url in list(ex.urls["api"].items()):
        if isinstance(url, str):
            local = url.startswith("https://api.binance.com/api")
            ex.urls["api"][name] = (
                url.replace("https://api.binance.com", base_url) if local else CCXT_CLOSED
            )
