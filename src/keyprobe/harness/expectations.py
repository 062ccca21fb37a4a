"""Expectations are derived, never hand-written per cell: from the profile's declared
permissions and IP policy, the probe, and what the target can express. An ``expect`` entry in
the profiles file overrides one cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keyprobe.binance.endpoint_model import Api
from keyprobe.binance.endpoints import permission_denied_code, unknown_key_code
from keyprobe.binance.errors import Family, message
from keyprobe.binance.outcome import OK, Outcome
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.binance.unsettled import DEFAULT, refusal
from keyprobe.binance.ws_methods import BY_REST
from keyprobe.harness.faults import FAULTS, Fault, Stage
from keyprobe.harness.probes import BY_NAME, Category, Probe, Scenario, Setup
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.surfaces import Surface, absent
from keyprobe.harness.targets import Target, Transport

# Only these key types may session.logon: "Only Ed25519 keys are supported for this feature"
# [DOC binance-ws-api.md §3.1].
LOGON_KEY_TYPES = frozenset({KeyType.ED25519})
# What session.logon answers any other key type, and userDataStream.subscribe without a
# session: unsettled answers (binance-ws-api.md §8 Q1, Q9), read from the one table
# (binance/unsettled.py's DEFAULT, the packaged behaviour.toml), as the emulator's defaults
# are. Not read from the emulator or the target: a live target that answers otherwise shows as
# MISMATCH instead of being believed, and a recorded answer pinned in the table moves both.
LOGON_REFUSED = refusal("ws.logon_refused_code")
NO_SESSION_CODE = DEFAULT.integer("ws.subscribe_without_logon_code")
# A malformed key (rest.malformed_key_code) and a well-formed unknown /api key
# (rest.unknown_key_code), as the table answers them.
MALFORMED_KEY = refusal("rest.malformed_key_code")
UNKNOWN_KEY_CODE = DEFAULT.integer("rest.unknown_key_code")
# The permission the revocation probe removes mid-session, first one the profile declares; a
# key with none gets its IP whitelist moved to an address the connection does not come from.
REVOKE_ORDER = (Permission.SPOT_AND_MARGIN_TRADING, Permission.READING)

# The families with which the auth pipeline refuses a request (reference §5.5 precedence).
REFUSAL_FAMILIES = frozenset({Family.AUTH, Family.CLOCK})


def is_refusal(outcome: Outcome) -> bool:
    """A 401, or a code the auth pipeline (key, IP, timestamp, signature, permission) sends."""
    return outcome.status == 401 or outcome.family in REFUSAL_FAMILIES


@dataclass(frozen=True, slots=True)
class Expectation:
    outcome: Outcome
    # The expectation is a refusal: an answer that gets past it is a LEAK.
    refusal: bool
    why: str
    overridden: bool = False


@dataclass(frozen=True, slots=True)
class NotExpressible:
    """The target cannot show this cell; the test is skipped with ``reason``."""

    reason: str


def _refused(status: int, code: int, why: str, msg: str | None = None) -> Expectation:
    return Expectation(Outcome(status, code, msg if msg is not None else message(code)), True, why)


def _malformed() -> Expectation:
    return Expectation(MALFORMED_KEY, True, "the API key is malformed")


def _unknown(code: int = UNKNOWN_KEY_CODE) -> Expectation:
    why = "the target does not know this key"
    return _rejected_key(why) if code == -2015 else _refused(401, code, why)


def _rejected_key(why: str) -> Expectation:
    # Futures append ", request ip: x.x.x.x"; whether spot does is unsettled (reference §5.3),
    # so the message is checked as a prefix without its final period.
    return _refused(401, -2015, why, message(-2015).rstrip("."))


def expressible(
    profile: Profile,
    probe: Probe,
    target: Target,
    transport: Transport = Transport.REST,
    surfaces: Mapping[str, str] | None = None,
) -> NotExpressible | None:
    """``surfaces``: what the target was found to serve (``surfaces.discover``); a cell of an
    absent surface is skipped with the evidence, never run into a 404."""
    caps, ep = target.caps, probe.endpoint
    if probe.scenario is not None and transport is not Transport.WS_API:
        return NotExpressible(f"{probe.name} exists on the WebSocket API only")
    if (
        probe.scenario is None
        and transport is Transport.WS_API
        and probe.endpoint_name not in BY_REST
    ):
        return NotExpressible(f"the WebSocket API has no method for {ep.method} {ep.path}")
    ws_gone = absent(surfaces or {}).get(Surface.WS_API.value)
    if transport is Transport.WS_API and ws_gone is not None:
        # Measured at the start: the surface is absent, not broken.
        return NotExpressible(ws_gone)
    if probe.category is Category.LIFECYCLE and not caps.api_management:
        return NotExpressible(
            f"{target.label}: keyprobe cannot change a key while it is in use there (the "
            "embedded emulator's API Management only)"
        )
    if probe.scenario is Scenario.REVOCATION and not caps.api_management:
        return NotExpressible(
            f"{target.label}: keyprobe cannot change a key mid-session there (the embedded "
            "emulator's API Management only)"
        )
    gone = absent(surfaces or {}).get(ep.api.value)
    if gone is not None:
        return NotExpressible(f"{target.label}: /{ep.api.value} is not served there ({gone})")
    if ep.api.value == "sapi" and not caps.sapi:
        return NotExpressible(f"{target.label}: /sapi does not exist there ({caps.note})")
    if probe.opt_in and not caps.margin_repay:
        return NotExpressible(
            f"{target.label}: {probe.name} could repay real margin debt; give --margin-repay "
            "to send it (the embedded emulator always may)"
        )
    if probe.changes_state and not caps.state_changes:
        return NotExpressible(f"{target.label}: keyprobe never sends state-changing requests here")
    if probe.forbidden_action and not caps.forbidden_actions:
        return NotExpressible(f"{target.label}: forbidden actions are never attempted here")
    if probe.fault is Fault.FOREIGN_ADDRESS:
        if profile.ip_whitelist is not None and not caps.ip_whitelist:
            return NotExpressible(f"{target.label}: keys cannot be IP-bound there")
        if target.foreign_address is None:
            return NotExpressible(
                f"{target.label}: no second source address; give --egress-address ADDR "
                "(a local address whose traffic leaves through another public IP)"
            )
    # Whether a key can lack a permission is never assumed: the cell runs, and a key that
    # does more than its profile declares is a LEAK (with the target's hint, check.py).
    return None


def derive(
    profile: Profile,
    probe: Probe,
    target: Target,
    transport: Transport = Transport.REST,
    surfaces: Mapping[str, str] | None = None,
) -> Expectation | NotExpressible:
    blocked = expressible(profile, probe, target, transport, surfaces)
    if blocked is not None:
        return blocked
    override = profile.expect.get(probe.name)
    if override is not None:
        return Expectation(override, is_refusal(override), "set in the profiles file", True)
    if probe.scenario is not None:
        return ws_only(profile, probe.scenario, target)
    if probe.category is Category.LIFECYCLE:
        return lifecycle(profile, probe, target)
    return _derived(profile, probe, target, transport)


def lifecycle(profile: Profile, probe: Probe, target: Target) -> Expectation:
    """The decisive answer of a lifecycle probe (harness/lifecycle.py): the key's own refusal,
    the setup order's refusal of a key that may not trade, else the TRADE call after the
    change: 401 -2015 (a permission edit applies from the next request, §5 [INF])."""
    refused = _key_refused(profile, target)
    if refused is not None:
        return refused
    if probe.name == "permission_removed" and not profile.has(Permission.SPOT_AND_MARGIN_TRADING):
        return _derived(profile, BY_NAME["place_order"], target, Transport.REST)
    if probe.name == "permission_removed":
        return _rejected_key("Spot & Margin Trading removed while an order rests")
    return _rejected_key("tradingAuthorityExpirationTime passed: Spot & Margin Trading ended")


# ----------------------------------------------------------------------------- WebSocket only


def _key_refused(profile: Profile, target: Target) -> Expectation | None:
    """A key that no signed WS method accepts: malformed, unknown, or not from this address."""
    if profile.kind is KeyKind.MALFORMED:
        return _malformed()
    if profile.kind is KeyKind.UNKNOWN:
        return _unknown()
    source = target.source_address
    if source is not None and not profile.allows_address(source):
        return _rejected_key(
            f"the key is bound to {', '.join(profile.ip_whitelist or ())}, not {source}"
        )
    return None


def logon(profile: Profile, target: Target) -> Expectation:
    """What ``session.logon`` with this key answers (it needs no permission)."""
    refused = _key_refused(profile, target)
    if refused is not None:
        return refused
    if profile.key_type not in LOGON_KEY_TYPES:
        why = f"only Ed25519 keys may log on, not {profile.key_type.value} ([UNC] code)"
        return Expectation(LOGON_REFUSED, True, why)
    return Expectation(OK, False, "an Ed25519 key may log on")


def subscribe_signature(profile: Profile, target: Target) -> Expectation:
    """``userDataStream.subscribe.signature``: USER_STREAM needs a valid key, no permission."""
    refused = _key_refused(profile, target)
    if refused is not None:
        return refused
    return Expectation(OK, False, "USER_STREAM: any valid key, no permission needed")


def subscribe_on_session(profile: Profile, target: Target) -> Expectation:
    """``userDataStream.subscribe`` after this key's ``session.logon``."""
    if logon(profile, target).refusal:
        code = NO_SESSION_CODE
        why = "session.logon was refused, so there is no session to subscribe with ([UNC] code)"
        return _rejected_key(why) if code == -2015 else _refused(401, code, why)
    return Expectation(OK, False, "a logged-on key may subscribe (USER_STREAM, no permission)")


