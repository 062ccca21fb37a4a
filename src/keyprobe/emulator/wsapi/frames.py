"""WebSocket API framing: a request text frame in, ``{id, status, result|error, rateLimits}``
out (reference §1.3, §1.4), and the conversion of JSON param values to the strings the shared
REST validators and the engine take."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from keyprobe.binance.errors import BinanceError


class NumberText(str):
    """A JSON number kept as its literal text (``0.00100``, ``1e-05``): the signed payload is
    rebuilt from the values as sent, so ``1.0`` must not become ``1``."""

    __slots__ = ()


class _Dict(dict[str, Any]):
    """A JSON object that remembers whether a key appeared twice."""

    __slots__ = ("duplicate",)
    duplicate: bool


def _pairs(pairs: list[tuple[str, Any]]) -> _Dict:
    obj = _Dict(pairs)
    obj.duplicate = len(obj) != len(pairs)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs,
    parse_float=NumberText,
    parse_int=NumberText,
    parse_constant=_no_constant,
)

# A request id is echoed as it came; JSON numbers are kept as literals while parsing.
RequestId = str | int | float | None


class FrameError(Exception):
    """A request that cannot be answered as a request: the error goes out with ``id``."""

    def __init__(self, request_id: RequestId, error: BinanceError) -> None:
        super().__init__(error.msg)
        self.request_id = request_id
        self.error = error


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    method: str
    # Each value as a string, the way the REST validators read them.
    params: dict[str, str]
    # Names whose JSON value was a boolean (python-binance signs them ``True``/``False``).
    booleans: frozenset[str]
    # The params object had a key twice.
    duplicate: bool


def _echo_id(value: Any) -> RequestId:
    if isinstance(value, NumberText):
        try:
            return int(value)
        except ValueError:
            return float(value)
    if isinstance(value, str):
        return value
    return None


def param_text(value: Any) -> str:
    """A param's JSON value as the string the REST pipeline reads (and the WS payload signs):
    strings as they are, numbers by their literal text, booleans ``true``/``false``, arrays
    and objects as compact JSON (``symbols=["BTCUSDT","BNBUSDT"]``), null as empty."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse(text: str, malformed_code: int, bad_params_code: int) -> Request:
    """One request frame. Raises ``FrameError`` (id null when the id cannot be read)."""

    def fail(request_id: RequestId, code: int, msg: str) -> FrameError:
        return FrameError(request_id, BinanceError(400, code, msg))

    try:
        frame = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise fail(None, malformed_code, "Malformed request: not valid JSON.") from None
    if not isinstance(frame, dict):
        raise fail(None, malformed_code, "Malformed request: expected a JSON object.")
    if "id" not in frame:
        raise fail(None, malformed_code, "Malformed request: missing 'id'.")
    raw_id = frame["id"]
    if isinstance(raw_id, dict | list | bool):
        raise fail(
            None, malformed_code, "Malformed request: 'id' must be a string, number or null."
        )
    request_id = _echo_id(raw_id)
    method = frame.get("method")
    if not isinstance(method, str) or isinstance(method, NumberText) or not method:
        raise fail(request_id, malformed_code, "Malformed request: missing 'method'.")
    params = frame.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise fail(
            request_id, bad_params_code, "Invalid 'params' in JSON request; expected an object."
        )
    booleans = frozenset(k for k, v in params.items() if isinstance(v, bool))
    return Request(
        request_id,
        method,
        {k: param_text(v) for k, v in params.items()},
        booleans,
        bool(getattr(params, "duplicate", False)),
    )


def encode(payload: Any) -> str:
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def success(request_id: RequestId, result: Any, rate_limits: list[dict[str, Any]] | None) -> str:
    frame: dict[str, Any] = {"id": request_id, "status": 200, "result": result}
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return encode(frame)


def failure(
    request_id: RequestId,
    status: int,
    error: dict[str, Any],
    rate_limits: list[dict[str, Any]] | None,
) -> str:
    frame: dict[str, Any] = {"id": request_id, "status": status, "error": error}
    if rate_limits is not None:
        frame["rateLimits"] = rate_limits
    return encode(frame)


def error_body(exc: BinanceError, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
    if data is not None:
        body["data"] = data
    return body


def event(subscription_id: int, payload: dict[str, Any]) -> str:
    return encode({"subscriptionId": subscription_id, "event": payload})
