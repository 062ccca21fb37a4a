"""Spec-driven fuzzing of the emulator (issue 5): Schemathesis generates requests from Binance's
own OpenAPI spec, vendored as ``tests/data/binance-spot-openapi.yaml`` (trimmed to the
operations the emulator implements, see ``tests/data/README.md``), valid and invalid ones;
each is sent over a real socket, signed (a valid timestamp and signature over the exact bytes
sent, for a key with every permission) or unsigned (whatever timestamp/signature the generator
made up). Every answer must pass ``tests.emulator.hostile.problems``: no 5xx, no hang, every
error Binance-shaped with a status and message the reference names for its code.

The suite runs a bounded, deterministic pass (a few seconds). The long run, on demand::

    KEYPROBE_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/emulator/test_fuzz.py -p no:cacheprovider

``KEYPROBE_FUZZ_EXAMPLES`` is the number of examples per test (4 tests: positive/negative data ×
signed/unsigned); with it set, generation is random unless ``KEYPROBE_FUZZ_SEED=<int>`` pins it.
``KEYPROBE_OPENAPI_SPEC=<path>`` fuzzes from another (full) spec file instead of the vendored one.
The spec is part of the repository: a missing one is a failure, never a skip.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from keyprobe.binance.endpoints import ENDPOINTS
from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.server import EmulatorServer
from tests.data.trim_openapi import VENDORED, load, trim
from tests.emulator.conftest import make_holder
from tests.emulator.hostile import ALL_PERMISSIONS, GENEROUS, problems
from tests.emulator.wire import Holder

GenerationMode = schemathesis.GenerationMode

SPEC_PATH = Path(os.environ.get("KEYPROBE_OPENAPI_SPEC", VENDORED))
LONG_EXAMPLES = os.environ.get("KEYPROBE_FUZZ_EXAMPLES")
EXAMPLES = int(LONG_EXAMPLES) if LONG_EXAMPLES else 100
FUZZ_SEED = os.environ.get("KEYPROBE_FUZZ_SEED")
REQUEST_TIMEOUT_S = 10.0
SIGNING_PARAMS = ("timestamp", "signature")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------- the spec


@functools.cache
def trimmed_spec() -> dict[str, Any]:
    """The emulator's operations of the spec with only the components they reference (the
    vendored file already is exactly that; trimming it again is a no-op). Loaded once."""
    assert SPEC_PATH.is_file(), (
        f"no OpenAPI spec at {SPEC_PATH}: it is vendored in the repository (tests/data/README.md)"
    )
    return trim(load(SPEC_PATH))


@functools.cache
def _schema() -> Any:
    return schemathesis.openapi.from_dict(json.loads(json.dumps(trimmed_spec())))


@functools.cache
def _strategy(mode: str) -> Any:
    return _schema().as_strategy(GenerationMode(mode))


def test_the_vendored_spec_covers_every_emulator_operation() -> None:
    assert VENDORED.is_file(), f"{VENDORED} is missing (tests/data/README.md)"
    vendored = load(VENDORED)
    for ep in ENDPOINTS:
        assert ep.method.lower() in vendored["paths"].get(ep.path, {}), (
            f"{ep.method} {ep.path} is not in {VENDORED.name}: regenerate it "
            "(python -m tests.data.trim_openapi path/to/spot_api.yaml)"
        )
    # ...and nothing else: the vendored excerpt is exactly what the fuzzing uses.
    assert vendored == trim(vendored)


# ---------------------------------------------------------------------------- the target


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[httpx.Client, list[Holder], Emulator]]:
    emu = Emulator(limits=GENEROUS)
    holders = [
        make_holder(emu, key_type, permissions=ALL_PERMISSIONS, account="fuzz")
        for key_type in (KeyType.HMAC, KeyType.ED25519, KeyType.RSA)
    ]
    with (
        EmulatorServer(emu) as server,
        httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client,
    ):
        yield client, holders, emu


# ---------------------------------------------------------------------------- sending


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _pairs(query: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not isinstance(query, dict):
        return pairs
    for name, value in query.items():
        # A generated list is a repeated parameter (Binance: -1101 duplicate values).
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), _text(item)))
    return pairs


def _encode(pairs: list[tuple[str, str]]) -> str:
    # surrogatepass: the generator may produce lone surrogates; they go out as raw bytes.
    return "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}="
        f"{quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in pairs
    )


def _sendable_headers(headers: Any) -> dict[str, str]:
    """The generated headers an HTTP client can put on the wire (httpx refuses CR/LF; the
    hostile tests send those by hand)."""
    out: dict[str, str] = {}
    if not isinstance(headers, dict):
        return out
    for name, value in headers.items():
        text = _text(value)
        if not _HEADER_NAME.fullmatch(str(name)) or name.lower() in {"host", "content-length"}:
            continue
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            continue
        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text):
            continue
        out[str(name)] = text
    return out


def send(
    client: httpx.Client,
    emu: Emulator,
    case: Any,
    holder: Holder,
    *,
    signed: bool,
    in_body: bool,
    fresh_timestamp: bool = False,
) -> httpx.Response:
    """Send one generated case. Signed: drop any generated timestamp/signature, add a fresh
    timestamp, sign the exact bytes (query, then body), append the signature. Unsigned with
    ``fresh_timestamp``: a valid timestamp replaces the generated one, so the made-up
    signature is what gets checked."""
    pairs = _pairs(case.query)
    headers = _sendable_headers(case.headers)
    if signed or fresh_timestamp:
        drop = SIGNING_PARAMS if signed else ("timestamp",)
        pairs = [(k, v) for k, v in pairs if k not in drop]
        pairs.append(("timestamp", str(emu.clock.now_ms())))
    if signed:
        headers = {k: v for k, v in headers.items() if k.lower() != "x-mbx-apikey"}
        headers["X-MBX-APIKEY"] = holder.api_key
    elif not any(k.lower() == "x-mbx-apikey" for k in headers):
        headers["X-MBX-APIKEY"] = holder.api_key
    text = _encode(pairs)
    if signed:
        signature = quote(holder.sign(text.encode("latin-1")), safe="")
        text = f"{text}&signature={signature}" if text else f"signature={signature}"
    method = case.method.upper()
    if in_body and method != "GET":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return client.request(method, case.path, content=text.encode("latin-1"), headers=headers)
    url = f"{case.path}?{text}" if text else case.path
    return client.request(method, url, headers=headers)


# ---------------------------------------------------------------------------- the properties

COVERAGE: Counter[tuple[str, str, int]] = Counter()


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=LONG_EXAMPLES is None and FUZZ_SEED is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def _seeded(fn: Callable[[], None]) -> Callable[[], None]:
    return seed(int(FUZZ_SEED))(fn) if FUZZ_SEED is not None else fn


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzz(target: tuple[httpx.Client, list[Holder], Emulator], mode: str, signed: bool) -> None:
    client, holders, emu = target

    @_seeded
    @_settings(EXAMPLES)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(_strategy(mode), label="case")
        # Draw an index, not the Holder: Hypothesis prints dataclass fields, secrets included.
        holder = holders[data.draw(st.integers(0, len(holders) - 1), label="key index")]
        in_body = data.draw(st.booleans(), label="in_body") if case.method != "GET" else False
        fresh = not signed and data.draw(st.booleans(), label="fresh_timestamp")
        try:
            response = send(
                client, emu, case, holder, signed=signed, in_body=in_body, fresh_timestamp=fresh
            )
        except httpx.TimeoutException as exc:
            raise AssertionError(f"{case.method} {case.path}: no answer (hang)") from exc
        COVERAGE[(case.method.upper(), case.path, response.status_code)] += 1
        found = problems(response)
        assert not found, f"{case.method} {str(response.request.url)[:400]}: {found}"

    run()
    # The server is still there and answering after the whole run.
    assert client.get("/api/v3/ping").status_code == 200
