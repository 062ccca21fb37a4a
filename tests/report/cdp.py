"""Headless Chromium driven over the DevTools protocol (a WebSocket on 127.0.0.1), for the
pages that need a click before they show something: Allure's single-page report renders a
test, its steps and attachments only after navigation inside the page.

Only what the tests need: navigate, evaluate a script, wait for a condition, screenshot."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.report.conftest import CHROMIUM_FLAGS, chromium_path

# The dump-dom/screenshot mode's virtual time makes no sense for a driven browser.
_FLAGS = [f for f in CHROMIUM_FLAGS if not f.startswith(("--virtual-time-budget", "--window-size"))]


class Page:
    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.requests: list[str] = []  # every URL the page asked for (Network.enable'd)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            if message.get("id") != ident:
                continue  # an event
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (JSON-serialisable), run in the page."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll until ``expression`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {expression}")
            time.sleep(0.1)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def text(self, selector: str = "body") -> str:
        return str(self.evaluate(f"document.querySelector({json.dumps(selector)}).innerText"))

    def click(self, selector: str, starting: str = "") -> None:
        """Click the first ``selector`` whose text starts with ``starting`` (waits for it)."""
        find = (
            f"[...document.querySelectorAll({json.dumps(selector)})]"
            f".find(n => n.textContent.trim().startsWith({json.dumps(starting)}))"
        )
        self.wait_for(f"!!{find}")
        self.evaluate(f"{find}.click()")

    def resize(self, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def browser(width: int = 1366, height: int = 900) -> Iterator[Page]:
    """A headless Chromium with one page of ``width`` × ``height`` CSS pixels."""
    binary = chromium_path()
    assert binary is not None
    # Chromium's helpers (renderer, GPU, crash handler) can still write into the profile for
    # a moment after the browser is killed: kill the whole process group, and let the profile
    # folder's removal tolerate a late file.
    with tempfile.TemporaryDirectory(prefix="keyprobe-cdp-", ignore_cleanup_errors=True) as profile:
        log = Path(profile) / "chromium.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [
                    binary,
                    *_FLAGS,
                    f"--window-size={width},{height}",
                    f"--user-data-dir={profile}",
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        try:
            port = _port(proc, Path(profile), log)
            targets = httpx.get(
                f"http://127.0.0.1:{port}/json/list", timeout=10, trust_env=False
            ).json()
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            with connect(ws_url, max_size=None, open_timeout=10) as socket:
                page = Page(socket)
                page.call("Network.enable")
                page.resize(width, height)
                yield page
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _port(proc: subprocess.Popen[bytes], profile: Path, log: Path) -> int:
    """Chromium writes the port it chose to ``DevToolsActivePort`` in its profile."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if active.is_file():
            first = active.read_text(encoding="utf-8").split("\n", 1)[0].strip()
            if first.isdigit():
                return int(first)
        time.sleep(0.05)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise AssertionError(f"Chromium did not open its DevTools port:\n{tail}")
