"""The agent screen's workers post typed messages (console/messages.py), observed here with
Textual's `message_hook`: closing from the inbox, where the thread is not loaded (80 columns),
fetches the interaction (`DetailFetched`, carrying the close flow) and then posts
`InteractionClosed`; both are about the agent's thread pane (`control`). Against a real
engine, Dovecot and SMTP sink."""

from __future__ import annotations

from textual.message import Message

from console.messages import DetailFetched, InteractionClosed, ThreadLoaded
from console.screens.agent import AgentScreen
from console.screens.wrapup import WrapupScreen
from tests.console_helpers import console_for, press, screen_text, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail


async def test_closing_from_the_inbox_posts_typed_messages_about_the_thread(
    world: World,
) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
    posted: list[Message] = []

    def hook(message: Message) -> None:
        if isinstance(message, (DetailFetched, InteractionClosed, ThreadLoaded)):
            posted.append(message)

    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24), notifications=True, message_hook=hook) as pilot:
            await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the inbox")
            [item] = await agent.interactions()
            screen = app.screen
            assert isinstance(screen, AgentScreen)
            assert screen.thread.interaction_id is None  # only the inbox shows at 80 columns

            await press(pilot, "x")
            await until(pilot, lambda: isinstance(app.screen, WrapupScreen), what="close?")
            [fetched] = [m for m in posted if isinstance(m, DetailFetched)]
            assert fetched.detail.id == item.id
            assert fetched.control is screen.thread and fetched.control.id == "thread"
            assert not [m for m in posted if isinstance(m, ThreadLoaded)]

            await press(pilot, "ctrl+s")  # the wrap-up dialog closes it (no codes here)
            await until(
                pilot,
                lambda: any(isinstance(m, InteractionClosed) for m in posted),
                what="the close answered",
            )
            [closed] = [m for m in posted if isinstance(m, InteractionClosed)]
            assert closed.summary.id == item.id and closed.summary.state == "closed"
            assert closed.control is screen.thread
            await until(pilot, lambda: "Interaction closed" in screen_text(app), what="the toast")
        assert await agent.interactions(scope="mine", state="assigned") == []
