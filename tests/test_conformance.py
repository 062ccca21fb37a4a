"""keyprobe conformance, end to end: a corpus the suites recorded on the emulator (two xdist
workers) replays on a fresh emulator with zero differences; an edited corpus shows exactly the
edits; a corpus with a planted secret and malformed corpora exit 4 with one line naming the
file and line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.binance.unsettled import DEFAULT, load_behaviour
from keyprobe.cli import main
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from keyprobe.harness.credentials import generate
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import load_profiles
from tests.harness.conftest import SHIPPED_PROFILES


def table_rows(out: list[str]) -> list[list[str]]:
    """The rows of conformance's table of differences (after its header, before the rest)."""
    start = next(n for n, line in enumerate(out) if line.split()[:2] == ["shape", "field"])
    rows = []
    for line in out[start + 1 :]:
        if not line.startswith("  "):
            break
        rows.append(line.split())
    return rows


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(t) for t in path.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_a_corpus_recorded_on_the_emulator_replays_with_zero_differences(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shapes = sum(len(_lines(p)) - 1 for p in recorded.glob("*.jsonl"))
    assert main(["conformance", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert f"the emulator matches emulator on {shapes} shapes" in out


def test_an_edited_corpus_shows_exactly_the_edits(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(recorded, edited)
    path = edited / "gw0.jsonl"
    lines = _lines(path)
    refusal = next(n for n, ln in enumerate(lines) if ln.get("answer", {}).get("code") == -2015)
    success = next(n for n, ln in enumerate(lines) if ln.get("answer", {}).get("status") == 200)
    lines[refusal]["answer"]["code"] = -2014
    lines[success]["answer"]["content_type"] = "text/html"
    _write(path, lines)
    assert main(["conformance", str(edited)]) == 1
    out = capsys.readouterr().out.splitlines()
    total = sum(len(_lines(p)) - 1 for p in edited.glob("*.jsonl"))
    assert f"{total - 2} of {total} shapes match; 2 difference(s):" in out[1]
    rows = table_rows(out)
    assert sorted((r[-3], r[-2], r[-1]) for r in rows) == sorted(
        [
            ("code", "-2014", "-2015"),
            ("content_type", "text/html", "application/json;charset=UTF-8"),
        ]
    )
    checks = {str(lines[refusal]["check"]), str(lines[success]["check"])}
    assert {r[0] for r in rows} == checks


def test_a_corpus_with_a_planted_secret_is_refused(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = tmp_path / "planted.jsonl"
    lines = _lines(recorded / "gw1.jsonl")
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    lines[3]["answer"]["msg"] = f"Signature for this request is not valid. {secret}"
    _write(planted, lines)
    assert main(["conformance", str(planted)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"keyprobe conformance: {planted}:4: refused, holds something that looks like key "
        "material; a corpus never carries keys, secrets, signatures or listenKeys"
    ]


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ('{"kind":"run","format":1,"target":"testnet"}\n{"kind":"exchange",', 2, "not a JSON"),
        ('{"kind":"exchange"}\n', 1, "an exchange without"),
        ("\xff\n", 0, "cannot read"),
    ],
)
def test_a_malformed_corpus_exits_4_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, line: int, says: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content.encode("latin-1"))
    assert main(["conformance", str(path)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    where = f"{path}:{line}: " if line else f"{path}: "
    assert len(err) == 1 and err[0].startswith(f"keyprobe conformance: {where}"), err
    assert says in err[0]


def test_a_missing_corpus_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", str(tmp_path / "nowhere")]) == 4
    assert "no such corpus file or folder" in capsys.readouterr().err


def test_edited_answers_of_a_question_propose_the_setting_that_removes_them(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The REST missing-key probe's answer (a question of the behaviour table) edited on every
    profile: exactly those lines differ, --write-behaviour proposes rest.missing_key_code, and
    with the proposed file the replay matches everywhere."""
    edited = tmp_path / "edited"
    shutil.copytree(recorded, edited)
    changed = 0
    for path in edited.glob("*.jsonl"):
        lines = _lines(path)
        for line in lines:
            if (line.get("fault"), line.get("transport"), line.get("role")) == (
                "no_key_header",
                "rest",
                "probe",
            ):
                line["answer"]["code"] = -2015
                line["answer"]["msg"] = "Invalid API-key, IP, or permissions for action."
                changed += 1
        _write(path, lines)
    # One per profile of the shipped profiles file (the suites' missing-key probe, over REST).
    assert changed == len(load_profiles(SHIPPED_PROFILES, PROBE_NAMES))
    proposed = tmp_path / "behaviour.toml"
    assert main(["conformance", str(edited), "--write-behaviour", str(proposed)]) == 1
    out = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in out if "missing_key_header #0" in line]
    assert len(rows) == 2 * changed  # code and msg of each edited line, nothing else
    assert {r[4] for r in rows} == {"code", "msg"}
    assert f"{changed * 2} difference(s)" in out[1]
    assert "  rest.missing_key_code = -2015 (now -2014)" in out
    assert "missing_key_code = -2015" in proposed.read_text(encoding="utf-8")
    assert main(["conformance", str(edited), "--behaviour", str(proposed)]) == 0
    assert "the emulator matches emulator on" in capsys.readouterr().out


@pytest.fixture
def other_emulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An emulator served with other answers to three open questions, an HMAC key registered
    and in the environment as the profile ``bot`` reads it; its URL and the profiles file."""
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[profiles.bot]\nkey_type = "hmac"\n'
        'permissions = ["enableReading", "enableSpotAndMarginTrading"]\n',
        encoding="utf-8",
    )
    (profile,) = load_profiles(profiles, PROBE_NAMES)
    creds, material = generate(profile)
    emulator = Emulator(behaviour=DEFAULT.with_values(OTHER))
    emulator.keys.register(
        KeyRecord.create(
            creds.api_key,
            KeyType.HMAC,
            material.public,
            ["enableReading", "enableSpotAndMarginTrading"],
        )
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KEYPROBE_BOT_API_KEY", creds.api_key)
        env.setenv("KEYPROBE_BOT_SECRET", creds.private)
        with EmulatorServer(emulator, host="127.0.0.1", port=0) as server:
            yield server.url, profiles


OTHER = {
    "rest.recv_window_over_max_code": -1131,
    "rest.accepts_microseconds": False,
    "ws.unknown_method_code": -1000,
    "orders.percent_price_by_side_name": "PERCENT_PRICE",
}


def test_a_corpus_of_other_settings_proposes_exactly_those_settings(
    other_emulator: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, profiles = other_emulator
    out = tmp_path / "settled"
    argv = ["settle", "--target", url, "--profiles", str(profiles), "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    proposed = tmp_path / "behaviour.toml"
    assert main(["conformance", str(out), "--write-behaviour", str(proposed)]) == 1
    said = capsys.readouterr().out.splitlines()
    differing = {line.split()[0] for line in said[3:] if line.startswith("  ") and "#0" in line}
    assert differing == set(OTHER)
    assert load_behaviour(proposed).changed() == OTHER
    assert f"keyprobe conformance: {len(OTHER)} setting(s) proposed -> {proposed}" in said
    assert not any("no setting explains" in line for line in said)
    assert main(["conformance", str(out), "--behaviour", str(proposed)]) == 0
    assert f"the emulator matches {url} on " in capsys.readouterr().out


def test_a_bad_behaviour_file_is_one_line_before_any_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "behaviour.toml"
    bad.write_text("[rest]\nno_such_setting = 1\n", encoding="utf-8")
    assert main(["conformance", str(tmp_path), "--behaviour", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"keyprobe conformance: {bad}: ")
    assert "no_such_setting" in err[0]
