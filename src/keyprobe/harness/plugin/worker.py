"""What exists only in an xdist worker: the run, rebuilt in memory from what the controller
handed over (no new keys, no second emulator)."""

from __future__ import annotations

import pytest

from keyprobe.harness.plugin import options as opts
from keyprobe.harness.run import Run, RunInfo, load_run_profiles

PLUGIN_NAME = "keyprobe-worker"


class Worker:
    """The worker's part of the run: it runs checks; the controller gathers their cells."""

    def __init__(self, config: pytest.Config) -> None:
        workerinput = config.workerinput  # type: ignore[attr-defined]
        info = RunInfo.from_workerinput(workerinput[opts.WORKERINPUT_KEY])
        self.run = Run(info, load_run_profiles(info.profiles_path))
        config.add_cleanup(self.run.close)
