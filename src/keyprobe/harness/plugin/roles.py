"""Which part of the run this process plays, decided once at configure time: the controller
(or a single process) registers a ``Controller``, an xdist worker a ``Worker``; both leave the
``Run`` in the config's stash, where the fixtures find it."""

from __future__ import annotations

import pytest

from keyprobe.harness.plugin import options as opts
from keyprobe.harness.plugin.controller import PLUGIN_NAME as CONTROLLER
from keyprobe.harness.plugin.controller import Controller, start_run
from keyprobe.harness.plugin.worker import PLUGIN_NAME as WORKER
from keyprobe.harness.plugin.worker import Worker
from keyprobe.harness.probes import CATEGORY_HELP
from keyprobe.harness.redaction import quiet_http_loggers
from keyprobe.harness.run import Run

RUN = pytest.StashKey[Run]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "keyprobe: a keyprobe permission probe cell")
    for category, text in CATEGORY_HELP.items():
        config.addinivalue_line("markers", f"{category.value}: {text}")
    if config.option.help or config.option.version:
        return
    quiet_http_loggers()
    if not opts.armed(config):
        return
    controller = None
    if opts.is_worker(config):
        worker = Worker(config)
        config.pluginmanager.register(worker, WORKER)
        config.stash[RUN] = worker.run
    else:
        controller = _controller(config, start_run(config))
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
