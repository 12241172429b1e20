"""The console's settings file: keys remapped by binding id, a theme, and problems reported
without stopping the console."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

from console.app import PostdeskApp
from console.config import ConsoleConfig, known_bindings, load_console_config
from console.screens.agent import AgentScreen
from console.screens.compose import ReplyScreen
from console.screens.help import HelpScreen
from engine.client import EngineClient
from tests.console_helpers import open_thread, screen_text, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(text)
    return path


def test_every_console_binding_can_be_remapped() -> None:
    """The keymap works by id: a binding without one could never be changed."""
    import console.app  # noqa: F401 - loads every screen

    without_id = []
    known = known_bindings()
    for cls in _console_classes():
        for binding in cls.__dict__.get("BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.id:
                without_id.append(f"{cls.__name__}: {binding}")
    assert without_id == []
    for expected in ("agent.reply", "agent.forward", "agent.search", "compose.send", "app.help"):
        assert expected in known


def _console_classes() -> list[type[DOMNode]]:
    seen: list[type[DOMNode]] = []
    for module in [m for name, m in sys.modules.items() if name.startswith("console.")]:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                seen.append(cls)
    return seen


def test_good_entries_apply_and_each_problem_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'theme = "textual-light"\n'
        "colour = 3\n"
        "[keys]\n"
        '"agent.reply" = "w"\n'
        '"agent.search" = "slash, ctrl+f"\n'
        '"agent.teleport" = "t"\n'
        '"agent.forward" = "two words"\n'
        '"agent.close" = 5\n',
    )
    config = load_console_config(path)
    assert config.keymap == {"agent.reply": "w", "agent.search": "slash,ctrl+f"}
    assert config.theme == "textual-light"
    problems = "\n".join(config.problems)
    assert "unknown setting 'colour'" in problems
    assert "no binding 'agent.teleport'" in problems
    assert "'agent.forward'" in problems and "'agent.close'" in problems
    assert len(config.problems) == 4


def test_missing_and_broken_files(tmp_path: Path) -> None:
    assert load_console_config(tmp_path / "absent.toml") == ConsoleConfig(
        path=tmp_path / "absent.toml"
    )
    broken = load_console_config(write(tmp_path, "[keys\n"))
    assert broken.keymap == {}
    assert len(broken.problems) == 1 and "not valid TOML" in broken.problems[0]


def test_postdesk_keys_prints_every_binding(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "postdesk.cli", "keys"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '# "agent.reply" = "r"  # Reply (AgentScreen)' in out
    assert "[keys]" in out
    # What it prints is a valid file that changes nothing.
    assert load_console_config(write(tmp_path, out)).problems == []


async def test_remapped_keys_work_and_show_in_help(world: World, tmp_path: Path) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Lost parcel", "Where is it?"))
    path = write(
        tmp_path,
        'theme = "textual-light"\n[keys]\n"agent.reply" = "w"\n"agent.free" = "r"\n',
    )
    app = PostdeskApp(
        lambda _u: EngineClient(world.engine.socket_path, act_as="agent1"),
        mode="agent",
        config=load_console_config(path),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await open_thread(pilot, app, "Lost parcel", "Where is it?")
        assert app.theme == "textual-light"
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        help_lines = screen_text(app).splitlines()
        assert any("w" in line.split() and "Reply" in line for line in help_lines)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="back")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply on w")


async def test_a_bad_theme_is_reported_and_the_console_opens(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "neon"\n')
    app = PostdeskApp(
        lambda _u: EngineClient(world.engine.socket_path, act_as="agent1"),
        mode="agent",
        config=load_console_config(path),
    )
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent screen")
        await until(pilot, lambda: "'neon'" in screen_text(app), what="the warning")
