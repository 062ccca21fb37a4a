"""The arrows of ARCHITECTURE.md, checked on the source: which room may import which, no
module over 400 lines, and every module named in ARCHITECTURE.md exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "keyprobe"
ARCHITECTURE = SRC.parents[1] / "ARCHITECTURE.md"
# The one crossing between the rooms: the embedded default target.
CROSSING = SRC / "harness" / "plugin" / "embedded.py"


def _imports(path: Path) -> set[str]:
    """The keyprobe modules ``path`` imports (at any depth: function-level imports count)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("keyprobe"))
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keyprobe")
        ):
            found.add(node.module)
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules(room: str) -> list[Path]:
    return sorted((SRC / room).rglob("*.py"))


@pytest.mark.parametrize(
    ("room", "allowed"),
    [
        ("binance", {"binance"}),
        ("emulator", {"binance", "emulator"}),
        ("harness", {"binance", "harness", "cells"}),
        ("report", {"report", "cells", "binance"}),
    ],
)
def test_each_room_imports_only_what_its_arrows_allow(room: str, allowed: set[str]) -> None:
    wrong = []
    for path in _modules(room):
        for module in _imports(path):
            target = _room(module)
            if target in allowed or module == "keyprobe":
                continue
            if path == CROSSING and target == "emulator":
                continue
            wrong.append(f"{path.relative_to(SRC)} imports {module}")
    assert wrong == []


def test_the_shared_records_import_no_room_but_the_contract() -> None:
    for name in ("cells.py", "gate.py"):
        rooms = {_room(m) for m in _imports(SRC / name)}
        assert rooms <= {"binance", "cells"}, (name, rooms)


def test_the_crossing_is_the_only_harness_module_that_reaches_the_emulator() -> None:
    reaching = [p for p in _modules("harness") if any(_room(m) == "emulator" for m in _imports(p))]
    assert reaching == [CROSSING]


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_every_module_architecture_md_names_exists() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:harness|emulator|binance|report|plugin|sinks)/[\w/]+\.py)", text))
    assert named, "ARCHITECTURE.md names no module"
    missing = []
    for rel in named:
        candidates = [SRC / rel, SRC / "harness" / rel]
        if not any(c.exists() for c in candidates):
            missing.append(rel)
    assert missing == []
