"""``keyprobe observe``: what can this key actually do?

For each key given (a profiles file's registered profiles whose ``KEYPROBE_<PROFILE>_*``
variables are set, or every ``KEYPROBE_<NAME>_API_KEY`` in the environment), against any
target, a non-destructive probe set:

- ``GET /api/v3/order`` of an order that cannot exist (weight 4): -2013 proves READ;
- ``POST /api/v3/order/test`` (validated, never matched) and ``DELETE /api/v3/order`` of an
  order that cannot exist (-2011): TRADE;
- ``GET /sapi/v1/account/apiRestrictions`` where the target serves /sapi: every flag, and
  whether the key is IP-bound (withdrawal is never attempted, only read from here);
- the read probe again from the second source address (``--egress-address``, or 127.0.0.2
  for a loopback target): refused there but not from the first address means IP-bound.

Per key it prints the observed permission shape as a ready ``[profiles.NAME]`` block and a
short checklist; ``--json`` prints the same for machines. It never prints a secret and shows
at most the last four characters of an API key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.harness.client import Answer, ServerClock, Wire
from keyprobe.harness.credentials import BadSecrets, Credentials, MissingSecrets, from_env
from keyprobe.harness.facts import Facts, Options, make_wire, measure_facts
from keyprobe.harness.orders import run_prefix
from keyprobe.harness.probes import PROBE_NAMES
from keyprobe.harness.profiles import KeyKind, Profile, load_profiles
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.surfaces import absent
from keyprobe.harness.targets import Target

_ENV_KEY = re.compile(r"^KEYPROBE_([A-Z0-9_]+)_API_KEY$")
# Refusals that say "this key, from here, may not": unknown key, IP, permission (reference §5).
_REFUSED = frozenset({-2015, -2014, -2008, -1002, -2010})


class ObserveError(ValueError):
    """Nothing to observe, or the target cannot be used."""


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    credentials: Credentials

    @property
    def shown(self) -> str:
        """At most the last four characters of the API key."""
        return "..." + self.credentials.api_key[-4:]


@dataclass(slots=True)
class Observation:
    name: str
    api_key: str  # masked: "...abcd"
    key_type: str
    valid: bool | None = None
    can_read: bool | None = None
    can_trade: bool | None = None
    can_withdraw: bool | None = None
    ip_bound: bool | None = None
    # Every flag apiRestrictions reported (None: /sapi not served or not readable).
    restrictions: dict[str, bool] | None = None
    permissions: list[str] = field(default_factory=list)
    # The probes and what each answered, for the reader and --json.
    evidence: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def keys_from(profiles_path: Path | None, env: Mapping[str, str] | None = None) -> list[Key]:
    """The keys to observe: the profiles file's registered profiles with secrets set, or (no
    file) every ``KEYPROBE_<NAME>_API_KEY`` of the environment, its type from its secret."""
    env = os.environ if env is None else env
    found: list[Key] = []
    if profiles_path is not None:
        for profile in load_profiles(profiles_path, PROBE_NAMES):
            if profile.kind is not KeyKind.REGISTERED:
                continue
            try:
                found.append(Key(profile.name, from_env(profile, env)))
            except MissingSecrets:
                continue
            except BadSecrets as exc:
                raise ObserveError(str(exc)) from None
        return found
    for var in sorted(env):
        match = _ENV_KEY.match(var)
        if match is None:
            continue
        name = match.group(1).lower()
        prefix = f"KEYPROBE_{match.group(1)}_"
        key_type = KeyType.HMAC if env.get(prefix + "SECRET") else _pem_type(env, prefix)
        if key_type is None:
            continue
        profile = Profile(name, key_type, frozenset())
        try:
            found.append(Key(name, from_env(profile, env)))
        except (MissingSecrets, BadSecrets) as exc:
            raise ObserveError(str(exc)) from None
    return found


def _pem_type(env: Mapping[str, str], prefix: str) -> KeyType | None:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = env.get(prefix + "PRIVATE_KEY", "")
    if not pem and env.get(prefix + "PRIVATE_KEY_FILE"):
        try:
            pem = Path(env[prefix + "PRIVATE_KEY_FILE"]).read_text(encoding="utf-8")
        except OSError:
            return None
    if not pem:
        return None
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except ValueError:
        raise ObserveError(f"{prefix}PRIVATE_KEY: not an unencrypted PEM private key") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return KeyType.ED25519
    if isinstance(key, rsa.RSAPrivateKey):
        return KeyType.RSA
    return None


def _state(answer: Answer, allowed_code: int | None) -> tuple[bool | None, str]:
    """(True: got through, False: refused, None: says nothing), and the answer's label."""
    label = answer.error or answer.label()
    if answer.outcome is None:
        return None, label
    if answer.status == 200 or (allowed_code is not None and answer.code == allowed_code):
        return True, label
    if answer.status == 401 or answer.code in _REFUSED:
        return False, label
    return None, label


