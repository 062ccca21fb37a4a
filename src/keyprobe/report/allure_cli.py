"""The Allure command line, installed on first use through npm into a per-user cache folder
and pinned, so that every report is built by the same Allure whatever the machine has."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Allure 2 rather than 3: it reads categories.json, environment.properties and history/ from the
# results folder (what the plugin writes), and ALLURE_NO_ANALYTICS removes its analytics.
ALLURE_PACKAGE = "allure-commandline"
ALLURE_VERSION = "2.46.1"

Progress = Callable[[str], None]


class ToolError(Exception):
    """A tool is missing or failed; the message says what to do, no traceback needed."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201 - progress for a person


def cache_root() -> Path:
    """``$KEYPROBE_CACHE``, else ``$XDG_CACHE_HOME/keyprobe``, else ``~/.cache/keyprobe``."""
    explicit = os.environ.get("KEYPROBE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "keyprobe"


def _which(name: str, advice: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"`{name}` not found on PATH. {advice}")
    return found


def npm_install(
    package: str, version: str, *, progress: Progress = _stderr, purpose: str = ""
) -> Path:
    """Install ``package@version`` into ``<cache>/<package>-<version>`` once; return that folder.

    npm installs into a temporary sibling that is renamed into place only when complete, so an
    interrupted install never leaves a folder that looks installed."""
    home = cache_root() / f"{package}-{version}"
    marker = home / "node_modules" / package / "package.json"
    if marker.is_file():
        return home
    npm = _which(
        "npm",
        "keyprobe installs "
        f"{package} {version}{purpose} through npm on first use: install Node.js 18 or newer "
        "(it brings npm), e.g. `apt-get install nodejs npm`, then run the command again.",
    )
    home.parent.mkdir(parents=True, exist_ok=True)
    progress(f"installing {package} {version} with npm into {home} (first use only) ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=home.parent) as staging:
        command = [
            npm,
            "install",
            "--prefix",
            staging,
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--loglevel=error",
            f"{package}@{version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise ToolError(
                f"npm could not install {package}@{version} (exit {done.returncode}):\n{tail}\n"
                "Check that the npm registry is reachable (or set npm's `registry`), then retry."
            )
        if not home.exists():  # another process may have won the race; keep its copy
            os.replace(staging, home)
            # TemporaryDirectory's cleanup must not fail on the folder we moved away.
            Path(staging).mkdir()
    progress(f"installed {package} {version} in {time.monotonic() - started:.1f} s")
    return home


def allure_executable(*, progress: Progress = _stderr) -> Path:
    """The pinned ``allure`` launcher, installing it if needed. Allure 2 runs on Java."""
    _which(
        "java",
        "The Allure 2 report generator runs on Java 8 or newer: install a JRE "
        "(e.g. `apt-get install default-jre-headless`) and run the command again.",
    )
    home = npm_install(
        ALLURE_PACKAGE, ALLURE_VERSION, progress=progress, purpose=" (the Allure report tool)"
    )
    launcher = home / "node_modules" / ALLURE_PACKAGE / "dist" / "bin" / "allure"
    if not launcher.is_file():
        raise ToolError(
            f"{launcher} is missing: the cached install looks damaged. "
            f"Delete {home} and run the command again."
        )
    return launcher


def generate_single_file(
    allure: Path, results: list[Path], out: Path, *, progress: Progress = _stderr
) -> None:
    """``allure generate --single-file``: one index.html that opens from ``file://``."""
    env = dict(os.environ)
    # Only "true" works (tooling notes: "=1" leaves the analytics script in).
    env["ALLURE_NO_ANALYTICS"] = "true"
    command = [
        str(allure),
        "generate",
        "--clean",
        "--single-file",
        "-o",
        str(out),
        *(str(r) for r in results),
    ]
    progress(f"generating the Allure report (Allure {ALLURE_VERSION}) ...")
    done = subprocess.run(  # noqa: S603 - our own pinned launcher, argument list
        command, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0 or not (out / "index.html").is_file():
        tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-15:])
        raise ToolError(f"allure generate failed (exit {done.returncode}):\n{tail}")
