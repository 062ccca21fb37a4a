"""keyprobe's pytest plugin, registered through the ``pytest11`` entry point. Split by role:

- ``options``: the command-line options and what every role asks of the configuration;
- ``embedded``: the one crossing into the emulator (the default target);
- ``roles``: configure time — this process is the controller or an xdist worker;
- ``controller``: start, sweep, environment, hand-over to workers, the matrix, the end;
- ``worker``: the run rebuilt from the controller's hand-over;
- ``checks``: parametrization, the ``keyprobe_check`` fixture, the report choke point.

pytest finds hooks and fixtures as attributes of this module, hence the imports below."""

from keyprobe.harness.plugin.checks import (
    keyprobe_check,
    keyprobe_run,
    pytest_collection_modifyitems,
    pytest_generate_tests,
    pytest_runtest_makereport,
)
from keyprobe.harness.plugin.options import pytest_addoption
from keyprobe.harness.plugin.roles import (
    pytest_configure,
    pytest_keyboard_interrupt,
    pytest_sessionfinish,
)

__all__ = [
    "keyprobe_check",
    "keyprobe_run",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_keyboard_interrupt",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
]
