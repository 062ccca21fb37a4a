"""The run: everything session-wide, computed once by the controlling process (target,
credentials, server-time offset, order recipe, weight limits) and handed to xdist workers in
memory. Secrets travel only inside ``RunInfo.generated`` and never touch the disk."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from faker import Faker

from keyprobe.binance.signing import (
    KeyMaterial,
    KeyType,
    MaskedRepr,
    Signer,
    generate_key_material,
    load_signer,
)
from keyprobe.binance.timing import wall_ms
from keyprobe.harness.budget import RateBudget, budget_path
from keyprobe.harness.client import ServerClock, Wire
from keyprobe.harness.credentials import (
    BadSecrets,
    Credentials,
    MissingSecrets,
    from_env,
    generate,
)
from keyprobe.harness.faults import DEFAULT_RECV_WINDOW_MS
from keyprobe.harness.order_recipe import MarketError, OrderRecipe, recipe_from
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, Profile, load_profiles
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.surfaces import discover
from keyprobe.harness.targets import Capabilities, Target, Transport
from keyprobe.harness.ws_client import WsWire, ws_api_absent

_UNIT_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
# A GET /api/v3/time slower than this does not tell the server's time well enough (the
# offset error is up to half the round trip); it is asked again, at most MAX_TIME_PROBES times.
MAX_TIME_RTT_MS = 1_000
MAX_TIME_PROBES = 3


class RunError(ValueError):
    """A configuration problem found before any test ran (reported as a usage error)."""


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
    # Why the target's WebSocket API cannot be used (its cells are then skipped), or None.
    ws_api_absent: str | None = None


@dataclass(slots=True, repr=False)
class RunInfo(MaskedRepr):
    run_id: str
    seed: int
    target: Target
    profiles_path: str
    options: Options
    facts: Facts
    # Key material made for this run (emulator keys; unknown and malformed keys everywhere).
    generated: dict[str, Credentials] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"RunInfo(run_id={self.run_id!r}, target={self.target.name!r}, seed={self.seed})"

    def to_workerinput(self) -> dict[str, Any]:
        target = asdict(self.target)
        target["caps"] = asdict(self.target.caps)
        facts = asdict(self.facts)
        facts["recipe"] = self.facts.recipe.to_json() if self.facts.recipe else None
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "target": target,
            "profiles_path": self.profiles_path,
            "options": asdict(self.options),
            "facts": facts,
            "generated": {
                name: {"api_key": c.api_key, "key_type": c.key_type.value, "private": c.private}
                for name, c in self.generated.items()
            },
        }

    @classmethod
    def from_workerinput(cls, data: dict[str, Any]) -> RunInfo:
        target = dict(data["target"])
        target["caps"] = Capabilities(**target["caps"])
        facts = dict(data["facts"])
        facts["recipe"] = OrderRecipe.from_json(facts["recipe"]) if facts["recipe"] else None
        return cls(
            run_id=data["run_id"],
            seed=data["seed"],
            target=Target(**target),
            profiles_path=data["profiles_path"],
            options=Options(
                **{**data["options"], "transports": tuple(data["options"]["transports"])}
            ),
            facts=Facts(**facts),
            generated={
                name: Credentials(g["api_key"], KeyType(g["key_type"]), g["private"])
                for name, g in data["generated"].items()
            },
        )


def seeded_faker(seed: int, *scope: str) -> Faker:
    """A Faker of our own, seeded from the run seed and a scope (the test id), so a value
    does not depend on which xdist worker ran the test.

    One instance per process, reseeded for each scope: building a Faker costs several ms (it
    loads its providers), and reseeding replaces its random state entirely, so the values are
    those a fresh instance with this seed would give. Valid until the next call."""
    digest = hashlib.sha256("|".join((str(seed), *scope)).encode()).digest()
    fake = _process_faker()
    fake.seed_instance(int.from_bytes(digest[:8], "big"))
    return fake


@lru_cache(maxsize=1)
def _process_faker() -> Faker:
    return Faker()


class Run:
    """The run as one process sees it: RunInfo plus live connections and parsed profiles.
    It is the ``CheckEnv`` every check of this process runs in."""

    def __init__(self, info: RunInfo, profiles: list[Profile]) -> None:
        self.info = info
        self.profiles = profiles
        self.by_name = {p.name: p for p in profiles}
        self.clock = ServerClock(info.facts.offset_ms)
        self._wire: Wire | None = None
        self._ws_wire: WsWire | None = None
        self._wrong: dict[KeyType, Signer] = {}
        # Weight the controller's own requests (the sweeps) cost, outside any cell.
        self.controller_weight = 0
        for creds in info.generated.values():
            REDACTOR.add(*creds.secrets())

    @property
    def target(self) -> Target:
        return self.info.target

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def recipe(self) -> OrderRecipe | None:
        return self.info.facts.recipe

    @property
    def surfaces(self) -> dict[str, str]:
        return self.info.facts.surfaces

    @property
    def broken(self) -> str | None:
        """Why the target cannot be used (every cell is then BROKEN with it), or None."""
        return self.info.facts.broken

    @property
    def foreign_address(self) -> str | None:
        return self.info.target.foreign_address

    @property
    def recv_window_ms(self) -> int:
        return self.info.options.recv_window or DEFAULT_RECV_WINDOW_MS

    @property
    def wire(self) -> Wire:
        if self._wire is None:
            self._wire = make_wire(self.info.target, self.clock, self.info.options, self.info.facts)
        return self._wire

    @property
    def ws_wire(self) -> WsWire:
        if self._ws_wire is None:
            url = self.info.target.ws_api_url
            assert url is not None  # noqa: S101 - no ws-api cell runs without one
            options = self.info.options
            self._ws_wire = WsWire(
                url,
                self.clock,
                recv_window=options.recv_window,
                timeout=options.timeout,
                budget=self.wire.budget,
            )
        return self._ws_wire

    @property
    def ws_api_absent(self) -> str | None:
        target = self.info.target
        if target.ws_api_url is None:
            return f"{target.label}: keyprobe knows no WebSocket API there"
        return self.info.facts.ws_api_absent

    def transports(self) -> list[Transport]:
        """The transports this run's cells go over: those asked for (all by default)."""
        asked = self.info.options.transports
        return [t for t in Transport if not asked or t.value in asked]

    def credentials(self, profile: Profile) -> Credentials:
        """Raises MissingSecrets (skip the cell) or BadSecrets."""
        generated = self.info.generated.get(profile.name)
        if generated is not None:
            return generated
        creds = from_env(profile)
        REDACTOR.add(*creds.secrets())
        return creds

    def wrong_signer(self, key_type: KeyType) -> Signer:
        """A signer of the right type holding key material no target knows."""
        if key_type not in self._wrong:
            material = generate_key_material(key_type)
            REDACTOR.add(material.private)
            self._wrong[key_type] = load_signer(key_type, material.private)
        return self._wrong[key_type]

    def close(self) -> None:
        if self._ws_wire is not None:
            self._ws_wire.close()
            self._ws_wire = None
        if self._wire is not None:
            self._wire.close()
            self._wire = None


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


