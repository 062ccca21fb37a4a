"""Binance's error catalogue: every code the emulator emits or the harness expects, its exact
message template(s), HTTP status (reference §5.3/§5.4) and family (beyond spot: errors_families).
``binance/outcome.py``'s ``Outcome``, the ``(status, code, message)`` both sides speak, asks it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from keyprobe.binance.errors_families import FAMILY_ERRORS


class Family(StrEnum):
    """What kind of answer a code is. Verdicts and reports ask the catalogue, not code lists."""

    # The auth pipeline refused the request (key, IP, signature, permission).
    AUTH = "auth"
    # The timestamp check refused it (recvWindow, ahead of the server).
    CLOCK = "clock"
    # Request weight, order count or an IP ban.
    RATE_LIMIT = "rate_limit"
    # Parameter syntax, checked before (and independently of) the key's permissions.
    REQUEST = "request"
    # A business answer: it can only come after authentication and authorization succeeded.
    BUSINESS = "business"
    # The server failed; execution status unknown.
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One Binance error code: its name, HTTP status, family and message templates (``%s``)."""

    code: int
    name: str
    status: int
    family: Family
    messages: tuple[str, ...]


class BinanceError(Exception):
    """A Binance-shaped rejection: ``{"code": N, "msg": "..."}`` with an HTTP status."""

    def __init__(self, status: int, code: int, msg: str, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after

    def body(self) -> bytes:
        """The compact wire body, ``code`` first, no spaces — byte-for-byte what Binance sends."""
        return json.dumps(
            {"code": self.code, "msg": self.msg}, separators=(",", ":"), ensure_ascii=False
        ).encode()


def _spec(code: int, name: str, status: int, family: Family, *messages: str) -> ErrorSpec:
    return ErrorSpec(code, name, status, family, messages)


F = Family


# Statuses: 401 for -2014/-2015/-1002 and 400 for -1021/-1022/-2010/-2011 are observed or
# documented; the other 4xx are the generic "sender's fault" rule (reference §5.3, INF).
CATALOGUE: dict[int, ErrorSpec] = {
    s.code: s
    for s in (
        _spec(
            -1000,
            "UNKNOWN",
            500,
            F.SERVER,
            "An unknown error occurred while processing the request.",
        ),
        _spec(
            -1002, "UNAUTHORIZED", 401, F.AUTH, "You are not authorized to execute this request."
        ),
        _spec(
            -1003,
            "TOO_MANY_REQUESTS",
            429,
            F.RATE_LIMIT,
            "Too many requests queued.",
            "Too much request weight used; current limit is %s request weight per %s. "
            "Please use WebSocket Streams for live updates to avoid polling the API.",
            "Way too much request weight used; IP banned until %s. "
            "Please use WebSocket Streams for live updates to avoid bans.",
        ),
        _spec(
            -1007,
            "TIMEOUT",
            504,
            F.SERVER,
            "Timeout waiting for response from backend server. "
            "Send status unknown; execution status unknown.",
        ),
        _spec(-1020, "UNSUPPORTED_OPERATION", 400, F.REQUEST, "This operation is not supported."),
        _spec(-1013, "INVALID_MESSAGE", 400, F.BUSINESS, "Filter failure: %s"),
        _spec(-1014, "UNKNOWN_ORDER_COMPOSITION", 400, F.REQUEST, "Unsupported order combination."),
        _spec(
            -1015,
            "TOO_MANY_ORDERS",
            429,
            F.RATE_LIMIT,
            "Too many new orders.",
            "Too many new orders; current limit is %s orders per %s.",
        ),
        _spec(
            -1021,
            "INVALID_TIMESTAMP",
            400,
            F.CLOCK,
            "Timestamp for this request is outside of the recvWindow.",
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ),
        _spec(-1022, "INVALID_SIGNATURE", 400, F.AUTH, "Signature for this request is not valid."),
        _spec(
            -1100,
            "ILLEGAL_CHARS",
            400,
            F.REQUEST,
            "Illegal characters found in a parameter.",
            "Illegal characters found in parameter '%s'; legal range is '%s'.",
        ),
        _spec(
            -1101,
            "TOO_MANY_PARAMETERS",
            400,
            F.REQUEST,
            "Too many parameters sent for this endpoint.",
            "Too many parameters; expected '%s' and received '%s'.",
            "Duplicate values for a parameter detected.",
        ),
        _spec(
            -1102,
            "MANDATORY_PARAM_EMPTY_OR_MALFORMED",
            400,
            F.REQUEST,
            "A mandatory parameter was not sent, was empty/null, or malformed.",
            "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
            "Param '%s' or '%s' must be sent, but both were empty/null!",
            "'%s' contains unexpected value. Cannot be greater than %s.",
        ),
        _spec(
            -1104,
            "UNREAD_PARAMETERS",
            400,
            F.REQUEST,
            "Not all sent parameters were read.",
            "Not all sent parameters were read; read '%s' parameter(s) but was sent '%s'.",
        ),
        _spec(
            -1105,
            "PARAM_EMPTY",
            400,
            F.REQUEST,
            "A parameter was empty.",
            "Parameter '%s' was empty.",
        ),
        _spec(
            -1106,
            "PARAM_NOT_REQUIRED",
            400,
            F.REQUEST,
            "A parameter was sent when not required.",
            "Parameter '%s' sent when not required.",
        ),
        _spec(-1111, "BAD_PRECISION", 400, F.REQUEST, "Parameter '%s' has too much precision."),
        _spec(
            -1114,
            "TIF_NOT_REQUIRED",
            400,
            F.REQUEST,
            "TimeInForce parameter sent when not required.",
        ),
        _spec(-1115, "INVALID_TIF", 400, F.REQUEST, "Invalid timeInForce."),
        _spec(-1116, "INVALID_ORDER_TYPE", 400, F.REQUEST, "Invalid orderType."),
        _spec(-1117, "INVALID_SIDE", 400, F.REQUEST, "Invalid side."),
        _spec(-1121, "BAD_SYMBOL", 400, F.REQUEST, "Invalid symbol."),
        _spec(-1125, "INVALID_LISTEN_KEY", 400, F.REQUEST, "This listenKey does not exist."),
        _spec(-1131, "BAD_RECV_WINDOW", 400, F.REQUEST, "recvWindow must be less than 60000"),
        _spec(
            -1135,
            "INVALID_JSON",
            400,
            F.REQUEST,
            "Invalid JSON Request",
            "JSON sent for parameter '%s' is not valid",
        ),
        _spec(
            -1145,
            "INVALID_CANCEL_RESTRICTIONS",
            400,
            F.REQUEST,
            "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.",
        ),
        _spec(
            -1194,
            "INVALID_TIME_UNIT",
            400,
            F.REQUEST,
            "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",
        ),
        # SAPI only, absent from the spot errors.md; the HTTP status is not documented.
        _spec(-2008, "INVALID_API_KEY_ID", 401, F.AUTH, "Invalid Api-Key ID."),
        _spec(
            -2010,
            "NEW_ORDER_REJECTED",
            400,
            F.BUSINESS,
            "Account has insufficient balance for requested action.",
            "Duplicate order sent.",
            "Order would immediately match and take.",
            "Market is closed.",
            "Price * QTY is zero or less.",
        ),
        _spec(
            -2011,
            "CANCEL_REJECTED",
            400,
            F.BUSINESS,
            "Unknown order sent.",
            "Order was not canceled due to cancel restrictions.",
        ),
        _spec(-2013, "NO_SUCH_ORDER", 400, F.BUSINESS, "Order does not exist."),
        _spec(-2014, "BAD_API_KEY_FMT", 401, F.AUTH, "API-key format invalid."),
        _spec(
            -2015,
            "REJECTED_MBX_KEY",
            401,
            F.AUTH,
            "Invalid API-key, IP, or permissions for action.",
            "Invalid API-key, IP, or permissions for action",  # /fapi 2022-25 (beyond §1.2)
        ),
        _spec(
            -2021,
            "CANCEL_REPLACE_PARTIAL",
            409,
            F.BUSINESS,
            "Order cancel-replace partially failed.",
        ),
        _spec(-2022, "CANCEL_REPLACE_FAILED", 400, F.BUSINESS, "Order cancel-replace failed."),
        _spec(
            -2026,
            "ORDER_ARCHIVED",
            400,
            F.BUSINESS,
            "Order was canceled or expired with no executed qty over 90 days ago "
            "and has been archived.",
        ),
        # User data stream subscriptions over the WebSocket API (which method raises which: INF).
        _spec(
            -2035,
            "SUBSCRIPTION_ACTIVE",
            400,
            F.BUSINESS,
            "User Data Stream subscription already active.",
        ),
        _spec(
            -2036,
            "SUBSCRIPTION_INACTIVE",
            400,
            F.BUSINESS,
            "User Data Stream subscription not active.",
        ),
        _spec(
            -2042,
            "MAXIMUM_SUBSCRIPTION_IDS",
            400,
            F.BUSINESS,
            "Maximum subscription ID reached for this connection.",
        ),
        _spec(
            -2039,
            "CLIENT_ORDER_ID_INVALID",
            400,
            F.BUSINESS,
            "Client order ID is not correct for this order ID.",
        ),
    )
}

CATALOGUE.update({r[0]: _spec(r[0], r[1], r[2], Family(r[3]), *r[4]) for r in FAMILY_ERRORS})


def error(code: int, variant: int = 0, *args: object) -> BinanceError:
    """Build the error ``code`` with message template ``variant`` filled with ``args``."""
    spec = CATALOGUE[code]
    template = spec.messages[variant]
    msg = template % args if args else template
    return BinanceError(spec.status, code, msg)


def message(code: int, variant: int = 0) -> str:
    """The exact message template of ``code`` (for harness expectations)."""
    return CATALOGUE[code].messages[variant]


# The errors the emulator and harness name most, spelled once.
def bad_api_key_format() -> BinanceError:
    return error(-2014)


def rejected_api_key() -> BinanceError:
    return error(-2015)


def invalid_signature() -> BinanceError:
    return error(-1022)


def timestamp_outside_recv_window() -> BinanceError:
    return error(-1021, 0)


def timestamp_ahead() -> BinanceError:
    return error(-1021, 1)


def unauthorized() -> BinanceError:
    return error(-1002)


def mandatory_missing(param: str) -> BinanceError:
    return error(-1102, 1, param)


def one_of_missing(first: str, second: str) -> BinanceError:
    return error(-1102, 2, first, second)


def value_too_large(param: str, maximum: object) -> BinanceError:
    return error(-1102, 3, param, maximum)


def illegal_chars(param: str, legal_range: str) -> BinanceError:
    return error(-1100, 1, param, legal_range)


def duplicate_parameter() -> BinanceError:
    return error(-1101, 2)


def unread_parameters(read: int, sent: int) -> BinanceError:
    return error(-1104, 1, read, sent)


def param_empty(param: str) -> BinanceError:
    return error(-1105, 1, param)


def param_not_required(param: str) -> BinanceError:
    return error(-1106, 1, param)


def too_much_precision(param: str) -> BinanceError:
    return error(-1111, 0, param)


def bad_symbol() -> BinanceError:
    return error(-1121)


def filter_failure(filter_name: str) -> BinanceError:
    return error(-1013, 0, filter_name)


def insufficient_balance() -> BinanceError:
    return error(-2010, 0)


def duplicate_order() -> BinanceError:
    return error(-2010, 1)


def would_take() -> BinanceError:
    return error(-2010, 2)


def unknown_order() -> BinanceError:
    return error(-2011, 0)


def no_such_order() -> BinanceError:
    return error(-2013)


def too_much_weight(limit: int, interval: str) -> BinanceError:
    return error(-1003, 1, limit, interval)


def ip_banned(until_ms: int) -> BinanceError:
    return error(-1003, 2, until_ms)


def too_many_orders(limit: int, interval: str) -> BinanceError:
    return error(-1015, 1, limit, interval)
