"""Running the installed `postdesk` command the way a user does, for the CLI tests."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path


def postdesk_script() -> Path:
    script = Path(sysconfig.get_path("scripts")) / "postdesk"
    if not script.is_file():
        raise RuntimeError(
            f"the `postdesk` console script is missing at {script}: install the project into "
            "this environment first (`uv sync`, then run the tests with `uv run pytest`)"
        )
    return script


def cli_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any POSTDESK_* setting that could redirect the data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTDESK_")}
    env.update(extra)
    return env
