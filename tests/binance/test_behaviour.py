"""The one table of unsettled answers and its file: every question has its evidence, the
packaged default file is the table's rendering, a file round-trips, a bad file is one line
naming the file, the key and what was expected, and no [UNC] choice is left in the emulator."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from keyprobe.binance import unsettled
from keyprobe.binance.errors import CATALOGUE
from keyprobe.binance.unsettled import (
    DEFAULT,
    QUESTIONS,
    Behaviour,
    BehaviourError,
    dump_behaviour,
    load_behaviour,
)

SRC = Path(unsettled.__file__).resolve().parents[1]
ROOT = SRC.parents[1]
TAG = re.compile(r"\[(DOC|OBS|INF|UNC)\b")
REFERENCE = re.compile(r"binance-[a-z-]+\.md")


def test_every_question_has_its_question_evidence_and_default() -> None:
    assert len(QUESTIONS) == len({q.id for q in QUESTIONS}) >= 30
    for q in QUESTIONS:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", q.id), q.id
        assert q.question and "\n" not in q.question, q.id
        assert "\n" not in q.evidence, q.id
        assert TAG.search(q.evidence), f"{q.id}: no DOC/OBS/INF/UNC tag"
        assert REFERENCE.search(q.evidence), f"{q.id}: no reference named"
        assert type(q.default) is q.kind, q.id
        assert DEFAULT.value(q.id) == q.default


def test_the_packaged_file_is_the_table_rendered_with_every_value() -> None:
    packaged = resources.files("keyprobe.binance").joinpath(unsettled.PACKAGED)
    text = packaged.read_text(encoding="utf-8")
    # After adding an entry to unsettled_table.py (and its value to the file), regenerate with
    # python -c 'import keyprobe.binance.unsettled as u; print(u.render_behaviour(
    #   u.DEFAULT.values(), note=u.PACKAGED_NOTE), end="")' > src/keyprobe/binance/behaviour.toml
    assert text == unsettled.render_behaviour(DEFAULT.values(), note=unsettled.PACKAGED_NOTE)
    flat = {f"{s}.{k}" for s, table in tomllib.loads(text).items() for k in table}
    assert flat == {q.id for q in QUESTIONS}
    # Declared as package data, so `pip install .` ships it.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "binance/behaviour.toml" in pyproject["tool"]["setuptools"]["package-data"]["keyprobe"]


def _other(value: bool | int | str | None, kind: type) -> bool | int | str:
    """A different legal value of the same type."""
    if kind is bool:
        return not value
    if kind is str:
        return "strict" if value == "lenient" else f"{value}!"
    assert isinstance(value, int)
    if value < 0:
        return next(c for c in (-2015, -1000, -1022) if c != value)
    return 0 if kind is int and value == 1 else value + 1


def test_dump_then_load_round_trips_every_value(tmp_path: Path) -> None:
    changed = {q.id: _other(q.default, q.kind) for q in QUESTIONS}
    path = tmp_path / "all.toml"
    dump_behaviour(changed, path, note="recorded on testnet\nsecond line")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# recorded on testnet\n# second line\n")
    for q in QUESTIONS:
        assert f"# {q.question}\n# evidence: {q.evidence}\n{q.name} = " in text
    loaded = load_behaviour(path)
    assert dict(loaded.values()) == changed
    assert loaded.changed() == changed


def test_a_partial_file_keeps_every_other_default(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    dump_behaviour({"ws.logon_refused_code": -2015}, path)
    loaded = load_behaviour(path)
    assert loaded.changed() == {"ws.logon_refused_code": -2015}
    assert loaded.value("rest.short_key_code") == DEFAULT.value("rest.short_key_code")
    assert loaded == DEFAULT.with_values({"ws.logon_refused_code": -2015})
    assert load_behaviour(tmp_path / "one.toml", base=loaded) == loaded
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert load_behaviour(empty) == DEFAULT


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("[nope]\nx = 1\n", ["[nope]", "not a known section"]),
        ("[ws]\nlogon_refused = -1\n", ["ws.logon_refused", "not a known setting"]),
        ('[ws]\nlogon_refused_code = "-1022"\n', ["ws.logon_refused_code", "expected an integer"]),
        ("[ws]\nlogon_refused_code = true\n", ["ws.logon_refused_code", "expected an integer"]),
        ("[rest]\naccepts_microseconds = 1\n", ["rest.accepts_microseconds", "a boolean"]),
        ('[ws]\nsignature_mode = "loose"\n', ["ws.signature_mode", "strict, lenient"]),
        ("[ws]\nlogon_refused_code = -9999\n", ["ws.logon_refused_code", "error catalogue"]),
        ("ws = 1\n", ["ws", "expected a table"]),
        ("[ws\n", ["not valid TOML"]),
    ],
)
def test_a_bad_file_is_one_line_naming_file_key_and_why(
    tmp_path: Path, content: str, fragments: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(BehaviourError) as caught:
        load_behaviour(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in text


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BehaviourError, match=r"missing\.toml: cannot read"):
        load_behaviour(tmp_path / "missing.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(BehaviourError, match="not UTF-8"):
        load_behaviour(binary)


def test_with_values_validates_and_a_behaviour_is_immutable() -> None:
    with pytest.raises(BehaviourError, match=r"ws\.logon_refused_code: expected an integer"):
        DEFAULT.with_values({"ws.logon_refused_code": "x"})
    with pytest.raises(BehaviourError, match="no value"):
        Behaviour({})
    changed = DEFAULT.with_values({"ws.unknown_method_code": -1000})
    assert DEFAULT.value("ws.unknown_method_code") == -1020
    assert changed.value("ws.unknown_method_code") == -1000
    with pytest.raises(TypeError):
        changed.values()["ws.unknown_method_code"] = 1  # type: ignore[index]


def test_from_answer_turns_a_recorded_answer_into_the_setting() -> None:
    by_id = unsettled.BY_ID
    logon = by_id["ws.logon_refused_code"].from_answer
    assert logon is not None and logon(401, -2015, "Invalid API-key...") == -2015
    over = by_id["rest.recv_window_over_max_code"].from_answer
    assert over is not None
    assert over(400, -1131, "recvWindow must be less than 60000") == -1131
    assert over(400, -1022, "Signature ...") is None  # another stage's refusal says nothing
    micro = by_id["rest.accepts_microseconds"].from_answer
    assert micro is not None
    assert (micro(200, None, None), micro(400, -1021, "..."), micro(400, -1022, "")) == (
        True,
        False,
        None,
    )
    suffix = by_id["families.futures_ip_suffix"].from_answer
    assert suffix is not None
    assert suffix(401, -2015, "Invalid API-key, IP, or permissions for action, request ip: x")
    message = by_id["families.futures_rejected_message"].from_answer
    assert message is not None
    assert message(401, -2015, "Text, request ip: 1.2.3.4") == "Text"
    for q in QUESTIONS:
        if q.from_answer is not None and q.id.endswith("_code"):
            assert q.from_answer(400, q.default, "") == q.default, q.id  # type: ignore[arg-type]
            assert q.default in CATALOGUE


def test_no_unsettled_choice_is_left_outside_the_table() -> None:
    """[UNC] is tagged in the table only: an emulator answer the references leave open is a
    setting there, not a literal beside the code that sends it."""
    allowed = {SRC / "binance" / "unsettled_table.py"}
    tagged = [
        str(p.relative_to(SRC))
        for room in ("emulator", "binance")
        for p in sorted((SRC / room).rglob("*.py"))
        if p not in allowed and re.search(r"\bUNC\b", p.read_text(encoding="utf-8"))
    ]
    assert tagged == []


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"rest.removed_stream_status": 99}, "expected an HTTP status"),
        ({"ws.max_request_bytes": -1}, "expected an integer >= 0"),
        ({"families.sub_on_master_only_variant": 7}, "expected below"),
    ],
)
def test_values_out_of_range_are_refused(values: dict[str, object], fragment: str) -> None:
    with pytest.raises(BehaviourError, match=fragment):
        DEFAULT.with_values(values)


def test_propose_turns_recorded_answers_into_the_settings_that_differ() -> None:
    answers = {
        "ws.logon_refused_code": (401, -2015, "Invalid API-key, IP, or permissions for action."),
        "ws.unknown_method_code": (400, -1020, "This operation is not supported."),  # as now
        "rest.accepts_microseconds": (400, -1021, "Timestamp for this request ..."),
        "rest.recv_window_over_max_code": (400, -1022, "Signature ..."),  # says nothing
        "ws.revoke_on_missing_permission": (401, -2015, "..."),  # no from_answer
    }
    proposed = unsettled.propose(answers)
    assert proposed == {"ws.logon_refused_code": -2015, "rest.accepts_microseconds": False}
    assert unsettled.propose(answers, base=DEFAULT.with_values(proposed)) == {}
    with pytest.raises(BehaviourError, match="error catalogue"):
        unsettled.propose({"ws.logon_refused_code": (400, -99999, "new")})
