"""Keys without an engine (hand-made data): every agent binding has an id and a description,
the command palette offers the current screen's keys, `?` lists them, and `e` writes the
reply in $EDITOR straight away."""

from __future__ import annotations

import importlib
import pkgutil
import stat
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import TextArea

import console.screens
from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.ccbcc import CcBccScreen
from console.screens.compose import ReplyScreen
from console.screens.help import HelpScreen
from tests.console_helpers import press, screen_text, until
from tests.fake_engine import FakeEngine, agent_app


def console_screens() -> list[type]:
    """The app and every screen class defined under console/screens."""
    found: list[type] = [PostdeskApp]
    for module_info in pkgutil.iter_modules(console.screens.__path__):
        module = importlib.import_module(f"console.screens.{module_info.name}")
        found += [
            cls
            for cls in vars(module).values()
            if isinstance(cls, type)
            and issubclass(cls, Screen)
            and cls.__module__ == module.__name__
        ]
    return found


@pytest.mark.parametrize("screen", console_screens(), ids=lambda cls: cls.__name__)
def test_every_binding_has_an_id_and_a_description(screen: type) -> None:
    for binding in screen.__dict__.get("BINDINGS", []):
        assert isinstance(binding, Binding), binding
        assert binding.id and binding.description, binding


async def test_palette_offers_the_screen_keys_and_help_lists_them() -> None:
    app = agent_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="inbox")
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        for title in ("Reply", "Reply+history", "Forward", "CC/BCC", "Search", "Break"):
            assert title in commands
        assert commands["Forward"].startswith("f")
        assert "Back" not in commands  # not valid until a thread is open

        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"cc/b")
        await until(pilot, lambda: "CC/BCC" in screen_text(app), what="the command")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CcBccScreen), what="the CC/BCC form")
        await pilot.press("escape")

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        assert "New from message" in text and "Save attachment" in text
        await press(pilot, "escape")
        assert isinstance(app.screen, AgentScreen)


async def test_e_writes_the_reply_in_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "Written in vi.\\n" >> "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("VISUAL", str(editor))
    drafts: list[str] = []

    async def save_draft(self: FakeEngine, interaction_id: int, text: str) -> None:
        drafts.append(text)

    monkeypatch.setattr(FakeEngine, "save_draft", save_draft)
    app = agent_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="inbox")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
        body = app.screen.query_one("#reply-body", TextArea)
        await until(pilot, lambda: body.text == "Hi Carol,\nWritten in vi.", what="edited")
        await until(pilot, lambda: drafts[-1:] == [body.text], what="the draft saved")


async def test_sort_keys_have_ids_and_are_listed_but_not_in_the_footer() -> None:
    keys = {b.id: b for b in AgentScreen.BINDINGS if isinstance(b, Binding)}
    assert keys["agent.sort"].key == "o" and keys["agent.sort-reverse"].key == "O"
    assert not keys["agent.sort"].show and not keys["agent.sort-reverse"].show
    app = agent_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="inbox")
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Sort inbox"].startswith("o · Sort the inbox by")
        assert "Reverse sort" in commands and "New interaction" in commands
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        assert "Sort inbox" in text and "Reverse sort" in text and "New interaction" in text
