"""The one crossing between the rooms (DESIGN.md): the harness does not import the emulator,
except here, where the default target — the embedded emulator — is started for a run."""

from __future__ import annotations

import pytest

from keyprobe.binance.signing import KeyMaterial
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.profiles import Profile
from keyprobe.harness.run import StartEmulator

EMBEDDED_WEIGHT_PER_MINUTE = 1_000_000


def embedded_emulator(config: pytest.Config) -> StartEmulator:
    """A function that starts the emulator on 127.0.0.1 (any free port) with the run's
    generated keys registered, stops it when the session ends, and returns its base URL and
    its API Management token (held in memory only)."""

    def start(keys: list[tuple[Profile, Credentials, KeyMaterial]]) -> tuple[str, str]:
        from keyprobe.emulator.app import Emulator
        from keyprobe.emulator.keys import KeyRecord
        from keyprobe.emulator.ratelimit import RateLimits, Window
        from keyprobe.emulator.server import EmulatorServer

        # The embedded exchange is ours and serves one run: its request-weight limit is
        # EMBEDDED_WEIGHT_PER_MINUTE, not the testnet's 6,000, so that running the suites twice
        # within a minute never waits for a window (the budget learns the limit from
        # exchangeInfo). Order limits stay the testnet's. Rate-limit behaviour itself is
        # proved against served emulators with the testnet's limits (tests/harness).
        limits = RateLimits(request_weight=Window(EMBEDDED_WEIGHT_PER_MINUTE, 1, "M"))
        emulator = Emulator(flavor="exchange", limits=limits)
        for profile, creds, material in keys:
            emulator.keys.register(
                KeyRecord.create(
                    creds.api_key,
                    profile.key_type,
                    material.public,
                    sorted(profile.permissions),
                    ip_whitelist=None
                    if profile.ip_whitelist is None
                    else list(profile.ip_whitelist),
                    account=profile.account_name,
                    master=profile.master,
                    created_before_futures_account=profile.created_before_futures_account,
                    portfolio_margin=profile.portfolio_margin,
                )
            )
        server = EmulatorServer(emulator, host="127.0.0.1", port=0)
        url = server.start()
        config.add_cleanup(server.stop)
        return url, emulator.admin_token

    return start