def place_order_ws(profile: Profile, target: Target) -> Expectation:
    """``order.place`` with this key, as the place_order probe expects it over WS."""
    return _derived(profile, BY_NAME["place_order"], target, Transport.WS_API)


def revoked_lever(profile: Profile) -> Permission | None:
    """What the revocation probe takes away: a declared permission, or (None) the IP."""
    return next((p for p in REVOKE_ORDER if profile.has(p)), None)


def ws_only(profile: Profile, scenario: Scenario, target: Target) -> Expectation:
    """The decisive answer of a WebSocket-only probe: its first step expected to be refused,
    else its last step (every step's own expectation is one of the functions above)."""
    if scenario is Scenario.LOGON:
        return logon(profile, target)
    if scenario is Scenario.STREAM_LOGON:
        return subscribe_on_session(profile, target)
    if scenario is Scenario.STREAM_SIGNATURE:
        return subscribe_signature(profile, target)
    if scenario is Scenario.STREAM_EVENTS:
        for step in (subscribe_signature(profile, target), place_order_ws(profile, target)):
            if step.refusal:
                return step
        return Expectation(OK, False, "may trade: the order is accepted, its events delivered")
    logged_on = logon(profile, target)
    if logged_on.refusal:
        return logged_on
    lever = revoked_lever(profile)
    taken = lever.value if lever is not None else "the connection's address from the whitelist"
    return _rejected_key(f"{taken} removed mid-session: the id-null frame ends the session")


