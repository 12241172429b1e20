"""A console outlives an engine restart: banner while lost, nothing typed is lost, then it
reloads and the half-written reply is sent once the engine is back."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TextArea

from console.screens.agent import AgentScreen
from console.screens.compose import ReplyScreen
from console.widgets.banner import EngineBanner
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import engine_settings, provision
from tests.mail_factory import customer_mail
from tests.servers import DovecotServer, SmtpSink


async def test_reply_survives_an_engine_restart(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    settings = engine_settings(tmp_path / "home")
    engine = Engine(settings)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            world = await provision(engine, operator, dovecot, smtp_sink)
        dovecot.append(world.mailbox, customer_mail("Refund please", "I want my money back"))
        app = console_for(engine, "agent1", "agent")
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: "Refund please" in screen_text(app), what="inbox")
            agent_screen = app.screen
            assert isinstance(agent_screen, AgentScreen)
            banner = agent_screen.query_one(EngineBanner)
            await pilot.press("enter", "r")
            await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
            await type_text(pilot, "Your refund is on its way")

            await engine.stop()
            await until(pilot, lambda: banner.lost, what="the lost-connection banner")
            body = app.screen.query_one("#reply-body", TextArea)
            assert body.text == "Your refund is on its way"

            engine = Engine(settings)
            await engine.start()
            await until(pilot, lambda: not banner.lost, timeout=30, what="reconnection")
            await pilot.press("ctrl+s")
            received = await smtp_sink.await_count(1)
            assert received[0].message["Subject"].startswith("Re: Refund please [#")
            content = received[0].message.get_body(("plain",)).get_content()
            assert content.startswith("Your refund is on its way")
    finally:
        await engine.stop()