def load_run_profiles(path: str) -> list[Profile]:
    return load_profiles(Path(path), PROBE_NAMES)


# A callable that starts the embedded emulator, registers (profile, key material) pairs and
# returns its base URL. It lives in the plugin: the harness does not import the emulator.
StartEmulator = Callable[[list[tuple[Profile, Credentials, KeyMaterial]]], str]


def prepare_run(
    options: Options,
    target: Target,
    profiles: list[Profile],
    *,
    run_id: str,
    seed: int,
    start_emulator: StartEmulator | None,
) -> RunInfo:
    """Credentials, then the target (started if embedded), then the session facts."""
    generated: dict[str, Credentials] = {}
    to_register: list[tuple[Profile, Credentials, KeyMaterial]] = []
    missing: list[tuple[str, tuple[str, ...]]] = []
    for profile in profiles:
        if profile.kind is not KeyKind.REGISTERED or target.embedded:
            creds, material = generate(profile)
            generated[profile.name] = creds
            REDACTOR.add(*creds.secrets(), material.private)
            if profile.kind is KeyKind.REGISTERED:
                to_register.append((profile, creds, material))
            continue
        try:
            REDACTOR.add(*from_env(profile).secrets())
        except MissingSecrets as exc:
            missing.append((profile.name, exc.missing))
        except BadSecrets as exc:
            raise RunError(f"{options.profiles}: {exc}") from None
    if missing and (options.require_all_profiles or options.ci):
        raise RunError(missing_secrets_line(options, missing))
    if target.embedded:
        assert start_emulator is not None  # noqa: S101 - the plugin always passes it
        target = target.with_url(start_emulator(to_register))
    info = RunInfo(run_id, seed, target, options.profiles, options, Facts(), generated)
    info.facts = measure_facts(target, options)
    return info


def missing_secrets_line(options: Options, missing: list[tuple[str, tuple[str, ...]]]) -> str:
    """One line naming every missing variable of every profile (names only, never a value)."""
    why = " and ".join(
        w
        for w, on in (
            ("CI is set", options.ci),
            ("--require-all-profiles", options.require_all_profiles),
        )
        if on
    )
    names = "; ".join(f"{profile}: {', '.join(variables)}" for profile, variables in missing)
    return (
        f"{options.profiles}: {len(missing)} profile(s) without their secrets, an error because "
        f"{why} (otherwise they are skipped): set {names}"
    )


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
        set_budgets(wire, target, clock, facts)
        facts.surfaces = discover(wire, source)
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
        if not options.transports or Transport.WS_API.value in options.transports:
            facts.ws_api_absent = ws_api_absent(
                target, clock, min(options.timeout, 5.0), wire.budget
            )
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
