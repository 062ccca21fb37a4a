"""What exists only in the controlling process (or a single process): starting the run,
sweeping orders left by earlier runs, the Allure environment, handing the run to xdist
workers, gathering every cell into the matrix, and the end of the run (sweep, matrix.json,
run.json, the terminal grid). Registered as one plugin object, ``Controller``."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from pathlib import Path
from typing import Any

import pytest

import keyprobe
from keyprobe.cells import Cell, write_atomically
from keyprobe.harness import budget, surfaces
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.orders import new_run_id, sharded_run_id, sweep
from keyprobe.harness.plugin import options as opts
from keyprobe.harness.plugin.embedded import embedded_emulator
from keyprobe.harness.plugin.scheduling import make_scheduler
from keyprobe.harness.probes import BY_NAME, CATALOGUE, Setup
from keyprobe.harness.profiles import KeyKind, ProfilesFileError
from keyprobe.harness.run import Run, RunError, RunInfo, load_run_profiles, prepare_run
from keyprobe.harness.shards import ShardPlan, parse_shard, plan_of
from keyprobe.harness.sinks import allure, allure_files, terminal
from keyprobe.harness.sinks.matrix import CELL_PROPERTY, WEIGHT_PROPERTY, Matrix, proof_line
from keyprobe.harness.targets import TargetError, resolve_target

log = logging.getLogger("keyprobe.plugin")

PLUGIN_NAME = "keyprobe-controller"
ORDER_PROBES = frozenset(p.name for p in CATALOGUE if p.touches_orders)


def start_run(config: pytest.Config) -> Run:
    """Validate, make keys, start or reach the target, sweep what earlier runs left."""
    options = opts.options_of(config)
    try:
        profiles = load_run_profiles(options.profiles)
        target = resolve_target(
            options.target,
            allow_mainnet=options.allow_mainnet,
            capabilities=options.capabilities,
            egress_address=options.egress_address,
            source_address=options.source_address,
            margin_repay=options.margin_repay,
        )
        assert options.seed is not None  # noqa: S101 - options_of always sets it
        run_id, family = run_ids(options.shard, options.seed)
        info = prepare_run(
            options,
            target,
            profiles,
            run_id=run_id,
            seed=options.seed,
            start_emulator=embedded_emulator(config),
        )
    except (ProfilesFileError, TargetError, RunError) as exc:
        raise pytest.UsageError(str(exc)) from None
    run = Run(info, profiles)
    config.add_cleanup(run.close)
    # The embedded emulator was started by this run, with keys of its own: nothing to sweep.
    if run.broken is None and info.target.caps.state_changes and not info.target.embedded:
        before = run.wire.spent
        swept = sweep(
            run.wire,
            order_keys(run),
            source=info.target.source_address,
            keep_run=info.run_id,
            keep_family=family,
        )
        run.controller_weight += run.wire.spent - before
        if swept.cancelled:
            budget.announce(
                f"keyprobe: swept {swept.cancelled} open order(s) left by earlier keyprobe runs"
            )
    return run


def run_ids(shard_option: str | None, seed: int) -> tuple[str, str | None]:
    """(this run's id, the family every shard of the run shares; None unsharded)."""
    if shard_option is None:
        return new_run_id(), None
    shard = parse_shard(shard_option)  # already checked by options_of
    return sharded_run_id(seed, shard.count, shard.index)


def order_keys(run: Run) -> dict[str, Credentials]:
    """Keys that may hold keyprobe orders: registered profiles whose secrets we have. A
    shard's own only (those its cells place orders with, cross-account setup orders
    included): fewer requests at start, and each key's leftovers are still swept by the shard
    that places orders with it. Siblings' orders on a shared account are kept by the run's
    family of ids (``orders.sharded_run_id``)."""
    plan = plan_of(run)
    keys: dict[str, Credentials] = {}
    owners = set() if plan is None else foreign_owners(run, plan)
    for profile in run.profiles:
        if profile.kind is not KeyKind.REGISTERED:
            continue
        if (
            plan is not None
            and not plan.places_orders_with(profile.name)
            and profile.name not in owners
        ):
            continue
        try:
            keys[profile.name] = run.credentials(profile)
        except LookupError:
            continue
    return keys


def foreign_owners(run: Run, plan: ShardPlan) -> set[str]:
    """Profiles whose key a cross-account cell of this shard places its setup order with (the
    order is this shard's, on another profile's key: its leftovers are this shard's to sweep)."""
    by_name = {p.name: p for p in run.profiles}
    owners: set[str] = set()
    for profile_name, probe_name, _transport in plan.cells:
        if BY_NAME[probe_name].setup is not Setup.OTHER_ACCOUNT_ORDER:
            continue
        owner = run.other_account_trader(by_name[profile_name])
        if owner is not None:
            owners.add(owner[0].name)
    return owners


def environment(run: Run) -> dict[str, Any]:
    """The run's facts for Allure's Environment widget (and run.json): the seed reproduces
    the generated data with --seed."""
    info = run.info
    entries: dict[str, Any] = dict(
        allure_files.environment_entries(
            target=info.target.name,
            base_url=info.target.base_url or "",
            flavor="exchange" if info.target.embedded else None,
            server_time_offset_ms=None if info.facts.broken else info.facts.offset_ms,
            keyprobe_version=keyprobe.__version__,
            python_version=platform.python_version(),
            profiles=len(run.profiles),
            probes=len(CATALOGUE),
        )
    )
    entries["Seed"] = info.seed
    entries["Run"] = info.run_id
    entries["Profiles file"] = info.profiles_path
    for name, found in info.facts.surfaces.items():
        entries[f"Surface /{name}"] = found
    entries["Request weight limit"] = _limit_text(info)
    if info.options.shard is not None:
        entries["Shard"] = info.options.shard
    return entries


def profiles_digest(path: str) -> str | None:
    """sha256 of the profiles file as read: shards of one run must have read the same one."""
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _limit_text(info: RunInfo) -> str:
    facts = info.facts
    seconds = facts.weight_window_ms // 1000
    window = f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
    return f"{facts.weight_limit}/{window} ({facts.weight_limit_source})"


def _target_text(info: RunInfo) -> str:
    url = info.target.base_url
    return info.target.name if url == info.target.name else f"{info.target.name} ({url})"


class Controller:
    """The controlling process's part of the run."""

    def __init__(self, config: pytest.Config, run: Run) -> None:
        self.config = config
        self.run = run
        self.matrix = Matrix([p.name for p in run.profiles], [p.name for p in CATALOGUE])
        self.results_dir: Path | None = None
        self.cell_weight = 0
        self.weighed_cells = 0
        self.shard = plan_of(run)

    def prepare_results(self, results_dir: str) -> None:
        """Before any worker starts: an empty Allure results folder with the environment."""
        if opts.runs_tests(self.config):
            self.results_dir = Path(results_dir)
            allure.prepare_results_dir(self.results_dir, environment(self.run))

    def declared(self) -> list[str]:
        """The profiles this run must prove: a shard's own, else every declared one."""
        if self.shard is not None:
            return list(self.shard.profiles)
        return [p.name for p in self.run.profiles]

    def proof(self) -> dict[str, Any]:
        return self.matrix.proof(self.declared())

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: hand the run (incl. generated key material) to a worker, in memory."""
        node.workerinput[opts.WORKERINPUT_KEY] = self.run.info.to_workerinput()

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any | None:
        """xdist: order cells on one worker, one after another (scheduling.py says why)."""
        return make_scheduler(config, log, lambda probe: probe in ORDER_PROBES)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        info = self.run.info
        lines = [
            f"keyprobe {keyprobe.__version__}: target {_target_text(info)}, "
            f"{len(self.run.profiles)} profiles x {len(CATALOGUE)} probes, run {info.run_id}",
            f"keyprobe seed: {info.seed} (reproduce the generated data with --seed {info.seed})",
            f"keyprobe profiles: {info.profiles_path}",
        ]
        if self.shard is not None:
            lines.append(self.shard.header())
        if info.facts.broken:
            lines.append(f"keyprobe: TARGET UNAVAILABLE: {info.facts.broken}")
        else:
            lines.append(f"keyprobe surfaces: {surfaces.summary(info.facts.surfaces)}")
            lines.append(f"keyprobe request weight limit: {_limit_text(info)}")
        return lines

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Every cell, including those xdist workers send back with their reports."""
        for name, value in report.user_properties:
            if name == CELL_PROPERTY and report.when == "call":
                self.matrix.add(Cell.from_json(str(value)))
            elif name == WEIGHT_PROPERTY and report.when == "teardown":
                self.cell_weight += int(str(value))
                self.weighed_cells += 1

    def weight(self) -> dict[str, Any]:
        """What the run cost the target in request weight, and per cell."""
        facts = self.run.info.facts
        total = facts.weight_spent + self.run.controller_weight + self.cell_weight
        cells = self.weighed_cells
        return {
            "total": total,
            "cells": cells,
            "per_cell": round(total / cells, 2) if cells else None,
            "facts": facts.weight_spent,
            "sweeps": self.run.controller_weight,
            "limit": facts.weight_limit,
            "window_ms": facts.weight_window_ms,
            "limit_source": facts.weight_limit_source,
        }

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """xdist waits up to 10 s for workers to end; after a Ctrl-C they have been told to
        stop waiting, so a short grace is enough (the promise: stopped within 2 s)."""
        budget.stop_waiting()
        dsession = self.config.pluginmanager.getplugin("dsession")
        nodes = getattr(dsession, "nodemanager", None)
        if nodes is not None:
            nodes.EXIT_TIMEOUT = budget.CLEANUP_S / 2

    # After the fixtures' teardown (each cancels its own orders): the sweep is the safety net.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        run = self.run
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or budget.stopping()
        if run.target.caps.state_changes and run.broken is None:
            # Nothing of this run stays open; when stopping, without waiting for a window.
            before = run.wire.spent
            swept = sweep(
                run.wire,
                order_keys(run),
                source=run.target.source_address,
                only_run=run.run_id,
                symbol=run.recipe.symbol if run.recipe else None,
            )
            run.controller_weight += run.wire.spent - before
            left = swept.left_text()
            for line in left:
                budget.announce(f"keyprobe: {line}")
            if interrupted and not left:
                budget.announce("keyprobe: stopped; no order of this run is left open")
        if not opts.runs_tests(self.config) or not len(self.matrix):
            return  # keep the last real run's matrix
        reports = opts.reports_dir(self.config)
        self.matrix.write(reports / "matrix.json")
        proof = self.proof()
        if self.results_dir is not None and self.results_dir.is_dir():
            # The same line as the terminal summary, in the report's Environment widget.
            entries = {**environment(run), "Proof": proof_line(proof["total"])}
            allure.write_environment(self.results_dir, entries)
        summary = {
            "target": run.info.target.name,
            "base_url": run.info.target.base_url,
            "seed": run.info.seed,
            "run_id": run.run_id,
            "profiles": run.info.profiles_path,
            # keyprobe gate: a declared profile without a judged cell means nothing was proved
            # (a shard declares the profiles it has cells of; keyprobe merge joins them).
            "declared_profiles": (
                list(self.shard.profiles)
                if self.shard is not None
                else [p.name for p in run.profiles]
            ),
            # What keyprobe merge compares: shards of one run agree on all of these.
            "keyprobe_version": keyprobe.__version__,
            "profiles_digest": profiles_digest(run.info.profiles_path),
            # keyprobe merge orders the merged cells as one unsharded run would.
            "shard": None
            if self.shard is None
            else {
                **self.shard.to_json(),
                "of_profiles": [p.name for p in run.profiles],
                "probe_order": [p.name for p in CATALOGUE],
            },
            "counts": self.matrix.counts(),
            # What was proved: judged, skipped (reasons grouped), BROKEN, retried.
            "proof": proof,
            # A Ctrl-C'd run still writes what it saw; this says the matrix is partial.
            "interrupted": exitstatus == pytest.ExitCode.INTERRUPTED,
            "exit_status": int(exitstatus),
            # What the target was found to serve, and what the run cost it.
            "surfaces": run.info.facts.surfaces,
            "weight": self.weight(),
        }
        write_atomically(reports / "run.json", json.dumps(summary, indent=2) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if not len(self.matrix):
            return
        terminalreporter.write_sep("=", "keyprobe matrix (probes x profiles)")
        width = max(80, int(terminalreporter._tw.fullwidth))
        for line in terminal.render(self.matrix, width):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"keyprobe proof: {proof_line(self.proof()['total'])}")
        terminalreporter.write_line(f"matrix: {opts.reports_dir(config) / 'matrix.json'}")
        weight = self.weight()
        per_cell = weight["per_cell"]
        terminalreporter.write_line(
            f"request weight: {weight['total']} for {weight['cells']} cells"
            + (f" ({per_cell:.1f} per cell)" if per_cell is not None else "")
            + f"; the target's limit: {_limit_text(self.run.info)}"
        )
        worst = terminal.worst_first(self.matrix)
        if worst:
            terminalreporter.write_sep("=", "keyprobe: keys that differ from their declaration")
            for line in worst:
                terminalreporter.write_line(line, red=True, bold=True)
