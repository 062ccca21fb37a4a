"""A behaviour file changes what the emulator answers, over a real socket, REST and the
WebSocket API alike: the settings objects are views of the one table, with no second copy of
a default anywhere."""

from __future__ import annotations

from pathlib import Path

import httpx

from keyprobe.binance.signing import KeyType
from keyprobe.binance.unsettled import DEFAULT, dump_behaviour, load_behaviour
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.families_settings import FamiliesSettings
from keyprobe.emulator.ratelimit import RateLimits
from keyprobe.emulator.rest_settings import RestSettings
from keyprobe.emulator.server import EmulatorServer
from keyprobe.emulator.wsapi import SignatureMode, WsSettings
from tests.emulator.conftest import make_holder
from tests.emulator.wire import call, now_ms
from tests.emulator.ws_wire import WsClient, signed

PINNED = {
    "rest.short_key_code": -2014,
    "rest.recv_window_over_max_code": -1131,
    "rest.timestamp_before_signature": False,
    "rest.removed_stream_status": 404,
    "ws.logon_refused_code": -2015,
    "ws.unknown_method_code": -1000,
}


def _answers(emulator: Emulator) -> dict[str, tuple[int, int | None]]:
    """What one emulator answers to each question PINNED is about, over a real socket."""
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url) as client:
        holder = make_holder(emulator, KeyType.HMAC)
        out: dict[str, tuple[int, int | None]] = {}

        def record(name: str, response: httpx.Response) -> None:
            body = response.json() if response.content else {}
            out[name] = (response.status_code, body.get("code"))

        record("short_key", call(client, "GET", "/api/v3/account", holder, api_key="0123456789"))
        over = {"recvWindow": "60001"}
        record("recv_window", call(client, "GET", "/api/v3/account", holder, over))
        stale = now_ms() - 120_000
        record(
            "precedence",
            call(client, "GET", "/api/v3/account", holder, timestamp=stale, tamper=True),
        )
        record("removed", client.post("/api/v3/userDataStream"))
        with WsClient(server.ws_url) as ws:
            logon = ws.call("session.logon", signed(holder))
            out["logon"] = (logon["status"], logon["error"]["code"])
            unknown = ws.call("no.such.method")
            out["unknown_method"] = (unknown["status"], unknown["error"]["code"])
        return out


def test_a_behaviour_file_changes_the_answers_over_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "pinned.toml"
    dump_behaviour(PINNED, path, note="as if recorded on a live target")
    assert _answers(Emulator()) == {
        "short_key": (401, -2015),
        "recv_window": (400, -1102),
        "precedence": (400, -1021),
        "removed": (410, None),
        "logon": (400, -1022),
        "unknown_method": (400, -1020),
    }
    assert _answers(Emulator(behaviour=load_behaviour(path))) == {
        "short_key": (401, -2014),
        "recv_window": (400, -1131),
        "precedence": (400, -1022),
        "removed": (404, None),
        "logon": (401, -2015),
        "unknown_method": (400, -1000),
    }


def test_microsecond_timestamps_are_a_setting() -> None:
    off = DEFAULT.with_values({"rest.accepts_microseconds": False})
    for behaviour, expected in ((DEFAULT, 200), (off, 400)):
        emulator = Emulator(behaviour=behaviour)
        with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url) as client:
            holder = make_holder(emulator, KeyType.HMAC)
            micro = now_ms() * 1000
            answer = call(client, "GET", "/api/v3/account", holder, timestamp=micro)
            assert answer.status_code == expected, answer.text


def test_the_settings_objects_are_views_of_the_behaviour() -> None:
    for b in (DEFAULT, DEFAULT.with_values({"ws.shutdown_notice_ms": 7, "ratelimit.ban_ms": 5})):
        emulator = Emulator(behaviour=b)
        assert emulator.ws_api.settings == WsSettings.of(b)
        assert emulator.rest == RestSettings.of(b)
        assert emulator.families.settings == FamiliesSettings.of(b)
        assert emulator.limits == RateLimits.of(b)
        assert WsSettings.of(b).shutdown_notice_s == b.integer("ws.shutdown_notice_ms") / 1000
    # The dataclasses' own defaults are the packaged file's values, not a copy of them.
    assert WsSettings() == WsSettings.of(DEFAULT)
    assert FamiliesSettings() == FamiliesSettings.of(DEFAULT)
    assert RateLimits() == RateLimits.of(DEFAULT)
    assert WsSettings().signature is SignatureMode(DEFAULT.text("ws.signature_mode"))


def test_the_spot_ip_suffix_is_a_setting() -> None:
    on = DEFAULT.with_values({"rest.rejected_ip_suffix": True})
    for behaviour, suffix in ((DEFAULT, ""), (on, ", request ip: 127.0.0.1")):
        emulator = Emulator(behaviour=behaviour)
        with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url) as client:
            holder = make_holder(
                emulator, KeyType.HMAC, permissions=("enableSpotAndMarginTrading",)
            )
            answer = call(client, "GET", "/api/v3/account", holder)
            assert answer.status_code == 401
            assert answer.json() == {
                "code": -2015,
                "msg": "Invalid API-key, IP, or permissions for action." + suffix,
            }


def test_the_percent_price_by_side_failure_name_is_a_setting_on_both_doors() -> None:
    renamed = DEFAULT.with_values({"orders.percent_price_by_side_name": "PERCENT_PRICE"})
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    order |= {"quantity": "0.001", "price": "12999.99"}
    for behaviour, name in ((DEFAULT, "PERCENT_PRICE_BY_SIDE"), (renamed, "PERCENT_PRICE")):
        emulator = Emulator(behaviour=behaviour)
        with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url) as client:
            holder = make_holder(emulator, KeyType.ED25519)
            rest = call(client, "POST", "/api/v3/order/test", holder, order)
            assert rest.json() == {"code": -1013, "msg": f"Filter failure: {name}"}
            with WsClient(server.ws_url) as ws:
                answer = ws.call("order.test", signed(holder, order))
                assert answer["error"] == {"code": -1013, "msg": f"Filter failure: {name}"}
