"""The emulator's WebSocket API (/ws-api/v3) over real sockets: framing, every method, one
engine with REST, signing (the reference's vectors, strict and lenient), the session, API
Management revocation, the user data stream and the rate limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.clock import Clock
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.ratelimit import RateLimits, Window
from keyprobe.emulator.server import EmulatorServer
from keyprobe.emulator.wsapi import SignatureMode, WsSettings
from tests.emulator.conftest import READ, TRADE, FrozenTime, make_holder
from tests.emulator.wire import Holder, call, now_ms
from tests.emulator.ws_wire import WsClient, signed

LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "20000",
}


@contextmanager
def serving(emu: Emulator | None = None) -> Iterator[EmulatorServer]:
    with EmulatorServer(emu or Emulator()) as srv:
        yield srv


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serving() as srv:
        yield srv


def ts() -> dict[str, Any]:
    return {"timestamp": now_ms()}


# ----------------------------------------------------------------------------- framing


def test_id_echoed_verbatim_and_rate_limits() -> None:
    # A frozen clock: the weight window cannot roll over mid-test.
    with (
        serving(Emulator(clock=Clock(source=FrozenTime()))) as server,
        WsClient(server.ws_url) as ws,
    ):
        for request_id in ["abc-é", 7, 2**70, None, "00"]:
            ws.conn.send(json.dumps({"id": request_id, "method": "ping"}))
            frame = ws.recv()
            assert frame["id"] == request_id
            assert frame["status"] == 200
            assert frame["result"] == {}
        # The connection cost 2, five pings 1 each.
        assert frame["rateLimits"] == [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
                "count": 7,
            }
        ]
        assert "rateLimits" not in ws.call("ping", {"returnRateLimits": False})
        assert "rateLimits" not in ws.call("ping", {"returnRateLimits": "false"})
        assert ws.call("v3/time")["result"]["serverTime"] > 0
    with serving() as server, WsClient(server.ws_url + "?returnRateLimits=false") as ws:
        assert "rateLimits" not in ws.call("ping")
        assert "rateLimits" in ws.call("ping", {"returnRateLimits": True})
        assert ws.call("session.status")["result"]["returnRateLimits"] is False


def test_other_paths_refuse_the_handshake(server: EmulatorServer) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        WsClient(server.ws_url.replace("/ws-api/v3", "/ws"))


def test_every_method(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.ED25519)
    with WsClient(server.ws_url) as ws:
        assert ws.call("session.status")["result"]["apiKey"] is None
        logon = ws.call("session.logon", signed(holder))["result"]
        assert logon["apiKey"] == holder.api_key
        assert set(logon) == {
            "apiKey",
            "authorizedSince",
            "connectedSince",
            "returnRateLimits",
            "serverTime",
            "userDataStream",
        }
        info = ws.call("exchangeInfo", {"symbols": ["BTCUSDT", "ETHUSDT"]})["result"]
        assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
        assert ws.call("account.status", ts())["result"]["canTrade"] is True
        commission = ws.call("account.commission", {"symbol": "BTCUSDT", **ts()})
        assert commission["result"]["symbol"] == "BTCUSDT"
        assert ws.call("order.test", {**LIMIT_BUY, **ts()})["result"] == {}
        rates = ws.call("order.test", {**LIMIT_BUY, "computeCommissionRates": True, **ts()})
        assert "standardCommissionForOrder" in rates["result"]
        placed = ws.call("order.place", {**LIMIT_BUY, **ts()})
        assert [r["rateLimitType"] for r in placed["rateLimits"]] == [
            "REQUEST_WEIGHT",
            "ORDERS",
            "ORDERS",
        ]
        assert placed["rateLimits"][1]["count"] == 1
        order_id = placed["result"]["orderId"]
        orders = ws.call("account.rateLimits.orders", ts())["result"]
        assert orders[0]["count"] == 1
        status = ws.call("order.status", {"symbol": "BTCUSDT", "orderId": order_id, **ts()})
        assert status["result"]["status"] == "NEW"
        opened = ws.call("openOrders.status", {"symbol": "BTCUSDT", **ts()})["result"]
        assert [o["orderId"] for o in opened] == [order_id]
        assert len(ws.call("allOrders", {"symbol": "BTCUSDT", **ts()})["result"]) == 1
        replace = {
            **LIMIT_BUY,
            "price": "19000",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": order_id,
        }
        replaced = ws.call("order.cancelReplace", {**replace, **ts()})["result"]
        assert replaced["cancelResult"] == "SUCCESS"
        new_id = replaced["newOrderResponse"]["orderId"]
        failed = ws.call("order.cancelReplace", {**replace, **ts()})
        assert failed["status"] == 400
        assert failed["error"]["code"] == -2022
        assert failed["error"]["data"]["cancelResult"] == "FAILURE"
        canceled = ws.call("order.cancel", {"symbol": "BTCUSDT", "orderId": new_id, **ts()})
        assert canceled["result"]["status"] == "CANCELED"
        ws.call("order.place", {**LIMIT_BUY, **ts()})
        all_canceled = ws.call("openOrders.cancelAll", {"symbol": "BTCUSDT", **ts()})["result"]
        assert [o["status"] for o in all_canceled] == ["CANCELED"]
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        filled = ws.call("order.place", {**market, **ts()})["result"]
        assert filled["status"] == "FILLED"
        trades = ws.call("myTrades", {"symbol": "BTCUSDT", **ts()})["result"]
        assert [t["orderId"] for t in trades] == [filled["orderId"]]
        assert ws.call("userDataStream.subscribe")["result"] == {"subscriptionId": 0}
        again = ws.call("userDataStream.subscribe.signature", signed(holder))
        assert again["error"]["code"] == -2035  # one subscription per account and connection
        assert ws.call("session.subscriptions")["result"] == [{"subscriptionId": 0}]
        assert ws.call("session.status")["result"]["userDataStream"] is True
        assert ws.call("userDataStream.unsubscribe", {"subscriptionId": 0})["result"] == {}
        assert ws.event()["event"]["e"] == "eventStreamTerminated"
        assert (
            ws.call("userDataStream.unsubscribe", {"subscriptionId": 0})["error"]["code"] == -2036
        )
        out = ws.call("session.logout")["result"]
        assert (out["apiKey"], out["authorizedSince"]) == (None, None)
        missing = ws.call("account.status", ts())
        assert (missing["status"], missing["error"]["code"]) == (400, -1102)


def test_json_strings_for_numbers_and_booleans(server: EmulatorServer) -> None:
    """The official SDK sends every value as a JSON string."""
    holder = make_holder(server.app, KeyType.HMAC)
    with WsClient(server.ws_url) as ws:
        placed = ws.call("order.place", signed(holder, LIMIT_BUY))["result"]
        as_text = {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}
        assert ws.call("order.status", signed(holder, as_text))["status"] == 200
        account = ws.call("account.status", signed(holder, {"omitZeroBalances": "true"}))
        assert account["status"] == 200
        as_number = {"symbol": "BTCUSDT", "orderId": placed["orderId"], "recvWindow": 5000.5}
        assert ws.call("order.status", signed(holder, as_number))["status"] == 200
        bad = ws.call("order.status", signed(holder, {"symbol": "BTCUSDT", "orderId": 1.5}))
        assert bad["error"]["code"] == -1100


def test_param_errors_like_rest(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with WsClient(server.ws_url) as ws:
        unread = ws.call("userDataStream.subscribe", {"apiKey": holder.api_key})
        assert unread["error"] == {
            "code": -1104,
            "msg": "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
        }
        assert ws.call("ping", {"foo": 1})["error"]["code"] == -1104
        missing = ws.call("order.place", signed(holder, {"symbol": "BTCUSDT"}))
        assert missing["error"]["code"] == -1102
        dup = '{"id":1,"method":"ping","params":{"a":1,"a":2}}'
        ws.conn.send(dup)
        assert ws.recv()["error"]["code"] == -1101
        bad_key = ws.call("account.status", {**ts(), "apiKey": "bad key!", "signature": "x"})
        assert (bad_key["status"], bad_key["error"]["code"]) == (401, -2014)
        unknown = ws.call("account.status", {**ts(), "apiKey": "A" * 64, "signature": "x"})
        assert (unknown["status"], unknown["error"]["code"]) == (401, -2015)
        stale = ws.call("account.status", signed(holder, timestamp=now_ms() - 10_000))
        assert (stale["status"], stale["error"]["code"]) == (400, -1021)
        tampered = signed(holder)
        tampered["timestamp"] += 1
        forged = ws.call("account.status", tampered)
        assert (forged["status"], forged["error"]["code"]) == (400, -1022)


# ----------------------------------------------------------------------------- one engine


def test_rest_and_ws_share_orders(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with httpx.Client(base_url=server.url) as rest, WsClient(server.ws_url) as ws:
        by_rest = call(rest, "POST", "/api/v3/order", holder, LIMIT_BUY).json()
        seen = ws.call("openOrders.status", signed(holder, {"symbol": "BTCUSDT"}))["result"]
        assert [o["orderId"] for o in seen] == [by_rest["orderId"]]
        cancel = {"symbol": "BTCUSDT", "orderId": by_rest["orderId"]}
        assert ws.call("order.cancel", signed(holder, cancel))["result"]["status"] == "CANCELED"

        by_ws = ws.call("order.place", signed(holder, LIMIT_BUY))["result"]
        query = {"symbol": "BTCUSDT", "orderId": str(by_ws["orderId"])}
        assert call(rest, "GET", "/api/v3/order", holder, query).json()["status"] == "NEW"
        gone = call(rest, "DELETE", "/api/v3/order", holder, query).json()
        assert gone["status"] == "CANCELED"
        assert ws.call("openOrders.status", signed(holder))["result"] == []


# ----------------------------------------------------------------------------- signing


def _doc_key(emu: Emulator) -> None:
    emu.keys.register(
        KeyRecord.create(
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            KeyType.HMAC,
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            (READ, TRADE),
        )
    )


DOC_PARAMS = {
    "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "price": "52000.00",
    "quantity": "0.01000000",
    "recvWindow": 100,
    "side": "SELL",
    "symbol": "BTCUSDT",
    "timeInForce": "GTC",
    "timestamp": 1645423376532,
    "type": "LIMIT",
}


@pytest.mark.parametrize("mode", [SignatureMode.STRICT, SignatureMode.LENIENT])
def test_reference_signing_vectors(mode: SignatureMode) -> None:
    """The docs' two HMAC vectors (reference §2.1), on a server frozen at their timestamp."""
    emu = Emulator(clock=Clock(source=FrozenTime(1645423376532)), ws_settings=WsSettings(mode))
    _doc_key(emu)
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        sig = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
        first = ws.call("order.place", {**DOC_PARAMS, "signature": sig})
        assert first["status"] == 200, first
        assert first["result"]["side"] == "SELL"
        upper = ws.call("order.test", {**DOC_PARAMS, "signature": sig.upper()})
        assert upper["status"] == 200  # HMAC signatures are case-insensitive
        unicode = {
            **DOC_PARAMS,
            "price": "0.10000000",
            "quantity": "1.00000000",
            "recvWindow": 5000,
            "side": "BUY",
            "symbol": "１２３４５６",
            "signature": "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
        }
        second = ws.call("order.place", unicode)
        # The signature verifies (raw UTF-8); the symbol is unknown here.
        assert second["error"]["code"] == -1121


