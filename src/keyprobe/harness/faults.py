"""The deliberate faults of the auth probes, each defined once: what it gets wrong in the
request, and where in Binance's auth pipeline (reference §5.5) that is refused. The probe
catalogue names them, a check applies them, expectations ask them what to expect."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
from typing import Protocol

from keyprobe.binance.errors import message
from keyprobe.binance.outcome import Outcome
from keyprobe.binance.signing import KeyType, MaskedRepr, Signer, generate_api_key
from keyprobe.binance.unsettled import refusal
from keyprobe.harness.targets import Transport

# How far the deliberately wrong timestamps are off: well beyond any offset error.
FUTURE_SHIFT_MS = 5_000
STALE_MARGIN_MS = 5_000
DEFAULT_RECV_WINDOW_MS = 5_000


class Stage(IntEnum):
    """The checks of a signed request, in the order Binance makes them (reference §5.5): the
    first that fails decides the answer."""

    KEY_HEADER = 1
    KEY_FORMAT = 2
    KEY_EXISTS = 3
    SOURCE_ADDRESS = 4
    TIMESTAMP = 5
    SIGNATURE = 6
    PERMISSION = 7


class Fault(StrEnum):
    """The one thing an auth probe gets wrong on purpose (reference §5.5: one at a time)."""

    NONE = "none"
    NO_KEY_HEADER = "no_key_header"
    MALFORMED_KEY = "malformed_key"
    UNKNOWN_KEY = "unknown_key"
    WRONG_SECRET = "wrong_secret"  # noqa: S105 - a fault's name, not a password
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    FOREIGN_ADDRESS = "foreign_address"


@dataclass(frozen=True, slots=True, repr=False)
class Send(MaskedRepr):  # holds the API key sent
    """How one request goes out as a profile: the key header (None: no header), the signer,
    the source address and a deliberate timestamp shift."""

    api_key: str | None
    signer: Signer
    source: str | None
    shift_ms: int = 0


class FaultTools(Protocol):
    """What applying a fault may need from the run."""

    @property
    def foreign_address(self) -> str | None: ...

    @property
    def recv_window_ms(self) -> int: ...

    def wrong_signer(self, key_type: KeyType) -> Signer: ...


@dataclass(frozen=True, slots=True)
class FaultSpec:
    fault: Fault
    # The auth probe that makes this fault, and what it does wrong (its description).
    probe: str
    description: str
    stage: Stage
    apply: Callable[[Send, KeyType, FaultTools], Send]
    # A refusal decided at ``stage`` whatever the key: the answer and why. Faults without one
    # (a swapped key, another source address) are judged by what the key then is.
    refusal: Outcome | None = None
    why: str = ""
    # Where the WebSocket API refuses the fault otherwise (apiKey is a param there, not a
    # header); None: as over REST.
    ws_refusal: Outcome | None = None
    ws_why: str = ""

    def refusal_over(self, transport: Transport) -> tuple[Outcome | None, str]:
        if transport is Transport.WS_API and self.ws_refusal is not None:
            return self.ws_refusal, self.ws_why
        return self.refusal, self.why


def malformed_api_key() -> str:
    """An ``X-MBX-APIKEY`` value no exchange accepts as a key: too short and with characters
    that never occur in Binance keys (reference §5.5: "wrong length/chars")."""
    return "not-a-key-" + secrets.token_hex(4)


def _stale(send: Send, _key_type: KeyType, tools: FaultTools) -> Send:
    return replace(send, shift_ms=-(tools.recv_window_ms + STALE_MARGIN_MS))


FAULTS: dict[Fault, FaultSpec] = {
    s.fault: s
    for s in (
        FaultSpec(
            Fault.NO_KEY_HEADER,
            "missing_key_header",
            "signed request without X-MBX-APIKEY",
            Stage.KEY_HEADER,
            lambda send, _t, _tools: replace(send, api_key=None),
            refusal("rest.missing_key_code"),
            "no X-MBX-APIKEY header",
            # Over the WebSocket API the key is the mandatory apiKey param (reference
            # binance-ws-api.md §2.1): a syntax error, checked before any key lookup.
            Outcome(400, -1102, message(-1102, 1) % "apiKey"),
            "no apiKey param",
        ),
        FaultSpec(
            Fault.MALFORMED_KEY,
            "malformed_key",
            "X-MBX-APIKEY of the wrong shape",
            Stage.KEY_FORMAT,
            lambda send, _t, _tools: replace(send, api_key=malformed_api_key()),
        ),
        FaultSpec(
            Fault.UNKNOWN_KEY,
            "unknown_key",
            "a well-formed key the target does not know",
            Stage.KEY_EXISTS,
            lambda send, _t, _tools: replace(send, api_key=generate_api_key()),
        ),
        FaultSpec(
            Fault.WRONG_SECRET,
            "wrong_secret",
            "signed with a different secret / private key",
            Stage.SIGNATURE,
            lambda send, key_type, tools: replace(send, signer=tools.wrong_signer(key_type)),
            Outcome(400, -1022, message(-1022)),
            "signed with the wrong secret",
        ),
        FaultSpec(
            Fault.STALE_TIMESTAMP,
            "stale_timestamp",
            "timestamp older than recvWindow",
            Stage.TIMESTAMP,
            _stale,
            Outcome(400, -1021, message(-1021, 0)),
            "timestamp older than recvWindow",
        ),
        FaultSpec(
            Fault.FUTURE_TIMESTAMP,
            "future_timestamp",
            "timestamp 1000 ms or more ahead",
            Stage.TIMESTAMP,
            lambda send, _t, _tools: replace(send, shift_ms=FUTURE_SHIFT_MS),
            Outcome(400, -1021, message(-1021, 1)),
            "timestamp ahead of the server",
        ),
        FaultSpec(
            Fault.FOREIGN_ADDRESS,
            "foreign_address",
            "sent from another source address (refused when the key is IP-bound)",
            Stage.SOURCE_ADDRESS,
            lambda send, _t, tools: replace(send, source=tools.foreign_address),
        ),
    )
}


def apply(fault: Fault, send: Send, key_type: KeyType, tools: FaultTools) -> Send:
    """``send`` with ``fault`` made (unchanged for ``Fault.NONE``)."""
    spec = FAULTS.get(fault)
    return send if spec is None else spec.apply(send, key_type, tools)
