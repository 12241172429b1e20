"""The wheel, installed the way a user installs it: into a fresh venv, run from elsewhere.

`uv build` makes the wheel from this checkout; `uv pip install` puts it (and its dependencies,
from the package index) into a new venv outside the repo. Every command then runs from a temp
cwd with a clean environment, so nothing can come from the source tree: a module or data file
missing from the wheel fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_uv() -> list[str]:
    """uv itself: `$UV` (set by `uv run`), `uv` on PATH, or the module pip installs."""
    candidates: list[list[str]] = []
    if os.environ.get("UV"):
        candidates.append([os.environ["UV"]])
    if shutil.which("uv"):
        candidates.append([str(shutil.which("uv"))])
    candidates.append([sys.executable, "-m", "uv"])
    if shutil.which("python3"):
        candidates.append([str(shutil.which("python3")), "-m", "uv"])
    for command in candidates:
        try:
            probe = subprocess.run([*command, "--version"], capture_output=True, timeout=60)
        except OSError:
            continue
        if probe.returncode == 0:
            return command
    raise RuntimeError(
        "the packaging tests need uv, and found none: not $UV, not `uv` on PATH, not "
        f"`{sys.executable} -m uv` nor `python3 -m uv`. Install it: python3 -m pip install uv"
    )


def uv(*args: str | Path, cwd: Path, timeout: float = 600) -> None:
    proc = subprocess.run(
        [*find_uv(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"uv {args} exited {proc.returncode}:\n{proc.stderr}"


@dataclass
class Installed:
    venv: Path
    python: Path
    postdesk: Path
    outside: Path  # an empty cwd outside the repo

    def env(self) -> dict[str, str]:
        """A clean environment: no PYTHONPATH, no POSTDESK_*, HOME and TMPDIR in the sandbox."""
        home = self.outside / "home"
        tmp = self.outside / "tmp"
        home.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        return {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.defpath}",
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*map(str, args)],
            cwd=self.outside,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    assert not root.resolve().is_relative_to(REPO)
    dist = root / "dist"
    uv("build", "--wheel", "--out-dir", dist, cwd=REPO)
    wheels = sorted(dist.glob("postdesk-*.whl"))
    assert [w.name for w in wheels] == ["postdesk-0.1.0-py3-none-any.whl"]
    venv = root / "venv"
    uv("venv", venv, "--python", sys.executable, cwd=root)
    python = venv / "bin" / "python"
    uv("pip", "install", "--python", python, wheels[0], cwd=root)
    outside = root / "cwd"
    outside.mkdir()
    return Installed(venv, python, venv / "bin" / "postdesk", outside)


def test_version(installed: Installed) -> None:
    assert installed.postdesk.is_file()
    proc = installed.run(installed.postdesk, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "postdesk 0.1.0"


HEADLESS_START = r"""
import asyncio, json, sys, sysconfig
from pathlib import Path

repo, data_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
prefix = Path(sys.prefix).resolve()
site = Path(sysconfig.get_paths()["purelib"]).resolve()
assert site.is_relative_to(prefix), (site, prefix)
assert not any(Path(p).resolve() == repo for p in sys.path if p), sys.path

import console, data, engine, postdesk
from console.app import PostdeskApp, css_path
from console.screens.admin import AdminScreen
from console.screens.switcher import ModePicker
from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from textual.widgets import DataTable, OptionList

modules = {m.__name__: str(Path(m.__file__).resolve()) for m in (console, data, engine, postdesk)}
for name, where in modules.items():
    assert Path(where).is_relative_to(site), f"{name} comes from {where}, not {site}"
css = css_path()
assert css == site / "console" / "textual.tcss" and css.is_file(), css


async def until(pilot, predicate, what, timeout=30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {pilot.app.screen_stack}")
        await pilot.pause(0.05)


async def main():
    settings = Settings(home=data_dir)
    engine = Engine(settings)
    await engine.start()
    try:
        async with EngineClient(settings.socket) as operator:
            await operator.add_user(UserIn(username="ana", display_name="Ana Alvarez"))
        app = PostdeskApp(lambda u: EngineClient(settings.socket, act_as=u))
        async with app.run_test(size=(120, 40)) as pilot:
            # This process's uid is an operator: every role, so the mode picker comes first.
            await until(pilot, lambda: isinstance(app.screen, ModePicker), "the mode picker")
            picker = app.screen.query_one("#mode-picker", OptionList)
            modes = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
            highlighted = modes[picker.highlighted]
            await pilot.press("end", "enter")
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), "the admin screen")
            users = app.screen.query_one("#users", DataTable)
            await until(pilot, lambda: "ana" in users.rows, "ana in the users table")
            # `.pane-title { padding: 0 1; }` comes from the packaged textual.tcss.
            padding = tuple(app.screen.query_one("#users-pane .pane-title").styles.padding)
    finally:
        await engine.stop()
    assert not settings.socket.exists()
    return {"modes": modes, "highlighted": highlighted, "title_padding": padding}


report = asyncio.run(main())
print(json.dumps({"modules": modules, "css": str(css), "site": str(site), **report}))
"""


def test_headless_console_on_an_in_process_engine(installed: Installed) -> None:
    script = installed.outside / "headless_start.py"
    script.write_text(HEADLESS_START)
    data_dir = installed.outside / "data"
    proc = installed.run(installed.python, "-I", script, REPO, data_dir)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout.splitlines()[-1])

    site = Path(report["site"])
    assert site.is_relative_to(installed.venv.resolve())
    for name, where in report["modules"].items():
        assert Path(where).is_relative_to(site), (name, where)
        assert not Path(where).is_relative_to(REPO), (name, where)
    assert Path(report["css"]) == site / "console" / "textual.tcss"
    assert report["modes"] == ["agent", "supervisor", "admin"]
    assert report["highlighted"] == "agent"
    assert report["title_padding"] == [0, 1, 0, 1], "the packaged textual.tcss was not applied"
    assert (data_dir / "postdesk.db").is_file() and (data_dir / "secret.key").is_file()


def test_demo_runs_headless(installed: Installed) -> None:
    proc = installed.run(installed.postdesk, "demo", "--headless-seconds", "3")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    # The demo's throwaway data dir is gone.
    assert list((installed.outside / "tmp").iterdir()) == []
