"""No secret reaches any artifact: a real ``pytest suites`` subprocess (every key type, two
workers, failing cells on purpose) against a served emulator that records every key and
signature it was sent; then every file the run left and everything it printed is searched.
And every object that holds key material shows it masked, however it is printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis.vendor.pretty import pretty

from keyprobe.binance.signing import (
    KeyType,
    generate_api_key,
    generate_key_material,
    load_signer,
    load_verifier,
)
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from keyprobe.harness.client import BinanceAuth, ServerClock, Wire
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.facts import Facts, Options
from keyprobe.harness.faults import Send
from keyprobe.harness.orders import Ledger, PlacedOrder
from keyprobe.harness.run import RunInfo
from keyprobe.harness.targets import resolve_target
from tests.harness.conftest import SHIPPED_PROFILES, SUITES, Provisioned, provision
from tests.harness.faulty import Faulty
from tests.report.conftest import report_text

# The shipped profiles (HMAC, RSA and Ed25519 keys, unknown and malformed keys) with one
# override that is wrong on purpose: the failure paths (MISSING, reprs, -rA) must run too.
WRONG_OVERRIDE = (
    "place_order = { status = 401, code = -2015 }",
    "place_order = { status = 200 }",
)


def secrets_of(keys: Provisioned) -> list[str]:
    """Every API key, secret and private key, and each base64 line of every PEM body."""
    found = keys.secrets()
    for creds in keys.credentials.values():
        found.extend(
            line.strip() for line in creds.private.splitlines() if not line.startswith("-----")
        )
    return sorted({s for s in found if s})


def leaks(text: str, needles: set[str]) -> list[str]:
    """The needles found in ``text``, shown by their last four characters only."""
    return sorted(f"...{n[-4:]}" for n in needles if n in text)


def tree_text(root: Path) -> dict[str, str]:
    """Every file under ``root`` (binary ones too), as text."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = path.read_bytes().decode("utf-8", "replace")
    return out


@dataclass
class LeakyRun:
    """One ``pytest suites`` run with failing cells, and everything needed to search it."""

    folder: Path
    out: str
    needles: set[str]


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeakyRun]:
    tmp_path = tmp_path_factory.mktemp("leaky-run")
    for source in SUITES.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    profiles = tmp_path / "profiles.toml"
    shipped = SHIPPED_PROFILES.read_text(encoding="utf-8")
    assert WRONG_OVERRIDE[0] in shipped
    profiles.write_text(shipped.replace(*WRONG_OVERRIDE), encoding="utf-8")
    emu = Emulator()
    recorder = Faulty(emu)
    with EmulatorServer(recorder, host="127.0.0.1", port=0) as server:  # type: ignore[arg-type]
        url = server.url
        keys = provision(
            emu,
            url,
            profiles,
            # A LEAK (more than declared) and a MISSING (less than declared), for real.
            grants={
                "spot_trading": [
                    "enableReading",
                    "enableSpotAndMarginTrading",
                    "enableWithdrawals",
                ],
                "trade_only": [],
            },
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYPROBE_")}
        env.update(keys.env)
        env["COLUMNS"] = "200"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--target",
                url,
                "--profiles",
                str(profiles),
                "-n",
                "2",
                "-rA",
                "-vv",
                "--junitxml",
                "junit.xml",
                "--log-file",
                "logs/run.log",
                "--log-file-level",
                "DEBUG",
                "--log-level",
                "DEBUG",
                "-o",
                "cache_dir=pytest-cache",
                # The conformance corpus lands in reports/, so the scan below covers it.
                "--record",
                "reports/corpus",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    for verdict in ("LEAK", "MISSING"):
        assert f"{verdict}: " in done.stdout, verdict
    # Sent by the run itself: keys of every kind (unknown, malformed, generated in the
    # subprocess) and every signature, as the emulator received them.
    sent_keys = recorder.api_keys()
    signatures = recorder.signatures()
    assert len(signatures) > 200 and len(sent_keys) > len(keys.credentials)
    needles = set(secrets_of(keys)) | sent_keys | {s for s in signatures if len(s) >= 16}
    yield LeakyRun(tmp_path, out, needles)


@pytest.mark.slow
def test_no_key_secret_or_signature_reaches_any_artifact(leaky_run: LeakyRun) -> None:
    tmp_path, needles = leaky_run.folder, leaky_run.needles
    places = tree_text(tmp_path / "reports")
    for folder in ("logs", "pytest-cache"):
        places.update({f"{folder}/{k}": v for k, v in tree_text(tmp_path / folder).items()})
    places["junit.xml"] = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    places["terminal"] = leaky_run.out
    expected = {"junit.xml", "terminal", "logs/run.log", "reports/matrix.json", "run.json"}
    assert {p for p in places if any(p.endswith(e) for e in expected)}, sorted(places)
    assert any(p.endswith("-attachment.json") for p in places), "no exchanges attached"
    assert {p for p in places if p.startswith("corpus/")} == {
        "corpus/gw0.jsonl",
        "corpus/gw1.jsonl",
    }
    assert any("lastfailed" in p for p in places), "the cache folder was not written"
    assert "DEBUG" in places["logs/run.log"]
    found = {where: leaks(text, needles) for where, text in places.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}
    for where, text in places.items():
        assert "PRIVATE KEY" not in text, where


@pytest.mark.slow
def test_no_key_secret_or_signature_reaches_the_html_report(leaky_run: LeakyRun) -> None:
    # Checked before any work: skipped means "not checked", never "checked, then skipped".
    if not (shutil.which("npm") and shutil.which("java")):
        pytest.skip("npm or java missing: the HTML report (keyprobe report) cannot be built")
    report = subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "report"],
        cwd=leaky_run.folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    built = leaky_run.folder / "reports" / "allure-report" / "index.html"
    places = tree_text(leaky_run.folder / "reports" / "allure-report")
    places["allure-report (decoded)"] = report_text(built)
    found = {where: leaks(text, leaky_run.needles) for where, text in places.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}
    for where, text in places.items():
        assert "PRIVATE KEY" not in text, where


