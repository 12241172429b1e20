"""Logging in: with no engine to reach, the console says so and offers a retry; once the
engine is there, Ctrl+R opens the agent's screen. The login worker posts what came of it
(`LoggedIn`, `LoginFailed`); the app shows it."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from console.app import PostdeskApp
from console.messages import LoggedIn, LoginFailed
from console.screens.agent import AgentScreen
from engine.client import EngineClient
from tests.console_helpers import screen_text, until
from tests.engine_fixtures import World


async def test_no_engine_is_said_with_a_retry_and_the_retry_logs_in(
    tmp_path: Path, world: World
) -> None:
    socket = {"path": tmp_path / "no-engine.sock"}
    app = PostdeskApp(lambda _u: EngineClient(socket["path"], act_as="agent1"), mode="agent")
    seen: list[Message] = []

    def hook(message: Message) -> None:
        if isinstance(message, LoggedIn | LoginFailed):
            seen.append(message)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await until(pilot, lambda: "Could not open Postdesk" in screen_text(app), what="refusal")
        assert "Ctrl+R tries again" in screen_text(app)
        assert not isinstance(app.screen, AgentScreen)
        assert [type(m) for m in seen] == [LoginFailed]
        socket["path"] = world.engine.socket_path
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent screen")
        assert [type(m) for m in seen] == [LoginFailed, LoggedIn]
