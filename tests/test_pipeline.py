"""The engine's thin real path, without a console: IMAP in, routing, SMTP out, threading back."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from engine.client import EngineClient, Forbidden, NotFound
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def test_mail_in_reply_out_answer_threads_back(world: World) -> None:
    raw = customer_mail("Broken invoice", "The invoice total is wrong.")
    world.dovecot.append(world.mailbox, raw)
    agent = world.client("agent1")
    try:
        await agent.set_status("free")
        inbox = await eventually(
            lambda: agent.interactions(), lambda rows: len(rows) == 1, what="assignment"
        )
        interaction = inbox[0]
        assert interaction.client_email == "carol@example.net"
        assert interaction.client_name == "Carol Customer"
        assert interaction.campaign_name == "Support"
        assert interaction.subject == "Broken invoice"
        assert interaction.agent == "agent1"

        detail = await agent.reply(interaction.id, "We are fixing it today.")
        assert [m.direction for m in detail.messages] == ["inbound", "outbound"]
        received = (await world.sink.await_count(1))[0]
        sent = received.message
        customer_id = detail.messages[0].message_id
        assert sent["From"] == "Postdesk Support <support@postdesk.test>"
        assert sent["To"] == "Carol Customer <carol@example.net>"
        assert sent["Subject"] == f"Re: Broken invoice [#{interaction.id}]"
        assert sent["In-Reply-To"] == f"<{customer_id}>"
        assert f"<{customer_id}>" in sent["References"]
        assert received.rcpt_tos == ["carol@example.net"]
        assert "We are fixing it today." in sent.get_body(("plain",)).get_content()
        our_id = sent["Message-ID"]

        answer = customer_mail("Re: Broken invoice", "Thanks!", in_reply_to=our_id)
        world.dovecot.append(world.mailbox, answer)
        thread = await eventually(
            lambda: agent.interaction(interaction.id),
            lambda d: len(d.messages) == 3,
            what="the answer to join the interaction",
        )
        assert thread.messages[-1].text.strip() == "Thanks!"
        assert len(await world.operator.interactions(scope="all")) == 1
        await eventually(
            lambda: agent.interaction(interaction.id),
            lambda d: d.messages[1].state == "sent",
            what="the outbox to mark the reply sent",
        )
    finally:
        await agent.close()


async def test_roles_are_enforced_by_the_engine(world: World) -> None:
    agent = world.client("agent1")
    supervisor = world.client("super1")
    try:
        with pytest.raises(Forbidden):
            await agent.monitor()
        with pytest.raises(Forbidden):
            await agent.campaigns()
        with pytest.raises(Forbidden):
            await supervisor.set_status("free")
        snapshot = await supervisor.monitor()
        assert [a.username for a in snapshot.agents] == ["agent1"]
        async with EngineClient(world.engine.socket_path, act_as="nobody") as nobody:
            with pytest.raises(NotFound):
                await nobody.me()
    finally:
        await agent.close()
        await supervisor.close()


async def test_a_stranger_quoting_a_message_id_does_not_join_the_thread(world: World) -> None:
    """Knowing a Message-ID is not enough to read or join someone else's interaction."""
    original = customer_mail("Private matter", "My account number is 123")
    world.dovecot.append(world.mailbox, original)
    [first] = await eventually(
        lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 1
    )
    detail = await world.operator.interaction(first.id)
    stranger = EmailMessage()
    stranger["From"] = "Mallory <mallory@evil.example>"
    stranger["To"] = "support@postdesk.test"
    stranger["Subject"] = "Re: Private matter"
    stranger["Message-ID"] = make_msgid(domain="evil.example")
    stranger["In-Reply-To"] = f"<{detail.messages[0].message_id}>"
    stranger.set_content("Please send me the account details again.")
    world.dovecot.append(world.mailbox, stranger.as_bytes())
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 2
    )
    new = next(r for r in rows if r.id != first.id)
    assert new.client_email == "mallory@evil.example"
    assert new.linked_interaction_id == first.id
    assert (await world.operator.interaction(first.id)).message_count == 1


async def test_unparseable_mail_is_quarantined_visible_and_retryable(world: World) -> None:
    world.dovecot.append(world.mailbox, b"\r\n")  # nothing at all: not mail
    good = customer_mail("Still here", "The mailbox goes on after a bad mail.")
    world.dovecot.append(world.mailbox, good)
    await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: [r.subject for r in rows] == ["Still here"],
        what="the good mail after the bad one",
    )
    [item] = await world.operator.quarantine()
    assert item.campaign == "Support" and item.error and item.imap_uid == 1
    shown = await world.operator.quarantined(item.id)
    assert shown.raw.strip() == ""
    retried = await world.operator.retry_quarantined(item.id)
    assert not retried.ingested and retried.error
    assert len(await world.operator.quarantine()) == 1
    async with world.client("agent1") as agent:
        with pytest.raises(Forbidden):
            await agent.quarantine()


async def test_subject_token_threads_a_reply_without_headers(world: World) -> None:
    """Some clients drop In-Reply-To and References: the [#id] token still threads."""
    world.dovecot.append(world.mailbox, customer_mail("Lost parcel", "Where is it?"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        await agent.reply(row.id, "Looking into it.")
        sent = (await world.sink.await_count(1))[0].message
        assert sent["Subject"] == f"Re: Lost parcel [#{row.id}]"
        world.dovecot.append(world.mailbox, customer_mail(f"RE: {sent['Subject']}", "Any news?"))
        thread = await eventually(
            lambda: agent.interaction(row.id), lambda d: len(d.messages) == 3, what="token"
        )
        assert thread.messages[-1].text.strip() == "Any news?"
        assert len(await world.operator.interactions(scope="all")) == 1
