"""The profiles file is validated before collection: one clear error naming the file, the
profile and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.harness.credentials import MissingSecrets, env_names, from_env
from keyprobe.harness.probes import CATALOGUE, PROBE_NAMES, Category
from keyprobe.harness.profiles import KeyKind, Profile, ProfilesFileError, load_profiles
from tests.harness.conftest import SHIPPED_PROFILES


def _load(tmp_path: Path, text: str) -> list[Profile]:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return load_profiles(path, PROBE_NAMES)


def test_the_shipped_profiles_cover_the_whole_matrix() -> None:
    profiles = load_profiles(SHIPPED_PROFILES, PROBE_NAMES)
    by_name = {p.name: p for p in profiles}
    assert {p.key_type for p in profiles} == set(KeyType)
    assert any(p.permissions == {Permission.READING} for p in profiles)  # read-only
    assert any(
        {Permission.READING, Permission.SPOT_AND_MARGIN_TRADING} <= p.permissions for p in profiles
    )  # spot trading
    assert any(
        Permission.SPOT_AND_MARGIN_TRADING in p.permissions
        and Permission.READING not in p.permissions
        for p in profiles
    )  # trading that cannot read
    assert any(p.ip_whitelist for p in profiles)  # IP-bound
    assert any(Permission.WITHDRAWALS in p.permissions for p in profiles)
    assert {p.kind for p in profiles} == set(KeyKind)  # incl. unknown and malformed keys
    assert by_name["read_only"].expect["place_order"].code == -2015


def test_a_valid_profile_with_an_override(tmp_path: Path) -> None:
    (profile,) = _load(
        tmp_path,
        """
        [profiles.desk]
        key_type = "rsa"
        permissions = ["enableReading"]
        ip_whitelist = ["10.0.0.0/8"]
        [profiles.desk.expect]
        account = { status = 401, code = -2015, message = "Invalid API-key" }
        """,
    )
    assert profile.key_type is KeyType.RSA
    assert profile.allows_address("10.1.2.3")
    assert not profile.allows_address("127.0.0.1")
    assert profile.expect["account"].status == 401
    assert profile.env_prefix == "KEYPROBE_DESK_"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '[profiles.a]\nkey_type = "hmac"\npermisions = []\n',
            ["profile 'a'", "field 'permisions'", "unknown field"],
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\npermissions = ["enableTrading"]\n',
            ["profile 'a'", "field 'permissions'", "'enableTrading'"],
        ),
        ('[profiles.a]\nkey_type = "dsa"\n', ["profile 'a'", "field 'key_type'", "'dsa'"]),
        ('[profiles.a]\nkey_type = "hmac"\nkind = "weird"\n', ["field 'kind'"]),
        (
            '[profiles.a]\nkey_type = "hmac"\nip_whitelist = ["300.1.1.1"]\n',
            ["field 'ip_whitelist'", "300.1.1.1"],
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\n[profiles.a.expect]\nfly = { status = 200 }\n',
            ["field 'expect.fly'", "unknown probe"],
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\n[profiles.a.expect]\naccount = { status = 2 }\n',
            ["field 'expect.account.status'"],
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\n[profiles.a.expect]\n'
            "account = { status = 200, x = 1 }\n",
            ["field 'expect.account.x'"],
        ),
        ('[profiles."a-b"]\nkey_type = "hmac"\n', ["profile 'a-b'", "name"]),
        ('[profile.a]\nkey_type = "hmac"\n', ["unknown top-level field 'profile'"]),
        ("[profiles.a\n", ["not valid TOML"]),
        ("", ["no profiles"]),
    ],
)
def test_bad_files_name_the_file_profile_and_field(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(ProfilesFileError) as excinfo:
        _load(tmp_path, text)
    message = str(excinfo.value)
    assert str(tmp_path / "profiles.toml") in message
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProfilesFileError, match="cannot read the profiles file"):
        load_profiles(tmp_path / "nope.toml", PROBE_NAMES)


def test_live_secrets_come_from_named_variables(tmp_path: Path) -> None:
    hmac_profile, pem_profile = _load(
        tmp_path,
        '[profiles.bot]\nkey_type = "hmac"\n[profiles.edge]\nkey_type = "ed25519"\n',
    )
    assert env_names(hmac_profile) == ("KEYPROBE_BOT_API_KEY", "KEYPROBE_BOT_SECRET")
    with pytest.raises(MissingSecrets, match="KEYPROBE_EDGE_PRIVATE_KEY_FILE") as missing:
        from_env(pem_profile, {})
    assert missing.value.missing == (
        "KEYPROBE_EDGE_API_KEY",
        "KEYPROBE_EDGE_PRIVATE_KEY (or KEYPROBE_EDGE_PRIVATE_KEY_FILE)",
    )
    # Only what is missing or empty is named, and never a value.
    with pytest.raises(MissingSecrets) as missing:
        from_env(hmac_profile, {"KEYPROBE_BOT_API_KEY": "k" * 64, "KEYPROBE_BOT_SECRET": ""})
    assert missing.value.missing == ("KEYPROBE_BOT_SECRET",)
    assert "k" * 64 not in str(missing.value)
    creds = from_env(
        hmac_profile, {"KEYPROBE_BOT_API_KEY": "k" * 64, "KEYPROBE_BOT_SECRET": "s" * 64}
    )
    assert "k" * 64 not in repr(creds) and "s" * 64 not in repr(creds)


def test_every_category_has_probes_and_names_are_unique() -> None:
    assert {p.category for p in CATALOGUE} == set(Category)
    assert len(PROBE_NAMES) == len(CATALOGUE)
