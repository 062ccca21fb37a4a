"""Running one cell: derive the expectation, prepare (setup order, safety checks), send the
probe as the profile, judge the answer. Every exchange is recorded redacted, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from faker import Faker

from keyprobe.binance.signing import MaskedRepr, Signer, generate_api_key
from keyprobe.harness.credentials import Credentials, MissingSecrets, malformed_api_key
from keyprobe.harness.expectations import Expectation, NotExpressible, derive
from keyprobe.harness.orders import ClientOrderIds, Ledger, PlacedOrder, run_of
from keyprobe.harness.probes import Attack, Probe, ProbeContext, Setup
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.redaction import ExchangeRecord
from keyprobe.harness.session import Run
from keyprobe.harness.verdicts import Actual, Judgement, Verdict, judge

# How far the deliberately wrong timestamps are off: well beyond any offset error.
FUTURE_SHIFT_MS = 5_000
STALE_MARGIN_MS = 5_000
DEFAULT_RECV_WINDOW_MS = 5_000


@dataclass(slots=True)
class CellRun:
    """The result of one cell, whatever happened."""

    verdict: Verdict
    reason: str
    expectation: Expectation | None = None
    actual: Actual | None = None
    exchanges: list[tuple[str, ExchangeRecord]] = field(default_factory=list)


def _order_params_ids(params: list[tuple[str, str]]) -> list[str]:
    return [v for k, v in params if k == "newClientOrderId"]


def run_cell(run: Run, profile: Profile, probe: Probe, fake: Faker, ledger: Ledger) -> CellRun:
    target = run.target
    derived = derive(profile, probe, target)
    if isinstance(derived, NotExpressible):
        return CellRun(Verdict.SKIPPED, derived.reason)
    expectation = derived
    try:
        creds = run.credentials(profile)
    except MissingSecrets as exc:
        return CellRun(Verdict.SKIPPED, str(exc), expectation)
    if run.info.facts.broken is not None:
        return CellRun(Verdict.BROKEN, run.info.facts.broken, expectation)
    recipe = run.info.facts.recipe
    assert recipe is not None  # noqa: S101 - facts without a recipe are marked broken

    result = CellRun(Verdict.BROKEN, "not run", expectation)
    wire = run.wire
    source = target.source_address
    ids = ClientOrderIds(run.info.run_id, fake)
    ctx = ProbeContext(recipe, fake, ids)

    if probe.setup is Setup.OWN_ORDER:
        ctx.setup_order_id = ids()
        params = [*recipe.params(), ("newClientOrderId", ctx.setup_order_id)]
        placed = wire.call(
            "newOrder", params, api_key=creds.api_key, signer=creds.signer(), source=source
        )
        _remember(ledger, creds, recipe.symbol, [ctx.setup_order_id], placed.actual)
        result.exchanges.append(("setup: place the probe's own order", placed.record))
        if placed.actual.error is not None or (placed.actual.status or 500) >= 500:
            result.reason = f"setup failed: {placed.actual.error or placed.actual.label()}"
            return result

    # Only a key the target knows can reach an account (and so somebody else's orders).
    if probe.cancels_all and not target.embedded and profile.kind is KeyKind.REGISTERED:
        blocked = _foreign_orders(run, creds, recipe.symbol, result)
        if blocked is not None:
            result.verdict, result.reason = Verdict.SKIPPED, blocked
            return result

    params = probe.params(ctx)

    fault = _fault(run, probe, creds)
    sent = wire.call(
        probe.endpoint,
        params,
        api_key=fault.api_key,
        signer=fault.signer,
        source=fault.source,
        timestamp_shift_ms=fault.shift_ms,
    )
    if probe.changes_state:
        _remember(ledger, creds, recipe.symbol, _order_params_ids(params), sent.actual)
    result.exchanges.append((f"probe: {probe.description}", sent.record))
    result.actual = sent.actual
    judgement: Judgement = judge(expectation, sent.actual, probe, profile)
    result.verdict, result.reason = judgement.verdict, judgement.reason
    return result


def _remember(
    ledger: Ledger, creds: Credentials, symbol: str, client_ids: list[str], actual: Actual
) -> None:
    """Orders the teardown must cancel: accepted ones, and those whose fate is unknown."""
    if actual.status == 200:
        confirmed: bool | None = True
    elif actual.error is not None or (actual.status or 500) >= 500:
        confirmed = None
    else:
        return
    for client_id in client_ids:
        ledger.add(PlacedOrder(creds, symbol, client_id, confirmed))


@dataclass(frozen=True, slots=True, repr=False)
class _Fault(MaskedRepr):  # holds the API key sent
    api_key: str | None
    signer: Signer
    source: str | None
    shift_ms: int


def _fault(run: Run, probe: Probe, creds: Credentials) -> _Fault:
    """How to send this probe as its profile, with the one deliberate fault of an auth
    probe (if it is one)."""
    api_key: str | None = creds.api_key
    signer = creds.signer()
    shift = 0
    source = run.target.source_address
    attack = probe.attack
    if attack is Attack.NO_KEY_HEADER:
        api_key = None
    elif attack is Attack.MALFORMED_KEY:
        api_key = malformed_api_key()
    elif attack is Attack.UNKNOWN_KEY:
        api_key = generate_api_key()
    elif attack is Attack.WRONG_SECRET:
        signer = run.wrong_signer(creds.key_type)
    elif attack is Attack.STALE_TIMESTAMP:
        window = run.info.options.recv_window or DEFAULT_RECV_WINDOW_MS
        shift = -(window + STALE_MARGIN_MS)
    elif attack is Attack.FUTURE_TIMESTAMP:
        shift = FUTURE_SHIFT_MS
    elif attack is Attack.FOREIGN_ADDRESS:
        source = run.target.foreign_address
    return _Fault(api_key, signer, source, shift)


def _foreign_orders(run: Run, creds: Credentials, symbol: str, result: CellRun) -> str | None:
    """On a target keyprobe does not own, cancel-all must not hit anybody else's orders."""
    listed = run.wire.call(
        "openOrders",
        [("symbol", symbol)],
        api_key=creds.api_key,
        signer=creds.signer(),
        source=run.target.source_address,
    )
    result.exchanges.append(("safety: list open orders before cancelling all", listed.record))
    body = listed.actual.body
    if listed.actual.status != 200 or not isinstance(body, list):
        return (
            f"cancel-all could cancel orders keyprobe did not place, and this key cannot list "
            f"them ({listed.actual.label()})"
        )
    others = [o for o in body if run_of(str(o.get("clientOrderId", ""))) is None]
    if others:
        return (
            f"cancel-all would cancel {len(others)} open {symbol} order(s) keyprobe did not place"
        )
    return None
