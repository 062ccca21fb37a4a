"""The permission families beyond spot, end to end over a real socket (reference BEYOND =
``shared/reference/binance-permissions-beyond-spot.md``): USDⓈ-M futures at /fapi, margin
orders and borrow/repay, accounts and sub-accounts, and permissions that change (API
Management edits, the 30-day rule). Every refusal and every allowance is asked of a served
emulator; expected answers are literals from the reference, never the emulator's tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.families_settings import DAY_MS, FamiliesSettings
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import FrozenTime
from tests.emulator.wire import Holder, call

READ = "enableReading"
TRADE = "enableSpotAndMarginTrading"
FUTURES = "enableFutures"
MARGIN = "enableMargin"

# BEYOND L69: /fapi's 401 body is exactly this, Content-Length 69; content type without charset
# (L346-347). Spot and SAPI keep the period and the charset.
FAPI_REJECTED = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action"}
SPOT_REJECTED = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
UNAUTHORIZED = {"code": -1002, "msg": "You are not authorized to execute this request."}
UNKNOWN_ORDER = {"code": -2011, "msg": "Unknown order sent."}
NO_SUCH_ORDER = {"code": -2013, "msg": "Order does not exist."}

# A LIMIT far from the market with a notional of 10 USDT (BEYOND §1.6 F5: ≥ 5).
FUTURES_ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "10000",
}
UNKNOWN_CANCEL = {"symbol": "BTCUSDT", "orderId": "1"}
REPAY = {"asset": "USDT", "isIsolated": "FALSE", "amount": "1", "type": "REPAY"}


def serve(emulator: Emulator) -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    server = EmulatorServer(emulator)
    server.start()
    with httpx.Client(base_url=server.url) as client:
        yield server, client
    server.stop()


@pytest.fixture
def site() -> Iterator[tuple[EmulatorServer, httpx.Client]]:
    yield from serve(Emulator())


def key(emu: Emulator, *permissions: str, **extra: Any) -> Holder:
    """A key registered with ``permissions`` and any KeyRecord field (account, master, ...)."""
    material = generate_key_material(KeyType.HMAC)
    api_key = generate_api_key()
    emu.keys.register(
        KeyRecord.create(api_key, KeyType.HMAC, material.public, permissions, **extra)
    )
    return Holder(api_key, KeyType.HMAC, material.private)


def answer(r: httpx.Response) -> tuple[int, Any]:
    return r.status_code, r.json()


def manage(server: EmulatorServer, holder: Holder, body: dict[str, Any]) -> httpx.Response:
    return httpx.patch(
        f"{server.url}/_keyprobe/keys/{holder.api_key}",
        json=body,
        headers={"X-Keyprobe-Token": server.app.admin_token},
    )


# ----------------------------------------------------------------------------- futures


@pytest.mark.parametrize("path", ["/fapi/v1/accountConfig", "/fapi/v2/account", "/fapi/v3/account"])
def test_a_futures_read_needs_reading_not_futures(site: Any, path: str) -> None:
    """BEYOND L86-88: reads are gated by enableReading (the unsettled question's default)."""
    server, client = site
    r = call(client, "GET", path, key(server.app, READ))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    r = call(client, "GET", path, key(server.app, FUTURES, TRADE))
    assert answer(r) == (401, FAPI_REJECTED)
    assert r.headers["content-length"] == "69" and r.headers["content-type"] == "application/json"


def test_account_config_has_the_observed_fields(site: Any) -> None:
    server, client = site
    body = call(client, "GET", "/fapi/v1/accountConfig", key(server.app, READ, FUTURES)).json()
    # BEYOND L138 (R-NC's live answer).
    assert set(body) == {
        "feeTier", "canTrade", "canDeposit", "canWithdraw", "dualSidePosition", "updateTime",
        "multiAssetsMargin", "tradeGroupId",
    }  # fmt: skip
    assert body["canTrade"] is True
    plain = call(client, "GET", "/fapi/v1/accountConfig", key(server.app, READ)).json()
    assert plain["canTrade"] is False


def test_futures_reads_can_be_set_to_need_futures() -> None:
    for server, client in serve(
        Emulator(families=FamiliesSettings(futures_reads_need_futures=True))
    ):
        r = call(client, "GET", "/fapi/v3/account", key(server.app, READ))
        assert answer(r) == (401, FAPI_REJECTED)
        r = call(client, "GET", "/fapi/v3/account", key(server.app, READ, FUTURES))
        assert r.status_code == 200, r.text


def test_futures_order_test_needs_futures(site: Any) -> None:
    server, client = site
    r = call(client, "POST", "/fapi/v1/order/test", key(server.app, READ, FUTURES), FUTURES_ORDER)
    # BEYOND L118: 200 with a zeroed order object.
    assert r.status_code == 200 and r.json()["orderId"] == 0 and r.json()["symbol"] == ""
    spot_trader = key(server.app, READ, TRADE)
    r = call(client, "POST", "/fapi/v1/order/test", spot_trader, FUTURES_ORDER)
    assert answer(r) == (401, FAPI_REJECTED)


def test_futures_order_test_checks_the_notional_and_the_client_id(site: Any) -> None:
    server, client = site
    holder = key(server.app, FUTURES)
    small = {**FUTURES_ORDER, "quantity": "0.0001"}  # 1 USDT
    r = call(client, "POST", "/fapi/v1/order/test", holder, small)
    # BEYOND L119, L335.
    assert answer(r) == (
        400,
        {
            "code": -4164,
            "msg": "Order's notional must be no smaller than 5 (unless you choose reduce only).",
        },
    )
    r = call(client, "POST", "/fapi/v1/order/test", holder, {**small, "reduceOnly": "true"})
    assert r.status_code == 200, r.text
    # Dots, colons and slashes are legal in a futures client id (BEYOND L123), not spaces.
    ok = {**FUTURES_ORDER, "newClientOrderId": "bot.1:a/b"}
    assert call(client, "POST", "/fapi/v1/order/test", holder, ok).status_code == 200
    bad = {**FUTURES_ORDER, "newClientOrderId": "bad id!"}
    r = call(client, "POST", "/fapi/v1/order/test", holder, bad)
    assert r.status_code == 400 and r.json()["code"] == -1100


def test_futures_cancel_of_an_unknown_order(site: Any) -> None:
    server, client = site
    r = call(client, "DELETE", "/fapi/v1/order", key(server.app, FUTURES), UNKNOWN_CANCEL)
    assert answer(r) == (400, UNKNOWN_ORDER)  # BEYOND L140: 42 bytes, as spot
    assert r.headers["content-length"] == "42"
    r = call(client, "DELETE", "/fapi/v1/order", key(server.app, READ, TRADE), UNKNOWN_CANCEL)
    assert answer(r) == (401, FAPI_REJECTED)


@pytest.mark.parametrize("state", ["created_before_futures_account", "portfolio_margin"])
def test_key_states_that_refuse_the_futures_api(site: Any, state: str) -> None:
    """BEYOND L105: "cannot be used if the API key was created before the Futures account was
    opened, or if you have enabled portfolio margin" — whatever the key's flags."""
    server, client = site
    holder = key(server.app, READ, FUTURES, **{state: True})
    assert answer(call(client, "GET", "/fapi/v3/account", holder)) == (401, FAPI_REJECTED)
    r = call(client, "POST", "/fapi/v1/order/test", holder, FUTURES_ORDER)
    assert answer(r) == (401, FAPI_REJECTED)
    # Spot is unaffected.
    assert call(client, "GET", "/api/v3/account", holder).status_code == 200


def test_futures_cannot_be_enabled_on_a_key_older_than_the_futures_account(site: Any) -> None:
    server, client = site
    old = key(server.app, READ, created_before_futures_account=True)
    r = manage(server, old, {"permissions": [READ, FUTURES]})
    assert r.status_code == 400 and "futures account" in r.json()["error"]
    fresh = key(server.app, READ)
    assert manage(server, fresh, {"permissions": [READ, FUTURES]}).status_code == 200
    r = call(client, "POST", "/fapi/v1/order/test", fresh, FUTURES_ORDER)
    assert r.status_code == 200, r.text


def test_the_2020_futures_text_with_the_request_ip() -> None:
    settings = FamiliesSettings(futures_ip_suffix=True)
    for server, client in serve(Emulator(families=settings)):
        r = call(client, "GET", "/fapi/v3/account", key(server.app, TRADE))
        # BEYOND L68: ", request ip: <ip>" (97 bytes with that test's address).
        assert answer(r) == (
            401,
            {
                "code": -2015,
                "msg": "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1",
            },
        )


def test_an_unknown_key_on_fapi_gets_the_futures_text(site: Any) -> None:
    server, client = site
    holder = key(server.app, READ)
    r = call(client, "GET", "/fapi/v3/account", holder, api_key="C" * 64)
    assert answer(r) == (401, FAPI_REJECTED)


# ----------------------------------------------------------------------------- margin


def test_margin_cancel_of_an_unknown_order(site: Any) -> None:
    server, client = site
    r = call(client, "DELETE", "/sapi/v1/margin/order", key(server.app, TRADE), UNKNOWN_CANCEL)
    assert answer(r) == (400, UNKNOWN_ORDER)  # BEYOND L189-190
    reader = key(server.app, READ, MARGIN)
    r = call(client, "DELETE", "/sapi/v1/margin/order", reader, UNKNOWN_CANCEL)
    assert answer(r) == (401, SPOT_REJECTED)  # "else -2015 [INF]"
    assert r.headers["content-type"] == "application/json;charset=UTF-8"


def test_margin_repay_with_no_debt(site: Any) -> None:
    """BEYOND L191-192: granted → -3015, not granted → 401 -1002."""
    server, client = site
    r = call(client, "POST", "/sapi/v1/margin/borrow-repay", key(server.app, MARGIN), REPAY)
    assert answer(r) == (400, {"code": -3015, "msg": "Repay amount exceeds borrow amount."})
    trader = key(server.app, READ, TRADE)
    r = call(client, "POST", "/sapi/v1/margin/borrow-repay", trader, REPAY)
    assert answer(r) == (401, UNAUTHORIZED)


def test_margin_borrow_then_repay(site: Any) -> None:
    server, client = site
    holder = key(server.app, MARGIN)
    borrow = {**REPAY, "type": "BORROW", "amount": "2"}
    first = call(client, "POST", "/sapi/v1/margin/borrow-repay", holder, borrow)
    assert first.status_code == 200 and isinstance(first.json()["tranId"], int)
    assert call(client, "POST", "/sapi/v1/margin/borrow-repay", holder, REPAY).status_code == 200
    twice = {**REPAY, "amount": "1.5"}
    r = call(client, "POST", "/sapi/v1/margin/borrow-repay", holder, twice)
    assert r.json()["code"] == -3015  # 1 left owing


# ----------------------------------------------------------------------------- accounts

# A resting BUY within PERCENT_PRICE_BY_SIDE of the seed's 65000 (as the pipeline tests use).
LIMIT_BELOW = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT_MAKER",
    "quantity": "0.00100",
    "price": "20000.00",
}


