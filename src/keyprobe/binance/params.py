"""The parameter vocabulary of the wire contract: the syntax each value must have (with the
legal-range regexes Binance prints in -1100 messages), a parameter's declaration, and the enum
values order parameters take (reference §7; Binance's OpenAPI spec)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The syntax a parameter value must have; each maps to Binance's legal-range regex."""

    STRING = "STRING"
    SYMBOL = "SYMBOL"
    DECIMAL = "DECIMAL"
    LONG = "LONG"
    INT = "INT"
    BOOL = "BOOL"
    ENUM = "ENUM"
    CLIENT_ID = "CLIENT_ID"
    RECV_WINDOW = "RECV_WINDOW"


# Legal ranges as Binance prints them in -1100 messages (reference §7).
DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
LONG_RANGE = "^[0-9]{1,20}$"
CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"
SYMBOL_RANGE = "^[A-Z0-9-_.]{1,20}$"

LEGAL_RANGE: dict[Kind, str] = {
    Kind.DECIMAL: DECIMAL_RANGE,
    Kind.LONG: LONG_RANGE,
    Kind.INT: LONG_RANGE,
    Kind.CLIENT_ID: CLIENT_ID_RANGE,
    Kind.RECV_WINDOW: DECIMAL_RANGE,
    Kind.SYMBOL: SYMBOL_RANGE,
}

PATTERN: dict[Kind, re.Pattern[str]] = {
    Kind.DECIMAL: re.compile(r"([0-9]{1,20})(\.[0-9]{1,20})?"),
    Kind.LONG: re.compile(r"[0-9]{1,20}"),
    Kind.INT: re.compile(r"[0-9]{1,20}"),
    Kind.CLIENT_ID: re.compile(r"[a-zA-Z0-9\-_]{1,36}"),
    Kind.RECV_WINDOW: re.compile(r"([0-9]{1,20})(\.[0-9]{1,20})?"),
    # Upper-case letters, digits, - _ . and, since 2025-12, non-ASCII letters (这是测试币456).
    Kind.SYMBOL: re.compile(r"[A-Z0-9\-_.\u0080-\U0010ffff]{1,20}"),
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind = Kind.STRING
    required: bool = False
    choices: tuple[str, ...] = ()


SIDES = ("BUY", "SELL")
ORDER_TYPES = (
    "LIMIT",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
    "LIMIT_MAKER",
)
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")
# The modes the emulator accepts and advertises (allowedSelfTradePreventionModes), in the order
# its -1100 legal range lists them. TRANSFER is not in the reference (openapi
# selfTradePreventionMode); DECREMENT is a documented mode the reference's enum predates.
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT")
CANCEL_RESTRICTIONS = ("ONLY_NEW", "ONLY_PARTIALLY_FILLED")
CANCEL_REPLACE_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
