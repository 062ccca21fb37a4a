"""The reference's scenario matrix (§5.5), row by row, with exact statuses, bodies and headers."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest

from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import READ, TRADE, FrozenTime, make_holder
from tests.emulator.wire import Holder, call, enc

JSON = "application/json;charset=UTF-8"
REJECTED = b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
BAD_FORMAT = b'{"code":-2014,"msg":"API-key format invalid."}'
BAD_SIGNATURE = b'{"code":-1022,"msg":"Signature for this request is not valid."}'
LIMIT_ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.00100",
    "price": "20000.00",
}


def assert_error(response: httpx.Response, status: int, code: int, msg: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["code"] == code
    assert list(body) == ["code", "msg"]
    if msg is not None:
        assert body["msg"] == msg


# ------------------------------------------------------------------------------ key header


def test_missing_key_header_is_401_2014(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/account", holder, api_key="")
    assert r.status_code == 401
    assert r.content == BAD_FORMAT
    assert r.headers["content-type"] == JSON


def test_no_header_at_all_is_401_2014(client: httpx.Client) -> None:
    r = client.get("/api/v3/account?timestamp=1&signature=x")
    assert r.status_code == 401
    assert r.content == BAD_FORMAT


@pytest.mark.parametrize("bad", ["short!", "x" * 200, "spaces in key", "ключ"])
def test_malformed_key_is_401_2014(client: httpx.Client, emu: Emulator, bad: str) -> None:
    holder = make_holder(emu)
    headers = {b"X-MBX-APIKEY": bad.encode("utf-8")}
    r = client.get(f"/api/v3/account?timestamp={1}&signature=x", headers=headers)
    assert r.status_code == 401
    assert r.content == BAD_FORMAT
    del holder


def test_unknown_key_is_401_2015_exact_70_bytes(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/account", holder, api_key="A" * 64)
    assert r.status_code == 401
    assert r.content == REJECTED
    assert len(r.content) == 70
    assert r.headers["content-length"] == "70"


@pytest.mark.parametrize("name", [b"X-MBX-APIKEY", b"x-mbx-apikey", b"X-Mbx-Apikey"])
def test_header_name_is_case_insensitive(emu: Emulator, name: bytes) -> None:
    """Reference §3.1 L211-212: "Header name matching is HTTP-case-insensitive". httpx and
    every HTTP/1.1 server in front of the app lower-case header names before the app sees
    them, so this drives the ASGI app itself with the name spelled as given: the emulator
    must not rely on whoever serves it to lower-case names."""
    holder = make_holder(emu)
    text = enc([("timestamp", str(_now()))])
    text += "&signature=" + holder.sign(text.encode())
    status, body = _asgi_get(emu, "/api/v3/account", text, [(name, holder.api_key.encode())])
    assert status == 200, body
    assert json.loads(body)["accountType"] == "SPOT"


def test_mixed_case_header_over_a_real_socket(served: EmulatorServer) -> None:
    holder = make_holder(served.app)
    text = enc([("timestamp", str(_now()))])
    text += "&signature=" + holder.sign(text.encode())
    host, port = served.url.removeprefix("http://").split(":")
    request = (
        f"GET /api/v3/account?{text} HTTP/1.1\r\nHost: {host}\r\n"
        f"X-Mbx-Apikey: {holder.api_key}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


def _asgi_get(
    app: Emulator, path: str, query: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """One GET straight into the ASGI app, headers exactly as given."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


# ------------------------------------------------------------------------------ permissions


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("POST", "/api/v3/order", LIMIT_ORDER),
        ("POST", "/api/v3/order/test", LIMIT_ORDER),
        ("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": "12345"}),
        ("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}),
    ],
)
def test_read_only_key_cannot_trade(
    client: httpx.Client, emu: Emulator, method: str, path: str, params: dict[str, str]
) -> None:
    holder = make_holder(emu, KeyType.ED25519, permissions=(READ,))
    r = call(client, method, path, holder, params)
    assert r.status_code == 401
    assert r.content == REJECTED


