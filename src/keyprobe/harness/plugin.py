"""keyprobe's pytest plugin (registered through the ``pytest11`` entry point): options,
markers, the run (started once by the controlling process and shared with xdist workers),
the ``probe_cell`` parametrization, the ``keyprobe_check`` fixture, and the matrix."""

from __future__ import annotations

import json
import logging
import platform
import secrets
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import keyprobe
from keyprobe.binance.signing import KeyMaterial
from keyprobe.harness import allure_meta, reporting
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.matrix import CELL_PROPERTY, Cell, Matrix, Pair, write_atomically
from keyprobe.harness.orders import Ledger, new_run_id, sweep
from keyprobe.harness.probes import BY_NAME, CATALOGUE, CATEGORY_HELP, Category
from keyprobe.harness.profiles import KeyKind, Profile, ProfilesFileError
from keyprobe.harness.redaction import REDACTOR, quiet_http_loggers
from keyprobe.harness.runner import CellRun, run_cell
from keyprobe.harness.session import (
    Options,
    Run,
    RunError,
    RunInfo,
    StartEmulator,
    load_run_profiles,
    prepare_run,
    seeded_faker,
)
from keyprobe.harness.targets import CAPABILITY_SETS, TargetError, resolve_target
from keyprobe.harness.verdicts import Verdict

log = logging.getLogger("keyprobe.plugin")

ORDERS_GROUP = "keyprobe-orders"
# A conftest that sets this to True arms the plugin for the tests beside it (suites/).
ARMING_FLAG = "KEYPROBE_SUITES"
WORKERINPUT_KEY = "keyprobe"

_RUN = pytest.StashKey["Run"]()
_MATRIX = pytest.StashKey[Matrix]()


@dataclass(frozen=True, slots=True)
class CellRef:
    """The parameter of a suite test: which profile runs which probe."""

    profile: str
    probe: str

    @property
    def id(self) -> str:
        return f"{self.profile}-{self.probe}"

    def __repr__(self) -> str:
        return self.id


class TargetBroken(Exception):
    """Infrastructure, not a permission verdict: Allure and pytest show it as broken."""


# ----------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keyprobe", "keyprobe: Binance API-key permission probes")
    group.addoption(
        "--target",
        default=None,
        help="emulator (default: embedded, offline), testnet, demo, mainnet, or a "
        "Binance-compatible base URL http(s)://HOST:PORT",
    )
    group.addoption(
        "--profiles",
        default=None,
        help="the key profiles file (default: ini keyprobe_profiles, fixtures/profiles.toml)",
    )
    group.addoption(
        "--allow-mainnet",
        action="store_true",
        default=False,
        help="permit --target mainnet (reads, order/test, cancel of a non-existent order and "
        "apiRestrictions only; never a real order or withdrawal)",
    )
    group.addoption(
        "--require-all-profiles",
        action="store_true",
        default=False,
        help="a profile whose secrets are missing is an error instead of a skip",
    )
    group.addoption(
        "--seed", type=int, default=None, help="Faker seed for generated data (default: random)"
    )
    group.addoption(
        "--recv-window",
        type=int,
        default=None,
        help="recvWindow in ms sent with signed requests (1-60000; default: not sent = 5000)",
    )
    group.addoption("--symbol", default=None, help="symbol for order probes (default: BTCUSDT)")
    group.addoption(
        "--capabilities",
        default=None,
        choices=sorted(CAPABILITY_SETS),
        help="for a URL target: treat it as this kind of target (default: emulator, i.e. the "
        "whole matrix); e.g. mainnet to run only what keyprobe would send to mainnet",
    )
    group.addoption(
        "--egress-address",
        default=None,
        help="local source address whose traffic reaches the target from another IP "
        "(live targets: enables the foreign_address probe)",
    )
    group.addoption(
        "--probe-timeout",
        type=float,
        default=None,
        help="seconds to wait for the target per request (default: 10)",
    )
    parser.addini(
        "keyprobe_profiles",
        "keyprobe: the key profiles file, relative to the rootdir",
        default="fixtures/profiles.toml",
    )
    parser.addini("keyprobe_reports", "keyprobe: the reports folder", default="reports")


