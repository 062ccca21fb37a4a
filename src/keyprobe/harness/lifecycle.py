"""The lifecycle probes (issue 13, ``probes_families.LIFECYCLE``): permissions that change while
a key is in use, changed through the embedded emulator's API Management on a key of the probe's
own (``NAME/PROBE``, its own account), so that no other cell sees the change. REST only. Every
exchange is a step, judged against its own derived expectation; the first step whose answer
differs decides the cell, else the probe's decisive step does (``expectations.lifecycle``).

* ``permission_removed``: place an order, remove Spot & Margin Trading, the next order is
  refused (401/-2015); the key is restored and the order is still there (NEW) and is cancelled
  by the restored key — the twin's account has no other key, and the restored key is exactly
  "a key that still may trade on that account" (the order survives the change, §5 [INF]).
* ``trading_expired``: the key's ``tradingAuthorityExpirationTime`` is set in the past (Binance's
  30-day rule, beyond-spot reference §5): order/test is refused, reads still answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from keyprobe.binance.permissions import Permission
from keyprobe.cells import Verdict
from keyprobe.harness import expectations
from keyprobe.harness.api_management import ApiManagement, Change
from keyprobe.harness.client import Answer, Sent, Wire
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.expectations import Expectation, derive
from keyprobe.harness.orders import Ledger, remember
from keyprobe.harness.probes import BY_NAME, Probe, ProbeContext
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.redaction import ExchangeRecord
from keyprobe.harness.targets import Target
from keyprobe.harness.verdicts import Judgement, judge
from keyprobe.harness.ws_scenarios import Finished, broken

# How far in the past the expiry is set: well beyond any clock offset the run measured.
EXPIRED_AGO_MS = 60_000


@dataclass(slots=True)
class Lifecycle:
    """One lifecycle probe's inputs, and where its steps go."""

    profile: Profile
    probe: Probe
    target: Target
    creds: Credentials  # the probe's own key (NAME/PROBE)
    wire: Wire
    api: ApiManagement | None
    ctx: ProbeContext
    ledger: Ledger
    record: Callable[[str, ExchangeRecord], None]

    def call(self, title: str, endpoint: str, params: Iterable[tuple[str, str]] = ()) -> Sent:
        sent = self.wire.call(
            endpoint,
            list(params),
            api_key=self.creds.api_key,
            signer=self.creds.signer(),
            source=self.target.source_address,
        )
        self.record(title, sent.record)
        return sent

    def judged(self, title: str, expected: Expectation, answer: Answer) -> Finished:
        got = judge(expected, answer, self.probe, self.profile)
        if got.verdict is not Verdict.PASS:
            got = Judgement(got.verdict, f"{title}: {got.reason}")
        return Finished(expected, answer, got)

    def step(self, title: str, probe: str, params: list[tuple[str, str]]) -> Finished:
        """Send ``params`` to ``probe``'s endpoint; judged as that probe's cell would be."""
        expected = derive(self.profile, BY_NAME[probe], self.target)
        assert isinstance(expected, Expectation)  # noqa: S101 - spot probes run where these do
        sent = self.call(f"{title}: {BY_NAME[probe].description}", BY_NAME[probe].endpoint_name,
                         params)  # fmt: skip
        return self.judged(title, expected, sent.answer)

    def manage(self, title: str, body: dict[str, Any]) -> bool:
        if self.api is None:
            return False
        changed = self.api.patch(self.creds.api_key, body)
        self.record(f"API Management: {title}", changed)
        return changed.status == 200


def run(lc: Lifecycle) -> Finished:
    return _RUNNERS[lc.probe.name](lc)


def _order(lc: Lifecycle) -> tuple[str, list[tuple[str, str]]]:
    client_id = lc.ctx.client_order_id()
    params = [*lc.ctx.recipe.params(), ("newClientOrderId", client_id)]
    return client_id, [*params, ("newOrderRespType", "RESULT")]