def _place(client: httpx.Client, holder: Holder) -> int:
    r = call(client, "POST", "/api/v3/order", holder, LIMIT_BELOW)
    assert r.status_code == 200, r.text
    return int(r.json()["orderId"])


def test_a_key_never_reaches_another_accounts_orders(site: Any) -> None:
    """BEYOND L216-219: a sub-account key asking for an order of the master or a sibling is told
    it does not exist (-2013 / -2011), and cancel-all sees none; the master does not reach a
    sub's orders either. A second key of the same account does reach them."""
    server, client = site
    emu = server.app
    master = key(emu, READ, TRADE, account="master")
    sub = key(emu, READ, TRADE, account="sub1", master="master")
    sibling = key(emu, READ, TRADE, account="sub2", master="master")
    colleague = key(emu, READ, TRADE, account="master")
    order_id = _place(client, master)
    mine = {"symbol": "BTCUSDT", "orderId": str(order_id)}
    sub_order = _place(client, sub)
    for other in (sub, sibling):
        assert answer(call(client, "GET", "/api/v3/order", other, mine)) == (400, NO_SUCH_ORDER)
        assert answer(call(client, "DELETE", "/api/v3/order", other, mine)) == (400, UNKNOWN_ORDER)
    r = call(client, "DELETE", "/api/v3/openOrders", sibling, {"symbol": "BTCUSDT"})
    assert answer(r) == (400, UNKNOWN_ORDER)  # nothing of its own open: sees none
    theirs = {"symbol": "BTCUSDT", "orderId": str(sub_order)}
    assert answer(call(client, "GET", "/api/v3/order", master, theirs)) == (400, NO_SUCH_ORDER)
    # The same account's other key sees and cancels it: the isolation is by account.
    seen = call(client, "GET", "/api/v3/order", colleague, mine)
    assert seen.status_code == 200 and seen.json()["status"] == "NEW"
    assert call(client, "DELETE", "/api/v3/order", colleague, mine).status_code == 200
    r = call(client, "GET", "/api/v3/openOrders", sub, {"symbol": "BTCUSDT"})
    assert [o["orderId"] for o in r.json()] == [sub_order]


