"""The settle catalogue: the open questions (reference: binance-spot-auth.md "Open questions",
binance-ws-api.md §8) that one request of a user's own key answers, each safe on any target
(a refusal or a read; nothing is placed, cancelled or withdrawn), named by the id of the
emulator's setting it settles (``binance/unsettled_table.py``). ``keyprobe settle`` asks them
and records the answers as a corpus; ``keyprobe conformance`` asks them again of the emulator.

REST questions go through the suites' ``Wire`` (budget, source address, redaction); those that
need a request the signer never makes (a microsecond timestamp, no signature) are signed here
and sent as given. WebSocket frames the ``WsWire`` never sends (malformed, unknown method,
binary) go over a connection of their own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from faker import Faker
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect

from keyprobe.binance.endpoint_model import Endpoint, Security, fixed
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType, Signer, encode_params, generate_api_key
from keyprobe.harness.client import Answer, Sent, ServerClock, Wire
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.order_recipe import OrderRecipe
from keyprobe.harness.redaction import REDACTOR, ExchangeRecord
from keyprobe.harness.targets import Transport
from keyprobe.harness.ws_client import WsWire

# How far the precedence question's timestamp is in the past: beyond any recvWindow.
STALE_MS = 120_000
# A frame with no answer within this long is recorded as no answer.
WS_ANSWER_S = 5.0
# The removed REST user-data stream (gone 2026-02-20 on mainnet, 2026-02-04 on the testnet).
REMOVED_STREAM = Endpoint(
    "userDataStream (removed)", "POST", "/api/v3/userDataStream", Security.NONE, fixed(2)
)
_ACCOUNT = "account"


class SettleEnv(Protocol):
    """What a question needs of its run (``harness.run.Run`` is one)."""

    @property
    def wire(self) -> Wire: ...

    @property
    def ws_wire(self) -> WsWire: ...

    @property
    def clock(self) -> ServerClock: ...

    @property
    def recipe(self) -> OrderRecipe | None: ...

    def wrong_signer(self, key_type: KeyType) -> Signer: ...


@dataclass(frozen=True, slots=True)
class Asked:
    """What one question sends, with whose key: its exchanges, in order."""

    env: SettleEnv
    creds: Credentials
    fake: Faker


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    id: str  # the emulator setting it settles: "section.name"
    question: str
    transport: Transport
    send: Callable[[Asked], list[Sent]]
    # The key type the question needs (None: any key), and the permission.
    key_type: KeyType | None = None
    permission: Permission | None = None
    # Priced from the run's order recipe (the target's filters and price).
    needs_recipe: bool = False


def _signed(
    a: Asked,
    extra: list[tuple[str, str]],
    *,
    timestamp: int | None = None,
    signer: Signer | None = None,
    sign: bool = True,
) -> list[tuple[str, str]]:
    """``extra`` plus a timestamp (default: the server's now) and, unless ``sign`` is False,
    the signature of exactly the string sent (the 2026 rule, reference §3.2)."""
    stamp = a.env.clock.now_ms() if timestamp is None else timestamp
    pairs = [*extra, ("timestamp", str(stamp))]
    if sign:
        pairs.append(
            ("signature", (signer or a.creds.signer()).sign(encode_params(pairs).encode()))
        )
    return pairs


def _account(
    a: Asked, pairs: list[tuple[str, str]], api_key: str | None = None, *, key: bool = True
) -> list[Sent]:
    chosen = (api_key or a.creds.api_key) if key else None
    return [a.env.wire.call(_ACCOUNT, pairs, api_key=chosen, signer=None)]


def _ws_raw(a: Asked, label: str, frame: str | bytes) -> list[Sent]:
    """One frame the WsWire would never send, on a connection of its own."""
    url = a.env.ws_wire.url
    started = time.monotonic()
    status: int | None = None
    body: Any = None
    error: str | None = None
    try:
        with connect(url, open_timeout=5.0, close_timeout=1.0, proxy=None) as conn:
            conn.send(frame)
            answer = json.loads(conn.recv(timeout=WS_ANSWER_S))
            if isinstance(answer, dict):
                status = answer.get("status") if isinstance(answer.get("status"), int) else None
                body = REDACTOR.obj(answer.get("error", answer.get("result")))
    except ConnectionClosed as exc:
        error = f"connection closed by the target ({exc.rcvd.code if exc.rcvd else 'no code'})"
    except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    record = ExchangeRecord(
        method="WS",
        path=label,
        params=[],
        source_address=None,
        sent_api_key=False,
        status=status,
        body=body,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        error=None if error is None else REDACTOR.text(error),
    )
    return [Sent(record, Answer.from_body(status, body) if status else Answer(None, error=error))]


def _logon(a: Asked) -> list[Sent]:
    wire = a.env.ws_wire.fork()
    try:
        return [wire.call("session.logon", api_key=a.creds.api_key, signer=a.creds.signer())]
    finally:
        wire.close()


def _short_key(a: Asked) -> list[Sent]:
    return _account(a, _signed(a, []), a.fake.pystr(min_chars=10, max_chars=10))


def _below_band(a: Asked) -> list[Sent]:
    """POST /api/v3/order/test (validated, never placed) of a bid at half the recipe's price:
    below PERCENT_PRICE_BY_SIDE's band, every other filter still met (twice the quantity keeps
    the notional; half a price far above minPrice stays above it)."""
    recipe = a.env.recipe
    assert recipe is not None  # noqa: S101 - asked only with a recipe (needs_recipe)
    price = Decimal(recipe.price)
    quantity = Decimal(recipe.quantity)
    params = [
        ("symbol", recipe.symbol),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", format(quantity * 2, "f")),
        ("price", format((price / 2).quantize(price, rounding=ROUND_DOWN), "f")),
    ]
    return [a.env.wire.call("testOrder", _signed(a, params), api_key=a.creds.api_key)]


def _rest(id: str, question: str, send: Callable[[Asked], list[Sent]]) -> OpenQuestion:
    return OpenQuestion(id, question, Transport.REST, send)


def _ws(id: str, question: str, send: Callable[[Asked], list[Sent]]) -> OpenQuestion:
    return OpenQuestion(id, question, Transport.WS_API, send)


QUESTIONS: tuple[OpenQuestion, ...] = (
    _rest("rest.missing_key_code", "GET /api/v3/account without X-MBX-APIKEY",
          lambda a: _account(a, _signed(a, []), key=False)),
    _rest("rest.short_key_code", "GET /api/v3/account with a 10-character API key", _short_key),
    _rest("rest.unknown_key_code", "GET /api/v3/account with an unknown 64-character API key",
          lambda a: _account(a, _signed(a, []), generate_api_key())),
    _rest("rest.timestamp_before_signature",
          "a wrong signature and a stale timestamp together: which is refused first",
          lambda a: _account(a, _signed(a, [], timestamp=a.env.clock.now_ms() - STALE_MS,
                                        signer=a.env.wrong_signer(a.creds.key_type)))),
    _rest("rest.recv_window_over_max_code", "recvWindow=60001 (-1131 or -1102?)",
          lambda a: _account(a, _signed(a, [("recvWindow", "60001")]))),
    _rest("rest.recv_window_max_inclusive", "recvWindow=60000: accepted?",
          lambda a: _account(a, _signed(a, [("recvWindow", "60000")]))),
    _rest("rest.accepts_microseconds", "a timestamp in microseconds: accepted?",
          lambda a: _account(a, _signed(a, [], timestamp=a.env.clock.now_ms() * 1000))),
    _rest("rest.missing_signature_code", "GET /api/v3/account with a valid key, no signature",
          lambda a: _account(a, _signed(a, [], sign=False))),
    _rest("rest.unknown_param_code", "GET /api/v3/account with a parameter it does not take",
          lambda a: _account(a, _signed(a, [("keyprobeUnknown", "1")]))),
    _rest("rest.removed_stream_status", "POST /api/v3/userDataStream (removed in 2026)",
          lambda a: [a.env.wire.call(REMOVED_STREAM, api_key=a.creds.api_key)]),
    # Not a setting: the surface (the emulator's flavor) decides it; kept so a testnet corpus
    # shows whether the testnet still serves no /sapi (binance-spot-auth.md "Open questions").
    _rest("surfaces.sapi_api_restrictions", "GET /sapi/v1/account/apiRestrictions (testnet: 404?)",
          lambda a: [a.env.wire.call("apiRestrictions", _signed(a, []), api_key=a.creds.api_key)]),
    OpenQuestion("orders.percent_price_by_side_name",
                 "order/test with a bid below PERCENT_PRICE_BY_SIDE's band: which filter name?",
                 Transport.REST, _below_band, permission=Permission.SPOT_AND_MARGIN_TRADING,
                 needs_recipe=True),
    OpenQuestion("ws.logon_refused_code", "session.logon with an HMAC key", Transport.WS_API,
                 _logon, key_type=KeyType.HMAC),
    _ws("ws.unknown_method_code", "an unknown WebSocket API method",
        lambda a: _ws_raw(a, "keyprobe.unknown", '{"id":"kp1","method":"keyprobe.unknown"}')),
    _ws("ws.malformed_request_code", "a frame that is not JSON",
        lambda a: _ws_raw(a, "(not JSON)", '{"id":"kp1","method":')),
    _ws("ws.bad_params_code", "params as an array, not an object",
        lambda a: _ws_raw(a, "time (params array)", '{"id":"kp1","method":"time","params":[]}')),
    _ws("ws.binary_frame_code", "a binary frame in a JSON session",
        lambda a: _ws_raw(a, "(binary frame)", b'{"id":"kp1","method":"time"}')),
)  # fmt: skip
BY_ID = {q.id: q for q in QUESTIONS}


def ask(question: OpenQuestion, env: SettleEnv, creds: Credentials, fake: Faker) -> list[Sent]:
    """Send ``question`` as ``creds``: its exchanges, already redacted."""
    return question.send(Asked(env, creds, fake))
