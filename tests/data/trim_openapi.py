"""Vendor Binance's OpenAPI spec for the fuzzing (issue 17): keep the operations the emulator
implements and the components they reference, nothing else, so the spec travels with the
repository (the full file is ~30k lines, ~1 MB).

Regenerate after the emulator gains an endpoint, or to move to a newer spec::

    .venv/bin/python -m tests.data.trim_openapi path/to/spot_api.yaml

The input is ``spot_api.yaml`` of https://github.com/binance/binance-api-swagger (MIT
license); the output is ``tests/data/binance-spot-openapi.yaml`` with a header naming both.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from keyprobe.binance.endpoints import ENDPOINTS

VENDORED = Path(__file__).resolve().parent / "binance-spot-openapi.yaml"
HEADER = """\
# Binance Public Spot API, OpenAPI 3 specification: an excerpt.
# Source: https://github.com/binance/binance-api-swagger, spot_api.yaml, release v1.22.0
# (the copy in shared/reference/binance-spot-openapi.yaml). License: MIT, as the source
# repository's README states ("License: MIT" badge). Copyright Binance.
# Trimmed by tests/data/trim_openapi.py to the operations the emulator implements and the
# components they reference; otherwise unchanged. Do not edit by hand: regenerate.
"""


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out.add(value)
            else:
                _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """The emulator's operations of ``full``, with only the components they reference."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        method = ep.method.lower()
        paths.setdefault(ep.path, {})[method] = full["paths"][ep.path][method]
    components: dict[str, dict[str, Any]] = {}
    todo: set[str] = set()
    _refs(paths, todo)
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, section, name = ref.split("/")
        node = full["components"][section][name]
        components.setdefault(section, {})[name] = node
        _refs(node, todo)
    components["securitySchemes"] = full["components"]["securitySchemes"]
    # Sorted, so that a regeneration from the same input gives the same bytes.
    return {
        "openapi": full["openapi"],
        "info": full["info"],
        "paths": paths,
        "components": {s: dict(sorted(v.items())) for s, v in sorted(components.items())},
    }


def load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # type: ignore[no-any-return]  # noqa: S506 - a safe loader


def dump(spec: dict[str, Any]) -> str:
    return HEADER + str(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    VENDORED.write_text(dump(trim(load(Path(argv[0])))), encoding="utf-8")
    print(f"wrote {VENDORED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
