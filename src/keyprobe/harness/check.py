"""One check, end to end: a cell's inputs (profile, probe, transport) on the run's target →
the expectation → the signed exchange(s) → the verdict and its reason, as one typed result.
Everything that reports a check (Allure, matrix.json, the terminal) is fed from that result.

Every exchange is recorded redacted, once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from faker import Faker

from keyprobe.binance.signing import KeyType, Signer
from keyprobe.binance.ws_methods import BY_REST
from keyprobe.cells import Cell, Verdict
from keyprobe.harness import faults, foreign_order, lifecycle
from keyprobe.harness.api_management import ApiManagement
from keyprobe.harness.client import Answer, Sent, Wire
from keyprobe.harness.credentials import Credentials, MissingSecrets
from keyprobe.harness.expectations import Expectation, NotExpressible, derive
from keyprobe.harness.faults import Send
from keyprobe.harness.order_recipe import OrderRecipe
from keyprobe.harness.orders import ClientOrderIds, Ledger, remember, run_of
from keyprobe.harness.probes import Category, Probe, ProbeContext, Setup
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.redaction import REDACTOR, ExchangeRecord
from keyprobe.harness.targets import Target, Transport
from keyprobe.harness.verdicts import judge, retryable
from keyprobe.harness.ws_client import WsWire
from keyprobe.harness.ws_scenarios import Conversation, Finished
from keyprobe.harness.ws_scenarios import run as run_conversation

# Before the one retry of a cell broken by infrastructure: a short pause on top of whatever the
# address's weight budget and a Retry-After make the retry's requests wait anyway.
RETRY_PAUSE_S = 0.25


class CheckEnv(Protocol):
    """What a check needs from the run it belongs to (``keyprobe.harness.run.Run``)."""

    @property
    def target(self) -> Target: ...

    @property
    def wire(self) -> Wire: ...

    @property
    def ws_wire(self) -> WsWire: ...

    @property
    def run_id(self) -> str: ...

    @property
    def recipe(self) -> OrderRecipe | None: ...

    @property
    def broken(self) -> str | None: ...

    @property
    def surfaces(self) -> dict[str, str]: ...

    # faults.FaultTools
    @property
    def foreign_address(self) -> str | None: ...

    @property
    def recv_window_ms(self) -> int: ...

    def wrong_signer(self, key_type: KeyType) -> Signer: ...

    def credentials(self, profile: Profile) -> Credentials: ...

    # The WebSocket-only revocation probe (the embedded emulator's API Management).
    @property
    def api_management(self) -> ApiManagement | None: ...

    def revocation_credentials(self, profile: Profile) -> Credentials | None: ...

    # A lifecycle probe's own key (``NAME/PROBE``: same declaration, its own account).
    def lifecycle_credentials(self, profile: Profile, probe: str) -> Credentials | None: ...

    # The cross-account probes' order placer: a profile of another account that may trade.
    def other_account_trader(self, profile: Profile) -> tuple[Profile, Credentials] | None: ...


@dataclass(frozen=True, slots=True)
class CheckInput:
    """Which cell: this profile runs this probe over this transport."""

    profile: Profile
    probe: Probe
    transport: Transport = Transport.REST

    @property
    def id(self) -> str:
        """The test id: ``read_only-place_order`` (REST), ``read_only-place_order-ws``."""
        return f"{self.profile.name}-{self.probe.name}{self.transport.id_suffix}"


@dataclass(frozen=True, slots=True)
class Step:
    """One exchange the check made, titled for a reader: setup, safety, probe."""

    title: str
    record: ExchangeRecord


@dataclass(slots=True)
class CheckResult:
    """The result of one check, whatever happened."""

    input: CheckInput
    target: str
    verdict: Verdict
    reason: str
    expectation: Expectation | None = None
    answer: Answer | None = None
    steps: list[Step] = field(default_factory=list)
    # BROKEN by an answer that may clear on its own (timeout, refused connection, 5xx,
    # 429/418): worth one retry. Never set for a verdict or for a target that is down.
    retryable: bool = False
    # When this result is a retry: the first attempt (BROKEN), kept for the report.
    first_attempt: CheckResult | None = None

    def cell(self) -> Cell:
        """The matrix record of this result (reasons redacted): the one translation."""
        expected = self.expectation.outcome if self.expectation else None
        actual = self.answer.outcome if self.answer else None
        first = self.first_attempt
        return Cell(
            profile=self.input.profile.name,
            probe=self.input.probe.name,
            category=self.input.probe.category.value,
            target=self.target,
            transport=self.input.transport.value,
            expected=expected,
            actual=actual,
            verdict=self.verdict,
            reason=REDACTOR.text(self.reason),
            first_attempt=None if first is None else REDACTOR.text(first.summary()),
        )

    def summary(self) -> str:
        """``BROKEN: the target failed with HTTP 503``: the verdict and its reason."""
        return f"{self.verdict.value}: {self.reason}"

    def record(self, title: str, sent: Sent) -> Sent:
        self.steps.append(Step(title, sent.record))
        return sent


def has_door(probe: Probe, transport: Transport) -> bool:
    """Whether ``probe`` exists over ``transport``: the WebSocket API mirrors most /api
    endpoints (binance/ws_methods.py) and none of /sapi; WebSocket-only probes (a session,
    a user data stream) exist over it alone."""
    if probe.scenario is not None:
        return transport is Transport.WS_API
    if probe.category is Category.LIFECYCLE:
        return transport is Transport.REST
    return transport is Transport.REST or probe.endpoint_name in BY_REST


def check_cell(
    env: CheckEnv,
    check: CheckInput,
    fake_for: Callable[[int], Faker],
    ledger: Ledger,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> CheckResult:
    """``run_check``, and once more when infrastructure broke it (``retryable``) and the target
    would take the request now: the retry's result decides the cell and carries the first
    attempt. A cell that got a verdict is never retried, nor one of a target that is down
    (the run's facts are broken, or the client stopped sending after repeated failures or a
    Retry-After longer than it waits).

    The retry happens in place, right after the first attempt, not at the end of the run:
    under xdist a cell belongs to the worker that runs it and the schedule cannot hand it back
    later, and order cells must stay in their worker's sequence. Its requests wait for the
    address's weight budget and any Retry-After the target sent, like every request.
    ``fake_for(attempt)`` gives each attempt its own generated data (new client order ids)."""
    first = run_check(env, check, fake_for(1), ledger)
    if not first.retryable or env.wire.refusing(env.target.source_address) is not None:
        return first
    sleep(RETRY_PAUSE_S)
    retry = run_check(env, check, fake_for(2), ledger)
    retry.first_attempt = first
    return retry


def run_check(env: CheckEnv, check: CheckInput, fake: Faker, ledger: Ledger) -> CheckResult:
    profile, probe, target = check.profile, check.probe, env.target
    result = CheckResult(check, target.name, Verdict.BROKEN, "not run")
    over_ws = check.transport is Transport.WS_API
    derived = derive(profile, probe, target, check.transport, env.surfaces)
    if isinstance(derived, NotExpressible):
        result.verdict, result.reason = Verdict.SKIPPED, derived.reason
        return result
    result.expectation = derived
    try:
        creds = env.credentials(profile)
    except MissingSecrets as exc:
        result.verdict, result.reason = Verdict.SKIPPED, str(exc)
        return result
    if env.broken is not None:
        result.reason = env.broken
        return result
    recipe = env.recipe
    assert recipe is not None  # noqa: S101 - a run without a recipe is marked broken

    wire = env.wire
    as_profile = Send(creds.api_key, creds.signer(), target.source_address)
    ids = ClientOrderIds(env.run_id, fake)
    ctx = ProbeContext(recipe, fake, ids)

    if probe.setup is Setup.OWN_ORDER:
        ctx.setup_order_id = ids()
        params = [*recipe.params(), ("newClientOrderId", ctx.setup_order_id)]
        placed = result.record(
            "setup: place the probe's own order", _send(wire, "newOrder", params, as_profile)
        )
        remember(ledger, creds, recipe.symbol, [ctx.setup_order_id], placed.answer, profile.name)
        if placed.answer.error is not None or (placed.answer.status or 500) >= 500:
            result.reason = f"setup failed: {placed.answer.error or placed.answer.label()}"
            result.retryable = retryable(placed.answer)
            return result

    if probe.setup is Setup.OTHER_ACCOUNT_ORDER:
        ended = _foreign_setup(env, result, ctx, ledger)
        if ended is not None:
            return ended

    # Only a key the target knows can reach an account (and so somebody else's orders).
    if probe.cancels_all and not target.embedded and profile.kind is KeyKind.REGISTERED:
        blocked = _foreign_orders(wire, as_profile, recipe.symbol, result)
        if blocked is not None:
            result.verdict, result.reason = Verdict.SKIPPED, blocked
            return result

    if probe.scenario is not None:
        return _conversation(env, result, creds, ctx, ledger)
    if probe.category is Category.LIFECYCLE:
        return _lifecycle(env, result, creds, ctx, ledger)

    params = probe.params(ctx)
    faulty = faults.apply(probe.fault, as_profile, creds.key_type, env)
    if over_ws:
        ws = BY_REST[probe.endpoint_name]
        sent = result.record(
            f"probe over the WebSocket API ({ws.name}): {probe.description}",
            _send_ws(env.ws_wire, ws.name, params, faulty),
        )
    else:
        # A 429 is not retried in the client: check_cell retries the whole check, visibly.
        sent = result.record(
            f"probe: {probe.description}",
            _send(wire, probe.endpoint_name, params, faulty, retry_rate_limited=False),
        )
    if probe.changes_state:
        client_ids = [v for k, v in params if k == "newClientOrderId"]
        remember(ledger, creds, recipe.symbol, client_ids, sent.answer, profile.name)
    result.answer = sent.answer
    judgement = judge(derived, sent.answer, probe, profile)
    result.verdict, result.reason = judgement.verdict, judgement.reason
    result.retryable = judgement.verdict is Verdict.BROKEN and retryable(sent.answer)
    if judgement.verdict is Verdict.LEAK and target.caps.leak_hint:
        result.reason += f"; {target.label}: {target.caps.leak_hint}"
    return result


def _conversation(
    env: CheckEnv, result: CheckResult, creds: Credentials, ctx: ProbeContext, ledger: Ledger
) -> CheckResult:
    """A WebSocket-only probe: its frames on a connection of its own, every one a step."""
    profile = result.input.profile
    wire = env.ws_wire.fork()
    conv = Conversation(
        profile,
        result.input.probe,
        env.target,
        creds,
        wire,
        ctx,
        ledger,
        lambda title, record: result.steps.append(Step(title, record)),
        env.api_management,
        env.revocation_credentials(profile),
    )
    try:
        done = run_conversation(conv)
    finally:
        wire.close()
    return _finished(result, done)


def _lifecycle(
    env: CheckEnv, result: CheckResult, creds: Credentials, ctx: ProbeContext, ledger: Ledger
) -> CheckResult:
    """A lifecycle probe: REST steps on its own key, changed through API Management."""
    profile = result.input.profile
    own = env.lifecycle_credentials(profile, result.input.probe.name)
    api = env.api_management
    if profile.kind is KeyKind.REGISTERED and (own is None or api is None):
        result.reason = "the run holds no lifecycle key or API Management token"
        return result
    record = lambda title, rec: result.steps.append(Step(title, rec))  # noqa: E731
    lc = lifecycle.Lifecycle(profile, result.input.probe, env.target, own or creds, env.wire,
                             api, ctx, ledger, record)  # fmt: skip
    done = lifecycle.run(lc)
    return _finished(result, done)


def _finished(result: CheckResult, done: Finished) -> CheckResult:
    result.expectation, result.answer = done.expectation, done.answer
    result.verdict, result.reason = done.judgement.verdict, done.judgement.reason
    result.retryable = done.judgement.verdict is Verdict.BROKEN and retryable(done.answer)
    return result


def _send(
    wire: Wire,
    endpoint: str,
    params: list[tuple[str, str]],
    send: Send,
    *,
    retry_rate_limited: bool = True,
) -> Sent:
    return wire.call(
        endpoint,
        params,
        api_key=send.api_key,
        signer=send.signer,
        source=send.source,
        timestamp_shift_ms=send.shift_ms,
        retry_rate_limited=retry_rate_limited,
    )


def _send_ws(wire: WsWire, method: str, params: list[tuple[str, str]], send: Send) -> Sent:
    return wire.call(
        method,
        params,
        api_key=send.api_key,
        signer=send.signer,
        source=send.source,
        timestamp_shift_ms=send.shift_ms,
    )


def _foreign_setup(
    env: CheckEnv, result: CheckResult, ctx: ProbeContext, ledger: Ledger
) -> CheckResult | None:
    """Another account's order for the cross-account probe to aim at; a result ends the cell."""
    profile = result.input.profile
    owner = env.other_account_trader(profile)
    if owner is None:
        result.verdict = Verdict.SKIPPED
        result.reason = (
            f"no profile of an account other than {profile.account_name!r} may trade here, so "
            "there is no other account's order to aim at"
        )
        return result
    title, placed = foreign_order.place(
        env.wire, env.run_id, ctx, owner, env.target.source_address, ledger
    )
    answer = result.record(title, placed).answer
    if answer.status != 200:
        result.reason = f"setup failed: {answer.error or answer.label()}"
        result.retryable = retryable(answer)
        return result
    return None


def _foreign_orders(wire: Wire, send: Send, symbol: str, result: CheckResult) -> str | None:
    """On a target keyprobe does not own, cancel-all must not hit anybody else's orders."""
    listed = result.record(
        "safety: list open orders before cancelling all",
        _send(wire, "openOrders", [("symbol", symbol)], send),
    )
    body = listed.answer.body
    if listed.answer.status != 200 or not isinstance(body, list):
        return (
            f"cancel-all could cancel orders keyprobe did not place, and this key cannot list "
            f"them ({listed.answer.label()})"
        )
    others = [o for o in body if run_of(str(o.get("clientOrderId", ""))) is None]
    if others:
        return (
            f"cancel-all would cancel {len(others)} open {symbol} order(s) keyprobe did not place"
        )
    return None
