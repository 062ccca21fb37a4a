"""--record DIR: a real ``pytest suites/ -n 2`` run writes one corpus file per worker, every
line valid against docs/corpus.schema.json (checked by jsonschema, not by us); a reader
refuses a corpus with anything key-like in it and names the file and line of a bad one; a
recording that never finished is never read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from keyprobe.harness import corpus
from keyprobe.harness.redaction import ExchangeRecord
from keyprobe.harness.sinks.corpus import CorpusWriter
from keyprobe.harness.surfaces import Surface
from tests.recorded import record

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "corpus.schema.json").read_text(encoding="utf-8"))


def test_each_worker_writes_its_own_complete_file(recorded: Path) -> None:
    names = sorted(p.name for p in recorded.iterdir())
    assert names == ["gw0.jsonl", "gw1.jsonl"]  # no .part left, nothing from the controller
    files = corpus.read([recorded])
    exchanges = [line for f in files for line in f.exchanges]
    checks = {line.data["check"] for line in exchanges}
    # Every cell of the run is in the corpus once (441 cells: profiles x probes x doors).
    run = json.loads((recorded.parent / "reports" / "run.json").read_text(encoding="utf-8"))
    assert len(checks) == run["counts"]["pass"] == sum(run["counts"].values())
    assert {line.data["transport"] for line in exchanges} == {"rest", "ws-api"}
    for f in files:
        assert f.run["target"] == "emulator" and f.run["source"] == "suites"
        # The embedded emulator serves every surface keyprobe measures.
        assert set(f.run["surfaces"]) == {s.value for s in Surface}


def test_every_line_is_valid_against_the_schema(recorded: Path) -> None:
    validator = Draft202012Validator(SCHEMA)
    Draft202012Validator.check_schema(SCHEMA)
    lines = [
        (path.name, n, json.loads(text))
        for path in sorted(recorded.glob("*.jsonl"))
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    ]
    assert len(lines) > 441
    errors = [
        f"{name}:{n}: {e.message}" for name, n, line in lines for e in validator.iter_errors(line)
    ]
    assert errors == []
    # ... and the schema is strict enough to refuse a value where a class belongs.
    line = next(line for _, _, line in lines if line["kind"] == "exchange" and line["params"])
    line["params"][0]["value"] = "BTCUSDT"
    assert not validator.is_valid(line)


def test_a_shape_names_classes_never_values(recorded: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in recorded.glob("*.jsonl"))
    # The run's order recipe (symbol, price, quantity) and its client order ids are values.
    assert '"class":"enum","name":"symbol"' in text
    assert "BTCUSDT" not in text and '127.0.0.1"' not in text
    assert '"clientOrderId"' not in text and 'orderId":' not in text


def _a_record(msg: str) -> ExchangeRecord:
    return ExchangeRecord(
        method="GET",
        path="/api/v3/account",
        params=[("timestamp", "1700000000000"), ("signature", "***")],
        source_address="127.0.0.1",
        sent_api_key=True,
        status=400,
        body={"code": -1022, "msg": msg},
    )


def _write(folder: Path, msg: str) -> Path:
    writer = CorpusWriter(folder, "main", corpus.run_line("testnet", {}, source="suites"))
    shape = corpus.KeyShape("registered", "hmac", ("enableReading",), False)
    line = corpus.exchange_line(
        _a_record(msg), check="c-p", step=0, role="probe", transport="rest", key=shape
    )
    writer.write([line])
    writer.close()
    return writer.final


def test_a_corpus_with_a_planted_secret_is_refused(tmp_path: Path) -> None:
    api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    path = _write(tmp_path, f"Signature for this request is not valid. key={api_key}")
    with pytest.raises(corpus.CorpusError) as refused:
        corpus.read([tmp_path])
    message = str(refused.value)
    assert message.startswith(f"{path}:2: refused") and "key material" in message
    assert api_key[:4] not in message and api_key[-4:] not in message
    # A PEM block is key material however short its lines.
    _write(tmp_path, "-----BEGIN PRIVATE KEY-----")
    with pytest.raises(corpus.CorpusError, match="key material"):
        corpus.read([tmp_path])


def test_a_clean_corpus_reads(tmp_path: Path) -> None:
    _write(tmp_path, "Signature for this request is not valid.")
    (read,) = corpus.read([tmp_path])
    assert read.run["target"] == "testnet"
    (line,) = read.exchanges
    assert line.data["params"] == [
        {"name": "timestamp", "class": "integer"},
        {"name": "signature", "class": "secret"},
    ]
    assert line.data["answer"]["code"] == -1022


@pytest.mark.parametrize(
    ("content", "where", "says"),
    [
        ("not json\n", 1, "not a JSON object"),
        ('{"kind": "exchange"}\n', 1, "an exchange without check"),
        ('{"kind": "run", "format": 9, "target": "x"}\n', 1, "corpus format 9"),
        ('{"kind": "run", "format": 1, "target": "x"}\n[1]\n', 2, "not a JSON object"),
        ('{"kind": "run", "format": 1, "target": "x"}\n{"kind": "exchange"}\n', 2, "without"),
        ('{"kind": "run", "format": 1, "target": "x"}\n{"kind": "what"}\n', 2, "unknown kind"),
        ("", 1, "empty corpus file"),
    ],
)
def test_a_malformed_corpus_names_the_file_and_line(
    tmp_path: Path, content: str, where: int, says: str
) -> None:
    path = tmp_path / "main.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(corpus.CorpusError) as bad:
        corpus.read([path])
    assert str(bad.value).startswith(f"{path}:{where}: ") and says in str(bad.value)


def test_a_recording_that_never_finished_is_never_read(tmp_path: Path) -> None:
    writer = CorpusWriter(tmp_path, "gw0", corpus.run_line("emulator", {}, source="suites"))
    shape = corpus.KeyShape("registered", "hmac", (), False)
    writer.write(
        [
            corpus.exchange_line(
                _a_record("x"), check="c", step=0, role="probe", transport="rest", key=shape
            )
        ]
    )
    # The process died here: no close, so no gw0.jsonl, only the hidden part file.
    assert [p.name for p in tmp_path.iterdir()] == [".gw0.jsonl.part"]
    with pytest.raises(corpus.CorpusError, match="no corpus file"):
        corpus.corpus_files([tmp_path])
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["gw0.jsonl"]


def test_shards_recording_into_one_folder_write_files_of_their_own(tmp_path: Path) -> None:
    for k in (1, 2):
        done = record(tmp_path, "--shard", f"{k}/2", "--transport", "rest", "-k", "read")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    names = sorted(p.name for p in (tmp_path / "corpus").iterdir())
    assert names == ["shard1of2-main.jsonl", "shard2of2-main.jsonl"]
    checks = [
        {line.data["check"] for line in f.exchanges} for f in corpus.read([tmp_path / "corpus"])
    ]
    assert checks[0] and checks[1] and not checks[0] & checks[1]


@pytest.mark.slow
def test_a_run_killed_midway_leaves_no_corpus_file_to_read(tmp_path: Path) -> None:
    """SIGKILL (a crash: no cleanup runs) in the middle of a recording: only the hidden part
    file is left, which no reader takes for a corpus."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYPROBE_")}
    folder = tmp_path / "corpus"
    command = [
        sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-q", "-n", "0",
        "--record", str(folder), "-o", f"keyprobe_reports={tmp_path / 'reports'}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    part = folder / ".main.jsonl.part"
    deadline = time.monotonic() + 120
    try:
        while not (part.exists() and part.read_text(encoding="utf-8").count("\n") > 50):
            assert time.monotonic() < deadline and proc.poll() is None, "nothing recorded"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert sorted(p.name for p in folder.iterdir()) == [".main.jsonl.part"]
    with pytest.raises(corpus.CorpusError, match="no corpus file"):
        corpus.read([folder])