def _python_binance_style(holder: Holder, params: dict[str, Any]) -> dict[str, Any]:
    """What python-binance and the official SDK send: urlencode(sorted params) signed,
    booleans as Python prints them."""
    from urllib.parse import urlencode

    out = dict(sorted({**params, "apiKey": holder.api_key, "timestamp": now_ms()}.items()))
    out["signature"] = holder.sign(urlencode(out).encode())
    return out


@pytest.mark.parametrize("mode", [SignatureMode.STRICT, SignatureMode.LENIENT])
def test_strict_and_lenient(mode: SignatureMode) -> None:
    emu = Emulator(ws_settings=WsSettings(signature=mode))
    holder = make_holder(emu, KeyType.HMAC)
    accepted = mode is SignatureMode.LENIENT
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        # The documented raw payload: both modes.
        raw = {**LIMIT_BUY, "symbol": "这是测试币456", "price": "9.5", "quantity": "1"}
        assert ws.call("order.place", signed(holder, raw))["status"] == 200
        # Percent-encoded (non-ASCII symbol) and True for a boolean: lenient only.
        encoded = ws.call("order.place", _python_binance_style(holder, raw))
        boolean = ws.call(
            "account.status", _python_binance_style(holder, {"omitZeroBalances": True})
        )
        for frame in (encoded, boolean):
            if accepted:
                assert frame["status"] == 200, frame
            else:
                assert (frame["status"], frame["error"]["code"]) == (400, -1022)