# ----------------------------------------------------------------------------- key holders


def _holders() -> tuple[list[object], list[str]]:
    """One of every object that holds key material, and the secrets they hold."""
    api_key = generate_api_key()
    objects: list[object] = []
    secrets = [api_key]
    for key_type in KeyType:
        material = generate_key_material(key_type)
        secrets.append(material.private)
        secrets.extend(
            line for line in material.private.splitlines() if not line.startswith("-----")
        )
        creds = Credentials(api_key, key_type, material.private)
        signer = load_signer(key_type, material.private)
        record = KeyRecord.create(api_key, key_type, material.public, ["enableReading"])
        objects += [
            material,
            creds,
            signer,
            load_verifier(key_type, material.public),
            record,
            BinanceAuth(
                api_key, signer, ServerClock(), recv_window=None, time_url="http://127.0.0.1:1/"
            ),
            PlacedOrder(creds, "BTCUSDT", "kp-x-1"),
            Send(api_key, signer, None, 0),
            RunInfo(
                "run",
                1,
                resolve_target("http://127.0.0.1:1"),
                "profiles.toml",
                Options(),
                Facts(),
                {"p": creds},
            ),
        ]
    wire = Wire("http://127.0.0.1:1", ServerClock())
    ledger = Ledger(wire, None)
    ledger.add(PlacedOrder(Credentials(api_key, KeyType.HMAC, secrets[1]), "BTCUSDT", "kp-x-2"))
    objects.append(ledger)
    emu = Emulator()
    emu.keys.register(KeyRecord.create(api_key, KeyType.HMAC, secrets[1], ["enableReading"]))
    objects.append(emu.keys)
    return objects, [s for s in secrets if len(s) >= 8]


def test_every_key_holder_is_masked_in_repr_str_and_hypothesis_output() -> None:
    objects, secrets = _holders()
    for obj in objects:
        # Hypothesis prints a dataclass field by field, ignoring a custom __repr__: the
        # pretty form must be masked too (it is what a falsifying example shows).
        for shown in (repr(obj), str(obj), f"{obj!r}", repr([obj]), pretty(obj)):
            hits = [f"...{s[-4:]}" for s in secrets if s in shown]
            assert not hits, f"{type(obj).__name__}: {shown[:120]}"
            assert "PRIVATE KEY" not in shown
