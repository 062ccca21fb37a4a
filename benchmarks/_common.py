"""Shared benchmark plumbing: a separately started ``keyprobe emulator`` process with keys
generated for the run, and signed request lines built once (valid for recvWindow 60 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keyprobe.binance.signing import (
    KeyType,
    encode_params,
    generate_api_key,
    generate_key_material,
    load_signer,
)


@dataclass(frozen=True)
class BenchKey:
    api_key: str
    key_type: KeyType
    private: str
    public: str


def make_keys() -> dict[str, BenchKey]:
    keys = {}
    for key_type in (KeyType.HMAC, KeyType.ED25519):
        material = generate_key_material(key_type)
        keys[key_type.value] = BenchKey(
            generate_api_key(), key_type, material.private, material.public
        )
    return keys


def write_keys_file(keys: dict[str, BenchKey], folder: Path) -> Path:
    lines = []
    for key in keys.values():
        field = "secret" if key.key_type is KeyType.HMAC else "public_key"
        value = f'"{key.public}"' if key.key_type is KeyType.HMAC else f'"""{key.public}"""'
        lines += [
            "[[key]]",
            f'api_key = "{key.api_key}"',
            f'type = "{key.key_type.value}"',
            f"{field} = {value}",
            'permissions = ["enableReading", "enableSpotAndMarginTrading"]',
            "",
        ]
    path = folder / "keys.toml"
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


@contextmanager
def emulator_process(*extra: str) -> Iterator[tuple[str, int, dict[str, BenchKey]]]:
    """Start ``keyprobe emulator`` in its own process; yield (url, pid, keys)."""
    keys = make_keys()
    with tempfile.TemporaryDirectory(prefix="keyprobe-bench-") as tmp:
        keys_file = write_keys_file(keys, Path(tmp))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keyprobe.cli",
                "emulator",
                "--keys",
                str(keys_file),
                "--log-level",
                "warning",
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        try:
            yield url, proc.pid, keys
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def signed_query(key: BenchKey, params: list[tuple[str, str]]) -> str:
    pairs = [*params, ("recvWindow", "60000"), ("timestamp", str(time.time_ns() // 1_000_000))]
    text = encode_params(pairs)
    signature = load_signer(key.key_type, key.private).sign(text.encode())
    return text + "&signature=" + encode_params([("s", signature)])[2:]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_count() -> int:
    return os.cpu_count() or 1
