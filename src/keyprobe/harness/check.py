"""One check, end to end: a cell's inputs (profile, probe, transport) on the run's target →
the expectation → the signed exchange(s) → the verdict and its reason, as one typed result.
Everything that reports a check (Allure, matrix.json, the terminal) is fed from that result.

Every exchange is recorded redacted, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from faker import Faker

from keyprobe.binance.signing import KeyType, Signer
from keyprobe.cells import Cell, Verdict
from keyprobe.harness import faults
from keyprobe.harness.client import Answer, Sent, Wire
from keyprobe.harness.credentials import Credentials, MissingSecrets
from keyprobe.harness.expectations import Expectation, NotExpressible, derive
from keyprobe.harness.faults import Send
from keyprobe.harness.order_recipe import OrderRecipe
from keyprobe.harness.orders import ClientOrderIds, Ledger, PlacedOrder, run_of
from keyprobe.harness.probes import Probe, ProbeContext, Setup
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.redaction import REDACTOR, ExchangeRecord
from keyprobe.harness.targets import Target
from keyprobe.harness.verdicts import judge

# The transports a check can go over. Only REST exists today; the WebSocket API plugs in here.
REST = "rest"


class CheckEnv(Protocol):
    """What a check needs from the run it belongs to (``keyprobe.harness.run.Run``)."""

    @property
    def target(self) -> Target: ...

    @property
    def wire(self) -> Wire: ...

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


@dataclass(frozen=True, slots=True)
class CheckInput:
    """Which cell: this profile runs this probe over this transport."""

    profile: Profile
    probe: Probe
    transport: str = REST

    @property
    def id(self) -> str:
        """The test id: ``read_only-place_order``."""
        return f"{self.profile.name}-{self.probe.name}"


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

    def cell(self) -> Cell:
        """The matrix record of this result (reasons redacted): the one translation."""
        expected = self.expectation.outcome if self.expectation else None
        actual = self.answer.outcome if self.answer else None
        return Cell(
            profile=self.input.profile.name,
            probe=self.input.probe.name,
            category=self.input.probe.category.value,
            target=self.target,
            transport=self.input.transport,
            expected=expected,
            actual=actual,
            verdict=self.verdict,
            reason=REDACTOR.text(self.reason),
        )

    def record(self, title: str, sent: Sent) -> Sent:
        self.steps.append(Step(title, sent.record))
        return sent


def run_check(env: CheckEnv, check: CheckInput, fake: Faker, ledger: Ledger) -> CheckResult:
    profile, probe, target = check.profile, check.probe, env.target
    result = CheckResult(check, target.name, Verdict.BROKEN, "not run")
    derived = derive(profile, probe, target, env.surfaces)
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
        _remember(ledger, creds, recipe.symbol, [ctx.setup_order_id], placed.answer, profile.name)
        if placed.answer.error is not None or (placed.answer.status or 500) >= 500:
            result.reason = f"setup failed: {placed.answer.error or placed.answer.label()}"
            return result

    # Only a key the target knows can reach an account (and so somebody else's orders).
    if probe.cancels_all and not target.embedded and profile.kind is KeyKind.REGISTERED:
        blocked = _foreign_orders(wire, as_profile, recipe.symbol, result)
        if blocked is not None:
            result.verdict, result.reason = Verdict.SKIPPED, blocked
            return result

    params = probe.params(ctx)
    faulty = faults.apply(probe.fault, as_profile, creds.key_type, env)
    sent = result.record(
        f"probe: {probe.description}", _send(wire, probe.endpoint_name, params, faulty)
    )
    if probe.changes_state:
        client_ids = [v for k, v in params if k == "newClientOrderId"]
        _remember(ledger, creds, recipe.symbol, client_ids, sent.answer, profile.name)
    result.answer = sent.answer
    judgement = judge(derived, sent.answer, probe, profile)
    result.verdict, result.reason = judgement.verdict, judgement.reason
    if judgement.verdict is Verdict.LEAK and target.caps.leak_hint:
        result.reason += f"; {target.label}: {target.caps.leak_hint}"
    return result


def _send(wire: Wire, endpoint: str, params: list[tuple[str, str]], send: Send) -> Sent:
    return wire.call(
        endpoint,
        params,
        api_key=send.api_key,
        signer=send.signer,
        source=send.source,
        timestamp_shift_ms=send.shift_ms,
    )


def _remember(
    ledger: Ledger,
    creds: Credentials,
    symbol: str,
    client_ids: list[str],
    answer: Answer,
    account: str,
) -> None:
    """Orders the teardown must cancel: accepted ones, and those whose fate is unknown."""
    if answer.status == 200:
        confirmed: bool | None = True
    elif answer.error is not None or (answer.status or 500) >= 500:
        confirmed = None
    else:
        return
    for client_id in client_ids:
        ledger.add(PlacedOrder(creds, symbol, client_id, confirmed, account))


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
