"""The results-folder files the plugin writes, built by keyprobe.harness.allure_meta."""

from __future__ import annotations

import json
import re

import pytest

from keyprobe.harness.sinks import allure_files as allure_meta
from tests.report.conftest import HAND_RESULTS


def _java_match(pattern: str, message: str) -> bool:
    """Allure 2 uses Java's String.matches; Python's fullmatch agrees on these patterns."""
    return re.fullmatch(pattern, message) is not None


def _categories_of(message: str, status: str) -> list[str]:
    return [
        c["name"]
        for c in allure_meta.categories()
        if status in c["matchedStatuses"] and _java_match(c["messageRegex"], message)
    ]


@pytest.mark.parametrize(
    ("name", "status", "message"), [r for r in HAND_RESULTS if r[1] in ("failed", "broken")]
)
def test_every_failure_lands_in_exactly_one_category(name: str, status: str, message: str) -> None:
    expected = {
        "read_only-place_order": "Permission leak",
        "spot_trading-cancel": "Permission missing",
        "auth-stale": "Clock skew",
        "auth-odd": "Unexpected code",
        "spot_trading-withdraw": "Rate limited",
        "read_only-withdraw": "Target unavailable",
    }
    assert _categories_of(message, status) == [expected[name]]


_LEAK = "LEAK: dashboard-test_order: expected (401, -2015) (not declared), but ... (200, -)"
_CLOCK = "BROKEN: bot-my_trades: clock skew: the target refused the timestamp (400, -1021 'x')"


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "Failed: ",
        "AssertionError: ",
        "TargetBroken: ",
        "keyprobe.harness.plugin.TargetBroken: ",
        "keyprobe.harness.cells.checks.TargetBroken: ",  # wherever the class moves
        "E   Failed: ",
        "[gw1] ",
    ],
)
@pytest.mark.parametrize("status", ["failed", "broken"])
def test_any_prefix_and_either_status(prefix: str, status: str) -> None:
    """The verdict word decides, whatever exception type (and status) carried the message."""
    assert _categories_of(prefix + _LEAK, status) == ["Permission leak"]
    assert _categories_of(prefix + _CLOCK + "\n", status) == ["Clock skew"]


@pytest.mark.parametrize(
    ("message", "category"),
    [
        # The first verdict word decides; a profile named like a verdict is "LEAK-probe".
        ("Failed: MISMATCH: LEAK-account: expected (200, -), got (400, -1100)", "Unexpected code"),
        ("Failed: MISSING: LEAK-place_order: ... refused: (401, -2015)", "Permission missing"),
        # An exchange message that quotes a verdict word does not move the cell.
        (
            "Failed: MISMATCH: a-b: expected (200, -), got (400, -1100 'LEAK: no')",
            "Unexpected code",
        ),
        ("Failed: LEAK: a-b: ... let it through: (200, -)\nMISSING: a-b: later", "Permission leak"),
        # A MISMATCH is filed by the answer it got, not by what it expected.
        (
            "Failed: MISMATCH: a-stale_timestamp: expected (400, -1021) (x), got (200, -)",
            "Unexpected code",
        ),
        ("Failed: MISMATCH: a-b: expected (200, -) (x), got (400, -1021 'Timestamp')", "Clock"),
        ("Failed: MISMATCH: a-b: expected (200, -) (x), got (400, -1003 'Too many')", "Rate"),
        ("Failed: MISMATCH: a-b: expected (200, -) (x), got (429, -)", "Rate limited"),
        # A BROKEN reason anywhere: the 429 of a Retry-After stop, a 418 ban, a 5xx, a timeout.
        (
            "TargetBroken: BROKEN: a-b: not sent: the target answered HTTP 429 with Retry-After",
            "Rate",
        ),
        ("TargetBroken: BROKEN: a-b: the source IP is banned (418)", "Rate limited"),
        ("TargetBroken: BROKEN: a-b: the target failed with HTTP 503", "Target unavailable"),
        ("TargetBroken: BROKEN: a-b: cannot reach http://127.0.0.1:4180: ConnectError", "Target"),
    ],
)
def test_the_verdict_word_and_the_answer_decide(message: str, category: str) -> None:
    # Short names in the table above stand for the category they start.
    (name,) = [c["name"] for c in allure_meta.categories() if c["name"].startswith(category)]
    for status in ("failed", "broken"):
        assert _categories_of(message, status) == [name], message


@pytest.mark.parametrize(
    "message",
    [
        "could not cancel 1 order(s) placed by this cell",  # a teardown failure: a product defect
        "Failed: LEAKED: a-b: not a verdict word",
        "LEAK dashboard-test_order without the colon",
    ],
)
def test_a_message_without_a_verdict_is_in_no_category(message: str) -> None:
    assert _categories_of(message, "failed") == []


def test_categories_json_names() -> None:
    data = json.loads(allure_meta.categories_json())
    assert [c["name"] for c in data] == [
        "Permission leak",
        "Permission missing",
        "Clock skew",
        "Rate limited",
        "Unexpected code",
        "Target unavailable",
    ]
    data[0]["name"] = "changed"
    assert allure_meta.categories()[0]["name"] == "Permission leak"  # callers get copies


def test_environment_properties_escapes_like_java() -> None:
    text = allure_meta.environment_properties(
        {
            "Base URL": "http://127.0.0.1:8080",
            "Offset": "-3 ms",
            "note": "a\nb",
            "none": None,
            "Flavor": "échange",
        }
    )
    assert text.splitlines() == [
        "Base\\ URL=http\\://127.0.0.1\\:8080",
        "Offset=-3 ms",
        "note=a\\nb",
        "Flavor=\\u00e9change",
    ]


def test_environment_entries_order_and_values() -> None:
    entries = allure_meta.environment_entries(
        target="testnet",
        base_url="https://testnet.binance.vision",
        flavor=None,
        server_time_offset_ms=-12.4,
        keyprobe_version="0.1.0",
        python_version="3.11.7",
        profiles=9,
        probes=24,
    )
    assert list(entries) == [
        "Target",
        "Base URL",
        "Server time offset",
        "Profiles",
        "Probes",
        "keyprobe",
        "Python",
    ]
    assert entries["Server time offset"] == "-12 ms"


def test_executor_from_github_actions() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/keys",
        "GITHUB_RUN_ID": "123",
        "GITHUB_RUN_NUMBER": "45",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_WORKFLOW": "nightly",
    }
    info = allure_meta.executor_info(env)
    assert info == {
        "name": "GitHub Actions",
        "type": "github",
        "buildName": "nightly #45 (attempt 2)",
        "buildUrl": "https://github.com/acme/keys/actions/runs/123",
        "buildOrder": 45,
    }
    assert json.loads(allure_meta.executor_json(env) or "") == info


def test_no_executor_outside_ci() -> None:
    assert allure_meta.executor_info({}) is None
    assert allure_meta.executor_json({"HOME": "/root"}) is None
    assert allure_meta.executor_info({"CI": "true"}) == {
        "name": "CI",
        "type": "ci",
        "buildName": "CI run",
    }
