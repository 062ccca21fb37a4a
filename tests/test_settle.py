"""keyprobe settle, end to end over loopback only: on the embedded emulator (the default
target) every open question is answered and recorded, the corpus is valid against
docs/corpus.schema.json and replays with zero differences; on a URL target the keys come from
the environment as the suites read them, and without one the command says so in one line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from keyprobe.binance.signing import KeyType
from keyprobe.cli import main
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from keyprobe.harness.credentials import generate
from keyprobe.harness.settle import QUESTIONS
from tests.harness.test_corpus import SCHEMA
from tests.test_conformance import table_rows

PROFILES = """
[profiles.bot]
key_type = "hmac"
permissions = ["enableReading"]
"""


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(t) for t in path.read_text(encoding="utf-8").splitlines()]


def test_settle_on_the_emulator_answers_every_question_and_replays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "settle"
    assert main(["settle", "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert f"{len(QUESTIONS)} question(s) answered, 0 skipped" in said.out
    lines = _lines(out / "settle.jsonl")
    validator = Draft202012Validator(SCHEMA)
    assert [e.message for line in lines for e in validator.iter_errors(line)] == []
    run, *exchanges = lines
    assert run["source"] == "settle" and run["ws_api"] is True
    assert [e["question"] for e in exchanges] == [q.id for q in QUESTIONS]
    by_id = {e["question"]: e["answer"] for e in exchanges}
    # The emulator's current answers (its defaults for these questions).
    assert by_id["rest.recv_window_max_inclusive"]["status"] == 200
    assert by_id["rest.unknown_param_code"]["code"] == -1104
    assert by_id["ws.unknown_method_code"]["status"] == 400
    assert main(["conformance", str(out)]) == 0
    assert f"the emulator matches emulator on {len(QUESTIONS)} shapes" in capsys.readouterr().out


def test_an_edited_answer_to_a_question_is_a_difference_of_that_question(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "settle"
    assert main(["settle", "--out", str(out)]) == 0
    path = out / "settle.jsonl"
    lines = _lines(path)
    (edited,) = [ln for ln in lines if ln.get("question") == "rest.recv_window_over_max_code"]
    edited["answer"]["code"] = -1131
    edited["answer"]["msg"] = "recvWindow must be less than 60000"
    path.write_text("".join(json.dumps(ln) + "\n" for ln in lines), encoding="utf-8")
    capsys.readouterr()
    assert main(["conformance", str(out)]) == 1
    said = capsys.readouterr().out.splitlines()
    rows = table_rows(said)
    assert [r[:2] for r in rows] == [["rest.recv_window_over_max_code", "#0"]] * 2
    assert [r[4] for r in rows] == ["code", "msg"]
    # Without --write-behaviour the settings to change are named all the same.
    assert "  rest.recv_window_over_max_code = -1131 (now -1102)" in said


@pytest.fixture(params=["exchange"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A served emulator (of the flavor the test asks for) with the profile's key registered,
    the key's environment and the profiles file."""
    from keyprobe.harness.probes import PROBE_NAMES
    from keyprobe.harness.profiles import load_profiles

    profiles = tmp_path / "profiles.toml"
    profiles.write_text(PROFILES, encoding="utf-8")
    (profile,) = load_profiles(profiles, PROBE_NAMES)
    creds, material = generate(profile)
    emulator = Emulator(flavor=request.param)
    emulator.keys.register(
        KeyRecord.create(creds.api_key, KeyType.HMAC, material.public, ["enableReading"])
    )
    env = {"KEYPROBE_BOT_API_KEY": creds.api_key, "KEYPROBE_BOT_SECRET": creds.private}
    with EmulatorServer(emulator, host="127.0.0.1", port=0) as server:
        yield server.url, env, profiles


def test_on_a_url_target_the_key_comes_from_the_environment(
    served: tuple[str, dict[str, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, env, profiles = served
    for name in list(os.environ):
        if name.startswith("KEYPROBE_"):
            monkeypatch.delenv(name)
    argv = ["settle", "--target", url, "--profiles", str(profiles), "--out", str(tmp_path / "c")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("keyprobe settle: no key to ask with: set one of ")
    assert "KEYPROBE_BOT_API_KEY" in err[-1] and not (tmp_path / "c").exists()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 0
    said = capsys.readouterr()
    # The read-only key cannot ask the order/test question; it says so and asks the rest.
    assert f"{len(QUESTIONS) - 1} question(s) answered, 1 skipped" in said.out
    assert (
        "orders.percent_price_by_side_name: skipped, needs a key with enableSpotAndMarginTrading"
        in said.err
    )
    text = (tmp_path / "c" / "settle.jsonl").read_text(encoding="utf-8")
    assert env["KEYPROBE_BOT_API_KEY"] not in text and env["KEYPROBE_BOT_SECRET"] not in text
    assert env["KEYPROBE_BOT_SECRET"] not in said.out + said.err
    # The HMAC key answered the HMAC logon question, as a key of its declared shape.
    logon = next(
        ln
        for ln in _lines(tmp_path / "c" / "settle.jsonl")
        if ln.get("question") == "ws.logon_refused_code"
    )
    assert logon["key"] == {
        "kind": "registered",
        "type": "hmac",
        "permissions": ["enableReading"],
        "ip_restricted": False,
    }


@pytest.mark.parametrize("served", ["testnet"], indirect=True)
def test_a_testnet_corpus_replays_on_the_testnet_flavor(
    served: tuple[str, dict[str, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A target found without /sapi is replayed on the emulator's testnet flavor (every /sapi
    path a bare 404); the same answers taken as an exchange's differ exactly there."""
    url, env, profiles = served
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "c"
    assert main(["settle", "--target", url, "--profiles", str(profiles), "--out", str(out)]) == 0
    capsys.readouterr()
    path = out / "settle.jsonl"
    run, *exchanges = _lines(path)
    assert run["surfaces"]["sapi"].startswith("absent")
    (sapi,) = [e for e in exchanges if e["question"] == "surfaces.sapi_api_restrictions"]
    assert sapi["answer"]["status"] == 404
    assert main(["conformance", str(out)]) == 0
    said = capsys.readouterr().out
    assert "(testnet flavor)" in said and f"the emulator matches {url} on " in said
    run["surfaces"]["sapi"] = "served: GET /sapi/v1/system/status answered 200"
    path.write_text("".join(json.dumps(ln) + "\n" for ln in [run, *exchanges]), encoding="utf-8")
    assert main(["conformance", str(out)]) == 1
    table = capsys.readouterr().out.splitlines()
    assert {r[0] for r in table_rows(table)} == {"surfaces.sapi_api_restrictions"}
    assert "difference(s) no setting explains" in table[-1]


def test_each_question_is_named_by_the_setting_it_settles() -> None:
    """A question's id is the behaviour table's id (so conformance can propose its value),
    except where no setting decides the answer (the surface: the emulator's flavor)."""
    from keyprobe.binance.unsettled import BY_ID

    unnamed = {q.id for q in QUESTIONS if q.id not in BY_ID}
    assert unnamed == {"surfaces.sapi_api_restrictions"}
    assert all(BY_ID[q.id].from_answer is not None for q in QUESTIONS if q.id in BY_ID)
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