def test_master_only_sapi_from_a_sub_account_key(site: Any) -> None:
    server, client = site
    emu = server.app
    master = key(emu, READ, account="boss")
    key(emu, READ, account="desk1", master="boss")
    key(emu, READ, account="desk2", master="boss")
    sub = key(emu, READ, account="desk3", master="boss")
    r = call(client, "GET", "/sapi/v1/sub-account/list", master)
    assert r.status_code == 200 and len(r.json()["subAccounts"]) == 3
    # BEYOND L234: the emulator's default [INF; exact text UNC].
    expected = {
        "code": -12022,
        "msg": "This endpoint is allowed to request from master account only",
    }
    assert answer(call(client, "GET", "/sapi/v1/sub-account/list", sub)) == (400, expected)
    # An account with no sub-accounts: BEYOND L228 (observed).
    alone = key(emu, READ, account="solo")
    r = call(client, "GET", "/sapi/v1/sub-account/list", alone)
    assert answer(r) == (400, {"code": -8012, "msg": "Sub-account function is not enabled."})
    assert answer(call(client, "GET", "/sapi/v1/sub-account/list", key(emu, TRADE))) == (
        401,
        UNAUTHORIZED,
    )


# ----------------------------------------------------------------------------- changes


def test_permission_removed_while_an_order_rests(site: Any) -> None:
    """BEYOND L348-350: edits apply from the next request; open orders are never touched; a
    key of the account that still may trade cancels."""
    server, client = site
    emu = server.app
    bot = key(emu, READ, TRADE, account="acct")
    ops = key(emu, READ, TRADE, account="acct")
    order_id = _place(client, bot)
    assert manage(server, bot, {"permissions": [READ]}).status_code == 200
    mine = {"symbol": "BTCUSDT", "orderId": str(order_id)}
    assert call(client, "GET", "/api/v3/order", bot, mine).json()["status"] == "NEW"
    assert answer(call(client, "DELETE", "/api/v3/order", bot, mine)) == (401, SPOT_REJECTED)
    r = call(client, "POST", "/api/v3/order", bot, LIMIT_BELOW)
    assert answer(r) == (401, SPOT_REJECTED)
    r = call(client, "DELETE", "/api/v3/order", ops, mine)
    assert r.status_code == 200 and r.json()["status"] == "CANCELED"