class Observer:
    """One target, its facts measured once; ``observe`` one key at a time."""

    def __init__(self, target: Target, options: Options) -> None:
        self.target = target
        self.options = options
        self.facts: Facts = measure_facts(target, options)
        if self.facts.broken is not None:
            raise ObserveError(self.facts.broken)
        self.wire: Wire = make_wire(target, ServerClock(self.facts.offset_ms), options, self.facts)
        self.sapi = "sapi" not in absent(self.facts.surfaces)
        self._n = 0

    def close(self) -> None:
        self.wire.close()

    def _unknown_id(self) -> str:
        self._n += 1
        return f"{run_prefix('observe')}{os.getpid()}x{self._n}"

    def observe(self, key: Key) -> Observation:
        creds = key.credentials
        REDACTOR.add(*creds.secrets())
        recipe = self.facts.recipe
        assert recipe is not None  # noqa: S101 - measure_facts sets it or marks the run broken
        symbol = recipe.symbol
        obs = Observation(key.name, key.shown, creds.key_type.value)
        signer = creds.signer()
        source = self.target.source_address

        def send(ep: str, params: list[tuple[str, str]], src: str | None = source) -> Answer:
            return self.wire.call(
                ep, params, api_key=creds.api_key, signer=signer, source=src
            ).answer

        read = send("queryOrder", [("symbol", symbol), ("origClientOrderId", self._unknown_id())])
        obs.can_read, obs.evidence["GET /api/v3/order (unknown id)"] = _state(read, -2013)
        test = send("testOrder", recipe.params())
        traded, obs.evidence["POST /api/v3/order/test"] = _state(test, None)
        cancel = send(
            "cancelOrder", [("symbol", symbol), ("origClientOrderId", self._unknown_id())]
        )
        cancelled, obs.evidence["DELETE /api/v3/order (unknown id)"] = _state(cancel, -2011)
        obs.can_trade = traded if traded is not None else cancelled
        if read.code == -2014 or test.code == -2014:
            obs.notes.append("the target says the API key is malformed (-2014)")

        if self.sapi:
            restrictions = send("apiRestrictions", [])
            got, obs.evidence["GET /sapi/v1/account/apiRestrictions"] = _state(restrictions, None)
            body = restrictions.body
            if got and isinstance(body, dict):
                obs.restrictions = {
                    p.value: body.get(p.value) is True for p in Permission if p.value in body
                }
                if isinstance(body.get("ipRestrict"), bool):
                    obs.ip_bound = bool(body["ipRestrict"])
                obs.can_withdraw = body.get(Permission.WITHDRAWALS.value) is True
        else:
            obs.notes.append(
                "/sapi is not served here: withdrawal, transfer and margin flags cannot be "
                "read (keyprobe never attempts them)"
            )

        foreign = self.target.foreign_address
        if foreign is not None and obs.can_read is not None:
            away = send(
                "queryOrder",
                [("symbol", symbol), ("origClientOrderId", self._unknown_id())],
                src=foreign,
            )
            far, obs.evidence[f"GET /api/v3/order from {foreign}"] = _state(away, -2013)
            if obs.ip_bound is None and obs.can_read and far is not None:
                obs.ip_bound = not far
        elif foreign is None:
            obs.notes.append(
                "IP binding not probed: give --egress-address ADDR (a local address whose "
                "traffic leaves through another public IP)"
            )

        answered = [obs.can_read, obs.can_trade, obs.restrictions is not None]
        if any(a is True for a in answered):
            obs.valid = True
        elif obs.can_read is False and obs.can_trade is False:
            obs.valid = False
            obs.notes.append(
                "every probe was refused: the key is unknown to this target, has no "
                "permission at all, or is bound to addresses other than this one"
            )
        obs.permissions = _permissions(obs)
        return obs


def _permissions(obs: Observation) -> list[str]:
    if obs.restrictions is not None:
        return [p.value for p in Permission if obs.restrictions.get(p.value)]
    shape = []
    if obs.can_read:
        shape.append(Permission.READING.value)
    if obs.can_trade:
        shape.append(Permission.SPOT_AND_MARGIN_TRADING.value)
    return shape


def _yes(value: bool | None, yes: str, no: str, unknown: str = "unknown") -> str:
    return unknown if value is None else (yes if value else no)


def toml_block(obs: Observation, target: Target) -> list[str]:
    """A ready ``[profiles.NAME]`` block for fixtures/profiles.toml."""
    perms = ", ".join(f'"{p}"' for p in obs.permissions)
    lines = [
        f"[profiles.{obs.name}]",
        f'description = "observed on {target.name} (key {obs.api_key})"',
        f'key_type = "{obs.key_type}"',
        f"permissions = [{perms}]",
    ]
    if obs.ip_bound:
        address = target.source_address
        if address is not None:
            lines.append(f'ip_whitelist = ["{address}"]')
        else:
            lines.append('ip_whitelist = ["YOUR.EGRESS.IP"]  # IP-bound: put the bound address')
    if obs.restrictions is None:
        lines.append("# only READ and TRADE are observable without /sapi")
    if obs.valid is False:
        lines.append('kind = "unknown"  # every probe was refused; see the checklist')
    return lines


def checklist(obs: Observation) -> list[str]:
    return [
        f"  valid:         {_yes(obs.valid, 'yes', 'no (every probe refused)')}",
        f"  can read:      {_yes(obs.can_read, 'yes', 'no')}",
        f"  can trade:     {_yes(obs.can_trade, 'yes', 'no')}",
        "  can withdraw:  "
        + _yes(obs.can_withdraw, "YES", "no", "unknown (no /sapi here; never attempted)"),
        f"  IP-bound:      {_yes(obs.ip_bound, 'yes', 'no', 'unknown')}",
        f"  key type:      {obs.key_type}",
        *(f"  note: {n}" for n in obs.notes),
    ]


def render(observations: list[Observation], target: Target) -> list[str]:
    out: list[str] = []
    for obs in observations:
        out.append(f"# {obs.name}: key {obs.api_key} on {target.name}")
        out.extend(checklist(obs))
        out.append("")
        out.extend(toml_block(obs, target))
        out.append("")
    return [REDACTOR.text(line) for line in out]
