"""Which part of the run this process plays, decided once at configure time: the controller
(or a single process) registers a ``Controller``, an xdist worker a ``Worker``; both leave the
``Run`` in the config's stash, where the fixtures find it."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import pytest

from keyprobe.harness import budget, corpus
from keyprobe.harness.plugin import options as opts
from keyprobe.harness.plugin.controller import PLUGIN_NAME as CONTROLLER
from keyprobe.harness.plugin.controller import Controller, start_run
from keyprobe.harness.plugin.worker import PLUGIN_NAME as WORKER
from keyprobe.harness.plugin.worker import Worker
from keyprobe.harness.probes import CATEGORY_HELP
from keyprobe.harness.redaction import REDACTOR, quiet_http_loggers
from keyprobe.harness.run import Run
from keyprobe.harness.sinks.corpus import CorpusWriter

RUN = pytest.StashKey[Run]()
RECORDER = pytest.StashKey[CorpusWriter]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "keyprobe: a keyprobe permission probe cell")
    for category, text in CATEGORY_HELP.items():
        config.addinivalue_line("markers", f"{category.value}: {text}")
    if config.option.help or config.option.version:
        return
    quiet_http_loggers()
    # Only a keyprobe run; anybody's own tests keep pytest's interrupt report as it is.
    _CUT_INTERRUPTED_STACK[0] = opts.armed(config) and not config.option.fulltrace
    if not opts.armed(config):
        return
    previous = budget.set_announcer(announcer(config))
    # An in-process run (pytester) must not leave its closed terminal as the announcer.
    config.add_cleanup(functools.partial(_restore_announcer, previous))
    _INTERRUPTED.clear()
    _on_first_interrupt()
    # Registered before every other cleanup of ours, so it runs after them (LIFO).
    config.add_cleanup(_exit_at_once_if_interrupted)
    controller = None
    if opts.is_worker(config):
        worker = Worker(config)
        config.pluginmanager.register(worker, WORKER)
        config.stash[RUN] = worker.run
    else:
        controller = _controller(config, start_run(config))
    _recorder(config, config.stash[RUN])
    # allure-pytest writes only with --alluredir; the suites always leave results behind.
    if getattr(config.option, "allure_report_dir", "unset") is None:
        results = opts.reports_dir(config) / "allure-results"
        config.option.allure_report_dir = str(results)
        if controller is not None:
            controller.prepare_results(str(results))


def _controller(config: pytest.Config, run: Run) -> Controller:
    controller = Controller(config, run)
    config.pluginmanager.register(controller, CONTROLLER)
    config.stash[RUN] = run
    return controller


def _recorder(config: pytest.Config, run: Run) -> None:
    """--record DIR: this process's corpus file (a worker's is named after the worker)."""
    folder = config.getoption("record", None)
    if folder is None or not opts.runs_tests(config):
        return
    name = getattr(config, "workerinput", {}).get("workerid", "main")
    if run.info.options.shard is not None:
        # Shards of one run may record into one folder: their files must not share a name.
        name = f"shard{run.info.options.shard.replace('/', 'of')}-{name}"
    line = corpus.run_line(
        run.target.name,
        run.surfaces,
        source="suites",
        ws_api=run.target.ws_api_url is not None,
    )
    writer = CorpusWriter(Path(folder), name, line)
    config.stash[RECORDER] = writer
    _RECORDING[:] = [writer]
    config.add_cleanup(writer.close)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The corpus file complete under its name before an xdist worker reports it is done: the
    controller may end the worker's process soon after, before its config cleanup runs."""
    writer = session.config.stash.get(RECORDER, None)
    if writer is not None:
        writer.close()


def ensure_run(config: pytest.Config) -> Run:
    """The run; started here, in-process, when a test asks for it in a session that was not
    armed at configure time (no KEYPROBE_SUITES conftest, no keyprobe option)."""
    run = config.stash.get(RUN, None)
    if run is None:
        run = start_run(config)
        if opts.is_worker(config):
            config.stash[RUN] = run
        else:
            _controller(config, run)
    return run


