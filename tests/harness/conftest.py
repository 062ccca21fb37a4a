"""Fixtures for the harness tests: the shipped suites copied into a pytester folder, and a
separately served emulator (real sockets) provisioned with keys for a profiles file — with the
permissions each key really has, which may differ from what the file declares."""

from __future__ import annotations

import importlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from keyprobe.harness.credentials import Credentials, generate
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, load_profiles

# pytester's in-process runs drop modules first imported inside them; httpx loads httpcore
# lazily and caches its exception map, so a re-imported httpcore would raise exceptions httpx
# no longer recognises. Load both for good before any inner run.
httpx.HTTPTransport().close()
# The same for the server an inner run starts (the embedded emulator): uvicorn imports its
# HTTP protocol, event loop and websockets protocol when a server starts. Re-imported by a
# second inner run, httptools' Python modules get new exception classes while its C parser
# still raises the first ones, so uvicorn no longer recognises a WebSocket upgrade and the
# handshake fails ("did not receive a valid HTTP response"). Load them for good here.
for _name in (
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.lifespan.off",
    "anyio.from_thread",
    "websockets.sync.client",
):
    importlib.import_module(_name)
# For speed only: modules first imported inside an inner run are imported again by the next
# one; Faker (keyprobe's) and Hypothesis (a pytest plugin) take over a second each.
importlib.import_module("faker")
importlib.import_module("hypothesis")

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "suites"
SHIPPED_PROFILES = REPO / "fixtures" / "profiles.toml"


def copy_suites(pytester: pytest.Pytester, profiles: str | Path | None = None) -> Path:
    """The shipped suites (and conftest) in ``pytester.path``; returns the profiles file."""
    for source in SUITES.glob("*.py"):
        shutil.copy(source, pytester.path / source.name)
    target = pytester.path / "fixtures" / "profiles.toml"
    target.parent.mkdir(exist_ok=True)
    if profiles is None:
        shutil.copy(SHIPPED_PROFILES, target)
    elif isinstance(profiles, Path):
        shutil.copy(profiles, target)
    else:
        target.write_text(profiles, encoding="utf-8")
    return target


@dataclass
class Provisioned:
    """Keys registered with a served emulator, and the environment a run needs for them."""

    emulator: Emulator
    url: str
    env: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, Credentials] = field(default_factory=dict)
    # The public half each key was registered with, by API key (to serve them elsewhere).
    public: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        found: list[str] = []
        for creds in self.credentials.values():
            found.append(creds.api_key)
            found.append(creds.private)
            if creds.key_type is not KeyType.HMAC:
                # A PEM can leak line by line.
                found.extend(
                    line for line in creds.private.splitlines() if not line.startswith("-----")
                )
        return found

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)


def provision(
    emulator: Emulator,
    url: str,
    profiles_file: Path,
    grants: Mapping[str, Sequence[str]] | None = None,
) -> Provisioned:
    """Register a key for every registered profile. ``grants`` gives a profile's key other
    permissions than declared (to produce LEAK or MISSING)."""
    grants = grants or {}
    out = Provisioned(emulator, url)
    for profile in load_profiles(profiles_file, PROBE_NAMES):
        if profile.kind is not KeyKind.REGISTERED:
            continue
        creds, material = generate(profile)
        permissions = grants.get(profile.name, sorted(profile.permissions))
        whitelist = None if profile.ip_whitelist is None else list(profile.ip_whitelist)
        emulator.keys.register(
            KeyRecord.create(
                creds.api_key,
                profile.key_type,
                material.public,
                permissions,
                whitelist,
                account=profile.account_name,
                master=profile.master,
                created_before_futures_account=profile.created_before_futures_account,
                portfolio_margin=profile.portfolio_margin,
            )
        )
        out.credentials[profile.name] = creds
        out.public[creds.api_key] = material.public
        prefix = profile.env_prefix
        out.env[prefix + "API_KEY"] = creds.api_key
        if profile.key_type is KeyType.HMAC:
            out.env[prefix + "SECRET"] = creds.private
        else:
            out.env[prefix + "PRIVATE_KEY"] = creds.private
    return out


# REST only: for runs about REST behaviour (faults injected on REST routes, REST's surface,
# budget and waits). The WebSocket API's own faults, hostile input and limits are tested in
# tests/emulator/test_ws_*.py, its cells end to end in tests/harness/test_plugin.py.
REST_ONLY = ("--transport", "rest")


def run_rest_suites(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    keys: Provisioned,
    *args: str,
    timeout: float,
) -> tuple[pytest.RunResult, float]:
    """The copied suites as a subprocess against ``keys.url`` with the keys' secrets in the
    environment, over REST; the result and how long it took."""
    keys.apply(monkeypatch)
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "--target", keys.url, "-p", "no:cacheprovider", *REST_ONLY, *args, timeout=timeout
    )
    return result, time.monotonic() - started


@pytest.fixture
def serve() -> Iterator[Callable[[Emulator], str]]:
    """Serve an emulator on 127.0.0.1 (port 0) for the test; returns its URL."""
    servers: list[EmulatorServer] = []

    def start(emulator: Emulator) -> str:
        server = EmulatorServer(emulator, host="127.0.0.1", port=0)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
