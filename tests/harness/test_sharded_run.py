"""The local proof of issue 14: N shard processes (``pytest suites/ --shard K/N``), each from
its own loopback source address, against ONE separately started ``keyprobe emulator``; then
``keyprobe merge``: the merged matrix has exactly the cells of the unsharded run (the same
expected and actual answers, verdicts and reasons), and ``keyprobe gate`` judges it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.harness.credentials import generate
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, load_profiles
from tests.harness.conftest import REPO, SHIPPED_PROFILES
from tests.launch import with_default_sigint

pytestmark = pytest.mark.slow

KEYPROBE = [sys.executable, "-m", "keyprobe.cli"]
RUN_LIMIT_S = 300
# Every address a run here sends from. The IP-bound profiles allow all of them, so that an
# IP-bound key is allowed from each shard as from the unsharded run; the IP probe's foreign
# address (--egress-address) stays outside every whitelist.
SOURCES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
FOREIGN = "127.0.0.9"


def profiles_for_shards(folder: Path) -> Path:
    text = SHIPPED_PROFILES.read_text(encoding="utf-8")
    widened, count = re.subn(
        r"(?m)^ip_whitelist = .*$", f"ip_whitelist = {json.dumps(SOURCES)}", text
    )
    assert count >= 1, "the shipped profiles have no IP-bound key any more"
    path = folder / "profiles.toml"
    path.write_text(widened, encoding="utf-8")
    return path


def keys_for(profiles: Path, folder: Path) -> tuple[Path, dict[str, str]]:
    """The emulator's keys file (public halves) and the secrets, as a nightly gets them."""
    tables: list[str] = []
    env: dict[str, str] = {}
    for profile in load_profiles(profiles, PROBE_NAMES):
        if profile.kind is not KeyKind.REGISTERED:
            continue
        creds, material = generate(profile)
        hmac = profile.key_type is KeyType.HMAC
        lines = [
            "[[key]]",
            f"api_key = {json.dumps(creds.api_key)}",
            f'type = "{profile.key_type.value}"',
            f"{'secret' if hmac else 'public_key'} = {json.dumps(material.public)}",
            f"permissions = {json.dumps(sorted(profile.permissions))}",
        ]
        if profile.ip_whitelist is not None:
            lines.append(f"ip_whitelist = {json.dumps(list(profile.ip_whitelist))}")
        tables.append("\n".join(lines))
        env[profile.env_prefix + "API_KEY"] = creds.api_key
        env[profile.env_prefix + ("SECRET" if hmac else "PRIVATE_KEY")] = creds.private
    path = folder / "keys.toml"
    path.write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path, env


@contextmanager
def emulator(keys: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        with_default_sigint([*KEYPROBE, "emulator", "--port", "0", "--keys", str(keys)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


def requests_by_ip(url: str) -> dict[str, int]:
    """What the emulator answered per client address (GET /_keyprobe/requests)."""
    with urllib.request.urlopen(f"{url}/_keyprobe/requests", timeout=10) as answer:  # noqa: S310
        document = json.loads(answer.read())
    return {str(ip): int(n) for ip, n in document["by_ip"].items()}


def suites(url: str, profiles: Path, reports: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-n", "0", "-q",
        "--target", url, "--profiles", str(profiles), "--seed", "1414",
        "--egress-address", FOREIGN, "-o", f"keyprobe_reports={reports}", *extra,
    ]  # fmt: skip


def cells(folder: Path) -> list[dict[str, object]]:
    document = json.loads((folder / "matrix.json").read_text(encoding="utf-8"))
    assert isinstance(document["cells"], list)
    return document["cells"]


@pytest.mark.parametrize("count", [2])
def test_shards_against_one_emulator_merge_into_the_unsharded_run(
    tmp_path: Path, count: int
) -> None:
    profiles = profiles_for_shards(tmp_path)
    keys, secrets = keys_for(profiles, tmp_path)
    env = {**os.environ, **secrets}
    env.pop("CI", None)
    with emulator(keys) as url:
        whole = subprocess.run(
            suites(url, profiles, tmp_path / "whole"),
            cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S,
        )  # fmt: skip
        assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-2000:]
        shards = [
            subprocess.Popen(
                suites(
                    url,
                    profiles,
                    tmp_path / f"shard{k}",
                    "--shard",
                    f"{k}/{count}",
                    "--source-address",
                    SOURCES[k],
                ),
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for k in range(1, count + 1)
        ]
        outputs = [p.communicate(timeout=RUN_LIMIT_S)[0] for p in shards]
        counted = requests_by_ip(url)
    for proc, out in zip(shards, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]
        assert "Traceback" not in out
    shard_dirs = [str(tmp_path / f"shard{k}") for k in range(1, count + 1)]
    beyond = []
    for k, folder in enumerate(shard_dirs, start=1):
        run = json.loads((Path(folder) / "run.json").read_text())
        assert run["shard"]["index"] == k and cells(Path(folder)), folder
        beyond.append(counted[SOURCES[k]] - run["shard"]["estimated_requests"])
    # The partition's estimate is each shard's count at the emulator up to what every shard
    # does alike: the start's questions (server time, exchangeInfo, the surfaces) more, the
    # foreign-address cells (sent from FOREIGN) fewer. A retried request may add one.
    assert max(beyond) - min(beyond) <= 2 and abs(min(beyond)) <= 12, (counted, beyond)
    merged = tmp_path / "merged"
    done = subprocess.run(
        [*KEYPROBE, "merge", *reversed(shard_dirs), "--into", str(merged)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert cells(merged) == cells(tmp_path / "whole")
    assert json.loads((merged / "matrix.json").read_text())["shards"] == count
    gate = subprocess.run(
        [*KEYPROBE, "gate", str(merged / "matrix.json")], capture_output=True, text=True
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    whole_results = {p.name for p in (tmp_path / "whole" / "allure-results").iterdir()}
    merged_results = list((merged / "allure-results").iterdir())
    assert sum(p.name.endswith("-result.json") for p in merged_results) == sum(
        n.endswith("-result.json") for n in whole_results
    )
    # One shard alone is refused, with one line naming what is missing.
    alone = subprocess.run(
        [*KEYPROBE, "merge", shard_dirs[0], "--into", str(tmp_path / "alone")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert alone.returncode == 4
    assert alone.stderr.strip().splitlines() == [
        f"keyprobe merge: shard 2/{count} missing: give the results of all {count} shards"
    ]
    assert not (tmp_path / "alone" / "matrix.json").exists()
