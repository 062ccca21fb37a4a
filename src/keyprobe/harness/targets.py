"""Targets: where the suites run and what each target can express (DESIGN.md, "Targets")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit


class TargetError(ValueError):
    """A ``--target`` (or related option) that cannot be used."""


class Transport(StrEnum):
    """The doors a key can open on a target: each probe runs over every one it has."""

    REST = "rest"
    # The Spot WebSocket API (/ws-api/v3), where since 2026 the user-data stream lives.
    WS_API = "ws-api"

    @property
    def id_suffix(self) -> str:
        """What a test id adds for this transport (REST ids stay ``profile-probe``)."""
        return "" if self is Transport.REST else "-ws"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a target can show. A probe needing something its target lacks is skipped, with
    the reason, never passed."""

    # Keys can be IP-bound (false on the Spot Testnet: no whitelist there).
    ip_whitelist: bool
    # /sapi may be asked for. Whether the target serves it is measured at start (surfaces.py);
    # False narrows a run further (``--capabilities testnet``).
    sapi: bool
    # keyprobe may place and cancel orders (false on mainnet: real money).
    state_changes: bool
    # Forbidden actions (withdraw, transfer, margin) may be attempted (never on mainnet).
    forbidden_actions: bool
    note: str = ""
    # Added to a LEAK's reason on this target: where to look when a key does more than its
    # profile declares (keys can lack permissions everywhere; that is measured, never assumed).
    leak_hint: str = ""
    # keyprobe may change a key while it is in use (revoke a permission mid-session), through
    # the target's API Management: only the embedded emulator, whose token the run holds.
    api_management: bool = False
    # POST /sapi/v1/margin/borrow-repay REPAY may be sent: "a real repay if any debt exists"
    # (beyond-spot reference §2 M3), so only the embedded emulator, or --margin-repay.
    margin_repay: bool = False


EMULATOR_CAPS = Capabilities(True, True, True, True, "the whole matrix, nothing real")
# The embedded emulator: all of that, plus keys changed at run time (revocation probes).
EMBEDDED_CAPS = replace(
    EMULATOR_CAPS,
    note="the whole matrix and revocation, nothing real",
    api_management=True,
    margin_repay=True,
)
TESTNET_CAPS = Capabilities(
    ip_whitelist=False,
    sapi=False,
    state_changes=True,
    forbidden_actions=False,
    note="Spot Testnet: no IP whitelist and no /sapi; key permissions are per key",
    leak_hint=(
        "check the key's permissions on the testnet's key page; keys created with default "
        "settings may allow TRADE"
    ),
)
# Demo Mode "always has the same features as the live exchange" for /api; whether it serves
# /sapi is unverified, so forbidden actions stay off until a live run shows otherwise.
DEMO_CAPS = Capabilities(
    ip_whitelist=True,
    sapi=False,
    state_changes=True,
    forbidden_actions=False,
    note="Demo Mode: the /api matrix with virtual funds; /sapi unverified",
    leak_hint=(
        "check the key's permissions in Demo Mode's API management; keys created with "
        "default settings may allow TRADE"
    ),
)
MAINNET_CAPS = Capabilities(
    ip_whitelist=True,
    sapi=True,
    state_changes=False,
    forbidden_actions=False,
    note="mainnet: reads, order/test, cancel of a non-existent order, apiRestrictions only",
)

# The WebSocket API of each named target (reference binance-ws-api.md §1.1).
WS_API_URLS: dict[str, str] = {
    "testnet": "wss://ws-api.testnet.binance.vision/ws-api/v3",
    "demo": "wss://demo-ws-api.binance.com/ws-api/v3",
    "mainnet": "wss://ws-api.binance.com:443/ws-api/v3",
}
WS_API_PATH = "/ws-api/v3"

# The USDⓈ-M futures REST API of each named target (beyond-spot reference §1.1): a Demo Mode
# key answers on demo-fapi [OBS ccxt#29099]. The embedded emulator and URL targets serve /fapi
# on their own host (checked at start, surfaces.py).
FUTURES_URLS: dict[str, str] = {
    "demo": "https://demo-fapi.binance.com",
    "mainnet": "https://fapi.binance.com",
}
# Named targets whose keys have no futures surface keyprobe may send them to, and why: the
# futures testnet issues its own keys, and a Spot Testnet key is not one of them (§1.1).
NO_FUTURES: dict[str, str] = {
    "testnet": (
        "a Spot Testnet key is not a futures testnet key (the futures testnet, "
        "testnet.binancefuture.com, issues its own keys; beyond-spot reference §1.1): keyprobe "
        "does not send it there"
    ),
}


