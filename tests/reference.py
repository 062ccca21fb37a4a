"""Binance's error answers as the reference states them, typed in by hand (issue 17): the
(HTTP status, code) pairs and their message templates. The tests check keyprobe's own
catalogue (``binance/errors.py``) and the emulator's answers against these; they must never be
derived from that catalogue. Change an entry only when the reference changes, and cite it.

Source: ``shared/reference/binance-spot-auth.md`` (AUTH below): §5.3 code table L354-390,
messages exact from D-ERR as quoted there (``%s`` = placeholder); §5.4 L399-405 for the
Matching-Engine strings of -2010/-2011.
"""

from __future__ import annotations

import re

# The Matching-Engine messages shared by -1010/-2010/-2011 (AUTH §5.4 L399-405).
MATCHING_ENGINE_MESSAGES: tuple[str, ...] = (
    "Unknown order sent.",
    "Duplicate order sent.",
    "Market is closed.",
    "Account has insufficient balance for requested action.",
    "Order would immediately match and take.",
    "Cancel order is invalid. Check origClOrdId and orderId.",
    "This action is disabled on this account.",
    "This account may not place or cancel orders.",
    "This symbol is not permitted for this account.",
    "This symbol is restricted for this account.",
    "Order was not canceled due to cancel restrictions.",
    "Rest API trading is not enabled.",
    "WebSocket API trading is not enabled.",
    "Price * QTY is zero or less.",
    "Unsupported order combination",
)

