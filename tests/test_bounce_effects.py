"""Bounces, complaints and other automated mail against a real engine, Dovecot and SMTP sink.

What a user would notice, and what must not happen: a delayed notice or a hard bounce never
blacklists the customer as a complainer (it used to, and the tests that looked only for the
expected effect passed either way); only complaints blacklist; a hard bounce fails our
message and marks the address bouncing; automated mail of every class the classifier once
missed gets no confirmation and reaches no agent.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select

from data.models import BouncingAddress, Direction, MessageState
from data.models import Message as MessageRow
from engine.api.schemas import CampaignPatch, MessageOut, TemplateIn
from engine.client import EngineClient
from tests.engine_fixtures import World, eventually
from tests.mailcorpus import (
    AUTOMATED,
    arf_complaint,
    delivery_report,
    failed_recipients_bounce,
    hotmail_complaint,
    sample_of,
)

CAROL = "carol@example.net"


def customer_mail(subject: str, sender: str = f"Carol Customer <{CAROL}>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("The invoice total is wrong.")
    return msg.as_bytes()


async def bouncing(world: World) -> list[str]:
    """The addresses marked bouncing (what dialers will skip)."""
    async with world.engine.db.session() as session:
        return list((await session.scalars(select(BouncingAddress.email))).all())


async def outbox_empty(world: World) -> bool:
    async with world.engine.db.session() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(MessageRow)
            .where(
                MessageRow.direction == Direction.OUTBOUND,
                MessageRow.state.in_([MessageState.QUEUED, MessageState.SENDING]),
            )
        )
    return waiting == 0


async def our_reply_to_carol(world: World, agent: EngineClient) -> tuple[int, MessageOut]:
    """Carol writes, the agent answers and the answer is sent: (interaction, our message)."""
    world.dovecot.append(world.mailbox, customer_mail("Broken invoice"))
    await agent.set_status("free")
    [interaction] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
    ours = (await agent.reply(interaction.id, "We will fix it.")).messages[-1]
    await world.sink.await_count(1)
    await eventually(
        lambda: agent.interaction(interaction.id),
        lambda d: any(m.id == ours.id and m.state == "sent" for m in d.messages),
        what="the reply sent",
    )
    return interaction.id, ours


async def after(world: World, agent: EngineClient, interaction: int, ours: int) -> MessageOut:
    """Our message once a report about it has been filed on its interaction."""
    detail = await eventually(
        lambda: agent.interaction(interaction),
        lambda d: d.messages[-1].kind in ("bounce", "complaint"),
        what="the report filed with the interaction",
    )
    return next(m for m in detail.messages if m.id == ours)


async def test_a_delayed_notice_notes_the_delay_and_blacklists_nobody(world: World) -> None:
    async with world.client("agent1") as agent:
        interaction, ours = await our_reply_to_carol(world, agent)
        delayed = delivery_report(
            ours.message_id, CAROL, action="delayed", status="4.4.7", diagnostic="delayed"
        )
        world.dovecot.append(world.mailbox, delayed)
        message = await after(world, agent, interaction, ours.id)
        assert await world.operator.blacklist() == []
        assert await bouncing(world) == []
        assert message.state == "sent"
        assert message.error.startswith("delivery delayed: 4.4.7")
        assert len(await world.operator.interactions(scope="all")) == 1
    assert len(world.sink.messages) == 1  # nothing automatic answered the notice


async def test_a_hard_bounce_fails_the_message_and_marks_the_address_not_blacklisted(
    world: World,
) -> None:
    async with world.client("agent1") as agent:
        interaction, ours = await our_reply_to_carol(world, agent)
        world.dovecot.append(world.mailbox, delivery_report(ours.message_id, CAROL))
        message = await after(world, agent, interaction, ours.id)
        assert await world.operator.blacklist() == []
        assert message.state == "failed" and "5.1.1" in message.error
        assert await bouncing(world) == [CAROL]

        # Only a complaint blacklists; it leaves our message as the bounce left it.
        world.dovecot.append(world.mailbox, arf_complaint(ours.message_id, CAROL))
        [entry] = await eventually(world.operator.blacklist, lambda rows: len(rows) == 1)
        assert (entry.email, entry.reason) == (CAROL, "complaint (RFC 5965)")
        detail = await agent.interaction(interaction)
        assert next(m for m in detail.messages if m.id == ours.id).state == "failed"
        assert await bouncing(world) == [CAROL]
    assert len(world.sink.messages) == 1


async def test_a_bounce_naming_only_the_address_fails_our_last_message_to_it(
    world: World,
) -> None:
    async with world.client("agent1") as agent:
        interaction, ours = await our_reply_to_carol(world, agent)
        world.dovecot.append(world.mailbox, failed_recipients_bounce(CAROL))
        message = await after(world, agent, interaction, ours.id)
        assert await world.operator.blacklist() == []
        assert message.state == "failed" and "5.1.1" in message.error
        assert await bouncing(world) == [CAROL]


async def test_a_hotmail_complaint_blacklists_and_leaves_the_message(world: World) -> None:
    async with world.client("agent1") as agent:
        interaction, ours = await our_reply_to_carol(world, agent)
        world.dovecot.append(world.mailbox, hotmail_complaint(ours.message_id, CAROL))
        message = await after(world, agent, interaction, ours.id)
        [entry] = await world.operator.blacklist()
        assert entry.email == CAROL and entry.reason.startswith("complaint")
        assert entry.campaign is None  # a complaint stops every campaign's mail
        assert (message.state, message.error) == ("sent", "")
        assert await bouncing(world) == []
        assert len(await world.operator.interactions(scope="all")) == 1


async def test_a_forged_complaint_about_a_customer_we_wrote_to_blacklists_no_one(
    world: World,
) -> None:
    """An abuse report anyone could write: it names Carol, whom we did write to, but none of
    our Message-IDs. It is filed as machine mail and Carol still gets our mail; the same
    report naming our real message (the last mail) then blacklists her."""
    async with world.client("agent1") as agent:
        interaction, ours = await our_reply_to_carol(world, agent)
        for forged in (
            arf_complaint(make_msgid(domain="elsewhere.example").strip("<>"), CAROL),
            hotmail_complaint(make_msgid(domain="elsewhere.example").strip("<>"), CAROL),
        ):
            world.dovecot.append(world.mailbox, forged)
        rows = await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == 3,
            what="both reports filed",
        )
        assert {r.state for r in rows if r.id != interaction} == {"closed"}
        assert await world.operator.blacklist() == []
        world.dovecot.append(world.mailbox, arf_complaint(ours.message_id, CAROL))
        await after(world, agent, interaction, ours.id)
        [entry] = await world.operator.blacklist()
        assert (entry.email, entry.campaign) == (CAROL, None)


async def test_automated_mail_of_every_missed_class_gets_no_answer_and_no_agent(
    world: World,
) -> None:
    await world.operator.add_template(
        TemplateIn(name="Got it", campaign="Support", kind="confirmation", body_text="Got it.")
    )
    await world.operator.update_campaign(
        "Support", CampaignPatch(confirmation_enabled=True, confirmation_template="Got it")
    )
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        for name in AUTOMATED:
            world.dovecot.append(world.mailbox, sample_of(name).raw)
        # A person last: their confirmation shows the mailbox was read up to here.
        world.dovecot.append(world.mailbox, customer_mail("Question", "Dan <dan@example.org>"))
        rows = await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == len(AUTOMATED) + 1,
            what="every mail stored",
        )
        await world.sink.await_count(1)
        await eventually(lambda: outbox_empty(world), bool, what="the outbox drained")
        assert [m.rcpt_tos for m in world.sink.messages] == [["dan@example.org"]]
        [mine] = await agent.interactions()
        assert mine.client_email == "dan@example.org"
        automated = [r for r in rows if r.id != mine.id]
        assert {(r.state, r.agent) for r in automated} == {("closed", None)}
