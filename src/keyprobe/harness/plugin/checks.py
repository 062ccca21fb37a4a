"""The suites' side of the plugin, in every process: the ``probe_cell`` parametrization, the
``keyprobe_check`` fixture (a thin adapter from a test to ``harness.check``) and the report
choke point that redacts every text before pytest, xdist, JUnit or Allure sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from faker import Faker

from keyprobe.cells import Verdict
from keyprobe.harness import budget
from keyprobe.harness.check import CheckInput, CheckResult, check_cell, has_door
from keyprobe.harness.orders import Ledger
from keyprobe.harness.plugin.roles import RECORDER, ensure_run
from keyprobe.harness.probes import BY_NAME, CATALOGUE, Category
from keyprobe.harness.redaction import REDACTOR
from keyprobe.harness.run import Run, seeded_faker
from keyprobe.harness.shards import plan_of
from keyprobe.harness.sinks import allure
from keyprobe.harness.sinks.matrix import CELL_PROPERTY, WEIGHT_PROPERTY
from keyprobe.harness.targets import Transport

log = logging.getLogger("keyprobe.plugin")


@dataclass(frozen=True, slots=True)
class CellRef:
    """The parameter of a suite test: which profile runs which probe over which transport."""

    profile: str
    probe: str
    transport: Transport = Transport.REST

    @property
    def id(self) -> str:
        return f"{self.profile}-{self.probe}{self.transport.id_suffix}"

    def __repr__(self) -> str:
        return self.id


class TargetBroken(Exception):
    """Infrastructure, not a permission verdict: Allure and pytest show it as broken."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "probe_cell" not in metafunc.fixturenames:
        return
    run = ensure_run(metafunc.config)
    categories = {
        Category(m.name) for m in metafunc.definition.iter_markers() if m.name in set(Category)
    }
    params = []
    transports = run.transports()
    for profile in run.profiles:
        for probe in CATALOGUE:
            if categories and probe.category not in categories:
                continue
            for transport in transports:
                if not has_door(probe, transport):
                    continue  # e.g. /sapi over the WebSocket API: no such cell, not a skip
                cell = CellRef(profile.name, probe.name, transport)
                # Under xdist, cells that place or cancel orders run on one worker, in order:
                # the controller's scheduler groups them by this id (plugin/scheduling.py).
                params.append(pytest.param(cell, id=cell.id))
    metafunc.parametrize("probe_cell", params)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--shard K/N: only this shard's cells run; the others are deselected (harness/shards.py
    decides, identically in every process, so xdist's workers agree on the collection)."""
    cells = {id(i): i.callspec.params.get("probe_cell") for i in items if hasattr(i, "callspec")}
    if not any(isinstance(c, CellRef) for c in cells.values()):
        return
    plan = plan_of(ensure_run(config))
    if plan is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        cell = cells.get(id(item))
        outside = isinstance(cell, CellRef) and (
            (cell.profile, cell.probe, cell.transport.value) not in plan.cells
        )
        (drop if outside else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def keyprobe_run(request: pytest.FixtureRequest) -> Run:
    """The run: target, profiles, credentials and session facts."""
    return ensure_run(request.config)


@pytest.fixture
def keyprobe_check(
    request: pytest.FixtureRequest, keyprobe_run: Run
) -> Iterator[Callable[[CellRef], CheckResult]]:
    """Runs one cell, feeds its result to the sinks and turns its verdict into the test
    outcome; cancels in teardown any order the cell placed."""
    run = keyprobe_run
    ledger = Ledger(run.wire, run.target.source_address)
    spent_before = run.wire.spent

    def check(cell: CellRef) -> CheckResult:
        __tracebackhide__ = True
        inputs = CheckInput(run.by_name[cell.profile], BY_NAME[cell.probe], cell.transport)
        allure.start(inputs, run.target.name)
        nodeid = request.node.nodeid

        def fake_for(attempt: int) -> Faker:
            # The first attempt's data is what --seed reproduces; a retry gets its own.
            scope = (nodeid,) if attempt == 1 else (nodeid, f"attempt {attempt}")
            return seeded_faker(run.info.seed, *scope)

        result = check_cell(run, inputs, fake_for, ledger)
        for attempt in (result.first_attempt, result):
            if attempt is None:
                continue
            prefix = "first attempt: " if attempt is result.first_attempt else ""
            for step in attempt.steps:
                log.info("%s%s: %s", prefix, step.title, step.record.to_json())
        allure.finish(result)
        recorder = request.config.stash.get(RECORDER, None)
        if recorder is not None:
            recorder.add(result)
        record = result.cell()
        request.node.user_properties.append((CELL_PROPERTY, record.to_json()))
        _to_outcome(cell, record.verdict, record.reason)
        return result

    yield check
    try:
        left = ledger.close() if run.target.caps.state_changes and run.broken is None else []
    finally:
        request.node.user_properties.append((WEIGHT_PROPERTY, run.wire.spent - spent_before))
    if left and budget.stopping():
        for account in dict.fromkeys(ledger.left_accounts):
            n = ledger.left_accounts.count(account)
            budget.announce(
                f"keyprobe: {n} order{'s' if n != 1 else ''} left open on account {account}; "
                "the next run sweeps them"
            )
    elif left:
        pytest.fail(f"could not cancel {len(left)} order(s) placed by this cell", pytrace=False)


def _to_outcome(cell: CellRef, verdict: Verdict, reason: str) -> None:
    __tracebackhide__ = True
    if verdict is Verdict.SKIPPED:
        pytest.skip(reason)
    if verdict is Verdict.BROKEN:
        raise TargetBroken(f"BROKEN: {cell.id}: {reason}")
    if verdict is not Verdict.PASS:
        pytest.fail(f"{verdict.value}: {cell.id}: {reason}", pytrace=False)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """The report choke point: BROKEN without a traceback, and every text redacted before
    the terminal, JUnit, xdist or Allure sees it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(TargetBroken):
        report.longrepr = str(call.excinfo.value)
    if report.longrepr is not None:
        text = str(report.longrepr)
        redacted = REDACTOR.text(text)
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, REDACTOR.text(body)) for title, body in report.sections]
