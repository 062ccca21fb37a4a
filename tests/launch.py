"""Start a Python subprocess the way a terminal would, whatever started the tests (issue 17).

A process started with SIGINT ignored (``cmd &`` in a non-interactive shell, ``nohup``, some CI
runners) passes that on to every child, and Python installs its KeyboardInterrupt handler only
when SIGINT is at its default disposition at startup: such a child never sees Ctrl-C. A test
that interrupts its subprocess must therefore restore the default itself. ``restore_signals``
does not cover SIGINT, and ``preexec_fn`` is unsafe in a process with threads (the emulator
threads the tests serve), so the child resets SIGINT in a tiny trampoline and execs the real
command.
"""

from __future__ import annotations

import sys

_TRAMPOLINE = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def with_default_sigint(argv: list[str]) -> list[str]:
    """``argv`` (whose first item is an executable path) run with SIGINT at its default."""
    return [sys.executable, "-c", _TRAMPOLINE, *argv]
