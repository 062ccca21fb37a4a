"""The Allure sink, behind one facade: labels, parameters, severity and the redacted exchanges
of a check, plus the results-folder files written once by the controller. Without
allure-pytest installed every function is a no-op."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keyprobe.cells import Verdict
from keyprobe.harness.redaction import REDACTOR, ExchangeRecord
from keyprobe.harness.sinks import allure_files

if TYPE_CHECKING:
    from keyprobe.harness.check import CheckInput, CheckResult

allure: Any
try:
    # Untyped third-party API: held as Any so that strict mypy checks our side only.
    allure = importlib.import_module("allure")
except ImportError:  # pragma: no cover - allure-pytest is a dependency, but stay optional
    allure = None


class _Shown:
    """Allure stores a str parameter as its repr (quoted); this shows the bare text."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


def _parameter(name: str, value: str, *, excluded: bool = False) -> None:
    allure.dynamic.parameter(name, _Shown(value), excluded=excluded)


_FEATURE = {
    "read": "Read",
    "order": "Order",
    "cancel": "Cancel",
    "forbidden": "Forbidden action",
    "auth": "Authentication",
}


def _title(profile: str, probe: str, transport: str, expected: str | None = None) -> str:
    """What a person reads in the tree: ``read_only · place order → expect 401/-2015``, and
    ``read_only · place order · ws-api → ...`` for the WebSocket API."""
    title = f"{profile} · {probe.replace('_', ' ')}"
    if transport != "rest":
        title += f" · {transport}"
    return title if expected is None else f"{title} → expect {expected}"


def label_cell(
    profile: str,
    key_type: str,
    probe: str,
    category: str,
    target: str,
    description: str,
    transport: str = "rest",
) -> None:
    if allure is None:
        return
    allure.dynamic.title(_title(profile, probe, transport))
    allure.dynamic.description(description)
    allure.dynamic.epic("API key permissions")
    allure.dynamic.feature(_FEATURE.get(category, category))
    allure.dynamic.story(probe)
    allure.dynamic.tag(key_type)
    allure.dynamic.tag(f"target:{target}")
    allure.dynamic.label("profile", profile)
    _parameter("profile", profile)
    _parameter("key type", key_type)
    _parameter("probe", probe)
    _parameter("transport", transport)
    allure.dynamic.tag(f"transport:{transport}")
    # Excluded from historyId: a URL target with a random port would break history per run.
    _parameter("target", target, excluded=True)


def expectation(
    profile: str, probe: str, status: int, code: int | None, why: str, transport: str = "rest"
) -> None:
    if allure is None:
        return
    expected = str(status) if code is None else f"{status}/{code}"
    allure.dynamic.title(_title(profile, probe, transport, expected))
    _parameter("expected", expected)
    allure.dynamic.label("expectation", why)


def check_step(verdict_name: str, reason: str) -> None:
    """The last step of a cell: expected vs actual and the verdict, as its own step."""
    if allure is None:
        return
    with allure.step(f"check: {verdict_name}"):
        allure.attach(reason, name="verdict", attachment_type=allure.attachment_type.TEXT)


def verdict(value: Verdict, expected_status: int | None) -> None:
    """One severity per cell (Allure keeps every label it is given): a failing verdict's own
    (a LEAK is a blocker); for a passing cell, what its failure would mean — a leak where a
    refusal is expected (blocker), a missing permission where an answer is (critical)."""
    if allure is None:
        return
    severity = value.severity
    if severity is not None:
        allure.dynamic.tag(value.value)
    elif expected_status is not None:
        severity = "blocker" if expected_status >= 400 else "critical"
    if severity is not None:
        allure.dynamic.severity(allure.severity_level(severity))


def attach_exchange(title: str, record: ExchangeRecord) -> None:
    """Attach a redacted exchange (and nothing else: never a raw request)."""
    if allure is None:
        return
    with allure.step(title):
        allure.attach(
            REDACTOR.text(record.to_json()),
            name=f"{record.method} {record.path}",
            attachment_type=allure.attachment_type.JSON,
        )


def prepare_results_dir(results: Path, environment: Mapping[str, object]) -> None:
    """Empty the folder (so old runs do not show up as retries) and write the run's
    environment, categories and CI executor. Controller only, before any worker starts."""
    if results.exists():
        shutil.rmtree(results)
    results.mkdir(parents=True, exist_ok=True)
    write_environment(results, environment)
    (results / "categories.json").write_text(allure_files.categories_json(), encoding="utf-8")
    executor = allure_files.executor_json(os.environ)
    if executor is not None:
        (results / "executor.json").write_text(REDACTOR.text(executor), encoding="utf-8")


def write_environment(results: Path, environment: Mapping[str, object]) -> None:
    """environment.properties, redacted. The controller writes it at the start of the run and
    again at the end with what the run proved (Allure reads it only when it builds a report)."""
    redacted = {k: None if v is None else REDACTOR.text(str(v)) for k, v in environment.items()}
    text = allure_files.environment_properties(redacted)
    (results / "environment.properties").write_text(text, encoding="utf-8")


def start(check: CheckInput, target: str) -> None:
    """Label the test before the check runs, so that even a crash shows which cell it was."""
    profile, probe = check.profile, check.probe
    label_cell(
        profile.name,
        profile.key_type.value,
        probe.name,
        probe.category.value,
        target,
        probe.description,
        check.transport.value,
    )


def first_attempt(first: CheckResult) -> None:
    """A retried cell's first attempt, as one step holding its exchanges: the retry decided
    the cell, but what broke the first time stays in the report."""
    if allure is None:
        return
    allure.dynamic.tag("retried")
    with allure.step(f"first attempt: {REDACTOR.text(first.summary())}"):
        for step in first.steps:
            attach_exchange(step.title, step.record)


def finish(result: CheckResult) -> None:
    """The check's exchanges (a retry's first attempt first), its expectation, severity and
    verdict step."""
    if result.first_attempt is not None:
        first_attempt(result.first_attempt)
    for step in result.steps:
        attach_exchange(step.title, step.record)
    expected = result.expectation.outcome if result.expectation else None
    if result.expectation is not None and expected is not None:
        expectation(
            result.input.profile.name,
            result.input.probe.name,
            expected.status,
            expected.code,
            result.expectation.why,
            result.input.transport.value,
        )
    verdict(result.verdict, expected.status if expected else None)
    check_step(result.verdict.value, REDACTOR.text(result.reason))