# (HTTP status, code) -> every message the code may carry with that status.
ANSWERS: dict[tuple[int, int], tuple[str, ...]] = {
    (401, -1002): ("You are not authorized to execute this request.",),  # L357
    # L358: "429 (weight) / 418 (ban)".
    (429, -1003): (
        "Too many requests queued.",
        "Too much request weight used; current limit is %s request weight per %s. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    ),
    (418, -1003): (
        "Way too much request weight used; IP banned until %s. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    ),
    (400, -1013): ("Filter failure: %s",),  # L360 "Filter failure: <NAME>"
    (400, -1014): ("Unsupported order combination.",),  # L361
    (429, -1015): (  # L362
        "Too many new orders.",
        "Too many new orders; current limit is %s orders per %s.",
    ),
    (400, -1021): (  # L363
        "Timestamp for this request is outside of the recvWindow.",
        "Timestamp for this request was 1000ms ahead of the server's time.",
    ),
    (400, -1022): ("Signature for this request is not valid.",),  # L364
    (400, -1100): (  # L366
        "Illegal characters found in a parameter.",
        "Illegal characters found in parameter '%s'; legal range is '%s'.",
    ),
    (400, -1101): (  # L367
        "Too many parameters sent for this endpoint.",
        "Too many parameters; expected '%s' and received '%s'.",
        "Duplicate values for a parameter detected.",
    ),
    (400, -1102): (  # L368
        "A mandatory parameter was not sent, was empty/null, or malformed.",
        "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
        "Param '%s' or '%s' must be sent, but both were empty/null!",
        "'%s' contains unexpected value. Cannot be greater than %s.",
    ),
    (400, -1104): (  # L369
        "Not all sent parameters were read.",
        "Not all sent parameters were read; read '%s' parameter(s) but was sent '%s'.",
    ),
    (400, -1105): ("A parameter was empty.", "Parameter '%s' was empty."),  # L370
    (400, -1106): (  # L371
        "A parameter was sent when not required.",
        "Parameter '%s' sent when not required.",
    ),
    (400, -1111): ("Parameter '%s' has too much precision.",),  # L372
    (400, -1114): ("TimeInForce parameter sent when not required.",),  # L373
    (400, -1115): ("Invalid timeInForce.",),  # L374
    (400, -1116): ("Invalid orderType.",),  # L375
    (400, -1117): ("Invalid side.",),  # L376
    (400, -1121): ("Invalid symbol.",),  # L377
    (400, -1125): ("This listenKey does not exist.",),  # L378
    (400, -1131): ("recvWindow must be less than 60000",),  # L379
    # L380 quotes it with Markdown backticks around the names: formatting, not message text.
    (400, -1145): ("cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.",),
    (400, -1194): ("Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",),
    (400, -2010): MATCHING_ENGINE_MESSAGES,  # L383
    (400, -2011): MATCHING_ENGINE_MESSAGES,  # L384
    (400, -2013): ("Order does not exist.",),  # L385
    (401, -2014): ("API-key format invalid.",),  # L386
    (401, -2015): ("Invalid API-key, IP, or permissions for action.",),  # L387
    # L388: 409 partial / 400 full failure. The reference prints the partial one without a
    # final period and the full one with it; either spelling of the first is accepted.
    (409, -2021): (
        "Order cancel-replace partially failed",
        "Order cancel-replace partially failed.",
    ),
    (400, -2022): ("Order cancel-replace failed.",),
    (400, -2026): (  # L389
        "Order was canceled or expired with no executed qty over 90 days ago and has been "
        "archived.",
    ),
    (400, -2039): ("Client order ID is not correct for this order ID.",),  # L390
}

# The WebSocket API's own codes (``shared/reference/binance-ws-api.md``, WS below): §5 L244-253,
# tagged [DOC D-ERR] there. -1135's second message is D-ERR's parameter variant; the reference
# names -2035/-2036/-2042 with their D-ERR names (L253) but does not quote their messages: the
# texts below are D-ERR's as keyprobe's emulator sends them, to be pinned by a recorded run.
ANSWERS.update(
    {
        (400, -1020): ("This operation is not supported.",),  # WS L246
        (400, -1135): (  # WS L245
            "Invalid JSON Request",
            "JSON sent for parameter '%s' is not valid",
        ),
        (400, -2035): ("User Data Stream subscription already active.",),  # WS L253 (name)
        (400, -2036): ("User Data Stream subscription not active.",),  # WS L253 (name)
        (400, -2042): ("Maximum subscription ID reached for this connection.",),  # WS L253
    }
)

# The families beyond spot (``shared/reference/binance-permissions-beyond-spot.md``, BEYOND):
# its §7 table, statuses "400" as it gives them (L335, L340-342).
BEYOND_ANSWERS: dict[tuple[int, int], tuple[str, ...]] = {
    # L335 (observed live on fapi order/test).
    (400, -4164): ("Order's notional must be no smaller than 5 (unless you choose reduce only).",),
    (400, -3015): ("Repay amount exceeds borrow amount.",),  # L340, L192
    # L341 (observed: a master on a sub-only endpoint); L234 the emulator's default for the
    # other direction, "exact text UNC".
    (400, -12022): (
        "This endpoint is allowed to request from sub account only",
        "This endpoint is allowed to request from master account only",
    ),
    (400, -8012): ("Sub-account function is not enabled.",),  # L342
}
ANSWERS.update(BEYOND_ANSWERS)
# L331: /fapi's -2015 text 2022-25, "none" (no period, 69 bytes: L69).
ANSWERS[(401, -2015)] = (
    "Invalid API-key, IP, or permissions for action.",
    "Invalid API-key, IP, or permissions for action",
)

# Codes whose messages are a family: keyprobe's catalogue may keep a subset of them.
FAMILY_CODES = frozenset({-1013, -2010, -2011, -2021})

# Server-side failures: "5XX" (L356 -1000 "5XX/400?", L359 -1007 "5XX"), status not exact.
SERVER_ERRORS: dict[int, str] = {
    -1000: "An unknown error occurred while processing the request.",
    -1007: "Timeout waiting for response from backend server. "
    "Send status unknown; execution status unknown.",
}

# SAPI's unknown key (L382): the message is observed, the HTTP status is "UNC".
SAPI_UNKNOWN_KEY = (-2008, "Invalid Api-Key ID.")


def template_regex(template: str) -> re.Pattern[str]:
    """A message template as a regex: each ``%s`` matches anything."""
    return re.compile(".*?".join(re.escape(part) for part in template.split("%s")), re.DOTALL)


def fits(
    code: int, status: int, msg: str, answers: dict[tuple[int, int], tuple[str, ...]] | None = None
) -> bool:
    """Whether ``msg`` is one of the messages for ``(status, code)`` (the reference's, or
    those of ``answers``)."""
    table = ANSWERS if answers is None else answers
    return any(template_regex(t).fullmatch(msg) for t in table.get((status, code), ()))
