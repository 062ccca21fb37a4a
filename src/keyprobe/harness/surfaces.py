"""Surface discovery: what a target actually serves, asked at the start of every run instead
of believed from its name. A cell whose surface is absent is skipped with the evidence, never
BROKEN. Each surface is one ``Discovery``: /sapi is asked over REST, the WebSocket API by
opening the socket and sending ``ping``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from keyprobe.harness.client import ServerClock, Wire
from keyprobe.harness.targets import NO_FUTURES, Target
from keyprobe.harness.together import at_once
from keyprobe.harness.ws_client import ws_api_absent


class Surface(StrEnum):
    API = "api"  # the /api/v3 REST surface (always asked for: without it nothing runs)
    SAPI = "sapi"  # the /sapi REST surface (wallet, margin, key restrictions)
    WS_API = "ws-api"  # the Spot WebSocket API (/ws-api/v3): asked when its transport is
    FAPI = "fapi"  # USDⓈ-M futures REST (/fapi), at the target's futures URL


@dataclass(frozen=True, slots=True)
class Asking:
    """What a discovery may use: the run's REST client, the target and the server clock."""

    wire: Wire
    target: Target
    clock: ServerClock
    timeout: float


# (served, evidence): evidence is what the target answered, for the header and skip reasons.
Asker = Callable[[Asking], tuple[bool, str]]


def _ask_sapi(asking: Asking) -> tuple[bool, str]:
    asked = "GET /sapi/v1/system/status"
    answer = asking.wire.call("systemStatus", source=asking.target.source_address).answer
    if answer.error is not None:
        # No answer at all says nothing about the surface: let the cells find out (and
        # report BROKEN with their own reasons) rather than hide them as skipped.
        return True, f"{asked}: no answer ({answer.error}); assumed served"
    if answer.status == 200:
        return True, f"{asked} answered 200"
    if answer.status == 404 or (answer.status is not None and answer.code is None):
        return False, f"{asked} answered HTTP {answer.status} without a Binance body"
    return True, f"{asked} answered {answer.label()}"


def _ask_fapi(asking: Asking) -> tuple[bool, str]:
    # Asked without a key or signature: any Binance error body says the surface is there (no
    # key is spent on it); 404 or a page that is not Binance's says it is not.
    target = asking.target
    if target.futures_url is None:
        return False, NO_FUTURES.get(target.name, "no futures URL is known for this target")
    asked = f"unsigned GET {target.futures_url}/fapi/v1/accountConfig"
    answer = asking.wire.call("futuresAccountConfig", source=target.source_address).answer
    if answer.error is not None:
        return True, f"{asked}: no answer ({answer.error}); assumed served"
    if answer.status == 404 or (answer.status != 200 and answer.code is None):
        return False, f"{asked} answered HTTP {answer.status} without a Binance body"
    return True, f"{asked} answered {answer.label()}"


def _ask_ws_api(asking: Asking) -> tuple[bool, str]:
    # Unlike /sapi, a WebSocket API that does not answer is absent: its cells are skipped with
    # why (a URL target's guessed /ws-api/v3 may simply not exist).
    target = asking.target
    why = ws_api_absent(target, asking.clock, asking.timeout, asking.wire.budget)
    if why is None:
        return True, f"ping over {target.ws_api_url} answered 200"
    return False, why


@dataclass(frozen=True, slots=True)
class Discovery:
    surface: Surface
    ask: Asker


DISCOVERIES: tuple[Discovery, ...] = (
    Discovery(Surface.SAPI, _ask_sapi),
    Discovery(Surface.WS_API, _ask_ws_api),
    Discovery(Surface.FAPI, _ask_fapi),
)


def discover(asking: Asking, *, skip: frozenset[Surface] = frozenset()) -> dict[str, str]:
    """Surface name -> "served: EVIDENCE" or "absent: EVIDENCE" (the /api surface is served
    when this is called: the run's facts were read from it). ``skip``: surfaces the run does
    not use (the WebSocket API under ``--transport rest``), not asked and not listed."""
    found = {Surface.API.value: "served: GET /api/v3/time and exchangeInfo answered"}
    # All at once: one round trip at start instead of three.
    wanted = [d for d in DISCOVERIES if d.surface not in skip]
    answers = at_once([functools.partial(d.ask, asking) for d in wanted])
    for discovery, (served, evidence) in zip(wanted, answers, strict=True):
        found[discovery.surface.value] = f"{'served' if served else 'absent'}: {evidence}"
    return found


def absent(surfaces: Mapping[str, str]) -> dict[str, str]:
    """Surface name -> why it is absent, for the surfaces the target does not serve."""
    return {
        name: text.removeprefix("absent: ")
        for name, text in surfaces.items()
        if text.startswith("absent: ")
    }


def summary(surfaces: Mapping[str, str]) -> str:
    """``/api served, /sapi absent (GET /sapi/v1/system/status answered HTTP 404 ...)``"""
    parts = []
    for name, text in surfaces.items():
        state, _, evidence = text.partition(": ")
        parts.append(f"/{name} {state}" + (f" ({evidence})" if state == "absent" else ""))
    return ", ".join(parts)
