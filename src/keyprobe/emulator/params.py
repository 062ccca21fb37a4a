"""Parameter parsing as Binance does it: query string and form body read from the raw wire,
query winning over body, and the generic syntax checks that come before authentication."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import unquote_to_bytes

from keyprobe.binance import errors
from keyprobe.binance.endpoints import Endpoint
from keyprobe.binance.params import LEGAL_RANGE, PATTERN
from keyprobe.emulator.rest_settings import RestSettings

MAX_RECV_WINDOW = 60_000
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class RawRequest:
    """What arrived: the raw query and body bytes plus the body's content type."""

    query: bytes
    body: bytes
    content_type: str


def _decode(raw: bytes) -> str:
    # Form decoding: '+' is a space, then %XX as UTF-8. Invalid UTF-8 is an illegal character.
    try:
        if b"%" not in raw and b"+" not in raw:
            return raw.decode("utf-8")  # most names and values: skip unquoting (~1 us each)
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.error(-1100, 0) from None


def parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        pairs.append((_decode(name), _decode(value)))
    return pairs


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name in seen:
            raise errors.duplicate_parameter()
        seen[name] = value
    return seen


def body_is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE


def collect(raw: RawRequest) -> dict[str, str]:
    """All parameters of the request. JSON (or any non-form) bodies are not read at all, as at
    Binance, so a client that POSTs JSON gets "Mandatory parameter 'timestamp' ..."."""
    params = _single(parse_pairs(raw.query))
    if raw.body and body_is_form(raw.content_type):
        for name, value in _single(parse_pairs(raw.body)).items():
            params.setdefault(name, value)  # "the query string parameter will be used"
    return params


@dataclass(frozen=True, slots=True)
class Parsed:
    """A request's parameters, parsed once; a parse failure is kept until the pipeline
    reaches the parameter stage (key checks come first)."""

    params: dict[str, str]
    error: errors.BinanceError | None = None

    def get(self) -> dict[str, str]:
        if self.error is not None:
            raise self.error
        return self.params


def parse(raw: RawRequest) -> Parsed:
    try:
        return Parsed(collect(raw))
    except errors.BinanceError as exc:
        return Parsed({}, exc)


def chosen(code: int, usual: errors.BinanceError) -> errors.BinanceError:
    """The refusal a setting chose: ``usual`` (with its filled-in message) when the setting
    keeps its code, else the catalogue's error ``code``."""
    return usual if code == usual.code else errors.error(code)


def validate(endpoint: Endpoint, params: dict[str, str], rest: RestSettings) -> None:
    """Generic syntax checks, in the order Binance reports them: each known parameter's
    value, then mandatory ones, then parameters nobody read, then the recvWindow cap."""
    known = 0
    for spec in endpoint.all_params:
        if spec.name not in params:
            continue
        known += 1
        value = params[spec.name]
        if value == "":
            raise (errors.mandatory_missing if spec.required else errors.param_empty)(spec.name)
        pattern = PATTERN.get(spec.kind)
        if pattern is not None and not pattern.fullmatch(value):
            raise errors.illegal_chars(spec.name, LEGAL_RANGE[spec.kind])
    for spec in endpoint.all_params:
        if spec.required and spec.name not in params:
            missing = errors.mandatory_missing(spec.name)
            if spec.name == "signature":
                raise chosen(rest.missing_signature_code, missing)
            raise missing
    if known != len(params):
        raise chosen(rest.unknown_param_code, errors.unread_parameters(known, len(params)))
    if "recvWindow" in params:
        recv_window_ms(params["recvWindow"], rest)


def recv_window_ms(raw: str | None, rest: RestSettings) -> Decimal:
    """recvWindow in ms: default 5000, at most 60000 (inclusive unless
    rest.recv_window_max_inclusive says otherwise), up to three decimals."""
    if raw is None:
        return Decimal(5000)
    value = Decimal(raw)
    if value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise errors.too_much_precision("recvWindow")
    if value > MAX_RECV_WINDOW or (value == MAX_RECV_WINDOW and not rest.recv_window_max_inclusive):
        usual = errors.value_too_large("recvWindow", MAX_RECV_WINDOW)
        raise chosen(rest.recv_window_over_max_code, usual)
    return value