def _options(config: pytest.Config) -> Options:
    profiles = config.getoption("profiles") or str(
        config.rootpath / str(config.getini("keyprobe_profiles"))
    )
    recv_window = config.getoption("recv_window")
    if recv_window is not None and not 1 <= recv_window <= 60_000:
        raise pytest.UsageError(f"--recv-window {recv_window}: must be 1-60000 ms")
    timeout = config.getoption("probe_timeout")
    if timeout is not None and timeout <= 0:
        raise pytest.UsageError(f"--probe-timeout {timeout}: must be positive")
    seed = config.getoption("seed")
    return Options(
        target=config.getoption("target") or "emulator",
        profiles=profiles,
        allow_mainnet=bool(config.getoption("allow_mainnet")),
        require_all_profiles=bool(config.getoption("require_all_profiles")),
        seed=seed if seed is not None else secrets.randbelow(2**31),
        recv_window=recv_window,
        symbol=config.getoption("symbol") or "BTCUSDT",
        capabilities=config.getoption("capabilities"),
        egress_address=config.getoption("egress_address"),
        timeout=timeout or 10.0,
    )


# ----------------------------------------------------------------------------- the run


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _armed(config: pytest.Config) -> bool:
    if _is_worker(config):
        return WORKERINPUT_KEY in config.workerinput  # type: ignore[attr-defined]
    if config.getoption("target") is not None or config.getoption("profiles") is not None:
        return True
    return any(getattr(p, ARMING_FLAG, False) is True for p in config.pluginmanager.get_plugins())


def _embedded_emulator(config: pytest.Config) -> StartEmulator:
    def start(keys: list[tuple[Profile, Credentials, KeyMaterial]]) -> str:
        # The one place the harness touches the emulator (DESIGN.md: rooms do not import
        # each other; this fixture is the only crossing).
        from keyprobe.emulator.app import Emulator
        from keyprobe.emulator.keys import KeyRecord
        from keyprobe.emulator.server import EmulatorServer

        emulator = Emulator(flavor="exchange")
        for profile, creds, material in keys:
            emulator.keys.register(
                KeyRecord.create(
                    creds.api_key,
                    profile.key_type,
                    material.public,
                    sorted(profile.permissions),
                    ip_whitelist=None
                    if profile.ip_whitelist is None
                    else list(profile.ip_whitelist),
                )
            )
        server = EmulatorServer(emulator, host="127.0.0.1", port=0)
        url = server.start()
        config.add_cleanup(server.stop)
        return url

    return start


def _start_run(config: pytest.Config) -> Run:
    """Controller (or single process): validate, make keys, start or reach the target."""
    options = _options(config)
    try:
        profiles = load_run_profiles(options.profiles)
        target = resolve_target(
            options.target,
            allow_mainnet=options.allow_mainnet,
            capabilities=options.capabilities,
            egress_address=options.egress_address,
        )
        assert options.seed is not None  # noqa: S101 - _options always sets it
        info = prepare_run(
            options,
            target,
            profiles,
            run_id=new_run_id(),
            seed=options.seed,
            start_emulator=_embedded_emulator(config),
        )
    except (ProfilesFileError, TargetError, RunError) as exc:
        raise pytest.UsageError(str(exc)) from None
    run = Run(info, profiles)
    config.add_cleanup(run.close)
    if info.facts.broken is None and info.target.caps.state_changes:
        swept = sweep(
            run.wire,
            _order_keys(run),
            source=info.target.source_address,
            keep_run=info.run_id,
        )
        if swept.cancelled:
            log.warning("swept %d open order(s) left by earlier keyprobe runs", swept.cancelled)
    return run


def _order_keys(run: Run) -> dict[str, Credentials]:
    """Keys that may hold keyprobe orders: registered profiles whose secrets we have."""
    keys: dict[str, Credentials] = {}
    for profile in run.profiles:
        if profile.kind is not KeyKind.REGISTERED:
            continue
        try:
            keys[profile.name] = run.credentials(profile)
        except LookupError:
            continue
    return keys


def _ensure_run(config: pytest.Config) -> Run:
    run = config.stash.get(_RUN, None)
    if run is None:
        # Not armed at configure time (no KEYPROBE_SUITES conftest): start in-process.
        run = _start_run(config)
        _install(config, run)
    return run