def _derived(profile: Profile, probe: Probe, target: Target, transport: Transport) -> Expectation:
    """Reference §5.5 order: key header/format, key exists, IP, timestamp, signature,
    permission, then the business answer that proves the request was let through. The probe's
    fault (if any) is refused at its own stage; the profile's state at the others."""
    ep = probe.endpoint
    fault = FAULTS.get(probe.fault)

    def refused_by_fault(stage: Stage) -> Expectation | None:
        if fault is None or fault.stage is not stage:
            return None
        refusal, why = fault.refusal_over(transport)
        return None if refusal is None else Expectation(refusal, True, why)

    if (hit := refused_by_fault(Stage.KEY_HEADER)) is not None:
        return hit
    # A fault that swaps the key decides what the key is; otherwise the profile does.
    kind = profile.kind
    if probe.fault is Fault.MALFORMED_KEY:
        kind = KeyKind.MALFORMED
    elif probe.fault is Fault.UNKNOWN_KEY:
        kind = KeyKind.UNKNOWN
    if kind is KeyKind.MALFORMED:
        return _malformed()
    if kind is KeyKind.UNKNOWN:
        return _unknown(unknown_key_code(ep) if ep.api is Api.SAPI else UNKNOWN_KEY_CODE)
    foreign = probe.fault is Fault.FOREIGN_ADDRESS
    source = target.foreign_address if foreign else target.source_address
    if source is not None and not profile.allows_address(source):
        return _rejected_key(
            f"the key is bound to {', '.join(profile.ip_whitelist or ())}, not {source}"
        )
    for stage in (Stage.TIMESTAMP, Stage.SIGNATURE):
        if (hit := refused_by_fault(stage)) is not None:
            return hit
    lacking = [p.value for p in probe.required if not profile.has(p)]
    if lacking:
        code = permission_denied_code(ep)
        why = f"{', '.join(lacking)} not declared"
        if code == -2015:
            return _rejected_key(why)
        return _refused(401, code, why)
    if ep.api is Api.FAPI and (state := profile.futures_refused) is not None:
        return _rejected_key(f"{state}: the futures API refuses it whatever its flags")
    if probe.setup is Setup.OTHER_ACCOUNT_ORDER:
        # [INF] (beyond-spot reference §4): indistinguishable from an order that does not
        # exist; an answer that shows or cancels the order is a LEAK.
        why = f"the order is another account's: {probe.allowed.label()}, as if it did not exist"
        return Expectation(probe.allowed, True, why)
    if not probe.required:
        return Expectation(probe.allowed, False, "needs no permission")
    needed = ", ".join(p.value for p in probe.required)
    return Expectation(probe.allowed, False, f"needs {needed}: declared")
