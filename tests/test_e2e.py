"""End to end through every layer: Dovecot -> engine -> agent console -> SMTP -> back again,
with a supervisor console watching the agent's counts change."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from textual.widgets import DataTable, TextArea

from console.screens.compose import ReplyScreen
from console.screens.supervisor import SupervisorScreen
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import World


def customer_mail(subject: str, body: str, *, reply_to_id: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "Support <support@postdesk.test>"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    if reply_to_id:
        msg["In-Reply-To"] = reply_to_id
        msg["References"] = reply_to_id
    msg.set_content(body)
    return msg.as_bytes()


async def test_agent_replies_customer_answers_supervisor_sees_counts(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Order 1234 missing", "Where is it?"))

    agent_app = console_for(world.engine, "agent1", "agent")
    async with agent_app.run_test(size=(160, 48)) as pilot:
        # Opening the console makes agent1 Free, so the router hands over the interaction.
        await until(
            pilot,
            lambda: "Order 1234 missing" in screen_text(agent_app),
            what="the interaction in the inbox",
        )
        await pilot.press("enter")
        await until(
            pilot,
            lambda: all(
                s in screen_text(agent_app)
                for s in ("Support", "carol@example.net", "Carol Customer", "Where is it?")
            ),
            what="the thread with campaign, client email and client name",
        )
        await pilot.press("r")
        await until(pilot, lambda: isinstance(agent_app.screen, ReplyScreen), what="reply")
        await type_text(pilot, "It ships today.")
        assert agent_app.screen.query_one("#reply-body", TextArea).text == "It ships today."
        await pilot.press("ctrl+s")

        received = (await world.sink.await_count(1, timeout=20))[0]
        sent = received.message
        [interaction] = await world.operator.interactions(scope="all")
        detail = await world.operator.interaction(interaction.id)
        customer_id = f"<{detail.messages[0].message_id}>"
        assert received.rcpt_tos == ["carol@example.net"]
        assert sent["From"] == "Postdesk Support <support@postdesk.test>"
        assert sent["To"] == "Carol Customer <carol@example.net>"
        assert sent["Subject"] == f"Re: Order 1234 missing [#{interaction.id}]"
        assert sent["In-Reply-To"] == customer_id
        assert sent["References"] == customer_id
        assert sent.get_body(("plain",)).get_content().startswith("It ships today.")

        await until(pilot, lambda: "sent" in screen_text(agent_app), what="reply marked sent")
        answer = customer_mail(
            "Re: Order 1234 missing", "Great, thanks!", reply_to_id=sent["Message-ID"]
        )
        world.dovecot.append(world.mailbox, answer)
        await until(
            pilot,
            lambda: "Great, thanks!" in screen_text(agent_app),
            what="the customer's answer in the open thread",
        )
    threaded = await world.operator.interactions(scope="all")
    assert [i.id for i in threaded] == [interaction.id]
    assert (await world.operator.interaction(interaction.id)).message_count == 3

    supervisor_app = console_for(world.engine, "super1", "supervisor")
    async with supervisor_app.run_test(size=(120, 30)) as pilot:
        await until(
            pilot,
            lambda: isinstance(supervisor_app.screen, SupervisorScreen),
            what="the supervisor screen",
        )
        grid = supervisor_app.screen.query_one("#agents", DataTable)

        def counts() -> tuple[str, str]:
            row = grid.get_row("agent1")
            return str(row[2]).strip(), str(row[3]).strip()

        await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
        assert counts() == ("1", "0")
        async with world.client("agent1") as agent:
            await agent.close_interaction(interaction.id)
        await until(pilot, lambda: counts() == ("0", "1"), what="active 0, completed 1")


async def test_hostile_text_shows_inert(world: World) -> None:
    hostile_subject = "Hi \x1b[31mRED\x1b[0m [bold]loud[/bold] \x1b]52;c;ZXZpbA==\x07end"
    msg = EmailMessage()
    msg["From"] = "Mallory <mallory@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = hostile_subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("Body \x1b]52;c;ZXZpbA==\x07 and [bold]markup[/bold] \x1b[2J\x1b[H done\n")
    world.dovecot.append(world.mailbox, msg.as_bytes())
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mallory" in screen_text(app).lower(), what="the interaction")
        await pilot.press("enter")
        await until(pilot, lambda: "markup" in screen_text(app), what="the thread body")
        text = screen_text(app)
        assert "[bold]markup[/bold]" in text
        assert "[bold]loud[/bold]" in text
        assert "\x1b" not in text and "\x07" not in text
        assert "ZXZpbA" not in text  # the OSC 52 payload is dropped with its sequence
        assert "RED" in text and "done" in text
