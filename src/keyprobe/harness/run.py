"""The run: everything session-wide, computed once by the controlling process (target,
credentials, server-time offset, order recipe, weight limits) and handed to xdist workers in
memory. Secrets travel only inside ``RunInfo.generated`` and never touch the disk."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from faker import Faker

from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import (
    KeyMaterial,
    KeyType,
    MaskedRepr,
    Signer,
    generate_key_material,
    load_signer,
)
from keyprobe.harness.api_management import ApiManagement
from keyprobe.harness.client import ServerClock, Wire
from keyprobe.harness.credentials import (
    BadSecrets,
    Credentials,
    MissingSecrets,
    from_env,
    generate,
)
from keyprobe.harness.expectations import LOGON_KEY_TYPES
from keyprobe.harness.facts import Facts, Options, make_wire, measure_facts
from keyprobe.harness.faults import DEFAULT_RECV_WINDOW_MS
from keyprobe.harness.order_recipe import OrderRecipe
from keyprobe.harness.probes import CATALOGUE, PROBE_NAMES, Category
from keyprobe.harness.profiles import KeyKind, Profile, load_profiles
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.targets import Capabilities, Target, Transport
from keyprobe.harness.ws_client import WsWire

LIFECYCLE_PROBES = tuple(p.name for p in CATALOGUE if p.category is Category.LIFECYCLE)


class RunError(ValueError):
    """A configuration problem found before any test ran (reported as a usage error)."""


@dataclass(slots=True, repr=False)
class RunInfo(MaskedRepr):
    run_id: str
    seed: int
    target: Target
    profiles_path: str
    options: Options
    facts: Facts
    # Key material made for this run (emulator keys; unknown and malformed keys everywhere;
    # on the embedded emulator also each revocation probe's own key, ``NAME/revocation``).
    generated: dict[str, Credentials] = field(default_factory=dict)
    # The embedded emulator's API Management token (a secret, like the keys), or None.
    control_token: str | None = None

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
            "control_token": self.control_token,
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
            control_token=data["control_token"],
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
        if info.control_token is not None:
            REDACTOR.add(info.control_token)

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
                order_pace=self.wire.order_pace,
            )
        return self._ws_wire

    def transports(self) -> list[Transport]:
        """The transports this run's cells go over: those asked for (all by default)."""
        asked = self.info.options.transports
        return [t for t in Transport if not asked or t.value in asked]

    @property
    def api_management(self) -> ApiManagement | None:
        """The target's API Management (the embedded emulator's), or None."""
        token, target = self.info.control_token, self.info.target
        if token is None or target.base_url is None:
            return None
        return ApiManagement(
            target.base_url, token, target.source_address, self.info.options.timeout
        )

    def revocation_credentials(self, profile: Profile) -> Credentials | None:
        """The key made for ``profile``'s revocation probe alone (same type, permissions and
        IP policy, its own account), so that taking a permission away mid-run affects no
        other cell, under xdist neither. None: no such key (not the embedded emulator)."""
        return self.info.generated.get(revocation_name(profile.name))

    def lifecycle_credentials(self, profile: Profile, probe: str) -> Credentials | None:
        """The key made for ``profile``'s lifecycle probe ``probe`` alone (see
        revocation_credentials). None: no such key (not the embedded emulator)."""
        return self.info.generated.get(f"{profile.name}/{probe}")

    def other_account_trader(self, profile: Profile) -> tuple[Profile, Credentials] | None:
        """Who places the order a cross-account probe of ``profile`` aims at: a registered
        profile of another account that may trade from the run's address, whose secrets the
        run holds. The master's first (a sub-account key must not reach it), then a
        sub-account's, then any other account's, in the file's order."""
        mine = profile.account_name
        source = self.target.source_address

        def rank(other: Profile) -> int:
            if other.account_name == profile.master:
                return 0
            return 1 if other.master == mine else 2

        for other in sorted(self.profiles, key=rank):
            if (
                other.kind is not KeyKind.REGISTERED
                or other.account_name == mine
                or not other.has(Permission.SPOT_AND_MARGIN_TRADING)
                or (source is not None and not other.allows_address(source))
            ):
                continue
            try:
                return other, self.credentials(other)
            except (MissingSecrets, BadSecrets):
                continue
        return None

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


def load_run_profiles(path: str) -> list[Profile]:
    return load_profiles(Path(path), PROBE_NAMES)


# A callable that starts the embedded emulator, registers (profile, key material) pairs and
# returns its base URL and its API Management token. It lives in the plugin: the harness does
# not import the emulator.
StartEmulator = Callable[[list[tuple[Profile, Credentials, KeyMaterial]]], tuple[str, str]]


def revocation_name(profile: str) -> str:
    """The name of a profile's revocation key ("/" never occurs in a profile name)."""
    return f"{profile}/revocation"


def _revocation_twins(profiles: list[Profile]) -> list[tuple[Profile, Credentials, KeyMaterial]]:
    """A key per profile that can log on (a registered Ed25519 key): the revocation probe
    takes a permission from it mid-session, and no other cell uses it."""
    twins = []
    for profile in profiles:
        if profile.kind is KeyKind.REGISTERED and profile.key_type in LOGON_KEY_TYPES:
            # An account of its own (named like the twin), no master: its own orders only.
            twin = replace(profile, name=revocation_name(profile.name), account=None, master=None)
            creds, material = generate(twin)
            twins.append((twin, creds, material))
    return twins


def _lifecycle_twins(profiles: list[Profile]) -> list[tuple[Profile, Credentials, KeyMaterial]]:
    """A key per registered profile and lifecycle probe (``NAME/PROBE``, its own account): the
    probe changes it through API Management, and no other cell uses it."""
    twins = []
    for profile in profiles:
        if profile.kind is not KeyKind.REGISTERED:
            continue
        for probe in LIFECYCLE_PROBES:
            twin = replace(profile, name=f"{profile.name}/{probe}", account=None, master=None)
            creds, material = generate(twin)
            twins.append((twin, creds, material))
    return twins


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
    control_token = None
    if target.embedded:
        assert start_emulator is not None  # noqa: S101 - the plugin always passes it
        twins = (
            _revocation_twins(profiles) + _lifecycle_twins(profiles)
            if target.caps.api_management
            else []
        )
        for twin, creds, material in twins:
            generated[twin.name] = creds
            REDACTOR.add(*creds.secrets(), material.private)
        url, control_token = start_emulator(to_register + twins)
        REDACTOR.add(control_token)
        target = target.with_url(url)
    info = RunInfo(
        run_id, seed, target, options.profiles, options, Facts(), generated, control_token
    )
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
