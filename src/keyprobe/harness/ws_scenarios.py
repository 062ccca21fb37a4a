"""The WebSocket-only probes' exchanges (``probes.WS_ONLY``): several frames on one connection
of the probe's own (a session or a subscription must never be shared with another cell).
Every frame is recorded redacted as a step and judged against its own derived expectation
(``expectations``); the first step whose answer differs decides the cell, else the probe's
decisive step does (``expectations.ws_only``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from keyprobe.binance.outcome import OK
from keyprobe.binance.permissions import Permission
from keyprobe.cells import Verdict
from keyprobe.harness import budget, expectations
from keyprobe.harness.api_management import ApiManagement, Change
from keyprobe.harness.client import Answer, Sent
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.expectations import Expectation
from keyprobe.harness.orders import Ledger, remember
from keyprobe.harness.probes import Probe, ProbeContext, Scenario
from keyprobe.harness.profiles import Profile
from keyprobe.harness.redaction import ExchangeRecord
from keyprobe.harness.targets import Target
from keyprobe.harness.verdicts import Judgement, judge
from keyprobe.harness.ws_client import WsWire

# How long a pushed frame (an event, the revocation frame) may take. The emulator pushes at
# once; a live target within a second or two. Waits past QUIET_WAIT_S are announced.
PUSH_WAIT_S = 5.0
QUIET_WAIT_S = 1.0
# The IP whitelist a key without permissions is moved to, to revoke it: TEST-NET-1
# (RFC 5737), an address no connection of ours comes from.
ELSEWHERE = "192.0.2.1"


@dataclass(slots=True)
class Conversation:
    """One WebSocket-only probe's inputs, and where its steps go."""

    profile: Profile
    probe: Probe
    target: Target
    creds: Credentials
    wire: WsWire  # a fork: connections of this conversation only
    ctx: ProbeContext
    ledger: Ledger
    record: Callable[[str, ExchangeRecord], None]
    api: ApiManagement | None = None
    # The revocation probe's own key (its own account), when the target gave one.
    revocation_creds: Credentials | None = None

    @property
    def source(self) -> str | None:
        return self.target.source_address

    def call(
        self,
        title: str,
        name: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        session: bool = False,
    ) -> Sent:
        sent = self.wire.call(
            name,
            params,
            api_key=self.creds.api_key,
            signer=self.creds.signer(),
            source=self.source,
            session=session,
        )
        self.record(title, sent.record)
        return sent

    def judged(self, title: str, expected: Expectation, answer: Answer) -> Finished:
        got = judge(expected, answer, self.probe, self.profile)
        if got.verdict is not Verdict.PASS:
            got = Judgement(got.verdict, f"{title}: {got.reason}")
        return Finished(expected, answer, got)

    def pushed(self, title: str, wanted: Callable[[Any], bool]) -> Sent | None:
        """The first pushed frame that is ``wanted`` (recorded as a step), or None."""
        frame, why = self.wire.wait_for(self.source, wanted, QUIET_WAIT_S)
        waited = QUIET_WAIT_S
        if frame is None and why is not None and why.startswith("not pushed"):
            budget.announce(f"keyprobe: waiting up to {PUSH_WAIT_S:g}s more for {title}")
            frame, why = self.wire.wait_for(self.source, wanted, PUSH_WAIT_S)
            waited += PUSH_WAIT_S
        if frame is None:
            return None
        sent = self.wire.received(title, frame, self.source, waited)
        self.record(f"pushed: {title}", sent.record)
        return sent


@dataclass(frozen=True, slots=True)
class Finished:
    """The deciding step: its expectation, the answer it got and the judgement."""

    expectation: Expectation
    answer: Answer
    judgement: Judgement

    @property
    def passed(self) -> bool:
        return self.judgement.verdict is Verdict.PASS

    def instead(self, verdict: Verdict, reason: str) -> Finished:
        return Finished(self.expectation, self.answer, Judgement(verdict, reason))


def run(conv: Conversation) -> Finished:
    scenario = conv.probe.scenario
    assert scenario is not None  # noqa: S101 - only WebSocket-only probes come here
    return _RUNNERS[scenario](conv)


# ----------------------------------------------------------------------------- the runners