def _install(config: pytest.Config, run: Run) -> None:
    config.stash[_RUN] = run
    if not _is_worker(config):
        matrix = Matrix([p.name for p in run.profiles], [p.name for p in CATALOGUE])
        config.stash[_MATRIX] = matrix
        config.pluginmanager.register(_MatrixCollector(matrix), "keyprobe-matrix")


def _reports_dir(config: pytest.Config) -> Path:
    return config.rootpath / str(config.getini("keyprobe_reports"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "keyprobe: a keyprobe permission probe cell")
    for category, text in CATEGORY_HELP.items():
        config.addinivalue_line("markers", f"{category.value}: {text}")
    if config.option.help or config.option.version:
        return
    quiet_http_loggers()
    if not _armed(config):
        return
    # xdist's default "load" ignores xdist_group; "loadgroup" is "load" plus the groups.
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"
    if _is_worker(config):
        info = RunInfo.from_workerinput(config.workerinput[WORKERINPUT_KEY])  # type: ignore[attr-defined]
        run = Run(info, load_run_profiles(info.profiles_path))
        config.add_cleanup(run.close)
    else:
        run = _start_run(config)
    _install(config, run)
    # allure-pytest writes only with --alluredir; the suites always leave results behind.
    if getattr(config.option, "allure_report_dir", "unset") is None:
        results = _reports_dir(config) / "allure-results"
        config.option.allure_report_dir = str(results)
        if not _is_worker(config) and _runs_tests(config):
            reporting.prepare_results_dir(results, _environment(run))


def _runs_tests(config: pytest.Config) -> bool:
    """False for --collect-only, --fixtures, --fixtures-per-test: leave earlier results be."""
    option = config.option
    return not (
        option.collectonly
        or getattr(option, "showfixtures", False)
        or getattr(option, "show_fixtures_per_test", False)
    )


def _environment(run: Run) -> dict[str, Any]:
    """The run's facts for Allure's Environment widget (and run.json): the seed reproduces
    the generated data with --seed."""
    info = run.info
    entries: dict[str, Any] = dict(
        allure_meta.environment_entries(
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
    return entries


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run (incl. generated key material) to a worker, in memory."""
    run = node.config.stash.get(_RUN, None)
    if run is not None:
        node.workerinput[WORKERINPUT_KEY] = run.info.to_workerinput()


def _target_text(info: RunInfo) -> str:
    url = info.target.base_url
    return info.target.name if url == info.target.name else f"{info.target.name} ({url})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(_RUN, None)
    if run is None:
        return []
    info = run.info
    lines = [
        f"keyprobe {keyprobe.__version__}: target {_target_text(info)}, "
        f"{len(run.profiles)} profiles x {len(CATALOGUE)} probes, run {info.run_id}",
        f"keyprobe seed: {info.seed} (reproduce the generated data with --seed {info.seed})",
        f"keyprobe profiles: {info.profiles_path}",
    ]
    if info.facts.broken:
        lines.append(f"keyprobe: TARGET UNAVAILABLE: {info.facts.broken}")
    return lines


# ----------------------------------------------------------------------------- collection


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "probe_cell" not in metafunc.fixturenames:
        return
    run = _ensure_run(metafunc.config)
    categories = {
        Category(m.name) for m in metafunc.definition.iter_markers() if m.name in set(Category)
    }
    grouped = metafunc.config.pluginmanager.hasplugin("xdist")
    params = []
    for profile in run.profiles:
        for probe in CATALOGUE:
            if categories and probe.category not in categories:
                continue
            cell = CellRef(profile.name, probe.name)
            # Cells that place or cancel orders share accounts (cancel-all takes every open
            # order of the account): under xdist they all run on one worker, in order.
            marks = (
                [pytest.mark.xdist_group(ORDERS_GROUP)] if grouped and probe.touches_orders else []
            )
            params.append(pytest.param(cell, id=cell.id, marks=marks))
    metafunc.parametrize("probe_cell", params)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def keyprobe_run(request: pytest.FixtureRequest) -> Run:
    """The run: target, profiles, credentials and session facts."""
    return _ensure_run(request.config)


@pytest.fixture
def keyprobe_check(
    request: pytest.FixtureRequest, keyprobe_run: Run
) -> Iterator[Callable[[CellRef], CellRun]]:
    """Runs one cell and turns its verdict into the test outcome; cancels in teardown any
    order the cell placed."""
    run = keyprobe_run
    ledger = Ledger(run.wire, run.target.source_address)

    def check(cell: CellRef) -> CellRun:
        __tracebackhide__ = True
        profile = run.by_name[cell.profile]
        probe = BY_NAME[cell.probe]
        target = run.target.name
        reporting.label_cell(
            profile.name,
            profile.key_type.value,
            probe.name,
            probe.category.value,
            target,
            probe.description,
        )
        fake = seeded_faker(run.info.seed, request.node.nodeid)
        result = run_cell(run, profile, probe, fake, ledger)
        for title, record in result.exchanges:
            reporting.attach_exchange(title, record)
            log.info("%s: %s", title, record.to_json())
        expected = result.expectation.outcome if result.expectation else None
        actual = result.actual
        if result.expectation is not None:
            outcome = result.expectation.outcome
            reporting.expectation(
                profile.name, probe.name, outcome.status, outcome.code, result.expectation.why
            )
        matrix_cell = Cell(
            profile=profile.name,
            probe=probe.name,
            category=probe.category.value,
            target=target,
            expected=Pair(expected.status, expected.code) if expected else None,
            actual=Pair(actual.status, actual.code) if actual else None,
            verdict=result.verdict.value,
            reason=REDACTOR.text(result.reason),
        )
        request.node.user_properties.append((CELL_PROPERTY, matrix_cell.to_json()))
        reporting.verdict(result.verdict.value, expected.status if expected else None)
        reason = REDACTOR.text(result.reason)
        reporting.check_step(result.verdict.value, reason)
        if result.verdict is Verdict.SKIPPED:
            pytest.skip(reason)
        if result.verdict is Verdict.BROKEN:
            raise TargetBroken(f"BROKEN: {cell.id}: {reason}")
        if result.verdict is not Verdict.PASS:
            pytest.fail(f"{result.verdict.value}: {cell.id}: {reason}", pytrace=False)
        return result

    yield check
    if run.target.caps.state_changes and run.info.facts.broken is None:
        left = ledger.close()
        if left:
            pytest.fail(f"could not cancel {len(left)} order(s) placed by this cell", pytrace=False)


# ----------------------------------------------------------------------------- reports


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


class _MatrixCollector:
    """Registered in the controlling process only: gathers cells from every report,
    including those xdist workers send back."""

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = matrix

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == CELL_PROPERTY:
                self.matrix.add(Cell.from_json(str(value)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = config.stash.get(_RUN, None)
    matrix = config.stash.get(_MATRIX, None)
    if run is None or matrix is None or _is_worker(config):
        return
    if run.target.caps.state_changes and run.info.facts.broken is None:
        # The safety net behind per-test teardown: nothing of this run stays open.
        sweep(
            run.wire, _order_keys(run), source=run.target.source_address, only_run=run.info.run_id
        )
    if not _runs_tests(config) or not len(matrix):
        return  # keep the last real run's matrix
    reports = _reports_dir(config)
    matrix.write_json(reports / "matrix.json")
    summary = {
        "target": run.info.target.name,
        "base_url": run.info.target.base_url,
        "seed": run.info.seed,
        "run_id": run.info.run_id,
        "profiles": run.info.profiles_path,
        "counts": matrix.counts(),
        # A Ctrl-C'd run still writes what it saw; this says the matrix is partial.
        "interrupted": exitstatus == pytest.ExitCode.INTERRUPTED,
        "exit_status": int(exitstatus),
    }
    write_atomically(reports / "run.json", json.dumps(summary, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    matrix = config.stash.get(_MATRIX, None)
    if matrix is None or not len(matrix):
        return
    terminalreporter.write_sep("=", "keyprobe matrix (probes x profiles)")
    width = max(80, int(terminalreporter._tw.fullwidth))
    for line in matrix.render(width):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"matrix: {_reports_dir(config) / 'matrix.json'}")
