"""The console's own settings file: key bindings and theme, per person, never per installation.

Every binding in the console has an id (`agent.reply`, `compose.send`, ...), so the file maps
ids to keys in a `[keys]` table, the way Textual keymaps work:

    theme = "textual-light"

    [keys]
    "agent.reply" = "r"
    "agent.search" = "slash,ctrl+f"

`postdesk keys` prints every id with its default keys. A broken file never stops the console:
each problem is reported (line, id) and the rest of the file still applies.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from textual.binding import Binding
from textual.dom import DOMNode

import console

ENV_VAR = "POSTDESK_CONSOLE_CONFIG"
# A key as Textual names it: "r", "R", "ctrl+r", "question_mark", "f1", "shift+tab".
_KEY = re.compile(r"^(?:[a-z]+\+)*(?:[A-Za-z0-9]|[a-z0-9_]+)$")


def default_path() -> Path:
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    return platformdirs.user_config_path("postdesk", appauthor=False) / "console.toml"


@dataclass
class ConsoleConfig:
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    problems: list[str] = field(default_factory=list)
    path: Path | None = None


@dataclass(frozen=True)
class KnownBinding:
    id: str
    keys: str
    description: str
    where: str  # the class that declares it


def known_bindings() -> dict[str, KnownBinding]:
    """Every binding with an id declared by a console class, by id."""
    found: dict[str, KnownBinding] = {}
    for module_info in pkgutil.walk_packages(console.__path__, "console."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, DOMNode) or not cls.__module__.startswith("console."):
                continue
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id and binding.id not in found:
                    found[binding.id] = KnownBinding(
                        binding.id,
                        binding.key,
                        binding.tooltip or binding.description,
                        cls.__name__,
                    )
    return dict(sorted(found.items()))


def load_console_config(path: Path | None = None) -> ConsoleConfig:
    """Read `path` (default: $POSTDESK_CONSOLE_CONFIG, else the user's config dir)."""
    path = path or default_path()
    config = ConsoleConfig(path=path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError) as exc:
        config.problems.append(f"cannot read it ({exc})")
        return config
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        config.problems.append(f"not valid TOML ({exc}); using the default keys")
        return config

    for name in data:
        if name not in ("keys", "theme"):
            config.problems.append(f"unknown setting {name!r} (ignored)")
    theme = data.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme.strip():
            config.theme = theme.strip()
        else:
            config.problems.append("theme must be a theme name")
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        config.problems.append("[keys] must be a table of binding ids")
        return config
    if not keys:
        return config
    # Importing every console module to learn the ids costs start-up time: only when needed.
    known = known_bindings()
    for binding_id, value in keys.items():
        if binding_id not in known:
            config.problems.append(
                f"no binding {binding_id!r} (`postdesk keys` lists them; ignored)"
            )
            continue
        parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
        if not parts or not all(_KEY.match(p) for p in parts):
            config.problems.append(
                f'{path}: keys for {binding_id!r} must be like "r" or "ctrl+r,f2" (ignored)'
            )
            continue
        config.keymap[binding_id] = ",".join(parts)
    return config


def keys_listing() -> str:
    """A commented `[keys]` table of every binding with its default, ready to edit."""
    lines = [
        f"# Postdesk console keys. Save as {default_path()} (or point ${ENV_VAR} at it),",
        "# keep the lines you change, and restart the console.",
        "",
        "[keys]",
    ]
    for known in known_bindings().values():
        lines.append(f'# "{known.id}" = "{known.keys}"  # {known.description} ({known.where})')
    return "\n".join(lines) + "\n"
