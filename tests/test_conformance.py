"""keyprobe conformance, end to end: a corpus the suites recorded on the emulator (two xdist
workers) replays on a fresh emulator with zero differences; an edited corpus shows exactly the
edits; a corpus with a planted secret and malformed corpora exit 4 with one line naming the
file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from keyprobe.cli import main
from tests.harness.test_corpus import record


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("conformance")
    done = record(folder, "-n", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return folder / "corpus"


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
    rows = [line.split() for line in out[3:]]
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
