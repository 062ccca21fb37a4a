"""``keyprobe report`` as a user runs it: one clear line on bad input, non-zero exit, no
traceback; the path to open on success."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.conftest import needs_java, needs_npm, write_results


def keyprobe(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyprobe.cli", "report", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: None, "does not exist: run the suites first"),
        (lambda r: (r / "allure-results").mkdir(parents=True), "holds no Allure results"),
    ],
)
def test_bad_results_is_one_line(tmp_path: Path, setup: object, message: str) -> None:
    setup(tmp_path / "reports")  # type: ignore[operator]
    done = keyprobe(tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "reports" / "allure-report").exists()


def test_malformed_matrix_is_one_line(tmp_path: Path) -> None:
    write_results(tmp_path / "reports" / "allure-results")
    (tmp_path / "reports" / "matrix.json").write_text('[{"profile": 1}]', encoding="utf-8")
    done = keyprobe(tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "matrix.json: cell 0: 'profile' must be a non-empty string" in done.stderr


def test_missing_npm_says_what_to_do(tmp_path: Path) -> None:
    write_results(tmp_path / "reports" / "allure-results")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text("#!/bin/sh\n", encoding="utf-8")
    (bin_dir / "java").chmod(0o755)
    env = {"PATH": str(bin_dir), "KEYPROBE_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = keyprobe(tmp_path, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "`npm` not found on PATH" in done.stderr and "install Node.js" in done.stderr


def test_bad_history_bound_is_a_usage_error(tmp_path: Path) -> None:
    done = keyprobe(tmp_path, "--history", "0")
    assert done.returncode == 2 and "--history must be at least 1" in done.stderr


@needs_npm
@needs_java
@pytest.mark.slow
def test_success_prints_the_file_url_to_open(tmp_path: Path) -> None:
    write_results(tmp_path / "reports" / "allure-results")
    (tmp_path / "reports" / "matrix.json").write_text(json.dumps([]), encoding="utf-8")
    done = keyprobe(tmp_path)
    assert done.returncode == 0, done.stderr
    index = tmp_path / "reports" / "allure-report" / "index.html"
    assert done.stdout.strip() == index.resolve().as_uri()
    assert "generating the Allure report" in done.stderr  # progress is visible
    assert "matrix: file://" in done.stderr
