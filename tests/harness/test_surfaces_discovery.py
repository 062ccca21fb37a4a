"""Surface discovery asks every surface at once (one round trip at a run's start instead of
one per surface) and still reports in the declared order and fails as it did when serial."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from keyprobe.harness import surfaces
from keyprobe.harness.surfaces import Asking, Discovery, Surface, discover

WANTED = (Surface.SAPI, Surface.WS_API, Surface.FAPI)


def _asking() -> Asking:
    # The askers below ignore it; discover only hands it on.
    return Asking(wire=None, target=None, clock=None, timeout=1.0)  # type: ignore[arg-type]


def test_every_surface_is_asked_at_the_same_time_and_reported_in_declared_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each asker waits until all of them are being asked: asked one after another, the first
    # would wait alone and the barrier would break after its timeout.
    together = threading.Barrier(len(WANTED), timeout=10)
    answered: list[Surface] = []

    def asker(surface: Surface, served: bool) -> Any:
        def ask(asking: Asking) -> tuple[bool, str]:
            together.wait()
            answered.append(surface)
            return served, f"{surface.value} asked"

        return ask

    found_in = [Discovery(s, asker(s, s is not Surface.FAPI)) for s in WANTED]
    monkeypatch.setattr(surfaces, "DISCOVERIES", tuple(found_in))
    found = discover(_asking())
    assert list(found) == ["api", "sapi", "ws-api", "fapi"]
    assert found["sapi"] == "served: sapi asked"
    assert found["fapi"] == "absent: fapi asked"
    assert sorted(answered) == sorted(WANTED)


def test_a_skipped_surface_is_not_asked_and_a_failing_asker_fails_discovery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Surface] = []

    def fine(surface: Surface) -> Any:
        def ask(asking: Asking) -> tuple[bool, str]:
            asked.append(surface)
            return True, "ok"

        return ask

    def broken(asking: Asking) -> tuple[bool, str]:
        raise RuntimeError("the socket said no")

    monkeypatch.setattr(
        surfaces,
        "DISCOVERIES",
        (
            Discovery(Surface.SAPI, fine(Surface.SAPI)),
            Discovery(Surface.WS_API, fine(Surface.WS_API)),
            Discovery(Surface.FAPI, broken),
        ),
    )
    # The run's catch-all (facts.measure_facts) turns this into the run's broken reason.
    with pytest.raises(RuntimeError, match="the socket said no"):
        discover(_asking())
    asked.clear()
    monkeypatch.setattr(surfaces, "DISCOVERIES", surfaces.DISCOVERIES[:2])
    found = discover(_asking(), skip=frozenset({Surface.WS_API}))
    assert asked == [Surface.SAPI]
    assert "ws-api" not in found
