"""The first Ctrl-C prints pytest's one KeyboardInterrupt line without pytest first rendering
every frame of the interrupted stack (that rendering was a quarter of the 2-second promise)."""

from __future__ import annotations

import pytest

from keyprobe.harness.plugin.roles import _keep_the_last_frame


def _interrupted(depth: int) -> pytest.ExceptionInfo[BaseException]:
    def down(n: int) -> None:
        if n == 0:
            raise KeyboardInterrupt
        down(n - 1)

    try:
        down(depth)
    except KeyboardInterrupt:
        return pytest.ExceptionInfo.from_current()
    raise AssertionError("not interrupted")


def test_the_stack_is_cut_to_the_frame_whose_line_is_printed() -> None:
    excinfo = _interrupted(30)
    before = excinfo.getrepr(funcargs=True).reprcrash
    assert len(excinfo.traceback) > 30
    _keep_the_last_frame(excinfo)
    assert len(excinfo.traceback) == 1
    after = excinfo.getrepr(funcargs=True).reprcrash
    assert before is not None and after is not None
    assert (after.path, after.lineno, after.message) == (before.path, before.lineno, before.message)


def test_a_hidden_last_frame_keeps_the_visible_one_that_led_to_it() -> None:
    def hidden() -> None:
        __tracebackhide__ = True
        raise KeyboardInterrupt

    def visible() -> None:
        hidden()

    try:
        visible()
    except KeyboardInterrupt:
        excinfo = pytest.ExceptionInfo.from_current()
    before = excinfo.getrepr().reprcrash
    _keep_the_last_frame(excinfo)
    assert [entry.name for entry in excinfo.traceback] == ["visible", "hidden"]
    after = excinfo.getrepr().reprcrash
    assert before is not None and after is not None
    assert (after.lineno, after.message) == (before.lineno, before.message)


def test_with_full_trace_the_whole_interrupted_stack_is_printed_as_pytest_prints_it(
    pytester: pytest.Pytester,
) -> None:
    # keyprobe's plugin is loaded into every pytest run of its environment (pytest11); with
    # --full-trace the interrupt report is pytest's own, frame for frame.
    pytester.makepyfile(
        """
        def deep(n):
            if n == 0:
                raise KeyboardInterrupt
            deep(n - 1)

        def test_interrupted():
            deep(5)
        """
    )
    args = ("-p", "no:cacheprovider", "--full-trace")
    ours = pytester.runpytest_subprocess(*args)
    theirs = pytester.runpytest_subprocess(*args, "-p", "no:keyprobe")
    assert ours.stdout.str().count("deep(n - 1)") == 5  # one line for each of deep(5)..deep(1)
    assert ours.stdout.str().count("deep(n - 1)") == theirs.stdout.str().count("deep(n - 1)")