def _place(lc: Lifecycle, title: str) -> tuple[str, Finished]:
    client_id, params = _order(lc)
    done = lc.step(title, "place_order", params)
    remember(lc.ledger, lc.creds, lc.ctx.symbol, [client_id], done.answer, lc.profile.name)
    return client_id, done


def _permission_removed(lc: Lifecycle) -> Finished:
    profile = lc.profile
    client_id, placed = _place(lc, "setup")
    if not placed.passed or placed.expectation.refusal:
        return placed  # a key that may not trade has no order to rest
    declared = Change(tuple(sorted(p.value for p in profile.permissions)), profile.ip_whitelist)
    kept = tuple(p for p in declared.permissions if p != Permission.SPOT_AND_MARGIN_TRADING.value)
    if not lc.manage("remove Spot & Margin Trading", Change(kept, profile.ip_whitelist).as_json()):
        return broken("API Management did not take the permission away")
    try:
        _, placed_after = _place(lc, "probe: the next TRADE call")
    finally:
        restored = lc.manage("restore the key", declared.as_json())
    expected = expectations.lifecycle(profile, lc.probe, lc.target)
    done = lc.judged("the next TRADE call", expected, placed_after.answer)
    if not restored:
        return broken("API Management could not restore the key")
    if not done.passed:
        return done
    query = [("symbol", lc.ctx.symbol), ("origClientOrderId", client_id)]
    if profile.has(Permission.READING):
        still = lc.call("probe: the order placed before the change", "queryOrder", query)
        status = _status(still.answer)
        if status != "NEW":
            return done.instead(
                Verdict.MISMATCH,
                f"the order placed before the change is not open any more "
                f"({still.answer.label()}, {status})",
            )
    cancelled = lc.call("probe: the restored key cancels the order", "cancelOrder", query)
    if cancelled.answer.status != 200 or _status(cancelled.answer) != "CANCELED":
        return done.instead(
            Verdict.MISMATCH,
            f"the restored key could not cancel the order that rested through the change "
            f"({cancelled.answer.label()})",
        )
    return done.instead(
        Verdict.PASS,
        f"{done.judgement.reason}; the order rested through the change (NEW) and the restored "
        "key cancelled it",
    )


def _trading_expired(lc: Lifecycle) -> Finished:
    test_order = [*lc.ctx.recipe.params(), ("newClientOrderId", lc.ctx.client_order_id())]
    before = lc.step("before the expiry", "test_order", test_order)
    if not before.passed or lc.profile.kind is not KeyKind.REGISTERED:
        return before  # an unknown or malformed key has nothing to expire
    past = lc.wire.clock.now_ms() - EXPIRED_AGO_MS
    if not lc.manage("tradingAuthorityExpirationTime in the past",
                     {"tradingAuthorityExpirationTime": past}):  # fmt: skip
        return broken("API Management did not set the expiry")
    try:
        sent = lc.call(
            "probe: order/test after the expiry",
            "testOrder",
            [*lc.ctx.recipe.params(), ("newClientOrderId", lc.ctx.client_order_id())],
        )
        expected = expectations.lifecycle(lc.profile, lc.probe, lc.target)
        done = lc.judged("order/test after the expiry", expected, sent.answer)
        unknown = [("symbol", lc.ctx.symbol), ("origClientOrderId", lc.ctx.client_order_id())]
        read = lc.step("a read after the expiry", "query_order", unknown)
    finally:
        restored = lc.manage("clear the expiry", {"tradingAuthorityExpirationTime": None})
    if not restored:
        return broken("API Management could not clear the expiry")
    if not done.passed:
        return done
    if not read.passed:
        return read
    return done.instead(
        Verdict.PASS, f"{done.judgement.reason}; reads still answer {read.answer.label()}"
    )


def _status(answer: Answer) -> str | None:
    body = answer.body
    return str(body.get("status")) if isinstance(body, dict) else None


_RUNNERS: dict[str, Callable[[Lifecycle], Finished]] = {
    "permission_removed": _permission_removed,
    "trading_expired": _trading_expired,
}
