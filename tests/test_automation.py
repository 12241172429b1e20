"""Automated mail against real Dovecot and SMTP: confirmations, auto-replies, bounces, complaints.

Nothing automated ever reaches an agent as a customer message or gets an automatic answer,
and the confirmation auto-reply is rate-capped per sender.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

from engine.api.schemas import InteractionSummary
from tests.engine_fixtures import World, enable_confirmation, eventually
from tests.mail_factory import abuse_report, customer_mail, delivery_status_notification
from tests.servers import ReceivedMail

SENTINEL = "sentinel@example.org"


async def settle(world: World, interactions: int) -> None:
    """Wait until every automatic answer to the mail so far would have reached the sink.

    A customer mail sent last, from an address of its own, is confirmed after every mail
    before it (the mailbox ingests in order, the outbox sends in order): once its
    confirmation is in the sink, an answer to the mail under test would be too. Waiting a
    second instead let a loaded machine pass a test that should fail. The sentinel's
    interaction and confirmation are left out by `customers` and `sent`."""
    await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == interactions,
        what=f"{interactions} interactions",
    )
    msg = EmailMessage()
    msg["From"] = f"Sentinel <{SENTINEL}>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "Last of the batch"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Confirm me.")
    world.dovecot.append(world.mailbox, msg.as_bytes())
    await eventually(
        lambda: asyncio.sleep(0, world.sink.messages),
        lambda mails: any(SENTINEL in m.rcpt_tos for m in mails),
        what="the sentinel's confirmation, after every answer to the mail before it",
    )
    await world.engine.outbox.send_due()


def sent(world: World) -> list[ReceivedMail]:
    """What the sink got, the sentinel's confirmation left out."""
    return [m for m in world.sink.messages if SENTINEL not in m.rcpt_tos]


async def customers(world: World) -> list[InteractionSummary]:
    """Every interaction but the sentinel's."""
    rows = await world.operator.interactions(scope="all")
    return [r for r in rows if r.client_email != SENTINEL]


async def test_confirmation_is_sent_once_per_new_interaction_and_capped(world: World) -> None:
    await enable_confirmation(world)
    first = customer_mail("Broken invoice", "The total is wrong.")
    world.dovecot.append(world.mailbox, first)
    received = (await world.sink.await_count(1))[0]
    confirmation = received.message
    assert received.rcpt_tos == ["carol@example.net"]
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["Subject"] == "Re: Broken invoice [#1]"
    assert confirmation["In-Reply-To"].strip("<>") in first.decode()
    body = confirmation.get_body(("plain",)).get_content()
    assert body.startswith("Hello Carol Customer, we received your mail about Broken invoice.")

    # Four more new interactions from the same sender inside ten minutes: two more at most.
    for n in range(4):
        world.dovecot.append(world.mailbox, customer_mail(f"Another question {n}", "Hi"))
    await settle(world, 5)
    assert len(sent(world)) == 3


async def test_auto_replies_lists_and_noreply_get_no_answer_and_no_agent(world: World) -> None:
    await enable_confirmation(world)
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        automated = []
        for headers in (
            {"Auto-Submitted": "auto-replied"},
            {"List-Id": "<news.example.net>", "Precedence": "list"},
            {"From": "No Reply <noreply@example.net>"},
        ):
            msg = EmailMessage()
            msg["From"] = headers.pop("From", "Auto <auto@example.net>")
            msg["To"] = "support@postdesk.test"
            msg["Subject"] = "Out of office"
            msg["Message-ID"] = make_msgid(domain="example.net")
            for name, value in headers.items():
                msg[name] = value
            msg.set_content("I am away.")
            automated.append(msg.as_bytes())
        for raw in automated:
            world.dovecot.append(world.mailbox, raw)
        await settle(world, 3)
        rows = await customers(world)
        assert len(rows) == 3
        assert {r.state for r in rows} == {"closed"}
        assert {r.agent for r in rows} == {None}
        assert [r.client_email for r in await agent.interactions()] in ([], [SENTINEL])
        kinds = {(await world.operator.interaction(r.id)).messages[0].kind for r in rows}
        assert kinds == {"auto_reply", "list"}
    assert sent(world) == []


async def test_bounce_fails_our_message_and_complaint_blacklists(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken invoice", "Wrong total"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [interaction] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        detail = await agent.reply(interaction.id, "We will fix it.")
        ours = detail.messages[-1]
        await world.sink.await_count(1)
        await eventually(
            lambda: agent.interaction(interaction.id),
            lambda d: d.messages[-1].state == "sent",
            what="the reply sent",
        )
        world.dovecot.append(world.mailbox, delivery_status_notification(f"<{ours.message_id}>"))
        bounced = await eventually(
            lambda: agent.interaction(interaction.id),
            lambda d: any(m.id == ours.id and m.state == "failed" for m in d.messages),
            what="the reply marked failed by the bounce",
        )
        failed = next(m for m in bounced.messages if m.id == ours.id)
        assert "5.1.1" in failed.error and "Recipient address rejected" in failed.error
        assert bounced.messages[-1].kind == "bounce"  # filed on the interaction, visible
        assert len(await world.operator.interactions(scope="all")) == 1
        assert await world.operator.blacklist() == []  # a bounce is no complaint

        world.dovecot.append(world.mailbox, abuse_report(f"<{ours.message_id}>"))
        blacklist = await eventually(
            world.operator.blacklist, lambda rows: len(rows) == 1, what="the blacklist"
        )
        assert blacklist[0].email == "carol@example.net"
        assert len(await world.operator.interactions(scope="all")) == 1
    assert len(world.sink.messages) == 1  # only the agent's reply: nothing automatic


async def test_blacklisted_sender_gets_no_confirmation(world: World) -> None:
    """Carol reports our confirmation as spam: her next mail gets none. (A report about no
    message of ours would blacklist no one: tests/test_bounce_effects.py.)"""
    await enable_confirmation(world)
    world.dovecot.append(world.mailbox, customer_mail("Hello", "Hi"))
    [confirmation] = await eventually(
        lambda: asyncio.sleep(0, sent(world)), lambda mails: len(mails) == 1
    )
    world.dovecot.append(world.mailbox, abuse_report(confirmation.message["Message-ID"]))
    await eventually(world.operator.blacklist, lambda rows: len(rows) == 1)
    world.dovecot.append(world.mailbox, customer_mail("Hello again", "Hi"))
    await settle(world, 2)  # the report is filed with her first interaction
    assert sent(world) == [confirmation]


async def test_an_address_blacklisted_for_another_campaign_still_gets_this_ones(
    world: World,
) -> None:
    """An unsubscribe from one campaign's mail stops that campaign's, not the others'."""
    await enable_confirmation(world)
    billing = world.dovecot.new_mailbox("billing")
    await world.operator.add_campaign(
        billing.campaign("Billing", email_address="billing@postdesk.test")
    )
    await world.operator.add_to_blacklist("carol@example.net", campaign="Support")
    world.dovecot.append(world.mailbox, customer_mail("First", "Hi"))
    await settle(world, 1)
    assert sent(world) == []  # blocked for Support: no confirmation
    await world.operator.remove_from_blacklist("carol@example.net", campaign="Support")
    await world.operator.add_to_blacklist("carol@example.net", campaign="Billing")
    world.dovecot.append(world.mailbox, customer_mail("Second", "Hi again"))
    await eventually(
        lambda: asyncio.sleep(0, sent(world)),
        lambda mails: len(mails) == 1,
        what="Support's confirmation, Billing's block notwithstanding",
    )
