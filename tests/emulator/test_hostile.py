"""Malformed and hostile requests, by hand, over a real socket (issue 5): each gets the
documented Binance error (or a bare 4xx from the HTTP layer), never a 5xx, never a traceback,
and the server keeps serving everyone else afterwards."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest

from keyprobe.binance.endpoints import ENDPOINTS
from keyprobe.binance.params import Kind
from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import MAX_BODY_BYTES, MAX_QUERY_BYTES, Emulator
from keyprobe.emulator.server import EmulatorServer
from tests.emulator.conftest import make_holder
from tests.emulator.hostile import ALL_PERMISSIONS, GENEROUS, JSON_TYPE, assert_acceptable
from tests.emulator.test_auth_pipeline import LIMIT_ORDER
from tests.emulator.wire import Holder, enc, now_ms

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNKNOWN_ERROR = b'{"code":-1000,"msg":"An unknown error occurred while processing the request."}'
BAD_UTF8_REQUEST = (
    b"GET /api/v3/avgPrice?symbol=%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
)


class Target:
    def __init__(self, server: EmulatorServer, holder: Holder, emu: Emulator) -> None:
        self.url = server.url
        self.holder = holder
        self.emu = emu
        parts = urlsplit(server.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.client = httpx.Client(base_url=server.url, timeout=10.0)

    # ------------------------------------------------------------------ requests
    def signed(
        self,
        method: str,
        path: str,
        query: str = "",
        body: str = "",
        *,
        headers: dict[str, str] | None = None,
        signature_at: str = "query",
    ) -> httpx.Response:
        """Sign ``query`` + ``body`` exactly as given (they are already encoded), then append
        the signature to the query or the body."""
        stamp = f"timestamp={now_ms()}"
        if signature_at == "query" or not body:
            query = f"{query}&{stamp}" if query else stamp
        else:
            body = f"{body}&{stamp}"
        signature = quote(self.holder.sign((query + body).encode("latin-1")), safe="")
        if signature_at == "body":
            body = f"{body}&signature={signature}"
        else:
            query = f"{query}&signature={signature}"
        all_headers = {"X-MBX-APIKEY": self.holder.api_key, **(headers or {})}
        if body and "Content-Type" not in all_headers:
            all_headers.update(FORM)
        return self.client.request(
            method, f"{path}?{query}", content=body.encode("latin-1"), headers=all_headers
        )

    def raw(
        self, data: bytes, *, timeout: float = 10.0, half_close: bool = False
    ) -> httpx.Response | None:
        """Send raw bytes on a fresh connection (then end our side with ``half_close``); the
        parsed answer, or None if the server closed without answering."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            return _read_response(sock)

    def still_serving(self) -> None:
        assert self.client.get("/api/v3/ping").status_code == 200
        r = self.signed("GET", "/api/v3/account")
        assert r.status_code == 200, r.text


