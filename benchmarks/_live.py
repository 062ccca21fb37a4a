"""Plumbing for figures 3 and 4: the suites against a separately started (counting) emulator,
as against a live target: ``pytest suites/ --target URL --profiles FILE`` with each profile's
secrets in the environment, as the nightly run gets them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keyprobe.binance.signing import KeyType
from keyprobe.harness.credentials import generate
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, load_profiles

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "fixtures" / "profiles.toml"


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers and lists of strings read the same in TOML


def write_profiles(count: int, path: Path) -> Path:
    """``count`` profiles: the shipped ones, cycled, renamed NAME_i."""
    shipped = tomllib.loads(SHIPPED.read_text())["profiles"]
    names = list(shipped)
    lines = []
    for i in range(count):
        base = names[i % len(names)]
        entry = dict(shipped[base])
        expect = entry.pop("expect", {})
        lines.append(f"[profiles.{base}_{i}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
        if expect:
            lines.append(f"[profiles.{base}_{i}.expect]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in expect.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def keys_for(profiles_file: Path, folder: Path) -> tuple[Path, dict[str, str]]:
    """Key material for every registered profile: the emulator's keys file (public halves)
    and the environment the suite reads the secrets from."""
    records = []
    env: dict[str, str] = {}
    for profile in load_profiles(profiles_file, PROBE_NAMES):
        if profile.kind is not KeyKind.REGISTERED:
            continue
        creds, material = generate(profile)
        records.append(
            {
                "api_key": creds.api_key,
                "type": profile.key_type.value,
                "public": material.public,
                "permissions": sorted(profile.permissions),
                "ip_whitelist": None
                if profile.ip_whitelist is None
                else list(profile.ip_whitelist),
            }
        )
        prefix = profile.env_prefix
        env[prefix + "API_KEY"] = creds.api_key
        secret_var = "SECRET" if profile.key_type is KeyType.HMAC else "PRIVATE_KEY"
        env[prefix + secret_var] = creds.private
    keys_file = folder / "keys.json"
    keys_file.write_text(json.dumps(records))
    keys_file.chmod(0o600)
    return keys_file, env


@contextmanager
def counting_emulator(keys_file: Path, *extra: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "_counting_emulator.py"),
            str(keys_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def bench(url: str, action: str) -> dict[str, Any]:
    """``stats`` or ``reset`` (zeroes the counts and the emulator's rate-limit windows)."""
    method = "POST" if action == "reset" else "GET"
    request = urllib.request.Request(f"{url}/_bench/{action}", method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return dict(json.loads(answer.read()))


def suite_env(secrets: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **secrets}


def suite_cmd(url: str, profiles: Path, workers: int, reports: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "suites/",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        str(workers),
        "--target",
        url,
        "--profiles",
        str(profiles),
        "--require-all-profiles",
        "-o",
        f"keyprobe_reports={reports}",
    ]
