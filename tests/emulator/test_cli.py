"""``keyprobe emulator`` as a user runs it: a real process, its first line the URL, served
until SIGINT; bad input is one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from tests.emulator.wire import Holder, call

pytestmark = pytest.mark.slow

KEYPROBE = [sys.executable, "-m", "keyprobe.cli"]


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    proc = subprocess.Popen(
        [*KEYPROBE, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip()]
    try:
        yield proc, lines
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        lines.extend(out.splitlines())
        assert proc.returncode == 0, err
        assert "Traceback" not in err


def test_demo_keys_and_url_first(tmp_path: Path) -> None:
    with running() as (proc, lines):
        url = lines[0]
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/api/v3/ping").json() == {}
        assert proc.stdout is not None
        ws_url = proc.stdout.readline().strip()
        assert ws_url == "ws" + url.removeprefix("http") + "/ws-api/v3"
        notice = proc.stdout.readline()
        assert "credentials.toml" in notice
        folder = Path(notice.split("demo keys: ")[1].split("/credentials.toml")[0])
        creds = tomllib.loads((folder / "credentials.toml").read_text())
        assert oct((folder / "credentials.toml").stat().st_mode & 0o777) == "0o600"
        trader = creds["trader_ed25519"]
        holder = Holder(trader["api_key"], KeyType.ED25519, trader["private_key"])
        with httpx.Client(base_url=url) as client:
            assert call(client, "GET", "/api/v3/account", holder).status_code == 200
            # API Management: the token sits beside the credentials, mode 0600.
            token_line = proc.stdout.readline()
            token_file = folder / "admin-token"
            assert str(token_file) in token_line
            assert oct(token_file.stat().st_mode & 0o777) == "0o600"
            managed = client.get(
                f"/_keyprobe/keys/{holder.api_key}",
                headers={"X-Keyprobe-Token": token_file.read_text()},
            )
            assert managed.json()["type"] == "ed25519"
            assert client.get(f"/_keyprobe/keys/{holder.api_key}").status_code == 401
    printed = "\n".join(lines)
    for entry in creds.values():
        assert entry["api_key"] not in printed
        secret = entry.get("secret") or entry["private_key"].splitlines()[1]
        assert secret not in printed


def test_keys_file_round_trip(tmp_path: Path) -> None:
    with running() as (proc, lines):
        assert proc.stdout is not None
        proc.stdout.readline()  # the WebSocket API URL
        notice = proc.stdout.readline()
    folder = Path(notice.split("demo keys: ")[1].split("/credentials.toml")[0])
    with running("--keys", str(folder / "keys.toml"), "--flavor", "testnet") as (_proc, lines):
        creds = tomllib.loads((folder / "credentials.toml").read_text())
        trader = creds["trader_hmac"]
        holder = Holder(trader["api_key"], KeyType.HMAC, trader["secret"])
        with httpx.Client(base_url=lines[0]) as client:
            assert call(client, "GET", "/api/v3/account", holder).status_code == 200
            assert client.get("/sapi/v1/account/apiRestrictions").status_code == 404


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            '[[key]]\napi_key = "k"\ntype = "hmac"\nsecret = "s"\npermissions = ["root"]\n',
            "unknown permission 'root'",
        ),
        ("[[key]\n", "not valid TOML"),
    ],
)
def test_bad_keys_file_is_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(content)
    result = subprocess.run(
        [*KEYPROBE, "emulator", "--keys", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr
    assert str(path) in result.stderr


def test_port_in_use_is_one_line() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ}
        result = subprocess.run(
            [*KEYPROBE, "emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=env,
        )
    assert result.returncode == 2
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[ws]\nlogon_refused_code = true\n", "ws.logon_refused_code: expected an integer"),
        ("[nope]\n", "[nope]: not a known section"),
        ("[ws\n", "not valid TOML"),
    ],
)
def test_bad_behaviour_file_is_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "behaviour.toml"
    path.write_text(content)
    result = subprocess.run(
        [*KEYPROBE, "emulator", "--behaviour", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"keyprobe emulator: {path}: " + fragment)


def test_a_behaviour_file_changes_what_the_served_emulator_answers(tmp_path: Path) -> None:
    path = tmp_path / "behaviour.toml"
    path.write_text("[rest]\nshort_key_code = -2014\nremoved_stream_status = 404\n")
    with (
        running("--behaviour", str(path)) as (_proc, lines),
        httpx.Client(base_url=lines[0]) as client,
    ):
        short = client.get("/api/v3/account", headers={"X-MBX-APIKEY": "0123456789"})
        assert (short.status_code, short.json()["code"]) == (401, -2014)
        assert client.post("/api/v3/userDataStream").status_code == 404
    with running() as (_proc, lines), httpx.Client(base_url=lines[0]) as client:
        short = client.get("/api/v3/account", headers={"X-MBX-APIKEY": "0123456789"})
        assert (short.status_code, short.json()["code"]) == (401, -2015)


def test_print_behaviour_shows_every_unsettled_answer(tmp_path: Path) -> None:
    from keyprobe.binance.unsettled import QUESTIONS

    path = tmp_path / "behaviour.toml"
    path.write_text("[ws]\nlogon_refused_code = -2015\n")
    result = subprocess.run(
        [*KEYPROBE, "emulator", "--print-behaviour", "--behaviour", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    out = result.stdout
    for q in QUESTIONS:
        assert f"\n    {q.question}\n    evidence: {q.evidence}\n" in "\n" + out, q.id
    assert "ws.logon_refused_code = -2015   (changed, default -1022)" in out
    assert "rest.missing_key_code = -2014   (default -2014)" in out
    assert (
        out.splitlines()[-1]
        == f"{len(QUESTIONS)} unsettled answers, 1 changed from the packaged file"
    )