def _logon(conv: Conversation) -> Finished:
    expected = expectations.logon(conv.profile, conv.target)
    sent = conv.call("probe: session.logon", "session.logon")
    return conv.judged("session.logon", expected, sent.answer)


def _stream_logon(conv: Conversation) -> Finished:
    logged_on = _logon(conv)
    if not logged_on.passed:
        return logged_on
    expected = expectations.subscribe_on_session(conv.profile, conv.target)
    sent = conv.call("probe: userDataStream.subscribe on the session", "userDataStream.subscribe")
    return _with_subscription_id(conv.judged("userDataStream.subscribe", expected, sent.answer))


def _stream_signature(conv: Conversation) -> Finished:
    expected = expectations.subscribe_signature(conv.profile, conv.target)
    sent = conv.call(
        "probe: userDataStream.subscribe.signature", "userDataStream.subscribe.signature"
    )
    return _with_subscription_id(
        conv.judged("userDataStream.subscribe.signature", expected, sent.answer)
    )


def _with_subscription_id(done: Finished) -> Finished:
    """A subscription that was let through must say which id its events will carry."""
    if done.passed and done.answer.status == 200 and _subscription_id(done.answer) is None:
        return done.instead(Verdict.MISMATCH, "answered 200 without an integer subscriptionId")
    return done


def _subscription_id(answer: Answer) -> int | None:
    body = answer.body
    sub = body.get("subscriptionId") if isinstance(body, dict) else None
    return sub if isinstance(sub, int) and not isinstance(sub, bool) else None


def _order_params(conv: Conversation) -> tuple[str, list[tuple[str, str]]]:
    client_id = conv.ctx.client_order_id()
    params = [
        *conv.ctx.recipe.params(),
        ("newClientOrderId", client_id),
        ("newOrderRespType", "RESULT"),
    ]
    return client_id, params


