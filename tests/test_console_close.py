"""Closing an interaction whose client never got an answer says so before it is closed; once
answered (a forward does not count) the question is the plain one. Against a real engine,
Dovecot and SMTP sink."""

from __future__ import annotations

from textual.pilot import Pilot

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.wrapup import WrapupScreen
from engine.api.schemas import ForwardIn
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail


async def close_question(pilot: Pilot[object], app: PostdeskApp) -> str:
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, WrapupScreen), what="close?")
    text = screen_text(app)
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="kept open")
    return text


async def test_closing_an_unanswered_interaction_says_so(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the inbox")
            [item] = await agent.interactions()
            await pilot.press("enter")
            await until(pilot, lambda: "It sparks." in screen_text(app), what="the thread")
            assert "Carol Customer has had no answer" in await close_question(pilot, app)

            await agent.forward(item.id, ForwardIn(to="dave@example.org", text="Look?"))
            await until(pilot, lambda: "Look?" in screen_text(app), what="the forward")
            assert "Carol Customer has had no answer" in await close_question(pilot, app)

            await agent.reply(item.id, "We are on it.")
            await until(pilot, lambda: "We are on it." in screen_text(app), what="the reply")
            question = await close_question(pilot, app)
            assert "Close the interaction with" in question
            assert "no answer" not in question


async def test_mail_arriving_in_the_open_thread_is_read_there(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the inbox")
            screen = app.screen
            assert isinstance(screen, AgentScreen)
            [item] = await agent.interactions()
            await pilot.press("enter")
            await until(pilot, lambda: "It sparks." in screen_text(app), what="the thread")
            await until(pilot, lambda: not screen.inbox.get(item.id).unread, what="read")

            follow_up = customer_mail(f"Re: Broken kettle [#{item.id}]", "Now it smokes.")
            world.dovecot.append(world.mailbox, follow_up)
            await until(pilot, lambda: "Now it smokes." in screen_text(app), what="it arrives")
            [after] = await agent.interactions()
            assert after.message_count == 2
            await until(
                pilot,
                lambda: not screen.inbox.get(item.id).unread,
                what="no unread marker on the thread being read",
            )
            await pilot.press("escape")  # back to the inbox
            await until(pilot, lambda: not screen.reading, what="the inbox")
            assert "•" not in screen_text(app)
        [after] = await agent.interactions()
        assert not after.unread
