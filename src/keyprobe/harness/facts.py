"""The session facts, measured once at the start of a run from the target itself: the
server-time offset, the published limits, the surfaces it serves, and a LIMIT_MAKER recipe;
and the REST client (with its per-address budgets) that measures them and runs the checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from keyprobe.binance.timing import wall_ms
from keyprobe.harness.budget import RateBudget, budget_path
from keyprobe.harness.client import ServerClock, Wire
from keyprobe.harness.order_pace import DEFAULT_ORDER_LIMITS, OrderPace, limits_from_rate_limits
from keyprobe.harness.order_recipe import MarketError, OrderRecipe, recipe_from
from keyprobe.harness.surfaces import Asking, Surface, discover
from keyprobe.harness.targets import Target, Transport

_UNIT_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
# A GET /api/v3/time slower than this does not tell the server's time well enough (the
# offset error is up to half the round trip); it is asked again, at most MAX_TIME_PROBES times.
MAX_TIME_RTT_MS = 1_000
MAX_TIME_PROBES = 3


@dataclass(frozen=True, slots=True)
class Options:
    target: str = "emulator"
    profiles: str = "fixtures/profiles.toml"
    allow_mainnet: bool = False
    require_all_profiles: bool = False
    # The CI environment variable is set (true/1/yes): a missing secret is an error there too.
    ci: bool = False
    seed: int | None = None
    recv_window: int | None = None
    symbol: str = "BTCUSDT"
    capabilities: str | None = None
    egress_address: str | None = None
    timeout: float = 10.0
    # The transports asked for (--transport); empty: every one the target has.
    transports: tuple[str, ...] = ()
    # --shard K/N (validated, harness/shards.py); None: the whole matrix.
    shard: str | None = None
    # --source-address: the local address requests leave from (None: the target's default).
    source_address: str | None = None
    # --margin-repay: POST /sapi/v1/margin/borrow-repay REPAY off the embedded emulator too.
    margin_repay: bool = False


@dataclass(slots=True)
class Facts:
    offset_ms: int = 0
    recipe: OrderRecipe | None = None
    weight_limit: int = 6000
    weight_window_ms: int = 60_000
    weight_header: str = "x-mbx-used-weight-1m"
    # Where the limit came from: the target's exchangeInfo, or keyprobe's default.
    weight_limit_source: str = "keyprobe's default"
    # What the target serves (surfaces.discover): name -> "served: ..." / "absent: ...".
    surfaces: dict[str, str] = field(default_factory=dict)
    # The request weight measuring these facts cost.
    weight_spent: int = 0
    broken: str | None = None
    # The ORDERS limits by header suffix (``10s``: 50), the target's own once measured.
    order_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_ORDER_LIMITS))


def make_wire(
    target: Target, clock: ServerClock, options: Options, facts: Facts, *, budgeted: bool = True
) -> Wire:
    """``budgeted=False``: no shared budget yet (the limit is not known before exchangeInfo;
    a guessed limit must never make a run wait)."""
    assert target.base_url is not None  # noqa: S101 - started before any wire is made
    wire = Wire(
        target.base_url,
        clock,
        recv_window=options.recv_window,
        timeout=options.timeout,
        weight_header=facts.weight_header,
        futures_url=target.futures_url,
    )
    if budgeted:
        set_budgets(wire, target, clock, facts)
    return wire


def set_budgets(wire: Wire, target: Target, clock: ServerClock, facts: Facts) -> None:
    assert target.base_url is not None  # noqa: S101 - started before any wire is made
    wire.weight_header = facts.weight_header
    for source in {target.source_address, target.foreign_address}:
        budget = RateBudget(
            budget_path(target.base_url, source),
            facts.weight_limit,
            facts.weight_window_ms,
            now_ms=clock.now_ms,
            label=f"{target.label} from {source or 'the default address'}",
        )
        wire.set_budget(source, budget)
    wire.order_pace = OrderPace(facts.order_limits, now_ms=clock.now_ms)


def measure_facts(target: Target, options: Options) -> Facts:
    """Server-time offset, weight limits, the surfaces served, and a LIMIT_MAKER recipe.
    Any failure leaves the reason in ``broken``: every cell then reports BROKEN with it,
    without more waiting.

    The first two requests (time, exchangeInfo: 21 weight) go out unbudgeted: the budget
    learns the target's limit from them before it can make anything wait."""
    facts = Facts()
    clock = ServerClock()
    wire = make_wire(target, clock, options, facts, budgeted=False)
    try:
        source = target.source_address
        for _ in range(MAX_TIME_PROBES):
            sent_at = wall_ms()
            time_sent = wire.call("time", source=source)
            received_at = wall_ms()
            # The call may first wait for the shared weight budget (a run just before this one
            # spent the window): then the midpoint is not when the server read its clock, and
            # the offset was off by up to half a minute. Measure again once the wait is over.
            if received_at - sent_at <= MAX_TIME_RTT_MS:
                break
        body = time_sent.answer.body
        if time_sent.answer.status != 200 or not isinstance(body, dict) or "serverTime" not in body:
            facts.broken = _broken(
                "GET /api/v3/time", time_sent.answer.error, time_sent.answer.status, target
            )
            return facts
        clock.update(int(body["serverTime"]), sent_at, received_at)
        facts.offset_ms = clock.offset_ms
        info = wire.call("exchangeInfo", [("symbol", options.symbol)], source=source)
        if info.answer.status != 200 or not isinstance(info.answer.body, dict):
            facts.broken = _broken(
                f"GET /api/v3/exchangeInfo?symbol={options.symbol}",
                info.answer.error,
                info.answer.status,
                target,
            )
            return facts
        for limit in info.answer.body.get("rateLimits", []):
            if limit.get("rateLimitType") == "REQUEST_WEIGHT":
                interval = str(limit.get("interval", "MINUTE"))
                num = int(limit.get("intervalNum", 1))
                facts.weight_limit = int(limit.get("limit", facts.weight_limit))
                facts.weight_window_ms = num * _UNIT_MS.get(interval, 60_000)
                facts.weight_header = f"x-mbx-used-weight-{num}{interval[:1]}".lower()
                facts.weight_limit_source = "the target's exchangeInfo"
        facts.order_limits = limits_from_rate_limits(info.answer.body.get("rateLimits")) or dict(
            DEFAULT_ORDER_LIMITS
        )
        set_budgets(wire, target, clock, facts)
        # The WebSocket API is asked for only when its transport runs (--transport).
        ws_unused = bool(options.transports) and Transport.WS_API.value not in options.transports
        asking = Asking(wire, target, clock, min(options.timeout, 5.0))
        facts.surfaces = discover(asking, skip=frozenset({Surface.WS_API} if ws_unused else ()))
        price = wire.call("tickerPrice", [("symbol", options.symbol)], source=source)
        price_body = price.answer.body
        if price.answer.status != 200 or not isinstance(price_body, dict):
            facts.broken = _broken(
                f"GET /api/v3/ticker/price?symbol={options.symbol}",
                price.answer.error,
                price.answer.status,
                target,
            )
            return facts
        try:
            facts.recipe = recipe_from(
                info.answer.body, options.symbol, str(price_body.get("price"))
            )
        except (MarketError, ArithmeticError, ValueError) as exc:
            facts.broken = f"{target.label}: cannot build a safe order: {exc}"
            return facts
    except Exception as exc:  # whatever the target did, the run reports it, never crashes
        facts.broken = f"{target.label}: {type(exc).__name__}: {exc}"
    finally:
        facts.weight_spent = wire.spent
        wire.close()
    return facts


def _broken(what: str, error: str | None, status: int | None, target: Target) -> str:
    if error is not None:
        return f"{what}: {error}"
    return f"{target.label}: {what} answered HTTP {status}; is this a Binance Spot API?"
