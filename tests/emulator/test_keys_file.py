"""Keys files: what loads, and one clear error naming file, key and field for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material
from keyprobe.emulator.keys import KeysFileError, load_keys_file


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_every_key_type(tmp_path: Path) -> None:
    ed = generate_key_material(KeyType.ED25519)
    rsa = generate_key_material(KeyType.RSA)
    text = f'''
[[key]]
api_key = "{generate_api_key()}"
type = "hmac"
secret = "{generate_api_key()}"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
account = "desk-a"

[[key]]
api_key = "{generate_api_key()}"
type = "ed25519"
public_key = """{ed.public}"""
permissions = ["enableReading"]
ip_whitelist = ["127.0.0.1", "10.0.0.0/8"]
account = "desk-a"

[[key]]
api_key = "{generate_api_key()}"
type = "rsa"
public_key = """{rsa.public}"""
ip_whitelist = []
'''
    records = load_keys_file(_write(tmp_path, text))
    assert [r.key_type for r in records] == [KeyType.HMAC, KeyType.ED25519, KeyType.RSA]
    assert records[0].account == records[1].account == "desk-a"
    assert records[1].allows_ip("10.1.2.3") and not records[1].allows_ip("127.0.0.2")
    assert not records[2].allows_ip("127.0.0.1")  # [] = every address refused
    assert records[2].permissions == frozenset()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('api_key = "k"\ntype = "dsa"\nsecret = "s"', "key #1: field 'type': 'dsa' is not one of"),
        ('api_key = "k"\ntype = "hmac"', "key #1: field 'secret': missing"),
        (
            'api_key = "k"\ntype = "hmac"\nsecret = "s"\npermissions = ["canFly"]',
            "field 'permissions': unknown permission 'canFly'",
        ),
        (
            'api_key = "k"\ntype = "ed25519"\npublic_key = "not a pem"',
            "field 'public_key': not a readable public-key PEM",
        ),
        (
            'api_key = "k"\ntype = "hmac"\nsecret = "s"\nip_whitelist = ["300.1.1.1"]',
            "field 'ip_whitelist'",
        ),
        (
            'api_key = "k"\ntype = "hmac"\nsecret = "s"\ncolour = "red"',
            "field 'colour': unknown field",
        ),
        ('type = "hmac"\nsecret = "s"', "field 'api_key': missing"),
        (
            'api_key = "k"\ntype = "hmac"\nsecret = "s"\nlabel = "bot"\npublic_key = "x"',
            "key #1 (bot): field 'public_key'",
        ),
    ],
)
def test_errors_name_file_key_and_field(tmp_path: Path, body: str, fragment: str) -> None:
    path = _write(tmp_path, "[[key]]\n" + body + "\n")
    with pytest.raises(KeysFileError) as caught:
        load_keys_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeysFileError, match="not valid TOML"):
        load_keys_file(_write(tmp_path, "[[key]\n"))
    with pytest.raises(KeysFileError, match="cannot read the keys file"):
        load_keys_file(tmp_path / "absent.toml")


def test_duplicate_api_key(tmp_path: Path) -> None:
    entry = '[[key]]\napi_key = "same"\ntype = "hmac"\nsecret = "s"\n'
    with pytest.raises(KeysFileError, match="key #2: field 'api_key': duplicate"):
        load_keys_file(_write(tmp_path, entry + entry))
