"""Every outgoing message in a thread says whom it went to (To, CC, BCC), so a forward to a
third party no longer looks like an answer to the client; and a forward leaves the client's
waiting time alone. Against a real engine, Dovecot and SMTP sink."""

from __future__ import annotations

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.widgets.message import MessageView, message_text
from engine.api.schemas import ForwardIn, InteractionSummary
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail


def thread_text(app: PostdeskApp) -> str:
    """Every message the thread holds, as drawn (scrolled into view or not)."""
    return "\n".join(message_text(view.message).plain for view in app.screen.query(MessageView))


async def test_forward_shows_its_recipients_and_keeps_the_client_waiting(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
    async with world.client("agent1") as agent:
        # The console makes the agent present, so the mail is routed to them.
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the inbox")
            [item] = await agent.interactions()
            screen = app.screen
            assert isinstance(screen, AgentScreen)
            await pilot.press("enter")
            await until(pilot, lambda: "It sparks." in screen_text(app), what="the thread")

            forwarded = await agent.forward(
                item.id,
                ForwardIn(
                    to="Dave <dave@example.org>",
                    cc="frank@example.org",
                    bcc="gina@example.org",
                    text="Can you look?",
                ),
            )
            await world.sink.await_count(1)
            await until(pilot, lambda: "Can you look?" in screen_text(app), what="the forward")
            text = screen_text(app)
            assert "→ Fwd" in text
            assert "To  dave@example.org" in text
            assert "CC  frank@example.org" in text
            assert "BCC gina@example.org" in text
            # The client was not answered: nothing in the thread says the mail went to them.
            assert "To  carol@example.net" not in text

            # The forward (queued, then sent) did not move the client's waiting time.
            def shown() -> InteractionSummary | None:
                return screen.inbox.get(item.id)

            await until(
                pilot,
                lambda: (s := shown()) is not None and s.last_message_at == item.last_message_at,
                what="the waiting time as before",
            )
            assert forwarded.last_message_at == item.last_message_at
            [after] = await agent.interactions()
            assert after.last_message_at == item.last_message_at

            await agent.reply(item.id, "We are on it.")
            await world.sink.await_count(2)
            await until(pilot, lambda: "We are on it." in thread_text(app), what="the reply")
            assert "To  carol@example.net" in thread_text(app)
            # A reply answers the client: the waiting time starts again.
            await until(
                pilot,
                lambda: (s := shown()) is not None and s.last_message_at > item.last_message_at,
                what="the waiting time reset by the reply",
            )


async def test_a_message_the_server_puts_off_says_why_until_it_is_sent(world: World) -> None:
    world.sink.fail_next(6, "451 4.7.1 greylisted, try again later", stage="data")
    world.dovecot.append(world.mailbox, customer_mail("Parcel", "Where is it?"))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Parcel" in screen_text(app), what="the inbox")
            [item] = await agent.interactions()
            await pilot.press("enter")
            await until(pilot, lambda: "Where is it?" in screen_text(app), what="the thread")
            await agent.reply(item.id, "On its way.")
            await until(
                pilot,
                lambda: "Not sent yet" in (t := thread_text(app)) and "451 4.7.1 greylisted" in t,
                what="why the reply is still in the outbox",
            )
            assert "next at" in thread_text(app)
            await world.sink.await_count(1, timeout=60)
            await until(
                pilot,
                lambda: "Not sent yet" not in (t := thread_text(app)) and " sent" in t,
                timeout=30,
                what="the reply sent, the reason gone",
            )
