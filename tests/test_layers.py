"""The layers hold at run time, not only in import-linter's static graph.

Each check imports a side in a fresh interpreter and looks at `sys.modules`: an import hidden in
a function body, a plugin entry point or a re-export would show up here even where the static
contracts (pyproject.toml, `make layers`) cannot see it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after_importing(*modules: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=list(modules))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"importing {modules} failed:\n{proc.stderr}"
    loaded: list[str] = json.loads(proc.stdout)
    assert set(modules) <= set(loaded)
    return loaded


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_engine_and_data_do_not_load_the_console_or_textual() -> None:
    loaded = loaded_after_importing("engine.engine", "engine.server.app", "data.models")
    leaks = [m for m in loaded if in_package(m, "textual") or in_package(m, "console")]
    assert leaks == [], f"the engine side loaded UI modules: {leaks}"


def test_console_does_not_load_the_database_or_engine_internals() -> None:
    loaded = loaded_after_importing("console.app")
    forbidden = ("sqlalchemy", "data", "engine.services", "engine.domain")
    leaks = [m for m in loaded if any(in_package(m, package) for package in forbidden)]
    assert leaks == [], f"the console loaded database or engine-internal modules: {leaks}"


def test_console_does_not_load_aiohttp() -> None:
    """Only the engine's server uses aiohttp: its client stack cost the console ~240 ms to start."""
    loaded = loaded_after_importing("console.app", "engine.client")
    assert [m for m in loaded if in_package(m, "aiohttp")] == []
