"""The WebSocket-only probes: what a key can do on a logged-on session and its user data
stream, several frames on one connection of their own. Their exchanges are
harness/ws_scenarios.py, their expectations expectations.ws_only; probes.CATALOGUE holds them
after the REST-mirrored probes."""

from __future__ import annotations

from keyprobe.harness.probes import Category, Probe, Scenario, _none

WS_ONLY: tuple[Probe, ...] = (
    Probe(
        "session_logon",
        Category.SESSION,
        "session.logon",
        _none,
        "session.logon (only Ed25519 keys may log on)",
        scenario=Scenario.LOGON,
    ),
    Probe(
        "user_stream_logon",
        Category.SESSION,
        "userDataStream.subscribe",
        _none,
        "userDataStream.subscribe on a session.logon session",
        scenario=Scenario.STREAM_LOGON,
    ),
    Probe(
        "user_stream_signature",
        Category.SESSION,
        "userDataStream.subscribe.signature",
        _none,
        "userDataStream.subscribe.signature (any key type, no permission)",
        scenario=Scenario.STREAM_SIGNATURE,
    ),
    Probe(
        "user_stream_events",
        Category.SESSION,
        "order.place",
        _none,
        "the user data stream delivers the events of an order the probe places "
        "(cancelled in teardown)",
        changes_state=True,
        scenario=Scenario.STREAM_EVENTS,
    ),
    Probe(
        "session_revocation",
        Category.SESSION,
        "session.logon",
        _none,
        "a permission removed mid-session: the id-null 401 frame, the session cleared, "
        "the open order untouched",
        changes_state=True,
        scenario=Scenario.REVOCATION,
    ),
)
