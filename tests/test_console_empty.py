"""Empty screens say what they are for and what to do (an empty inbox, queue, agent grid,
campaign list and template picker used to show nothing at all). Against a real engine."""

from __future__ import annotations

import re

from textual.app import App

from console.screens.admin import AdminScreen
from console.screens.agent import AgentScreen
from console.screens.breaks import BreakPicker
from console.screens.compose import ReplyScreen
from console.screens.supervisor import SupervisorScreen
from console.screens.templates import TemplatePicker
from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World


def said(app: App[object]) -> str:
    """The screen's words with line wrapping undone."""
    return re.sub(r"\s+", " ", screen_text(app))


async def test_an_empty_inbox_says_what_comes_there(world: World) -> None:
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent")
        await until(pilot, lambda: "Nothing waiting for you" in said(app), what="the note")
        assert "Mail to Support comes here" in said(app)
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BreakPicker), what="break reasons")
        await pilot.press("enter")
        await until(pilot, lambda: "You are on a break" in said(app), what="the break note")
        assert "a makes you Free" in said(app)


async def test_an_empty_queue_and_template_picker_say_what_they_are_for(
    world: World,
) -> None:
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        await until(pilot, lambda: "No one is waiting" in said(app), what="the queue")

    world.dovecot.append(world.mailbox, b"From: c@example.net\r\nSubject: Hi\r\n\r\nHello\r\n")
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Hi" in said(app), what="the inbox")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="templates")
        await until(pilot, lambda: "No templates yet" in said(app), what="the note")
        assert "admin console, T" in said(app)


async def test_no_agents_and_no_campaigns_say_who_adds_them(
    engine: Engine, operator: EngineClient
) -> None:
    for name, role in (("sam", "supervisor"), ("ada", "admin")):
        await operator.add_user(UserIn(username=name, display_name=name, roles=[role]))
    app = console_for(engine, "sam", "supervisor")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        await until(pilot, lambda: "No agents yet" in said(app), what="the grid note")
        await pilot.press("r")  # a key for the selected agent says why it does nothing
        await until(pilot, lambda: "No agent selected" in said(app), what="the refusal")
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        await until(pilot, lambda: "No campaign yet" in said(app), what="the note")
        assert "a adds one" in said(app)