# ----------------------------------------------------------------------------- session


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.RSA])
def test_logon_is_ed25519_only(server: EmulatorServer, key_type: KeyType) -> None:
    holder = make_holder(server.app, key_type)
    with WsClient(server.ws_url) as ws:
        refused = ws.call("session.logon", signed(holder))
        assert (refused["status"], refused["error"]["code"]) == (400, -1022)
        assert ws.call("session.status")["result"]["apiKey"] is None
        assert ws.call("account.status", signed(holder))["status"] == 200  # still usable


def test_session_key_and_explicit_override(server: EmulatorServer) -> None:
    reader = make_holder(server.app, KeyType.ED25519, permissions=(READ,))
    trader = make_holder(server.app, KeyType.HMAC, permissions=(READ, TRADE), account="shared")
    with WsClient(server.ws_url) as ws:
        assert ws.call("session.logon", signed(reader))["status"] == 200
        assert ws.call("account.status", ts())["result"]["canTrade"] is False
        denied = ws.call("order.place", {**LIMIT_BUY, **ts()})
        assert (denied["status"], denied["error"]["code"]) == (401, -2015)
        # Only that request failed: the session stays (WsSettings.revoke_on_missing_permission).
        assert ws.call("session.status")["result"]["apiKey"] == reader.api_key
        # Explicit apiKey + signature take precedence over the session's key.
        placed = ws.call("order.place", signed(trader, LIMIT_BUY))
        assert placed["status"] == 200
        mine = ws.call("openOrders.status", ts())["result"]
        assert mine == []  # the order is in the trader's account, not the reader's
        assert ws.call("session.status")["result"]["apiKey"] == reader.api_key


