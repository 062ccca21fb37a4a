"""Contents of the files Allure reads from the results folder besides the results themselves:
``categories.json``, ``environment.properties`` and ``executor.json``. Pure functions of their
arguments; the plugin decides when to write them (controller only) and redacts values first."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Allure 2 puts a failed/broken result in every category whose regexes match its whole message
# (Java String.matches), so the patterns are kept disjoint and start with (?s) to span lines.
# A cell's message is "<VERDICT>: <profile>-<probe>: <reason>", but what Allure records puts
# something before it: allure-pytest writes "Failed: LEAK: ..." for pytest.fail and
# "keyprobe.harness.plugin.checks.TargetBroken: BROKEN: ..." for an exception (its module path,
# which moves as the harness does).
# So the patterns accept any prefix and file a message by its *first* verdict word followed by
# ": " (_BEFORE never crosses one; a profile id is "name-probe", so "LEAK-x" is not one). Every
# category takes both statuses: the word decides, not the exception type that carried it.
# Clock skew and rate limiting are read from the whole reason of a BROKEN cell, but only from
# the answer ("got (400, -1021 ...") of a MISMATCH: a probe that *expects* -1021 and gets
# something else is an unexpected code, not a clock problem.
_WORD = r"\b(?:LEAK|MISSING|MISMATCH|BROKEN):\s"
_BEFORE = rf"(?:(?!{_WORD}).)*"
_CLOCK = r"(?:-1021|-1023)\b"
_RATE = r"(?:\b429\b|\b418\b|-1003\b|-1015\b)"
_GOT_CLOCK = rf".*\bgot \(\d+, {_CLOCK}"
_GOT_RATE = r".*\bgot \((?:(?:429|418), |\d+, (?:-1003|-1015)\b)"
_STATUSES = ["failed", "broken"]

CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Permission leak",
        "description": "allowed where the declaration says denied (blocker)",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\bLEAK:\s.*",
    },
    {
        "name": "Permission missing",
        "description": "denied where the declaration says allowed (critical)",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\bMISSING:\s.*",
    },
    {
        "name": "Clock skew",
        "description": "timestamp outside recvWindow or ahead of the server",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\b(?:MISMATCH:\s(?={_GOT_CLOCK})"
        rf"|BROKEN:\s(?=.*{_CLOCK})).*",
    },
    {
        "name": "Rate limited",
        "description": "429/418 or a request-weight error: the run, not the key",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\b(?:MISMATCH:\s(?!{_GOT_CLOCK})(?={_GOT_RATE})"
        rf"|BROKEN:\s(?!.*{_CLOCK})(?=.*{_RATE})).*",
    },
    {
        "name": "Unexpected code",
        "description": "an answer that is neither the expected one nor its opposite",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\bMISMATCH:\s(?!{_GOT_CLOCK})(?!{_GOT_RATE}).*",
    },
    {
        "name": "Target unavailable",
        "description": "5xx, timeout or connection failure: infrastructure, not a verdict",
        "matchedStatuses": _STATUSES,
        "messageRegex": rf"(?s){_BEFORE}\bBROKEN:\s(?!.*{_CLOCK})(?!.*{_RATE}).*",
    },
)


def categories() -> list[dict[str, Any]]:
    """A fresh copy of the categories, for callers that want to add their own."""
    return [dict(c) for c in CATEGORIES]


def categories_json() -> str:
    return json.dumps(categories(), indent=2, ensure_ascii=False) + "\n"


def _escape(text: str, *, key: bool) -> str:
    """Java .properties escaping: Allure reads the file with java.util.Properties."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch in "=:#!" or (ch == " " and (key or i == 0)):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            # Properties files are ISO-8859-1: everything else travels as \\uXXXX.
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(ch))
        else:
            out.append(ch)
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def environment_properties(entries: Mapping[str, object]) -> str:
    """``key=value`` lines in the given order; None values are left out."""
    lines = [
        f"{_escape(str(k), key=True)}={_escape(str(v), key=False)}"
        for k, v in entries.items()
        if v is not None
    ]
    return "\n".join(lines) + "\n"


def environment_entries(
    *,
    target: str,
    base_url: str,
    flavor: str | None,
    server_time_offset_ms: float | None,
    keyprobe_version: str,
    python_version: str,
    profiles: int,
    probes: int,
) -> dict[str, str]:
    """The run's facts as the report's Environment widget shows them (in this order)."""
    offset = None if server_time_offset_ms is None else f"{server_time_offset_ms:+.0f} ms"
    raw: dict[str, str | None] = {
        "Target": target,
        "Base URL": base_url,
        "Flavor": flavor,
        "Server time offset": offset,
        "Profiles": str(profiles),
        "Probes": str(probes),
        "keyprobe": keyprobe_version,
        "Python": python_version,
    }
    return {k: v for k, v in raw.items() if v is not None}


def executor_info(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Allure's executor.json from the CI's environment variables; None outside CI.

    GitHub Actions and GitLab CI are recognised; any other CI (``CI`` set) gets a generic entry
    without links. ``buildOrder`` orders the trend, so it is the run number."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        number = env.get("GITHUB_RUN_NUMBER", "")
        attempt = env.get("GITHUB_RUN_ATTEMPT", "1")
        info: dict[str, Any] = {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{number}"
            + (f" (attempt {attempt})" if attempt not in ("", "1") else ""),
        }
        if repo and run_id:
            info["buildUrl"] = f"{server}/{repo}/actions/runs/{run_id}"
        if number.isdigit():
            info["buildOrder"] = int(number)
        return info
    if env.get("GITLAB_CI") == "true":
        info = {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": f"{env.get('CI_PROJECT_PATH', '')} pipeline #"
            f"{env.get('CI_PIPELINE_IID', env.get('CI_PIPELINE_ID', ''))}",
        }
        if env.get("CI_PIPELINE_URL"):
            info["buildUrl"] = env["CI_PIPELINE_URL"]
        if env.get("CI_PIPELINE_IID", "").isdigit():
            info["buildOrder"] = int(env["CI_PIPELINE_IID"])
        return info
    if env.get("CI", "").lower() in ("true", "1", "yes"):
        return {"name": "CI", "type": "ci", "buildName": env.get("BUILD_NUMBER", "CI run")}
    return None


def executor_json(env: Mapping[str, str]) -> str | None:
    info = executor_info(env)
    return None if info is None else json.dumps(info, indent=2, ensure_ascii=False) + "\n"
