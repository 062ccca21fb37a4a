"""What every answer of the emulator must look like, whatever it was sent (issue 5): shared by
the spec-driven fuzzing, the hand-written hostile requests and the concurrency tests."""

from __future__ import annotations

import json
import re

import httpx

from keyprobe.binance.errors import CATALOGUE
from keyprobe.binance.permissions import Permission
from keyprobe.emulator.ratelimit import RateLimits, Window

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


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in template.split("%s")), re.DOTALL)


_TEMPLATES: dict[int, list[re.Pattern[str]]] = {
    code: [_template_regex(t) for t in spec.messages] for code, spec in CATALOGUE.items()
}


def problems(response: httpx.Response, *, http_layer_ok: bool = False) -> list[str]:
    """Everything wrong with one answer; empty when it is acceptable.

    Acceptable: a 2xx JSON answer; a bare 404/405/413 with an empty body; a Binance error
    (compact ``{"code":N,"msg":"..."}``, the catalogue's status for N, a message that fits one
    of N's templates); cancelReplace's 400/409 with ``data``. With ``http_layer_ok`` a 4xx that
    the HTTP server itself produced (uvicorn's plain-text 400 for an unparsable request) is
    acceptable too. Never a 5xx, never a traceback."""
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
    spec = CATALOGUE.get(code)
    if spec is None:
        return [*found, f"code {code} is not in the catalogue"]
    if spec.status != status:
        found.append(f"code {code} came with {status}, the catalogue says {spec.status}")
    msg = payload.get("msg")
    if not isinstance(msg, str) or not any(t.fullmatch(msg) for t in _TEMPLATES[code]):
        found.append(f"code {code}: message {msg!r} fits none of its templates")
    return found


def assert_acceptable(response: httpx.Response, *, http_layer_ok: bool = False) -> None:
    found = problems(response, http_layer_ok=http_layer_ok)
    request = response.request
    assert not found, f"{request.method} {str(request.url)[:300]}: {found}"