def ws_api_url_of(base_url: str) -> str:
    """Where a Binance-compatible REST base URL serves the WebSocket API: the same host and
    port at /ws-api/v3, as ``keyprobe emulator`` does (a URL target's guess, checked at start)."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + WS_API_PATH


NAMED: dict[str, tuple[str, Capabilities]] = {
    "testnet": ("https://testnet.binance.vision", TESTNET_CAPS),
    "demo": ("https://demo-api.binance.com", DEMO_CAPS),
    "mainnet": ("https://api.binance.com", MAINNET_CAPS),
}
CAPABILITY_SETS: dict[str, Capabilities] = {
    "emulator": EMULATOR_CAPS,
    "testnet": TESTNET_CAPS,
    "demo": DEMO_CAPS,
    "mainnet": MAINNET_CAPS,
}


@dataclass(frozen=True, slots=True)
class Target:
    """``name`` is what the user chose (``emulator``, ``testnet``, ``http://host:port``...)."""

    name: str
    base_url: str | None  # None until the embedded emulator is started
    caps: Capabilities
    embedded: bool = False
    # Local address requests are sent from, and the one used to look like another client
    # (the "foreign address" probe). None: let the OS choose / probe not expressible.
    source_address: str | None = None
    foreign_address: str | None = None
    # The WebSocket API's URL (None: the target has none keyprobe knows of).
    ws_api_url: str | None = None
    # The USDⓈ-M futures REST base URL (None: none for these keys, NO_FUTURES says why).
    futures_url: str | None = None

    @property
    def label(self) -> str:
        return self.name

    def with_url(self, base_url: str) -> Target:
        base = base_url.rstrip("/")
        return replace(
            self,
            base_url=base,
            ws_api_url=self.ws_api_url or ws_api_url_of(base),
            futures_url=self.futures_url or base,
        )


def _is_ipv4_loopback(host: str) -> bool:
    # Only a literal IPv4 loopback: binding 127.0.0.x as source cannot reach "localhost" = ::1.
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def resolve_target(
    spec: str,
    *,
    allow_mainnet: bool = False,
    capabilities: str | None = None,
    egress_address: str | None = None,
    source_address: str | None = None,
    margin_repay: bool = False,
) -> Target:
    """Turn ``--target`` (plus ``--capabilities``, ``--egress-address``,
    ``--source-address``, ``--margin-repay``) into a Target."""
    target = _resolve(spec, allow_mainnet, capabilities, egress_address)
    if margin_repay and not target.caps.margin_repay:
        if not target.caps.state_changes:
            raise TargetError(f"--margin-repay: {target.label} never gets state-changing requests")
        target = replace(target, caps=replace(target.caps, margin_repay=True))
    if source_address is None:
        return target
    return with_source(target, source_address, foreign_given=egress_address is not None)


def with_source(target: Target, source: str, *, foreign_given: bool = False) -> Target:
    """Requests leave from ``source`` (``--source-address``): N shard processes on one
    machine, each from its own loopback address, are N clients to a local target's per-IP
    limits. The IP probe's foreign address must then be another one."""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        raise TargetError(f"--source-address {source!r}: not an IP address") from None
    foreign = target.foreign_address
    if foreign is not None and ipaddress.ip_address(foreign) == address:
        if foreign_given:
            raise TargetError(
                f"--source-address {source} is the IP probe's foreign address too; give "
                "--egress-address another one"
            )
        # keyprobe chose the default foreign loopback address: it picks one out of the way.
        foreign = SPARE_FOREIGN_LOOPBACK
    return replace(target, source_address=str(address), foreign_address=foreign)


# The IP probe's foreign address when --source-address takes 127.0.0.2 (the default
# one) on a local target: shards take 127.0.0.2, .3, ... so the spare comes from the top of
# the /24. Any loopback address outside the profiles' whitelists would do.
SPARE_FOREIGN_LOOPBACK = "127.0.0.254"


def _resolve(
    spec: str, allow_mainnet: bool, capabilities: str | None, egress_address: str | None
) -> Target:
    spec = spec.strip()
    if capabilities is not None and capabilities not in CAPABILITY_SETS:
        raise TargetError(
            f"--capabilities {capabilities!r}: expected one of {', '.join(CAPABILITY_SETS)}"
        )
    if egress_address is not None:
        try:
            ipaddress.ip_address(egress_address)
        except ValueError:
            raise TargetError(f"--egress-address {egress_address!r}: not an IP address") from None
    if spec == "emulator":
        if capabilities not in (None, "emulator"):
            raise TargetError("--capabilities applies to URL targets only")
        # Linux routes all of 127.0.0.0/8 to loopback: 127.0.0.2 is a second client address.
        return Target("emulator", None, EMBEDDED_CAPS, True, "127.0.0.1", "127.0.0.2")
    if spec in NAMED:
        if capabilities is not None:
            raise TargetError("--capabilities applies to URL targets only")
        if spec == "mainnet" and not allow_mainnet:
            raise TargetError(
                "--target mainnet needs --allow-mainnet (keyprobe then sends reads, order/test, "
                "cancel of a non-existent order and apiRestrictions only)"
            )
        url, caps = NAMED[spec]
        return Target(
            spec,
            url,
            caps,
            foreign_address=egress_address,
            ws_api_url=WS_API_URLS[spec],
            futures_url=FUTURES_URLS.get(spec),
        )
    parts = urlsplit(spec)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(
            f"--target {spec!r}: expected emulator, testnet, demo, mainnet or an "
            "http(s)://HOST:PORT URL"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TargetError(f"--target {spec!r}: give the base URL only (no path, e.g. no /api)")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise TargetError(f"--target {spec!r}: the port is not a number in 0-65535") from None
    caps = CAPABILITY_SETS[capabilities or "emulator"]
    if caps is MAINNET_CAPS and not allow_mainnet:
        raise TargetError("--capabilities mainnet needs --allow-mainnet")
    foreign = egress_address
    source = None
    if foreign is None and _is_ipv4_loopback(parts.hostname):
        # A local Binance-compatible service: another loopback address is another client.
        source, foreign = "127.0.0.1", "127.0.0.2"
    base = spec.rstrip("/")
    return Target(base, base, caps, False, source, foreign, ws_api_url_of(base), base)
