"""Surface discovery: what a target actually serves, asked at the start of every run instead
of believed from its name. A cell whose surface is absent is skipped with the evidence, never
BROKEN. Each surface is one ``Discovery``; the WebSocket API is added as another entry (its
``ask`` opens the socket and sends ``ping``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from keyprobe.harness.client import Wire


class Surface(StrEnum):
    API = "api"  # the /api/v3 REST surface (always asked for: without it nothing runs)
    SAPI = "sapi"  # the /sapi REST surface (wallet, margin, key restrictions)


# (served, evidence): evidence is what the target answered, for the header and skip reasons.
Asker = Callable[[Wire, str | None], tuple[bool, str]]


def _ask_sapi(wire: Wire, source: str | None) -> tuple[bool, str]:
    asked = "GET /sapi/v1/system/status"
    answer = wire.call("systemStatus", source=source).answer
    if answer.error is not None:
        # No answer at all says nothing about the surface: let the cells find out (and
        # report BROKEN with their own reasons) rather than hide them as skipped.
        return True, f"{asked}: no answer ({answer.error}); assumed served"
    if answer.status == 200:
        return True, f"{asked} answered 200"
    if answer.status == 404 or (answer.status is not None and answer.code is None):
        return False, f"{asked} answered HTTP {answer.status} without a Binance body"
    return True, f"{asked} answered {answer.label()}"


@dataclass(frozen=True, slots=True)
class Discovery:
    surface: Surface
    ask: Asker


DISCOVERIES: tuple[Discovery, ...] = (Discovery(Surface.SAPI, _ask_sapi),)


def discover(wire: Wire, source: str | None) -> dict[str, str]:
    """Surface name -> "served: EVIDENCE" or "absent: EVIDENCE" (the /api surface is served
    when this is called: the run's facts were read from it)."""
    found = {Surface.API.value: "served: GET /api/v3/time and exchangeInfo answered"}
    for discovery in DISCOVERIES:
        served, evidence = discovery.ask(wire, source)
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
