"""The plugin's command-line options and ini settings, and the questions every role asks of
the configuration (is this run armed, is this process a worker, where do reports go)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import pytest

from keyprobe.harness.facts import Options
from keyprobe.harness.shards import ShardError, parse_shard
from keyprobe.harness.targets import CAPABILITY_SETS

# A conftest that sets this to True arms the plugin for the tests beside it (suites/).
ARMING_FLAG = "KEYPROBE_SUITES"
# Where the controller hands the run to an xdist worker (config.workerinput).
WORKERINPUT_KEY = "keyprobe"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keyprobe", "keyprobe: Binance API-key permission probes")
    group.addoption(
        "--target",
        default=None,
        help="emulator (default: embedded, offline), testnet, demo, mainnet, or a "
        "Binance-compatible base URL http(s)://HOST:PORT",
    )
    group.addoption(
        "--profiles",
        default=None,
        help="the key profiles file (default: ini keyprobe_profiles, fixtures/profiles.toml)",
    )
    group.addoption(
        "--allow-mainnet",
        action="store_true",
        default=False,
        help="permit --target mainnet (reads, order/test, cancel of a non-existent order and "
        "apiRestrictions only; never a real order or withdrawal)",
    )
    group.addoption(
        "--require-all-profiles",
        action="store_true",
        default=False,
        help="a profile whose secrets are missing is an error instead of a skip (always so "
        "when the CI environment variable is true/1/yes)",
    )
    group.addoption(
        "--seed", type=int, default=None, help="Faker seed for generated data (default: random)"
    )
    group.addoption(
        "--recv-window",
        type=int,
        default=None,
        help="recvWindow in ms sent with signed requests (1-60000; default: not sent = 5000)",
    )
    group.addoption("--symbol", default=None, help="symbol for order probes (default: BTCUSDT)")
    group.addoption(
        "--capabilities",
        default=None,
        choices=sorted(CAPABILITY_SETS),
        help="for a URL target: treat it as this kind of target (default: emulator, i.e. the "
        "whole matrix); e.g. mainnet to run only what keyprobe would send to mainnet",
    )
    group.addoption(
        "--egress-address",
        default=None,
        help="local source address whose traffic reaches the target from another IP "
        "(live targets: enables the foreign_address probe)",
    )
    group.addoption(
        "--transport",
        default="both",
        choices=["rest", "ws-api", "both"],
        help="the doors each probe goes through: rest, ws-api (the Spot WebSocket API) or "
        "both (default; ws-api cells are skipped with the reason where the target has none)",
    )
    group.addoption(
        "--probe-timeout",
        type=float,
        default=None,
        help="seconds to wait for the target per request (default: 10)",
    )
    # --- sharding (issue 14) ---
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="run shard K of N: a deterministic share of the cells, by profile first (so that "
        "an account's order cells stay together); merge the shards with `keyprobe merge`",
    )
    group.addoption(
        "--source-address",
        default=None,
        metavar="ADDR",
        help="local address the run's requests leave from (e.g. 127.0.0.3: N shard processes "
        "on one machine are N clients to a local target's per-IP limits)",
    )
    # --- record and replay (issue 12) ---
    group.addoption(
        "--record",
        default=None,
        metavar="DIR",
        help="write a conformance corpus into DIR: every exchange's shape and answer, one "
        "JSON line each, never a key, secret or value (replay it with `keyprobe conformance`)",
    )
    # --- permission families (issue 13) ---
    group.addoption(
        "--margin-repay",
        action="store_true",
        default=False,
        help="send the margin_repay probe (borrow-repay REPAY with no debt) to a target other "
        "than the embedded emulator: a real repay if the account has margin debt",
    )
    parser.addini(
        "keyprobe_profiles",
        "keyprobe: the key profiles file, relative to the rootdir",
        default="fixtures/profiles.toml",
    )
    parser.addini("keyprobe_reports", "keyprobe: the reports folder", default="reports")


def options_of(config: pytest.Config) -> Options:
    """The run's options from the command line; a bad value is a usage error."""
    profiles = config.getoption("profiles") or str(
        config.rootpath / str(config.getini("keyprobe_profiles"))
    )
    recv_window = config.getoption("recv_window")
    if recv_window is not None and not 1 <= recv_window <= 60_000:
        raise pytest.UsageError(f"--recv-window {recv_window}: must be 1-60000 ms")
    timeout = config.getoption("probe_timeout")
    if timeout is not None and timeout <= 0:
        raise pytest.UsageError(f"--probe-timeout {timeout}: must be positive")
    seed = config.getoption("seed")
    shard = config.getoption("shard")
    if shard is not None:
        try:
            shard = parse_shard(shard).label
        except ShardError as exc:
            raise pytest.UsageError(str(exc)) from None
    return Options(
        target=config.getoption("target") or "emulator",
        profiles=profiles,
        allow_mainnet=bool(config.getoption("allow_mainnet")),
        require_all_profiles=bool(config.getoption("require_all_profiles")),
        ci=in_ci(),
        seed=seed if seed is not None else secrets.randbelow(2**31),
        recv_window=recv_window,
        symbol=config.getoption("symbol") or "BTCUSDT",
        capabilities=config.getoption("capabilities"),
        egress_address=config.getoption("egress_address"),
        timeout=timeout or 10.0,
        transports=() if (t := config.getoption("transport")) in (None, "both") else (t,),
        shard=shard,
        source_address=config.getoption("source_address"),
        margin_repay=bool(config.getoption("margin_repay")),
    )


def in_ci(env: Mapping[str, str] | None = None) -> bool:
    """Whether the CI variable says this is a CI run (GitHub Actions and most CIs set CI=true)."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() in ("true", "1", "yes")


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def armed(config: pytest.Config) -> bool:
    """Whether this session runs keyprobe's suites: a worker whose controller handed it a run,
    a keyprobe option given, or a conftest that set KEYPROBE_SUITES."""
    if is_worker(config):
        return WORKERINPUT_KEY in config.workerinput  # type: ignore[attr-defined]
    if config.getoption("target") is not None or config.getoption("profiles") is not None:
        return True
    return any(getattr(p, ARMING_FLAG, False) is True for p in config.pluginmanager.get_plugins())


def reports_dir(config: pytest.Config) -> Path:
    return config.rootpath / str(config.getini("keyprobe_reports"))


def runs_tests(config: pytest.Config) -> bool:
    """False for --collect-only, --fixtures, --fixtures-per-test: leave earlier results be."""
    option = config.option
    return not (
        option.collectonly
        or getattr(option, "showfixtures", False)
        or getattr(option, "show_fixtures_per_test", False)
    )