def test_key_without_reading_cannot_read_account(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu, permissions=(TRADE,))
    assert call(client, "GET", "/api/v3/account", holder).content == REJECTED
    # ...but may still trade: the permission, not the key, decides.
    r = call(client, "POST", "/api/v3/order/test", holder, LIMIT_ORDER)
    assert r.status_code == 200, r.text
    assert r.json() == {}


def test_trading_permission_expires(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    record = emu.keys.get(holder.api_key)
    assert record is not None
    emu.keys.register(
        KeyRecord(
            record.api_key,
            record.key_type,
            record.verifier,
            record.permissions,
            trading_expires_ms=_now() - 1,
        )
    )
    assert call(client, "POST", "/api/v3/order/test", holder, LIMIT_ORDER).content == REJECTED
    assert call(client, "GET", "/api/v3/account", holder).status_code == 200


# ------------------------------------------------------------------------------ signature


@pytest.mark.parametrize("key_type", list(KeyType))
def test_valid_signature_passes_for_every_key_type(
    client: httpx.Client, emu: Emulator, key_type: KeyType
) -> None:
    holder = make_holder(emu, key_type)
    r = call(client, "GET", "/api/v3/account", holder)
    assert r.status_code == 200, r.text
    assert r.json()["accountType"] == "SPOT"


@pytest.mark.parametrize("key_type", list(KeyType))
def test_wrong_secret_is_400_1022(client: httpx.Client, emu: Emulator, key_type: KeyType) -> None:
    holder = make_holder(emu, key_type)
    r = call(client, "GET", "/api/v3/account", holder, tamper=True)
    assert r.status_code == 400
    assert r.content == BAD_SIGNATURE


def test_hmac_signature_is_case_insensitive(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    text = enc([("timestamp", str(_now()))])
    text += "&signature=" + holder.sign(text.encode()).upper()
    r = client.get(f"/api/v3/account?{text}", headers={"X-MBX-APIKEY": holder.api_key})
    assert r.status_code == 200


@pytest.mark.parametrize("key_type", [KeyType.RSA, KeyType.ED25519])
def test_unencoded_base64_signature_fails(
    client: httpx.Client, emu: Emulator, key_type: KeyType
) -> None:
    holder = make_holder(emu, key_type)
    for attempt in range(40):  # find a signature with a '+' in it; ~1 in 1.2 have one
        text = enc([("timestamp", str(_now())), ("recvWindow", str(5000 + attempt))])
        signature = holder.sign(text.encode())
        if "+" in signature:
            break
    else:  # (63/64)**86 ~ 0.26 per signature without a '+': never 40 in a row
        raise AssertionError("no '+' in 40 signatures")
    r = client.get(
        f"/api/v3/account?{text}&signature={signature}", headers={"X-MBX-APIKEY": holder.api_key}
    )
    # The server form-decodes '+' to a space, so the signature no longer verifies.
    assert r.content == BAD_SIGNATURE


def test_signature_over_query_then_body_without_separator(
    client: httpx.Client, emu: Emulator
) -> None:
    holder = make_holder(emu)
    query = enc([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC")])
    body = enc([("quantity", "0.00100"), ("price", "20000.00"), ("timestamp", str(_now()))])
    signature = holder.sign((query + body).encode())
    r = client.post(
        f"/api/v3/order/test?{query}",
        content=f"{body}&signature={signature}".encode(),
        headers={
            "X-MBX-APIKEY": holder.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200, r.text
    # Signing with an '&' between query and body is wrong.
    bad = holder.sign((query + "&" + body).encode())
    r = client.post(
        f"/api/v3/order/test?{query}",
        content=f"{body}&signature={bad}".encode(),
        headers={
            "X-MBX-APIKEY": holder.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.content == BAD_SIGNATURE


@pytest.mark.parametrize("key_type", list(KeyType))
def test_params_in_body(client: httpx.Client, emu: Emulator, key_type: KeyType) -> None:
    holder = make_holder(emu, key_type)
    r = call(client, "POST", "/api/v3/order/test", holder, LIMIT_ORDER, where="body")
    assert r.status_code == 200, r.text


def test_signature_not_last_is_accepted(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    text = enc([("timestamp", str(_now())), ("recvWindow", "5000")])
    signature = holder.sign(text.encode())
    first, second = text.split("&")
    r = client.get(
        f"/api/v3/account?{first}&signature={signature}&{second}",
        headers={"X-MBX-APIKEY": holder.api_key},
    )
    assert r.status_code == 200, r.text


def test_percent_encoded_unicode_symbol_must_be_signed_encoded(
    client: httpx.Client, emu: Emulator
) -> None:
    holder = make_holder(emu)
    pairs = [("symbol", "这是测试币456"), ("timestamp", str(_now()))]
    encoded = enc(pairs)
    good = holder.sign(encoded.encode())
    headers = {"X-MBX-APIKEY": holder.api_key}
    r = client.get(f"/api/v3/openOrders?{encoded}&signature={good}", headers=headers)
    assert r.status_code == 200, r.text
    # The pre-2026 habit: sign the decoded string, send the encoded one.
    decoded = "&".join(f"{k}={v}" for k, v in pairs)
    stale = holder.sign(decoded.encode())
    r = client.get(f"/api/v3/openOrders?{encoded}&signature={stale}", headers=headers)
    assert r.content == BAD_SIGNATURE


def test_json_body_is_not_read(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    body = json.dumps({**LIMIT_ORDER, "timestamp": _now(), "signature": "x"})
    r = client.post(
        "/api/v3/order",
        content=body.encode(),
        headers={"X-MBX-APIKEY": holder.api_key, "Content-Type": "application/json"},
    )
    assert_error(
        r, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
    )


def test_missing_timestamp_and_missing_signature(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/account", holder, sign=False)
    assert_error(
        r, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    )
    r = client.get(f"/api/v3/account?timestamp={_now()}", headers={"X-MBX-APIKEY": holder.api_key})
    assert_error(
        r, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    )


# ------------------------------------------------------------------------------ timing


def test_timestamp_window_is_asymmetric(frozen_emu: Emulator, frozen: FrozenTime) -> None:
    client = _client_for(frozen_emu)
    holder = make_holder(frozen_emu)
    now = frozen.ms
    ok = call(client, "GET", "/api/v3/account", holder, timestamp=now + 999)
    assert ok.status_code == 200, ok.text
    ahead = call(client, "GET", "/api/v3/account", holder, timestamp=now + 1000)
    assert_error(
        ahead, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
    )
    edge = call(client, "GET", "/api/v3/account", holder, timestamp=now - 5000)
    assert edge.status_code == 200
    old = call(client, "GET", "/api/v3/account", holder, timestamp=now - 5001)
    assert_error(old, 400, -1021, "Timestamp for this request is outside of the recvWindow.")


def test_recv_window_bounds_and_decimals(frozen_emu: Emulator, frozen: FrozenTime) -> None:
    client = _client_for(frozen_emu)
    holder = make_holder(frozen_emu)
    now = frozen.ms
    r = call(
        client, "GET", "/api/v3/account", holder, {"recvWindow": "60000"}, timestamp=now - 60000
    )
    assert r.status_code == 200, r.text
    r = call(client, "GET", "/api/v3/account", holder, {"recvWindow": "60001"}, timestamp=now)
    assert_error(
        r, 400, -1102, "'recvWindow' contains unexpected value. Cannot be greater than 60000."
    )
    r = call(
        client, "GET", "/api/v3/account", holder, {"recvWindow": "6000.346"}, timestamp=now - 6000
    )
    assert r.status_code == 200, r.text
    r = call(client, "GET", "/api/v3/account", holder, {"recvWindow": "100.5"}, timestamp=now - 101)
    assert_error(r, 400, -1021, "Timestamp for this request is outside of the recvWindow.")


def test_microsecond_timestamps(frozen_emu: Emulator, frozen: FrozenTime) -> None:
    client = _client_for(frozen_emu)
    holder = make_holder(frozen_emu)
    r = call(client, "GET", "/api/v3/account", holder, timestamp=frozen.ms * 1000 + 999)
    assert r.status_code == 200, r.text
    r = call(client, "GET", "/api/v3/account", holder, timestamp=(frozen.ms + 1000) * 1000)
    assert_error(r, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def test_clock_offset_moves_server_time(emu: Emulator, client: httpx.Client) -> None:
    emu.clock.offset_ms = 10_000
    server_time = client.get("/api/v3/time").json()["serverTime"]
    assert server_time - _now() > 9_000
    holder = make_holder(emu)
    # The client's clock is now 10 s behind the server's: too old, not ahead (§4 L319-320).
    r = call(client, "GET", "/api/v3/account", holder)
    assert_error(r, 400, -1021, "Timestamp for this request is outside of the recvWindow.")
    # ...and 10 s ahead once the offset is the other way round.
    emu.clock.offset_ms = -10_000
    r = call(client, "GET", "/api/v3/account", holder)
    assert_error(r, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")


# ------------------------------------------------------------------------------ parameters


def test_client_order_id_legal_range(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    for bad in ("has.dot", "x" * 37):
        r = call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "newClientOrderId": bad})
        assert_error(
            r,
            400,
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; "
            "legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
        )


@pytest.mark.parametrize(
    ("name", "value"), [("quantity", "1e-3"), ("price", "-1"), ("quantity", "0x1")]
)
def test_decimal_legal_range(client: httpx.Client, emu: Emulator, name: str, value: str) -> None:
    holder = make_holder(emu)
    r = call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, name: value})
    assert_error(
        r,
        400,
        -1100,
        f"Illegal characters found in parameter '{name}'; "
        "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )


def test_order_id_legal_range(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/order", holder, {"symbol": "BTCUSDT", "orderId": "abc"})
    assert_error(
        r,
        400,
        -1100,
        "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.",
    )


def test_duplicate_and_unread_parameters(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    ts = str(_now())
    text = f"timestamp={ts}&timestamp={ts}"
    r = client.get(
        f"/api/v3/account?{text}&signature={holder.sign(text.encode())}",
        headers={"X-MBX-APIKEY": holder.api_key},
    )
    assert_error(r, 400, -1101, "Duplicate values for a parameter detected.")
    r = call(client, "GET", "/api/v3/account", holder, {"colour": "blue"})
    assert_error(
        r, 400, -1104, "Not all sent parameters were read; read '2' parameter(s) but was sent '3'."
    )


def test_empty_optional_parameter_is_1105(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/openOrders", holder, {"symbol": ""})
    assert_error(r, 400, -1105, "Parameter 'symbol' was empty.")


def test_query_wins_over_body(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    query = enc([("symbol", "BTCUSDT")])
    body = enc([*(p for p in LIMIT_ORDER.items() if p[0] != "symbol"), ("timestamp", str(_now()))])
    body_with_symbol = body + "&symbol=NOPE"
    signature = holder.sign((query + body_with_symbol).encode())
    r = client.post(
        f"/api/v3/order/test?{query}",
        content=f"{body_with_symbol}&signature={signature}".encode(),
        headers={
            "X-MBX-APIKEY": holder.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200, r.text


def test_invalid_utf8_is_1100(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = client.get(
        "/api/v3/account?timestamp=%FF%FE&signature=x", headers={"X-MBX-APIKEY": holder.api_key}
    )
    assert_error(r, 400, -1100, "Illegal characters found in a parameter.")


# ------------------------------------------------------------------------------ pipeline order

# Reference §5.5 (binance-spot-auth.md L429-433), the emulator's documented default order:
# key header/format (-2014) -> key exists (-2015) -> IP whitelist (-2015) -> parameter syntax
# and mandatory params (-1100/-1102/...) -> timestamp window (-1021) -> signature (-1022) ->
# permission (-2015). Each case makes exactly two checks fail at once; the earlier one must
# answer. Statuses and messages: AUTH §5.3 (L363, L364, L366, L368, L386, L387).
FOREIGN_ONLY = ["10.9.9.9"]  # the client fixture connects from 127.0.0.1
STALE_MS = 60_000  # beyond the default recvWindow of 5000 ms (AUTH L303)
ILLEGAL = (
    400,
    -1100,
    "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.",
)
MISSING_SYMBOL = (
    400,
    -1102,
    "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
)
OUTSIDE_WINDOW = (400, -1021, "Timestamp for this request is outside of the recvWindow.")
SIGNATURE = (400, -1022, "Signature for this request is not valid.")
KEY_REFUSED = (401, -2015, "Invalid API-key, IP, or permissions for action.")
KEY_FORMAT = (401, -2014, "API-key format invalid.")

PIPELINE = [
    # (id, whitelist, permissions, params, stale timestamp, bad signature, key override, answer)
    ("format-before-signature", None, (READ,), {}, False, True, "short!", KEY_FORMAT),
    ("format-before-stale-timestamp", None, (READ,), {}, True, False, "short!", KEY_FORMAT),
    ("ip-before-params", FOREIGN_ONLY, (READ,), {"orderId": "1"}, False, False, None, KEY_REFUSED),
    ("ip-before-stale-timestamp", FOREIGN_ONLY, (READ,), {}, True, False, None, KEY_REFUSED),
    ("ip-before-signature", FOREIGN_ONLY, (READ,), {}, False, True, None, KEY_REFUSED),
    (
        "params-before-stale-timestamp",
        None,
        (READ,),
        {"orderId": "1"},
        True,
        False,
        None,
        MISSING_SYMBOL,
    ),
    (
        "params-before-signature",
        None,
        (READ,),
        {"symbol": "BTCUSDT", "orderId": "x"},
        False,
        True,
        None,
        ILLEGAL,
    ),
    ("stale-timestamp-before-signature", None, (READ,), {}, True, True, None, OUTSIDE_WINDOW),
    ("signature-before-permission", None, (TRADE,), {}, False, True, None, SIGNATURE),
    ("stale-timestamp-before-permission", None, (TRADE,), {}, True, False, None, OUTSIDE_WINDOW),
]


@pytest.mark.parametrize(
    ("whitelist", "permissions", "params", "stale", "bad_signature", "key", "answer"),
    [pytest.param(*case[1:], id=case[0]) for case in PIPELINE],
)
def test_the_earlier_check_answers_when_two_fail(
    client: httpx.Client,
    emu: Emulator,
    whitelist: list[str] | None,
    permissions: tuple[str, ...],
    params: dict[str, str],
    stale: bool,
    bad_signature: bool,
    key: str | None,
    answer: tuple[int, int, str],
) -> None:
    """GET /api/v3/order needs Reading (AUTH L169) and takes ``symbol`` + ``orderId``; each
    case breaks exactly two of: key format, IP, parameters, timestamp, signature, permission."""
    holder = make_holder(emu, permissions=permissions, ip_whitelist=whitelist)
    path = "/api/v3/order" if params else "/api/v3/account"
    timestamp = _now() - STALE_MS if stale else None
    r = call(
        client, "GET", path, holder, params, timestamp=timestamp, tamper=bad_signature, api_key=key
    )
    assert_error(r, *answer)


def test_each_fault_of_the_pipeline_cases_alone_is_refused(
    client: httpx.Client, emu: Emulator
) -> None:
    """The faults the pairs above combine, one at a time: each on its own is refused with its
    own answer, so a pair that answers with one of them shows which check ran first."""
    ok = make_holder(emu)
    assert call(client, "GET", "/api/v3/account", ok).status_code == 200
    foreign = make_holder(emu, ip_whitelist=FOREIGN_ONLY)
    assert_error(call(client, "GET", "/api/v3/account", foreign), *KEY_REFUSED)
    assert_error(call(client, "GET", "/api/v3/account", ok, api_key="short!"), *KEY_FORMAT)
    r = call(client, "GET", "/api/v3/order", ok, {"orderId": "1"})
    assert_error(r, *MISSING_SYMBOL)
    r = call(client, "GET", "/api/v3/order", ok, {"symbol": "BTCUSDT", "orderId": "x"})
    assert_error(r, *ILLEGAL)
    r = call(client, "GET", "/api/v3/account", ok, timestamp=_now() - STALE_MS)
    assert_error(r, *OUTSIDE_WINDOW)
    assert_error(call(client, "GET", "/api/v3/account", ok, tamper=True), *SIGNATURE)
    trade_only = make_holder(emu, permissions=(TRADE,))
    assert_error(call(client, "GET", "/api/v3/account", trade_only), *KEY_REFUSED)


# ------------------------------------------------------------------------------ NONE endpoints


@pytest.mark.parametrize("key", ["garbage!!", "A" * 64, ""])
def test_public_endpoints_ignore_the_key(client: httpx.Client, key: str) -> None:
    for path in ("/api/v3/ping", "/api/v3/time", "/api/v3/exchangeInfo?symbol=BTCUSDT"):
        r = client.get(path, headers={"X-MBX-APIKEY": key})
        assert r.status_code == 200, (path, r.text)
    assert client.get("/api/v3/ping").content == b"{}"


# ------------------------------------------------------------------------------ routes


def test_unknown_paths_are_bare_404_removed_ones_410(client: httpx.Client, emu: Emulator) -> None:
    # The removed listenKey endpoints answer 410 Gone [OBS binance-ws-api.md §6].
    holder = make_holder(emu)
    for method, path, status in (
        ("GET", "/api/v3/nothing", 404),
        ("POST", "/api/v3/userDataStream", 410),
        ("PUT", "/api/v3/userDataStream", 410),
        ("GET", "/sapi/v1/nothing", 404),
    ):
        r = client.request(method, path, headers={"X-MBX-APIKEY": holder.api_key})
        assert r.status_code == status, path
        assert r.content == b""
        assert r.headers["content-type"].startswith("text/plain")


def test_testnet_flavor_has_no_sapi(emu: Emulator) -> None:
    testnet = Emulator(flavor="testnet")
    client = _client_for(testnet)
    holder = make_holder(testnet, permissions=(READ, "enableWithdrawals"))
    for method, path in (
        ("GET", "/sapi/v1/account/apiRestrictions"),
        ("POST", "/sapi/v1/capital/withdraw/apply"),
        ("GET", "/sapi/v1/system/status"),
    ):
        r = call(client, method, path, holder)
        assert r.status_code == 404
        assert r.content == b""
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.headers["content-length"] == "0"
    # The /api surface is the same as the exchange flavor's.
    assert call(client, "GET", "/api/v3/account", holder).status_code == 200
    del emu


# ------------------------------------------------------------------------------ helpers


def _now() -> int:
    from tests.emulator.wire import now_ms

    return now_ms()


def _client_for(emu: Emulator) -> httpx.Client:
    from tests.emulator.conftest import _SyncASGI

    transport = httpx.ASGITransport(app=emu, client=("127.0.0.1", 50000))
    return httpx.Client(transport=_SyncASGI(transport), base_url="http://testserver")


def test_the_wire_helper_encodes_and_signs_like_binance_examples() -> None:
    """Every test here builds its requests with ``tests.emulator.wire.enc``: it must produce
    the docs' percent-encoded payload byte for byte (reference §3.3 L264: UTF-8, upper-case
    hex) and that payload must sign to the docs' signature with the docs' secret (L258)."""
    pairs = [
        ("symbol", "１２３４５６"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
        ("recvWindow", "5000"),
        ("timestamp", "1499827319559"),
    ]
    payload = enc(pairs)
    assert payload == (
        "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT"
        "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    holder = Holder(
        "k" * 64, KeyType.HMAC, "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    )
    assert holder.sign(payload.encode()) == (
        "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    )
    # Characters that must be encoded in a value: '/', '+', '=', '&' (§3.4 L272).
    assert enc([("signature", "a+b/c=d&e")]) == "signature=a%2Bb%2Fc%3Dd%26e"