def announcer(config: pytest.Config) -> Callable[[str], None]:
    """One line to the terminal, past pytest's capture: from the controller through its
    terminal reporter (on a line of its own, not after the progress dots), and from an xdist
    worker to its stderr (the controller's terminal), tagged with the worker's id."""
    capman = config.pluginmanager.getplugin("capturemanager")
    worker = getattr(config, "workerinput", {}).get("workerid")

    def say(line: str) -> None:
        text = REDACTOR.text(line)
        reporter = None if worker else config.pluginmanager.getplugin("terminalreporter")
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(text)
                reporter.flush()
            else:
                # A worker cannot know where the controller's progress line stands.
                sys.stderr.write(f"\n[{worker}] {text}\n" if worker else text + "\n")
                sys.stderr.flush()

    return say


def _leave_now(signum: int, frame: FrameType | None) -> None:
    os.write(
        2,
        b"keyprobe: second Ctrl-C: leaving now; orders this run placed may be left open, "
        b"the next run sweeps them\n",
    )
    os._exit(130)


def _restore_announcer(previous: Callable[[str], None]) -> None:
    budget.set_announcer(previous)


# Set by a real first Ctrl-C in this process (not by a test that stops the budget's waits).
_INTERRUPTED = threading.Event()


def _exit_at_once_if_interrupted() -> None:
    """After a first Ctrl-C, once this process's own cleanup is done (orders cancelled,
    files written and renamed): leave without the interpreter's finalization. Tearing down
    pytest, xdist, Faker and httpx module by module costs most of a second in each process,
    and the controller waits for its workers', which broke the 2-second promise under xdist.
    A --record run's corpus file is already complete by then (``_stop_at_first_interrupt``
    at the first Ctrl-C), so it leaves the same way."""
    if not _INTERRUPTED.is_set():
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(pytest.ExitCode.INTERRUPTED)


def _on_first_interrupt() -> None:
    """At the first SIGINT, in whichever thread waits (an xdist worker runs its tests beside
    execnet's thread, which is where the signal lands): no budget waits any more; then what
    SIGINT did before (pytest's KeyboardInterrupt), and a second SIGINT leaves at once."""
    try:
        previous = signal.getsignal(signal.SIGINT)

        def first(signum: int, frame: FrameType | None) -> None:
            _stop_at_first_interrupt()
            signal.signal(signal.SIGINT, _leave_now)
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, first)
    except ValueError:  # not the main thread: pytest_keyboard_interrupt still stops waits
        pass


# This process's corpus writer, if recording: completed at the first Ctrl-C, whatever the
# process does next (an xdist worker may be ended before its session finishes).
_RECORDING: list[CorpusWriter] = []


def _stop_at_first_interrupt() -> None:
    """What the first Ctrl-C does, whichever of the signal handler and pytest's hook sees it
    first: the corpus completed, the fast exit armed, no budget wait any more."""
    for writer in _RECORDING:
        with contextlib.suppress(OSError, ValueError):
            writer.close()
    _INTERRUPTED.set()
    budget.stop_waiting()


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """The first Ctrl-C: nothing waits any more (cleanup sends what it can within
    ``budget.CLEANUP_S`` of its first request); a second one leaves at once."""
    _stop_at_first_interrupt()
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, _leave_now)
    if _CUT_INTERRUPTED_STACK[0]:
        _keep_the_last_frame(excinfo)


# A keyprobe run without --full-trace, set at configure time (the interrupt hook has no config).
_CUT_INTERRUPTED_STACK: list[bool] = [False]


def _keep_the_last_frame(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """pytest's terminal keeps a full repr of the interrupted stack (every frame's source and
    arguments: measured 0.3-0.5 s in each process of an xdist run, a quarter of the 2 s
    promise) and, without --full-trace, prints only its last frame's line. The stack is cut to
    that frame first, so the same line is printed for a fraction of the cost."""
    traceback = excinfo.traceback
    for index in range(len(traceback) - 1, -1, -1):
        if not traceback[index].ishidden(excinfo):
            excinfo.traceback = traceback[index:]
            return
