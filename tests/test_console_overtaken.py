"""A load's answer that was read before a change, arriving after the change's event, does not
undo what the event showed (console/overtaken.py). Loads and events travel on different
connections, so nothing orders them: here the answers are held back after the engine has read
them, as a slow connection or a busy console would, while the change happens and is heard.
Against a real engine, Dovecot and SMTP sink."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from console.screens.agent import AgentScreen
from console.screens.supervisor import SupervisorScreen
from engine.api.schemas import Hello
from engine.client.client import EngineClient
from tests.console_helpers import console_for, screen_text, settle, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail


class HeldAnswers:
    """Wraps some of a console's client calls: each is read by the engine at once, and its
    answer handed to the console only when `release` is set."""

    def __init__(self, client: EngineClient, *names: str) -> None:
        self.read: set[str] = set()
        self.release = asyncio.Event()
        for name in names:
            setattr(client, name, self._held(name, getattr(client, name)))

    def _held(
        self, name: str, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def held(*args: Any, **kwargs: Any) -> Any:
            answer = await call(*args, **kwargs)
            self.read.add(name)
            await self.release.wait()
            return answer

        return held


async def test_mail_assigned_while_the_inbox_reloads_stays_in_the_inbox(world: World) -> None:
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Nothing waiting for you" in screen_text(app), what="inbox")
        screen = app.screen
        assert isinstance(screen, AgentScreen)
        held = HeldAnswers(screen.client, "interactions", "me")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: held.read == {"interactions", "me"}, what="the reads")

        world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
        await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the assignment")
        await until(pilot, lambda: "1/5 open" in screen_text(app), what="the count")
        held.release.set()  # the answers read before the mail came arrive now
        await settle(pilot)

        text = screen_text(app)
        assert "Broken kettle" in text
        assert "1/5 open" in text
        assert "Nothing waiting for you" not in text
        assert len(screen.inbox.order) == 1
        # Told once, when it came: the answers brought nothing new to announce.
        assert sum("Broken kettle" in n.message for n in app._notifications) <= 1


async def test_a_status_changed_while_the_monitor_reloads_stays_changed(world: World) -> None:
    async with world.client("agent1") as agent:
        stream = agent.events()  # agent1's console is open: Free
        assert isinstance(await anext(stream), Hello)
        app = console_for(world.engine, "super1", "supervisor")
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
            screen = app.screen
            assert isinstance(screen, SupervisorScreen)
            await until(pilot, lambda: "Free" in screen_text(app), what="agent1 Free")
            held = HeldAnswers(screen.client, "monitor")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: held.read == {"monitor"}, what="the read")

            await agent.set_status("break", "Lunch")
            await until(pilot, lambda: "Lunch" in screen_text(app), what="the break")
            held.release.set()  # the snapshot read while agent1 was Free arrives now
            await settle(pilot)
            await until(pilot, lambda: "Lunch" in screen_text(app), what="the break kept")
            await stream.aclose()
