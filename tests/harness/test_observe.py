"""``keyprobe observe`` over real sockets: a served emulator holds keys of every shape; the
command (a real subprocess) must print each key's real shape as a ready profile block and a
checklist, in text and JSON, and never a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.harness.credentials import generate
from keyprobe.harness.profiles import Profile
from tests.harness.conftest import Provisioned, provision

# Declared = granted here: observe must find exactly these.
SHAPES = """
[profiles.reader]
key_type = "ed25519"
permissions = ["enableReading"]

[profiles.trader]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]

[profiles.gateway]
key_type = "rsa"
permissions = ["enableSpotAndMarginTrading"]

[profiles.bound]
key_type = "ed25519"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
ip_whitelist = ["127.0.0.1"]

[profiles.payouts]
key_type = "hmac"
permissions = ["enableReading", "enableWithdrawals"]
ip_whitelist = ["127.0.0.1"]

[profiles.nothing]
key_type = "hmac"
permissions = []
"""


def observe(
    keys: Provisioned, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "observe", "--target", keys.url, *args],
        env=dict(os.environ, **(keys.env if env is None else env)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def no_secret(keys: Provisioned, *texts: str) -> None:
    for secret in keys.secrets():
        for text in texts:
            assert secret not in text
    for creds in keys.credentials.values():
        for text in texts:
            # At most the last four characters of an API key.
            assert creds.api_key[-5:] not in text


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(SHAPES)
    return path


def test_observe_prints_every_keys_real_shape_as_a_profile_block(
    serve: Callable[[Emulator], str], shapes: Path
) -> None:
    emu = Emulator()
    keys = provision(emu, serve(emu), shapes)
    done = observe(keys, "--profiles", str(shapes))
    assert done.returncode == 0, done.stderr
    no_secret(keys, done.stdout, done.stderr)
    # The printed blocks are TOML that declares what was provisioned.
    blocks = "\n".join(
        line for line in done.stdout.splitlines() if not line.startswith(("#", "  "))
    )
    observed = tomllib.loads(blocks)["profiles"]
    declared = tomllib.loads(SHAPES)["profiles"]
    for name, want in declared.items():
        got = observed[name]
        assert got["key_type"] == want["key_type"], name
        assert sorted(got["permissions"]) == sorted(want["permissions"]), name
        assert got.get("ip_whitelist") == want.get("ip_whitelist"), name
        assert f"key ...{keys.credentials[name].api_key[-4:]}" in got["description"]
    text = done.stdout
    assert "can withdraw:  YES" in text.split("# payouts")[1].split("# nothing")[0]
    assert "IP-bound:      yes" in text.split("# bound")[1].split("# payouts")[0]
    assert "can read:      no" in text.split("# gateway")[1].split("# bound")[0]


def test_observe_json_and_keys_found_in_the_environment_alone(
    serve: Callable[[Emulator], str], shapes: Path
) -> None:
    emu = Emulator(flavor="testnet")  # no /sapi: only READ and TRADE can be seen
    keys = provision(emu, serve(emu), shapes)
    # A key the target never issued, found by its variables only.
    stranger, _ = generate(Profile("stranger", KeyType.HMAC, frozenset()))
    env = dict(keys.env, KEYPROBE_STRANGER_API_KEY=stranger.api_key)
    env["KEYPROBE_STRANGER_SECRET"] = stranger.private
    done = observe(keys, "--json", env=env)  # no --profiles: every KEYPROBE_*_API_KEY
    assert done.returncode == 0, done.stderr
    no_secret(keys, done.stdout, done.stderr)
    assert stranger.private not in done.stdout and stranger.api_key[-5:] not in done.stdout
    document = json.loads(done.stdout)
    assert document["surfaces"]["sapi"].startswith("absent")
    found = {k["name"]: k for k in document["keys"]}
    assert set(found) == {*tomllib.loads(SHAPES)["profiles"], "stranger"}
    assert found["reader"]["permissions"] == ["enableReading"]
    assert found["reader"]["key_type"] == "ed25519"  # told from the PEM
    assert found["gateway"]["key_type"] == "rsa"
    assert found["gateway"]["permissions"] == ["enableSpotAndMarginTrading"]
    assert found["trader"]["can_trade"] is True and found["trader"]["can_withdraw"] is None
    assert found["bound"]["ip_bound"] is True and found["trader"]["ip_bound"] is False
    assert found["stranger"]["valid"] is False
    assert found["stranger"]["api_key"] == "..." + stranger.api_key[-4:]


def test_observe_on_mainnet_needs_allow_mainnet() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "observe", "--target", "mainnet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--allow-mainnet" in done.stderr