def _stream_events(conv: Conversation) -> Finished:
    subscribed = _stream_signature(conv)
    if not subscribed.passed or subscribed.expectation.refusal:
        return subscribed
    sub_id = _subscription_id(subscribed.answer)
    expected = expectations.place_order_ws(conv.profile, conv.target)
    client_id, params = _order_params(conv)
    placed = conv.call("probe: order.place while subscribed", "order.place", params)
    symbol = conv.ctx.symbol
    remember(conv.ledger, conv.creds, symbol, [client_id], placed.answer, conv.profile.name)
    done = conv.judged("order.place", expected, placed.answer)
    if not done.passed or expected.refusal:
        return done

    def event(kind: str, match: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
        def wanted(frame: Any) -> bool:
            body = frame.get("event") if isinstance(frame, dict) else None
            return (
                isinstance(body, dict)
                and frame.get("subscriptionId") == sub_id
                and body.get("e") == kind
                and match(body)
            )

        return wanted

    report = conv.pushed(
        "the order's executionReport",
        event("executionReport", lambda e: e.get("c") == client_id and e.get("X") == "NEW"),
    )
    if report is None:
        return done.instead(
            Verdict.MISSING,
            f"the order was accepted, but subscription {sub_id} delivered no executionReport "
            f"(NEW) for it within {QUIET_WAIT_S + PUSH_WAIT_S:g}s",
        )
    # A BUY locks quote funds: the account's position changed and must be pushed.
    position = conv.pushed(
        "the account's outboundAccountPosition",
        event("outboundAccountPosition", lambda e: bool(e.get("B"))),
    )
    if position is None:
        return done.instead(
            Verdict.MISSING,
            f"the order was accepted, but subscription {sub_id} delivered no "
            "outboundAccountPosition for it",
        )
    conv.call("cleanup: userDataStream.unsubscribe", "userDataStream.unsubscribe")
    return done.instead(
        Verdict.PASS,
        f"the order was accepted and subscription {sub_id} delivered its executionReport "
        "(NEW) and the account's outboundAccountPosition",
    )


def _revocation(conv: Conversation) -> Finished:
    logon_expected = expectations.logon(conv.profile, conv.target)
    if logon_expected.refusal:
        return _logon(conv)  # a key that cannot log on has no session to revoke
    twin, api = conv.revocation_creds, conv.api
    if twin is None or api is None:
        return broken("the run holds no revocation key or API Management token")
    # Its own key, its own account: nothing another cell does sees the change.
    conv.creds = twin
    logged_on = _logon(conv)
    if not logged_on.passed:
        return logged_on
    profile = conv.profile
    client_id: str | None = None
    if profile.has(Permission.SPOT_AND_MARGIN_TRADING):
        client_id, params = _order_params(conv)
        placed = conv.call("setup: order.place on the session", "order.place", params, session=True)
        remember(conv.ledger, twin, conv.ctx.symbol, [client_id], placed.answer, profile.name)
        done = conv.judged(
            "order.place on the session", Expectation(OK, False, "may trade"), placed.answer
        )
        if not done.passed:
            return done
    declared = Change(tuple(sorted(p.value for p in profile.permissions)), profile.ip_whitelist)
    lever = expectations.revoked_lever(profile)
    if lever is not None:
        taken = Change(
            tuple(p for p in declared.permissions if p != lever.value), profile.ip_whitelist
        )
    else:
        taken = Change(declared.permissions, (ELSEWHERE,))
    changed = api.change(twin.api_key, taken)
    conv.record("API Management: take the permission away", changed)
    if changed.status != 200:
        return broken(f"API Management answered {changed.error or changed.status}")
    try:
        done = _after_revocation(conv, client_id)
    finally:
        # Put back at once, whatever happened: the order's teardown cancel needs TRADE.
        restored = api.change(twin.api_key, declared)
        conv.record("API Management: restore the key", restored)
    if restored.status != 200:
        return broken(f"could not restore the key: {restored.error or restored.status}")
    if not done.passed or client_id is None:
        return done
    # The open order survived the revocation (asked with apiKey + signature: no session now).
    query = [("symbol", conv.ctx.symbol), ("origClientOrderId", client_id)]
    still = conv.call("probe: the order placed before the revocation", "order.status", query)
    body = still.answer.body
    if still.answer.status != 200 or not isinstance(body, dict) or body.get("status") != "NEW":
        return done.instead(
            Verdict.MISMATCH,
            f"the order placed before the revocation is not open any more ({still.answer.label()}"
            f"{', ' + str(body.get('status')) if isinstance(body, dict) else ''})",
        )
    return done.instead(
        Verdict.PASS,
        f"{done.judgement.reason}; the session was cleared and the open order is still there",
    )


def _after_revocation(conv: Conversation, client_id: str | None) -> Finished:
    expected = expectations.ws_only(conv.profile, Scenario.REVOCATION, conv.target)
    order = client_id or conv.ctx.client_order_id()
    query = [("symbol", conv.ctx.symbol), ("origClientOrderId", order)]
    nxt = conv.call("probe: the next request on the session", "order.status", query, session=True)
    if nxt.answer.status == 200:
        return conv.judged("the next request on the session", expected, nxt.answer)
    frame = conv.pushed(
        "the id-null 401 revocation frame",
        lambda f: isinstance(f, dict) and "id" in f and f["id"] is None and f.get("status") == 401,
    )
    status = conv.call("probe: session.status after the revocation", "session.status")
    body = status.answer.body
    if isinstance(body, dict) and body.get("apiKey") is not None:
        why = "session.status: the session still holds the key after the revocation"
        return Finished(expected, status.answer, Judgement(Verdict.LEAK, why))
    if frame is None:
        return Finished(
            expected,
            nxt.answer,
            Judgement(Verdict.MISMATCH, "no id-null 401 frame came after the next request"),
        )
    return conv.judged("the revocation frame", expected, frame.answer)


def broken(why: str) -> Finished:
    return Finished(
        Expectation(OK, False, "API Management"),
        Answer(None, error=why),
        Judgement(Verdict.BROKEN, why),
    )


_RUNNERS: dict[Scenario, Callable[[Conversation], Finished]] = {
    Scenario.LOGON: _logon,
    Scenario.STREAM_LOGON: _stream_logon,
    Scenario.STREAM_SIGNATURE: _stream_signature,
    Scenario.STREAM_EVENTS: _stream_events,
    Scenario.REVOCATION: _revocation,
}
