"""What exists only in an xdist worker: the run, rebuilt in memory from what the controller
handed over (no new keys, no second emulator), and the tagging of order cells by group."""

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
        if workerinput.get(opts.LOADGROUP_KEY):
            # xdist sets this from the worker's own command line (--dist load) before any
            # plugin can change it; without it the worker leaves order cells untagged and the
            # controller schedules them on both workers at once (cancel-all then cancels
            # another cell's order: the intermittent -2011).
            config.option.loadgroup = True