def test_the_30_day_rule_follows_the_clock() -> None:
    """BEYOND L296-298: without an IP whitelist, Spot & Margin Trading ends 30 days after its
    activation; whitelisted keys never expire."""
    frozen = FrozenTime()
    emu = Emulator(
        clock=Clock(source=frozen), families=FamiliesSettings(trading_authority_ms=30 * DAY_MS)
    )
    for _server, client in serve(emu):
        open_key = key(emu, READ, TRADE)
        bound = key(emu, READ, TRADE, ip_whitelist=["127.0.0.1"])
        rights = call(
            client, "GET", "/sapi/v1/account/apiRestrictions", open_key, timestamp=frozen()
        )
        body = rights.json()
        assert body["tradingAuthorityExpirationTime"] == body["createTime"] + 30 * DAY_MS
        test_order = {**LIMIT_BELOW}
        r = call(client, "POST", "/api/v3/order/test", open_key, test_order, timestamp=frozen())
        assert r.status_code == 200, r.text
        frozen.ms += 30 * DAY_MS
        r = call(client, "POST", "/api/v3/order/test", open_key, test_order, timestamp=frozen())
        assert answer(r) == (401, SPOT_REJECTED)
        rights = call(
            client, "GET", "/sapi/v1/account/apiRestrictions", open_key, timestamp=frozen()
        )
        assert rights.json()[TRADE] is False and rights.json()[READ] is True
        r = call(client, "POST", "/api/v3/order/test", bound, test_order, timestamp=frozen())
        assert r.status_code == 200, r.text


def test_api_management_sets_the_trading_expiry(site: Any) -> None:
    server, client = site
    holder = key(server.app, READ, TRADE)
    assert call(client, "POST", "/api/v3/order/test", holder, LIMIT_BELOW).status_code == 200
    r = manage(server, holder, {"tradingAuthorityExpirationTime": 1})
    assert r.status_code == 200 and r.json()["tradingAuthorityExpirationTime"] == 1
    r = call(client, "POST", "/api/v3/order/test", holder, LIMIT_BELOW)
    assert answer(r) == (401, SPOT_REJECTED)
    assert manage(server, holder, {"tradingAuthorityExpirationTime": "soon"}).status_code == 400
    assert manage(server, holder, {"tradingAuthorityExpirationTime": None}).status_code == 200
    assert call(client, "POST", "/api/v3/order/test", holder, LIMIT_BELOW).status_code == 200
