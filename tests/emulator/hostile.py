"""What every answer of the emulator must look like, whatever it was sent (issue 5): shared by
the spec-driven fuzzing, the hand-written hostile requests and the concurrency tests."""

from __future__ import annotations

import json

import httpx

from keyprobe.binance.permissions import Permission
from keyprobe.emulator.ratelimit import RateLimits, Window
from tests.reference import ANSWERS, SAPI_UNKNOWN_KEY, fits

JSON_TYPE = "application/json;charset=UTF-8"
# What a front end may answer on its own, before the API sees the request: no body at all.
BARE_STATUSES = frozenset({404, 405, 413})
# cancelReplace reports a failed half in ``data`` with 400 -2022 or 409 -2021.
CANCEL_REPLACE_CODES = frozenset({-2021, -2022})
ALL_PERMISSIONS = tuple(p.value for p in Permission)
# Limits nobody reaches in a test: rate limiting is not what these tests are about.
GENEROUS = RateLimits(
    request_weight=Window(10**9, 1, "M"),
    raw_requests=Window(10**9, 5, "M"),
    orders=(Window(10**9, 10, "S"), Window(10**9, 1, "D")),
)


# The legal (status, code) pairs and their messages are the reference's, typed in by hand
# (tests/reference.py), never keyprobe's own catalogue: a checker that accepts whatever
# binance/errors.py says would accept a wrong status the day the catalogue has one.
LEGAL: dict[tuple[int, int], tuple[str, ...]] = {
    **ANSWERS,
    # The reference has no status for SAPI's unknown key (AUTH L382, "UNC"); keyprobe sends
    # 401 like every other key refusal the reference does know (AUTH §5.2 L346).
    (401, SAPI_UNKNOWN_KEY[0]): (SAPI_UNKNOWN_KEY[1],),
}


def problems(response: httpx.Response, *, http_layer_ok: bool = False) -> list[str]:
    """Everything wrong with one answer; empty when it is acceptable.

    Acceptable: a 2xx JSON answer; a bare 404/405/413 with an empty body; a Binance error
    (compact ``{"code":N,"msg":"..."}``, a (status, N) pair the reference names and a message
    that fits one of its templates); cancelReplace's 400/409 with ``data``. With
    ``http_layer_ok`` a 4xx that the HTTP server itself produced (uvicorn's plain-text 400 for
    an unparsable request) is acceptable too. Never a 5xx, never a traceback."""
    status, body = response.status_code, response.content
    ctype = response.headers.get("content-type", "")
    found: list[str] = []
    if status >= 500:
        found.append(f"server error {status}")
    if b"Traceback" in body or b'File "' in body:
        found.append("traceback in the body")
    if 200 <= status < 300:
        if ctype != JSON_TYPE:
            found.append(f"2xx with content-type {ctype!r}")
        else:
            try:
                json.loads(body)
            except ValueError:
                found.append("2xx body is not JSON")
        return found
    if status in BARE_STATUSES and body == b"":
        return found
    if ctype != JSON_TYPE:
        if http_layer_ok and 400 <= status < 500 and not ctype.startswith("application/json"):
            return found
        found.append(f"{status} with content-type {ctype!r} and body {body[:200]!r}")
        return found
    try:
        payload = json.loads(body)
    except ValueError:
        return [*found, f"{status} body is not JSON: {body[:200]!r}"]
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), int):
        return [*found, f"{status} body is not Binance-shaped: {body[:200]!r}"]
    code = payload["code"]
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if compact != body:
        found.append(f"body is not compact JSON: {body[:200]!r}")
    keys = list(payload)
    if code in CANCEL_REPLACE_CODES and keys == ["code", "msg", "data"]:
        pass
    elif keys != ["code", "msg"]:
        found.append(f"unexpected keys {keys}")
    statuses = sorted(s for s, c in LEGAL if c == code)
    if not statuses:
        return [*found, f"code {code} is not a code the reference names"]
    if (status, code) not in LEGAL:
        found.append(f"code {code} came with {status}, the reference says {statuses}")
        return found
    msg = payload.get("msg")
    if not isinstance(msg, str) or not fits(code, status, msg, LEGAL):
        found.append(f"code {code}: message {msg!r} fits none of its templates")
    return found


def assert_acceptable(response: httpx.Response, *, http_layer_ok: bool = False) -> None:
    found = problems(response, http_layer_ok=http_layer_ok)
    request = response.request
    assert not found, f"{request.method} {str(request.url)[:300]}: {found}"