def _read_response(sock: socket.socket) -> httpx.Response | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [tuple(line.split(":", 1)) for line in lines[1:]]
    pairs = [(k.strip(), v.strip()) for k, v in headers]
    length = int(dict((k.lower(), v) for k, v in pairs).get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    request = httpx.Request("RAW", "http://emulator/")
    return httpx.Response(status, headers=pairs, content=body[:length], request=request)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    emu = Emulator(limits=GENEROUS)
    holder = make_holder(emu, KeyType.HMAC, permissions=ALL_PERMISSIONS)
    with EmulatorServer(emu) as srv:
        target = Target(srv, holder, emu)
        yield target
        target.client.close()


@pytest.fixture
def t(target: Target) -> Iterator[Target]:
    yield target
    # Whatever the test sent, the server still answers everyone else.
    target.still_serving()


def expect(r: httpx.Response, status: int, code: int, msg: str | None = None) -> None:
    assert_acceptable(r)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body = r.json()
    assert body["code"] == code, r.text
    if msg is not None:
        assert body["msg"] == msg


def bare(r: httpx.Response | None, *statuses: int) -> None:
    """A 4xx the HTTP layer produced on its own (or the emulator's bare 404/405/413)."""
    assert r is not None, "the server closed the connection without an answer"
    assert_acceptable(r, http_layer_ok=True)
    assert r.status_code in statuses, (r.status_code, r.content[:200])


# ------------------------------------------------------------------------------ sizes


def test_oversized_query_string(t: Target) -> None:
    # Past the HTTP parser's request-line limit: a bare 4xx from the HTTP layer.
    r = t.raw(
        b"GET /api/v3/ping?" + b"a=1&" * (MAX_QUERY_BYTES // 4 + 10) + b" HTTP/1.1\r\n"
        b"Host: x\r\nConnection: close\r\n\r\n"
    )
    bare(r, 400, 413, 414, 431)


def test_oversized_body_is_413(t: Target) -> None:
    r = t.client.post(
        "/api/v3/order",
        content=b"a=" + b"1" * (MAX_BODY_BYTES + 10),
        headers={"X-MBX-APIKEY": t.holder.api_key, **FORM},
    )
    bare(r, 413)
    assert r.content == b""


def test_large_but_allowed_body_with_many_parameters(t: Target) -> None:
    extra = "&".join(f"p{i}=1" for i in range(20_000))
    body = f"{enc(list(LIMIT_ORDER.items()))}&{extra}"
    started = time.monotonic()
    r = t.signed("POST", "/api/v3/order", body=body, signature_at="body")
    expect(
        r,
        400,
        -1104,
        "Not all sent parameters were read; read '8' parameter(s) but was sent '20008'.",
    )
    assert time.monotonic() - started < 5


def test_very_many_parameters_in_the_query(t: Target) -> None:
    query = "&".join(f"p{i}=1" for i in range(1500))
    r = t.client.get(f"/api/v3/ticker/price?{query}")
    expect(r, 400, -1104)


# ------------------------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    "value",
    ["%FF", "%C3%28", "%ED%A0%80", "%F4%90%80%80", "%C0%AF"],  # invalid UTF-8 sequences
)
def test_invalid_utf8_is_1100(t: Target, value: str) -> None:
    expect(t.client.get(f"/api/v3/avgPrice?symbol={value}"), 400, -1100)
    expect(t.signed("GET", "/api/v3/order", f"symbol={value}&orderId=1"), 400, -1100)


@pytest.mark.parametrize("value", ["%", "%Z", "%ZZ", "%%", "%4", "BTC%2", "%%41"])
def test_percent_garbage_is_an_illegal_symbol(t: Target, value: str) -> None:
    expect(t.client.get(f"/api/v3/avgPrice?symbol={value}"), 400, -1100)


@pytest.mark.parametrize("name", ["%FF", "%", "sym%00bol", "%E9"])
def test_garbage_parameter_names(t: Target, name: str) -> None:
    r = t.client.get(f"/api/v3/avgPrice?symbol=BTCUSDT&{name}=1")
    assert r.status_code == 400
    assert_acceptable(r)
    assert r.json()["code"] in (-1100, -1104)


def test_raw_non_ascii_bytes_in_the_request_line(t: Target) -> None:
    line = "GET /api/v3/avgPrice?symbol=这是测试币456 HTTP/1.1\r\n"
    r = t.raw(line.encode() + b"Host: x\r\nConnection: close\r\n\r\n")
    assert r is not None
    assert_acceptable(r, http_layer_ok=True)
    assert r.status_code in (200, 400)


def test_nul_bytes(t: Target) -> None:
    expect(t.client.get("/api/v3/avgPrice?symbol=BTC%00USDT"), 400, -1100)
    order = enc(list({**LIMIT_ORDER, "newClientOrderId": "a\x00b"}.items()))
    expect(t.signed("POST", "/api/v3/order", order), 400, -1100)
    order = enc(list({**LIMIT_ORDER, "side": "BUY\x00"}.items()))
    expect(t.signed("POST", "/api/v3/order", order), 400, -1117, "Invalid side.")
    expect(t.signed("GET", "/api/v3/account", "recvWindow=5000%00"), 400, -1100)


# ------------------------------------------------------------------------------ duplicates


def test_duplicate_parameter_in_the_query_is_1101(t: Target) -> None:
    dup = "Duplicate values for a parameter detected."
    expect(t.client.get("/api/v3/avgPrice?symbol=BTCUSDT&symbol=BTCUSDT"), 400, -1101, dup)
    expect(t.signed("GET", "/api/v3/account", f"timestamp={now_ms()}"), 400, -1101, dup)
    body = enc(list(LIMIT_ORDER.items()))
    expect(
        t.signed("POST", "/api/v3/order", body=f"{body}&side=SELL", signature_at="body"),
        400,
        -1101,
        dup,
    )


def test_query_wins_over_body_and_both_are_signed(t: Target) -> None:
    body = enc(list({**LIMIT_ORDER, "side": "SELL", "price": "999999.00"}.items()))
    r = t.signed("POST", "/api/v3/order/test", "side=BUY&price=20000.00", body)
    assert r.status_code == 200, r.text
    # The same request with the body's (far too high) SELL price alone is a filter failure.
    r = t.signed("POST", "/api/v3/order/test", "", body.replace("999999.00", "9999999.00"))
    expect(r, 400, -1013)


# ------------------------------------------------------------------------------ signature


def test_signature_twice_is_1101(t: Target) -> None:
    query = f"timestamp={now_ms()}"
    signature = quote(t.holder.sign(query.encode()), safe="")
    r = t.client.get(
        f"/api/v3/account?{query}&signature={signature}&signature={signature}",
        headers={"X-MBX-APIKEY": t.holder.api_key},
    )
    expect(r, 400, -1101)


def test_empty_signature_is_1102(t: Target) -> None:
    r = t.client.get(
        f"/api/v3/account?timestamp={now_ms()}&signature=",
        headers={"X-MBX-APIKEY": t.holder.api_key},
    )
    expect(
        r, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    )


def test_signature_first_is_found(t: Target) -> None:
    rest = f"omitZeroBalances=true&timestamp={now_ms()}"
    signature = quote(t.holder.sign(rest.encode()), safe="")
    r = t.client.get(
        f"/api/v3/account?signature={signature}&{rest}",
        headers={"X-MBX-APIKEY": t.holder.api_key},
    )
    assert r.status_code == 200, r.text


def test_signature_in_query_and_body_query_wins(t: Target) -> None:
    query = f"timestamp={now_ms()}"
    body = enc(list(LIMIT_ORDER.items()))
    good = quote(t.holder.sign((query + body).encode()), safe="")
    bad = "0" * 64
    headers = {"X-MBX-APIKEY": t.holder.api_key, **FORM}
    r = t.client.post(
        f"/api/v3/order/test?{query}&signature={good}",
        content=f"{body}&signature={bad}".encode(),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = t.client.post(
        f"/api/v3/order/test?{query}&signature={bad}",
        content=f"{body}&signature={good}".encode(),
        headers=headers,
    )
    expect(r, 400, -1022)


@pytest.mark.parametrize(
    "signature", ["%FF%FE", "%C3%A9" * 32, "%00" * 64, "+" * 64, "%" * 10, "A" * 5000]
)
def test_garbage_signature_is_1022(t: Target, signature: str) -> None:
    r = t.client.get(
        f"/api/v3/account?timestamp={now_ms()}&signature={signature}",
        headers={"X-MBX-APIKEY": t.holder.api_key},
    )
    assert_acceptable(r)
    assert (r.status_code, r.json()["code"]) in ((400, -1022), (400, -1100))


def test_json_body_on_a_signed_endpoint_is_not_read(t: Target) -> None:
    r = t.client.post(
        "/api/v3/order",
        json={**LIMIT_ORDER, "timestamp": now_ms(), "signature": "0" * 64},
        headers={"X-MBX-APIKEY": t.holder.api_key},
    )
    expect(r, 400, -1102)
    # Even when the query carries a valid signature, the JSON body's order is not read.
    r = t.signed(
        "POST",
        "/api/v3/order",
        body='{"symbol":"BTCUSDT"}',
        headers={"Content-Type": "application/json"},
    )
    expect(
        r, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
    )


# ------------------------------------------------------------------------------ numbers


HUGE = [
    "1" * 21,  # past the 20-digit legal range
    "9" * 20,  # in range, past int64
    "18446744073709551616",  # 2**64
    "9" * 20 + "." + "9" * 20,
    "0." + "0" * 19 + "1",
    "-1",
    "-0.00100",
    "1e5",
    "0x10",
    "NaN",
    "Infinity",
    "1_000",
    " 1",
    "０１",  # full-width digits: str.isdigit() says yes
]


def _numeric_params() -> list[tuple[str, str, str, str]]:
    out = []
    for ep in ENDPOINTS:
        for spec in ep.all_params:
            if spec.kind in (Kind.DECIMAL, Kind.LONG, Kind.INT, Kind.RECV_WINDOW):
                out.append((ep.method, ep.path, ep.name, spec.name))
    return out


BASE_PARAMS: dict[str, dict[str, str]] = {
    "depth": {"symbol": "BTCUSDT"},
    "queryOrder": {"symbol": "BTCUSDT"},
    "allOrders": {"symbol": "BTCUSDT"},
    "myTrades": {"symbol": "BTCUSDT"},
    "newOrder": dict(LIMIT_ORDER),
    "testOrder": dict(LIMIT_ORDER),
    "cancelOrder": {"symbol": "BTCUSDT"},
    "cancelReplace": {**LIMIT_ORDER, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": "1"},
    "withdraw": {"coin": "USDT", "address": "addr", "amount": "1"},
    "universalTransfer": {"type": "MAIN_MARGIN", "asset": "USDT", "amount": "1"},
}


@pytest.mark.parametrize(
    ("method", "path", "name", "param"),
    _numeric_params(),
    ids=[f"{n}-{p}" for _, _, n, p in _numeric_params()],
)
def test_huge_and_odd_numbers(t: Target, method: str, path: str, name: str, param: str) -> None:
    for value in HUGE:
        params = {**BASE_PARAMS.get(name, {}), param: value}
        if param == "timestamp":
            query = enc([(k, v) for k, v in params.items() if k != "timestamp"])
            query = (
                f"{query}&timestamp={quote(value, safe='')}"
                if query
                else f"timestamp={quote(value, safe='')}"
            )
            signature = quote(t.holder.sign(query.encode()), safe="")
            r = t.client.request(
                method,
                f"{path}?{query}&signature={signature}",
                headers={"X-MBX-APIKEY": t.holder.api_key},
            )
        elif path in {"/api/v3/depth"}:
            r = t.client.get(f"{path}?{enc(list(params.items()))}")
        else:
            r = t.signed(method, path, enc(list(params.items())))
        assert_acceptable(r)
        if value.startswith("-") or not value.replace(".", "").isascii():
            assert r.status_code == 400, (value, r.text)


def test_timestamp_beyond_int64(t: Target) -> None:
    query = "timestamp=99999999999999999999"
    signature = quote(t.holder.sign(query.encode()), safe="")
    r = t.client.get(
        f"/api/v3/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": t.holder.api_key}
    )
    expect(r, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    query = "timestamp=" + "9" * 21
    signature = quote(t.holder.sign(query.encode()), safe="")
    r = t.client.get(
        f"/api/v3/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": t.holder.api_key}
    )
    expect(r, 400, -1100)


def test_negative_quantity_and_price(t: Target) -> None:
    for field in ("quantity", "price"):
        order = enc(list({**LIMIT_ORDER, field: "-0.00100"}.items()))
        expect(
            t.signed("POST", "/api/v3/order", order),
            400,
            -1100,
            f"Illegal characters found in parameter '{field}'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )


def test_huge_order_id_is_unknown_not_a_crash(t: Target) -> None:
    expect(
        t.signed("GET", "/api/v3/order", "symbol=BTCUSDT&orderId=" + "9" * 20),
        400,
        -2013,
        "Order does not exist.",
    )
    expect(
        t.signed("DELETE", "/api/v3/order", "symbol=BTCUSDT&orderId=" + "9" * 20),
        400,
        -2011,
        "Unknown order sent.",
    )


# ------------------------------------------------------------------------------ headers


@pytest.mark.parametrize(
    "header",
    [
        b"X-MBX-APIKEY: abc\rdef",
        b"X-MBX-APIKEY: abc\ndef",
        b"X-MBX-APIKEY: abc\x00def",
        b"X-MBX-APIKEY abc",
        b"X-MBX-APIKEY:\r\n injected: folded",
        b"X-MBX-APIKEY: \xff\xfe\xfd",
        b"Content-Length: 5\r\nContent-Length: 7",
        # Request smuggling: the chunked body ends at once, the stray "abc" is not a request.
        b"Transfer-Encoding: chunked\r\nContent-Length: 3",
    ],
)
def test_header_injection_attempts(t: Target, header: bytes) -> None:
    body = b"0\r\n\r\nabc" if b"chunked" in header else b""
    r = t.raw(
        f"GET /api/v3/account?timestamp={now_ms()}&signature=x HTTP/1.1\r\nHost: x\r\n".encode()
        + header
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    if r is None:
        return  # the HTTP layer hung up on it: fine, as long as everyone else is served
    assert_acceptable(r, http_layer_ok=True)
    assert r.status_code in (400, 401), r.content


def test_non_latin1_api_key_is_2014(t: Target) -> None:
    r = t.raw(
        f"GET /api/v3/account?timestamp={now_ms()}&signature=x HTTP/1.1\r\nHost: x\r\n".encode()
        + "X-MBX-APIKEY: ключ\r\nConnection: close\r\n\r\n".encode()
    )
    assert r is not None
    expect(r, 401, -2014, "API-key format invalid.")


# ------------------------------------------------------------------------------ slow clients


def test_a_slow_partial_body_does_not_block_anyone(t: Target) -> None:
    with socket.create_connection((t.host, t.port), timeout=10) as slow:
        slow.sendall(
            b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\nsymbol=BTC"
        )
        started = time.monotonic()
        for _ in range(5):
            assert t.client.get("/api/v3/ping").status_code == 200
        t.still_serving()
        assert time.monotonic() - started < 2
        # Trickle a few more bytes, then give up half-way.
        slow.sendall(b"USDT&side=BUY")
    # The half-sent request died with its connection; the server did not.


def test_a_slow_request_line_does_not_block_anyone(t: Target) -> None:
    with socket.create_connection((t.host, t.port), timeout=10) as slow:
        slow.sendall(b"GET /api/v3/pi")
        assert t.client.get("/api/v3/ping").status_code == 200
        slow.sendall(b"ng HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = _read_response(slow)
        assert r is not None and r.status_code == 200


def test_many_half_open_connections(t: Target) -> None:
    socks = []
    try:
        for _ in range(50):
            s = socket.create_connection((t.host, t.port), timeout=10)
            s.sendall(b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            socks.append(s)
        t.still_serving()
    finally:
        for s in socks:
            s.close()


def test_body_shorter_than_its_content_length_then_eof(t: Target) -> None:
    with socket.create_connection((t.host, t.port), timeout=10) as s:
        s.sendall(b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc")
        s.shutdown(socket.SHUT_WR)
        r = _read_response(s)
    if r is not None:
        assert_acceptable(r, http_layer_ok=True)


def test_garbage_instead_of_http(t: Target) -> None:
    for junk in (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        b"HELLO\r\n\r\n",
        b"\r\n" * 100,
    ):
        r = t.raw(junk, half_close=True)
        if r is not None:
            bare(r, 400)


def test_concurrent_hostile_and_normal_traffic(t: Target) -> None:
    stop = threading.Event()

    def abuse() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                t.raw(BAD_UTF8_REQUEST, timeout=5)

    threads = [threading.Thread(target=abuse) for _ in range(4)]
    for th in threads:
        th.start()
    try:
        for _ in range(20):
            t.still_serving()
    finally:
        stop.set()
        for th in threads:
            th.join(10)


# ------------------------------------------------------------------------------ other


def test_unknown_method_and_path_are_bare(t: Target) -> None:
    bare(t.client.request("PUT", "/api/v3/order"), 405)
    bare(t.client.get("/api/v3/order/../../etc/passwd"), 404, 400)
    bare(t.client.get("/api/v3/userDataStream"), 404, 405, 410)
    bare(t.client.get("/api/v3//ping"), 404)


# ------------------------------------------------------------------------------ crashes


def test_a_crashing_handler_over_the_socket_costs_one_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = Emulator(limits=GENEROUS)
    holder = make_holder(emu, KeyType.HMAC, permissions=ALL_PERMISSIONS)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug with a secret-looking detail /etc/passwd")

    monkeypatch.setattr(emu.exchange, "account", boom)
    with EmulatorServer(emu) as srv:
        target = Target(srv, holder, emu)
        results: list[httpx.Response] = []
        lock = threading.Lock()

        def hit(path: str) -> None:
            mine = Target(srv, holder, emu)
            try:
                for _ in range(10):
                    r = mine.client.get(path) if path.endswith("ping") else mine.signed("GET", path)
                    with lock:
                        results.append(r)
            finally:
                mine.client.close()

        paths = ["/api/v3/account", "/api/v3/ping", "/api/v3/openOrders"] * 2
        threads = [threading.Thread(target=hit, args=(p,)) for p in paths]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert len(results) == 60
        for r in results:
            if r.request.url.path == "/api/v3/account":
                assert r.status_code == 500
                assert r.content == UNKNOWN_ERROR
                assert b"passwd" not in r.content and b"Traceback" not in r.content
            else:
                assert r.status_code == 200, r.text
        monkeypatch.undo()
        target.still_serving()
        target.client.close()