# ----------------------------------------------------------------------------- revocation


def _manage(
    server: EmulatorServer, method: str, holder: Holder, body: dict[str, Any] | None = None
) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/_keyprobe/keys/{holder.api_key}",
        json=body,
        headers={"X-Keyprobe-Token": server.app.admin_token},
    )


def test_api_management_needs_the_token(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    url = f"{server.url}/_keyprobe/keys/{holder.api_key}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"X-Keyprobe-Token": "wrong"}).status_code == 401
    state = _manage(server, "GET", holder).json()
    assert state["permissions"] == sorted([READ, TRADE])
    assert state["ipWhitelist"] is None


@pytest.mark.parametrize(
    "change",
    [
        ("PATCH", {"permissions": [READ]}),
        ("PATCH", {"ipWhitelist": ["10.0.0.1"]}),
        ("DELETE", None),
    ],
    ids=["permission-removed", "ip-not-allowed", "deleted"],
)
def test_revocation_mid_session(
    server: EmulatorServer, change: tuple[str, dict[str, Any] | None]
) -> None:
    holder = make_holder(server.app, KeyType.ED25519)
    record = server.app.keys.get(holder.api_key)
    assert record is not None
    with httpx.Client(base_url=server.url) as rest, WsClient(server.ws_url) as ws:
        assert ws.call("session.logon", signed(holder))["status"] == 200
        assert ws.call("userDataStream.subscribe")["status"] == 200
        order = ws.call("order.place", {**LIMIT_BUY, **ts()})["result"]
        ws.event()
        ws.event()  # NEW + position
        assert _manage(server, change[0], holder, change[1]).status_code == 200
        # REST follows the change from the next request.
        assert call(rest, "POST", "/api/v3/order", holder, LIMIT_BUY).status_code == 401
        # The next WS request: its own 401, then the unsolicited id-null frame.
        request_id = ws.send("account.status", ts())
        own = ws.recv()
        assert own["id"] == request_id
        assert (own["status"], own["error"]["code"]) == (401, -2015)
        revoked = ws.recv()
        assert revoked == {
            "id": None,
            "status": 401,
            "error": {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        }
        assert ws.event()["event"]["e"] == "eventStreamTerminated"
        status = ws.call("session.status")["result"]
        assert (status["apiKey"], status["userDataStream"]) == (None, False)
        assert ws.call("ping")["status"] == 200
    # The open order is untouched.
    book = server.app.exchange.open_orders(record.account)
    assert [o["orderId"] for o in book] == [order["orderId"]]


def test_revocation_ends_signature_subscriptions(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with WsClient(server.ws_url) as ws:
        assert ws.call("userDataStream.subscribe.signature", signed(holder))["status"] == 200
        assert _manage(server, "DELETE", holder).status_code == 200
        assert ws.event()["event"]["e"] == "eventStreamTerminated"
        assert ws.call("session.subscriptions")["result"] == []


# ----------------------------------------------------------------------------- user data stream


def test_stream_events_from_both_transports(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with httpx.Client(base_url=server.url) as rest, WsClient(server.ws_url) as ws:
        sub = ws.call("userDataStream.subscribe.signature", signed(holder))["result"]
        assert sub == {"subscriptionId": 0}
        by_rest = call(rest, "POST", "/api/v3/order", holder, LIMIT_BUY).json()
        report = ws.event()
        assert report["subscriptionId"] == 0
        assert report["event"]["e"] == "executionReport"
        assert (report["event"]["i"], report["event"]["x"]) == (by_rest["orderId"], "NEW")
        position = ws.event()["event"]
        assert position["e"] == "outboundAccountPosition"
        usdt = next(b for b in position["B"] if b["a"] == "USDT")
        assert usdt["l"] == "20.00000000"
        # A market order over WS: NEW, TRADE, then the position; the response first.
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        request_id = ws.send("order.place", signed(holder, market))
        assert ws.recv()["id"] == request_id
        kinds = [ws.event()["event"] for _ in range(3)]
        assert [(e["e"], e.get("x")) for e in kinds] == [
            ("executionReport", "NEW"),
            ("executionReport", "TRADE"),
            ("outboundAccountPosition", None),
        ]
        trade = kinds[1]
        assert (trade["X"], trade["l"], trade["z"]) == ("FILLED", "0.00100000", "0.00100000")
        assert trade["t"] > 0
        assert trade["N"] == "BTC"


def test_stream_reaches_other_connections_and_logout_ends_it(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.ED25519)
    with WsClient(server.ws_url) as watcher, WsClient(server.ws_url) as trader:
        assert watcher.call("session.logon", signed(holder))["status"] == 200
        assert watcher.call("userDataStream.subscribe")["status"] == 200
        order = trader.call("order.place", signed(holder, LIMIT_BUY))["result"]
        assert watcher.event()["event"]["i"] == order["orderId"]
        watcher.event()
        assert watcher.call("session.logout")["status"] == 200
        assert watcher.event()["event"]["e"] == "eventStreamTerminated"
        without = watcher.call("userDataStream.subscribe")
        assert (without["status"], without["error"]["code"]) == (401, -2015)


def test_subscription_limits() -> None:
    emu = Emulator(ws_settings=WsSettings(max_active_subscriptions=2))
    holders = [make_holder(emu, KeyType.HMAC) for _ in range(3)]
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        ids = [ws.call("userDataStream.subscribe.signature", signed(h)) for h in holders]
        assert [f.get("result") for f in ids[:2]] == [{"subscriptionId": 0}, {"subscriptionId": 1}]
        assert ids[2]["error"]["code"] == -2042
        assert ws.call("userDataStream.unsubscribe")["result"] == {}  # all of them
        assert {ws.event()["subscriptionId"] for _ in range(2)} == {0, 1}
        again = ws.call("userDataStream.subscribe.signature", signed(holders[2]))
        assert again["result"] == {"subscriptionId": 2}  # ids are never reused


# ----------------------------------------------------------------------------- rate limits


def test_weight_shared_with_rest_then_429_then_ban() -> None:
    # A one-day window: it cannot roll over mid-test.
    limits = RateLimits(request_weight=Window(60, 1, "D"), ban_after_violations=1)
    emu = Emulator(limits=limits)
    holder = make_holder(emu, KeyType.HMAC)
    with serving(emu) as srv, httpx.Client(base_url=srv.url) as rest, WsClient(srv.ws_url) as ws:
        assert ws.call("ping")["rateLimits"][0]["count"] == 3  # connect 2 + ping 1
        assert call(rest, "GET", "/api/v3/account", holder).status_code == 200  # 20
        assert ws.call("ping")["rateLimits"][0]["count"] == 24
        assert ws.call("account.status", signed(holder))["rateLimits"][0]["count"] == 44
        over = ws.call("account.status", signed(holder))
        assert (over["status"], over["error"]["code"]) == (429, -1003)
        assert over["error"]["data"]["retryAfter"] > now_ms()
        banned = ws.call("account.status", signed(holder))
        assert (banned["status"], banned["error"]["code"]) == (418, -1003)
        assert banned["error"]["data"]["retryAfter"] > now_ms()
        from websockets.exceptions import ConnectionClosed

        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=2)
        assert call(rest, "GET", "/api/v3/ping", None).status_code == 418


def test_orders_limit_per_account() -> None:
    limits = RateLimits(orders=(Window(2, 1, "D"), Window(100, 1, "D")))  # no rollover mid-test
    emu = Emulator(limits=limits)
    holder = make_holder(emu, KeyType.HMAC)
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        for _ in range(2):
            assert ws.call("order.place", signed(holder, LIMIT_BUY))["status"] == 200
        third = ws.call("order.place", signed(holder, LIMIT_BUY))
        assert (third["status"], third["error"]["code"]) == (429, -1015)
        assert third["rateLimits"][1]["count"] == 2


def test_revoke_on_missing_permission_setting() -> None:
    emu = Emulator(ws_settings=WsSettings(revoke_on_missing_permission=True))
    reader = make_holder(emu, KeyType.ED25519, permissions=(READ,))
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        assert ws.call("session.logon", signed(reader))["status"] == 200
        request_id = ws.send("order.place", {**LIMIT_BUY, **ts()})
        assert ws.recv()["id"] == request_id
        assert ws.recv()["id"] is None  # the revocation frame
        assert ws.call("session.status")["result"]["apiKey"] is None


def test_ws_requests_are_journaled(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with WsClient(server.ws_url) as ws:
        ws.call("account.status", signed(holder))
        ws.call("order.cancel", signed(holder, {"symbol": "BTCUSDT", "orderId": 99}))
    entries = [e for e in server.app.journal if e.method == "WS"]
    assert [(e.path, e.status, e.code) for e in entries] == [
        ("account.status", 200, None),
        ("order.cancel", 400, -2011),
    ]
    assert all(e.key_suffix == holder.api_key[-4:] for e in entries)


def test_permission_added_mid_session_is_used(server: EmulatorServer) -> None:
    reader = make_holder(server.app, KeyType.ED25519, permissions=(READ,))
    with WsClient(server.ws_url) as ws:
        assert ws.call("session.logon", signed(reader))["status"] == 200
        assert ws.call("order.place", {**LIMIT_BUY, **ts()})["status"] == 401
        assert _manage(server, "PATCH", reader, {"permissions": [READ, TRADE]}).status_code == 200
        assert ws.call("order.place", {**LIMIT_BUY, **ts()})["status"] == 200
        assert ws.call("session.status")["result"]["apiKey"] == reader.api_key


def test_lifetime_subscription_cap() -> None:
    emu = Emulator(ws_settings=WsSettings(max_lifetime_subscriptions=2))
    holder = make_holder(emu, KeyType.HMAC)
    with serving(emu) as srv, WsClient(srv.ws_url) as ws:
        for expected in (0, 1):
            sub = ws.call("userDataStream.subscribe.signature", signed(holder))
            assert sub["result"] == {"subscriptionId": expected}
            assert ws.call("userDataStream.unsubscribe")["result"] == {}
            ws.event()
        capped = ws.call("userDataStream.subscribe.signature", signed(holder))
        assert (capped["status"], capped["error"]["code"]) == (400, -2042)


def test_stream_events_for_cancel_replace_and_rest_cancel_all(server: EmulatorServer) -> None:
    holder = make_holder(server.app, KeyType.HMAC)
    with httpx.Client(base_url=server.url) as rest, WsClient(server.ws_url) as ws:
        assert ws.call("userDataStream.subscribe.signature", signed(holder))["status"] == 200
        first = ws.call("order.place", signed(holder, LIMIT_BUY))["result"]
        [ws.event() for _ in range(2)]
        replace = {
            **LIMIT_BUY,
            "price": "19000",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": first["orderId"],
        }
        replaced = ws.call("order.cancelReplace", signed(holder, replace))["result"]
        events = [ws.event()["event"] for _ in range(3)]
        assert [(e["e"], e.get("x"), e.get("i")) for e in events] == [
            ("executionReport", "CANCELED", first["orderId"]),
            ("executionReport", "NEW", replaced["newOrderResponse"]["orderId"]),
            ("outboundAccountPosition", None, None),
        ]
        call(rest, "DELETE", "/api/v3/openOrders", holder, {"symbol": "BTCUSDT"})
        events = [ws.event()["event"] for _ in range(2)]
        assert [(e["e"], e.get("X")) for e in events] == [
            ("executionReport", "CANCELED"),
            ("outboundAccountPosition", None),
        ]
        usdt = next(b for b in events[1]["B"] if b["a"] == "USDT")
        assert usdt["l"] == "0.00000000"
