"""The signed client against a real emulator over real sockets: the server-time offset is
applied to every timestamp, a drifted clock is re-measured once, the source address is used."""

from __future__ import annotations

from collections.abc import Callable

from keyprobe.binance.signing import KeyType, generate_api_key, generate_key_material, load_signer
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.harness.client import BinanceAuth, ServerClock, Wire
from keyprobe.harness.facts import Options, measure_facts
from keyprobe.harness.targets import resolve_target


def _key(emu: Emulator, key_type: KeyType = KeyType.ED25519, **kw: object):
    material = generate_key_material(key_type)
    api_key = generate_api_key()
    emu.keys.register(
        KeyRecord.create(api_key, key_type, material.public, ["enableReading"], **kw)  # type: ignore[arg-type]
    )
    return api_key, load_signer(key_type, material.private)


def test_the_measured_offset_is_applied(serve: Callable[[Emulator], str]) -> None:
    emu = Emulator()
    emu.clock.offset_ms = 30_000  # the server runs 30 s ahead of us
    url = serve(emu)
    facts = measure_facts(resolve_target(url), Options(target=url))
    assert facts.broken is None
    assert abs(facts.offset_ms - 30_000) < 1_000
    api_key, signer = _key(emu)
    wire = Wire(url, ServerClock(facts.offset_ms))
    try:
        sent = wire.call("account", api_key=api_key, signer=signer)
    finally:
        wire.close()
    assert sent.answer.status == 200, sent.record
    stamp = int(dict(sent.record.params)["timestamp"])
    assert abs(stamp - emu.clock.now_ms()) < 2_000
    # One request: the timestamp was right the first time, no -1021 and resync needed.
    assert [e.path for e in emu.journal].count("/api/v3/account") == 1


def test_a_drifted_clock_is_measured_again_once(serve: Callable[[Emulator], str]) -> None:
    emu = Emulator()
    emu.clock.offset_ms = -20_000  # the server is behind: our timestamps look "ahead"
    url = serve(emu)
    api_key, signer = _key(emu, KeyType.HMAC)
    clock = ServerClock(0)
    wire = Wire(url, clock)
    try:
        sent = wire.call("account", api_key=api_key, signer=signer)
        assert sent.answer.status == 200
        assert abs(clock.offset_ms + 20_000) < 1_000
        # A deliberate shift is the probe's point: no resync hides it.
        shifted = wire.call("account", api_key=api_key, signer=signer, timestamp_shift_ms=5_000)
        assert (shifted.answer.status, shifted.answer.code) == (400, -1021)
    finally:
        wire.close()


def test_requests_leave_from_the_chosen_source(serve: Callable[[Emulator], str]) -> None:
    emu = Emulator()
    url = serve(emu)
    api_key, signer = _key(emu, KeyType.RSA, ip_whitelist=["127.0.0.1"])
    wire = Wire(url, ServerClock(0))
    try:
        home = wire.call("account", api_key=api_key, signer=signer, source="127.0.0.1")
        away = wire.call("account", api_key=api_key, signer=signer, source="127.0.0.2")
    finally:
        wire.close()
    assert home.answer.status == 200
    assert (away.answer.status, away.answer.code) == (401, -2015)
    assert {e.client_ip for e in emu.journal} == {"127.0.0.1", "127.0.0.2"}


def test_the_auth_never_shows_its_key() -> None:
    material = generate_key_material(KeyType.HMAC)
    auth = BinanceAuth(
        "K" * 64,
        load_signer(KeyType.HMAC, material.private),
        ServerClock(),
        recv_window=None,
        time_url="http://127.0.0.1:1/api/v3/time",
    )
    assert "K" * 64 not in repr(auth) and material.private not in repr(auth)


def test_a_target_that_stops_answering_fails_fast_after_three_timeouts() -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # accepts, never answers
        wire = Wire(f"http://127.0.0.1:{sock.getsockname()[1]}", ServerClock(), timeout=0.3)
        try:
            started = time.monotonic()
            first = [wire.call("ping") for _ in range(3)]
            waited = time.monotonic() - started
            started = time.monotonic()
            later = wire.call("ping")
            assert time.monotonic() - started < 0.1
        finally:
            wire.close()
    assert waited >= 0.9
    assert all("timeout" in (s.answer.error or "") for s in first)
    assert "not sent: the last 3 requests failed" in (later.answer.error or "")
