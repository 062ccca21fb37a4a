"""The forbidden-action surface (flavor ``exchange``): SAPI's own auth answers, each endpoint
gated by its apiRestrictions flag, and apiRestrictions reporting the key's flags."""

from __future__ import annotations

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from tests.emulator.conftest import READ, TRADE, make_holder
from tests.emulator.test_auth_pipeline import assert_error
from tests.emulator.wire import call

WITHDRAW = {"coin": "USDT", "address": "TXyz0123456789", "amount": "10"}
TRANSFER = {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "1"}

UNAUTHORIZED = "You are not authorized to execute this request."


def test_unsigned_sapi_call_is_401_1002(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = client.get(
        "/sapi/v1/account/apiRestrictions?timestamp=1", headers={"X-MBX-APIKEY": holder.api_key}
    )
    assert_error(r, 401, -1002, UNAUTHORIZED)


def test_unknown_key_on_sapi_is_2008(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/sapi/v1/account/apiRestrictions", holder, api_key="B" * 64)
    assert_error(r, 401, -2008, "Invalid Api-Key ID.")


@pytest.mark.parametrize(
    ("method", "path", "params", "flag"),
    [
        ("POST", "/sapi/v1/capital/withdraw/apply", WITHDRAW, "enableWithdrawals"),
        ("POST", "/sapi/v1/asset/transfer", TRANSFER, "permitsUniversalTransfer"),
        # Borrow/repay is enableMargin's (BEYOND §2 L173-176); REPAY of nothing borrowed is a
        # business answer, so the flag's holder is told -3015, never 401.
        (
            "POST",
            "/sapi/v1/margin/borrow-repay",
            {"asset": "USDT", "isIsolated": "FALSE", "amount": "1", "type": "BORROW"},
            "enableMargin",
        ),
    ],
)
def test_each_forbidden_action_is_gated_by_its_flag(
    client: httpx.Client,
    emu: Emulator,
    method: str,
    path: str,
    params: dict[str, str],
    flag: str,
) -> None:
    without = make_holder(emu, KeyType.ED25519, permissions=(READ, TRADE))
    assert_error(call(client, method, path, without, params), 401, -1002, UNAUTHORIZED)
    with_flag = make_holder(emu, KeyType.ED25519, permissions=(READ, flag))
    r = call(client, method, path, with_flag, params)
    assert r.status_code == 200, r.text


def test_a_margin_read_needs_reading_only(client: httpx.Client, emu: Emulator) -> None:
    """BEYOND L182: margin reads "need only Reading"; enableMargin is borrow/repay/transfer."""
    reader = make_holder(emu, KeyType.ED25519, permissions=(READ,))
    r = call(client, "GET", "/sapi/v1/margin/account", reader)
    assert r.status_code == 200 and r.json()["created"] is True, r.text
    margin_only = make_holder(emu, KeyType.ED25519, permissions=("enableMargin",))
    r = call(client, "GET", "/sapi/v1/margin/account", margin_only)
    assert_error(r, 401, -1002, UNAUTHORIZED)


def test_withdraw_answers_an_id(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu, permissions=(READ, "enableWithdrawals"))
    r = call(client, "POST", "/sapi/v1/capital/withdraw/apply", holder, WITHDRAW, where="body")
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["id"]
    assert len(r.json()["id"]) == 32


def test_api_restrictions_reports_the_flags(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu, permissions=(READ, "enableWithdrawals"), ip_whitelist=["127.0.0.1"])
    r = call(client, "GET", "/sapi/v1/account/apiRestrictions", holder)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ipRestrict"] is True
    assert body["enableReading"] is True
    assert body["enableWithdrawals"] is True
    assert body["enableSpotAndMarginTrading"] is False
    for flag in (
        "enableInternalTransfer",
        "enableMargin",
        "enableFutures",
        "permitsUniversalTransfer",
        "enableVanillaOptions",
    ):
        assert body[flag] is False
    assert "createTime" in body


def test_sapi_ip_whitelist_refusal_is_2015(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu, permissions=(READ, "enableWithdrawals"), ip_whitelist=["10.0.0.0/8"])
    r = call(client, "POST", "/sapi/v1/capital/withdraw/apply", holder, WITHDRAW)
    assert_error(r, 401, -2015, "Invalid API-key, IP, or permissions for action.")
