"""Bad configuration the existing usage-error test (test_plugin.py) does not reach: unusable
private keys from the environment, more malformed ``--target`` values and profiles files.
Each is one ``ERROR:`` line naming what is wrong, exit code 4, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material
from tests.harness.conftest import copy_suites

PROFILES = """
[profiles.r]
key_type = "rsa"
permissions = ["enableReading"]

[profiles.e]
key_type = "ed25519"
permissions = ["enableReading"]
"""
TARGET = "http://127.0.0.1:9"  # never contacted: configuration is checked first


def one_usage_error(result: pytest.RunResult, fragment: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


@pytest.fixture
def keys_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Valid secrets for both profiles; a case then spoils one."""
    env = {
        "KEYPROBE_R_API_KEY": generate_api_key(),
        "KEYPROBE_R_PRIVATE_KEY": generate_key_material(KeyType.RSA).private,
        "KEYPROBE_E_API_KEY": generate_api_key(),
        "KEYPROBE_E_PRIVATE_KEY": generate_key_material(KeyType.ED25519).private,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("garbage-file", "profile 'r': the private key: not a readable private-key PEM"),
        ("missing-file", "KEYPROBE_R_PRIVATE_KEY_FILE: cannot read it (No such file"),
        ("directory", "KEYPROBE_R_PRIVATE_KEY_FILE: cannot read it (Is a directory)"),
        ("unreadable-file", "KEYPROBE_R_PRIVATE_KEY_FILE: cannot read it (Permission denied)"),
        ("garbage-value", "profile 'r': the private key: not a readable private-key PEM"),
        ("wrong-algorithm", "profile 'e': the private key: the private key is not an Ed25519"),
    ],
)
def test_an_unusable_private_key_is_one_clear_usage_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    keys_env: dict[str, str],
    case: str,
    fragment: str,
) -> None:
    copy_suites(pytester, PROFILES)
    garbage = pytester.path / "key.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    if case.endswith(("-file", "directory")):
        monkeypatch.delenv("KEYPROBE_R_PRIVATE_KEY")
    if case == "garbage-file":
        monkeypatch.setenv("KEYPROBE_R_PRIVATE_KEY_FILE", str(garbage))
    elif case == "missing-file":
        monkeypatch.setenv("KEYPROBE_R_PRIVATE_KEY_FILE", str(pytester.path / "nowhere.pem"))
    elif case == "directory":
        monkeypatch.setenv("KEYPROBE_R_PRIVATE_KEY_FILE", str(pytester.path))
    elif case == "unreadable-file":
        if os.geteuid() == 0:
            pytest.skip("root reads a mode-000 file anyway")
        garbage.chmod(0)
        monkeypatch.setenv("KEYPROBE_R_PRIVATE_KEY_FILE", str(garbage))
    elif case == "garbage-value":
        monkeypatch.setenv("KEYPROBE_R_PRIVATE_KEY", "not a pem at all")
    elif case == "wrong-algorithm":
        monkeypatch.setenv("KEYPROBE_E_PRIVATE_KEY", keys_env["KEYPROBE_R_PRIVATE_KEY"])
    result = pytester.runpytest("--target", TARGET)
    one_usage_error(result, fragment)
    for value in keys_env.values():
        assert value not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("ftp://127.0.0.1:21", "--target 'ftp://127.0.0.1:21': expected emulator, testnet"),
        ("http://127.0.0.1:99999", "the port is not a number in 0-65535"),
        ("http://127.0.0.1:8080/api", "give the base URL only"),
        ("http://", "expected emulator, testnet, demo, mainnet or an http(s)://HOST:PORT URL"),
        ("Testnet", "--target 'Testnet'"),
    ],
)
def test_a_bad_target_is_one_clear_usage_error(
    pytester: pytest.Pytester, target: str, fragment: str
) -> None:
    copy_suites(pytester, PROFILES)
    one_usage_error(pytester.runpytest("--target", target), fragment)


@pytest.mark.parametrize(
    ("profiles", "fragment"),
    [
        (
            '[profiles.a]\nkey_type = "hmac"\npermissions = ["enableEverything"]\n',
            "unknown permission 'enableEverything'; expected one of enableReading",
        ),
        ('[profiles.a]\nkey_type = "hmac"\npermissions = "enableReading"\n', "must be a list"),
        ('profiles = "a"\n', "no profiles; declare at least one [profiles.NAME] table"),
        ("[keys.a]\n", "unknown top-level field 'keys'"),
        (
            '[profiles.a]\nkey_type = "hmac"\n[profiles.a.expect]\nfly = { status = 200 }\n',
            "field 'expect.fly': unknown probe",
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\n[profiles.a.expect]\naccount = { status = 99 }\n',
            "must be an HTTP status (100-599)",
        ),
        ('[profiles."a b"]\nkey_type = "hmac"\n', "the name must match"),
        ('[profiles.a]\nkey_type = "hmac"\nip_whitelist = ["300.1.1.1"]\n', "'300.1.1.1'"),
    ],
)
def test_a_malformed_profiles_file_is_one_clear_usage_error(
    pytester: pytest.Pytester, profiles: str, fragment: str
) -> None:
    copy_suites(pytester, profiles)
    one_usage_error(pytester.runpytest(), fragment)


def test_usage_errors_stay_one_line_with_two_workers(pytester: pytest.Pytester) -> None:
    copy_suites(pytester, PROFILES)
    result = pytester.runpytest("-n", "2", "--target", "nowhere")
    one_usage_error(result, "--target 'nowhere'")


def test_a_profiles_file_that_is_a_folder_is_one_clear_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    copy_suites(pytester, PROFILES)
    one_usage_error(
        pytester.runpytest("--profiles", str(tmp_path)), "cannot read the profiles file"
    )
