"""Wrap-up against a real engine, Dovecot and SMTP sink (docs/wrapup.md): the admin's codes,
a close that asks for one and refuses what is not the campaign's, the wrap-ups on the thread,
in search results and counted in the statistics, and never in a mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.api.schemas import DispositionNode, DispositionTree, ForwardIn, RecordingQuery
from engine.client import EngineClient, Forbidden, Invalid
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail

SECRET = "Customer is a reseller, margin 4%, do not tell"


def codes(*paths: str) -> DispositionTree:
    """A tree of new codes from paths such as 'Sale/Upsell/Annual'."""
    roots: list[DispositionNode] = []
    for path in paths:
        level = roots
        for name in path.split("/"):
            found = next((n for n in level if n.name == name), None)
            if found is None:
                found = DispositionNode(name=name)
                level.append(found)
            level = found.children
    return DispositionTree(codes=roots)


def paths(nodes: list[DispositionNode], above: str = "") -> list[str]:
    out: list[str] = []
    for n in nodes:
        here = f"{above}/{n.name}" if above else n.name
        out.append(here + ("" if n.active else " (inactive)"))
        out += paths(n.children, here)
    return out


async def assigned(world: World, agent: EngineClient, subject: str) -> int:
    world.dovecot.append(world.mailbox, customer_mail(subject, "Hello, about my order."))
    await agent.set_status("free")
    rows = await eventually(
        agent.interactions,
        lambda rows: any(r.subject == subject and r.state == "assigned" for r in rows),
        what=f"{subject!r} assigned",
    )
    return next(r.id for r in rows if r.subject == subject)


async def test_the_admin_edits_a_campaigns_tree_of_codes(world: World) -> None:
    op = world.operator
    saved = await op.set_dispositions("Support", codes("Sale/Upsell/Annual", "Sale/New", "Info"))
    assert saved.campaign == "Support" and saved.required
    assert paths(saved.codes) == ["Sale", "Sale/Upsell", "Sale/Upsell/Annual", "Sale/New", "Info"]

    # Rename Upsell, move New to the top level first, deactivate Info, add Info's child.
    sale, info = saved.codes
    upsell, new = sale.children
    upsell.name = "Up-sell"
    info.active = False
    info.children.append(DispositionNode(name="Hours"))
    tree = DispositionTree(
        codes=[new, DispositionNode(id=sale.id, name="Sale", children=[upsell]), info]
    )
    again = await op.set_dispositions("Support", tree)
    assert paths(again.codes) == [
        "New",
        "Sale",
        "Sale/Up-sell",
        "Sale/Up-sell/Annual",
        "Info (inactive)",
        "Info/Hours",
    ]
    assert again.codes[0].id == new.id  # the same code, moved: not a new one

    # Two siblings swap names in one save (the unique constraint is met only at the end).
    a, b = again.codes[0], again.codes[1]
    a.name, b.name = "Sale", "New"
    swapped = await op.set_dispositions("Support", DispositionTree(codes=[a, b]))
    assert paths(swapped.codes)[:2] == ["Sale", "New"]
    assert [n.id for n in swapped.codes] == [a.id, b.id]
    assert "Info (inactive)" not in paths(swapped.codes)  # left out: removed

    with pytest.raises(Invalid) as twice:
        await op.set_dispositions("Support", codes("Sale", "Refund", "sale"))
    assert twice.value.field == "codes.2.name"
    with pytest.raises(Invalid) as slash:
        await op.set_dispositions("Support", DispositionTree(codes=[DispositionNode(name="A > B")]))
    assert slash.value.field == "codes.0.name"
    async with world.client("agent1") as agent:
        with pytest.raises(Forbidden):
            await agent.set_dispositions("Support", codes("Mine"))
    assert paths((await op.dispositions("Support")).codes)[:2] == ["Sale", "New"]


async def test_closing_asks_for_a_code_of_the_campaign_and_keeps_its_path(world: World) -> None:
    op = world.operator
    await op.set_dispositions("Support", codes("Sale/Upsell/Annual", "Sale/New", "Complaint"))
    other = world.dovecot.new_mailbox("sales")
    await op.add_campaign(other.campaign("Sales", smtp_host=world.sink.host))
    await op.set_dispositions("Sales", codes("Lead/Hot"))
    tree = await op.dispositions("Support")
    complaint = tree.codes[1]
    complaint.active = False
    await op.set_dispositions("Support", tree)

    async with world.client("agent1") as agent:
        item = await assigned(world, agent, "Order 1")
        choices = await agent.close_choices(item)
        assert choices.required and paths(choices.codes) == [
            "Sale",
            "Sale/Upsell",
            "Sale/Upsell/Annual",
            "Sale/New",
        ]
        refusals = {
            "": "choose a disposition: Support asks for one on close",
            "Lead/Hot": "'Lead > Hot' is not a disposition of Support",
            "Complaint": "'Complaint' is no longer in use in Support",
            "Sale/Upsell": "has finer codes",
        }
        for given, words in refusals.items():
            with pytest.raises(Invalid) as refused:
                await agent.close_interaction(item, disposition=given)
            assert words in str(refused.value) and refused.value.field == "disposition"
        with pytest.raises(Invalid) as bad_note:
            await agent.close_interaction(item, disposition="Sale/New", note="ring\x07")
        assert bad_note.value.field == "note"
        [still] = [r for r in await agent.interactions() if r.id == item]
        assert still.state == "assigned"  # every refusal left it open

        closed = await agent.close_interaction(
            item, disposition="sale > upsell > annual", note="Wants a quote\nin May"
        )
        assert closed.state == "closed"
        detail = await agent.interaction(item)
        [wrapup] = detail.wrapups
        assert wrapup.disposition == "Sale > Upsell > Annual"
        assert wrapup.note == "Wants a quote\nin May"
        assert wrapup.agent == "agent1" and wrapup.agent_name == "Agent1"

        # Renaming and then removing the code later never changes what the close said.
        tree = await op.dispositions("Support")
        tree.codes[0].name = "Sales"
        await op.set_dispositions("Support", tree)
        await op.set_dispositions("Support", codes("Other"))
        [kept] = (await agent.interaction(item)).wrapups
        assert kept.disposition == "Sale > Upsell > Annual"

        # Reopened by the customer, closed again: two wrap-ups, search shows the last.
        world.dovecot.append(
            world.mailbox, customer_mail(f"Re: Order 1 [#{item}]", "One more thing.")
        )
        await eventually(
            agent.interactions,
            lambda rows: any(r.id == item and r.state == "assigned" for r in rows),
            what="reopened",
        )
        # While reopened, the viewer still says how it was closed, and when it arrived: its
        # first mail, not the requeue.
        reopened = await agent.interaction(item)
        assert reopened.state != "closed" and reopened.disposition == "Sale > Upsell > Annual"
        assert reopened.arrived_at == reopened.messages[0].created_at < reopened.queued_at
        await agent.close_interaction(item, disposition="Other")
        first, second = (await agent.interaction(item)).wrapups
        assert (first.disposition, second.disposition) == ("Sale > Upsell > Annual", "Other")
        [found] = (await agent.recordings(RecordingQuery(subject="Order 1"))).items
        assert found.disposition == "Other"
        async with world.client("super1") as supervisor:
            [seen] = (await supervisor.recordings(RecordingQuery(subject="Order 1"))).items
            assert seen.disposition == "Other"
            assert len((await supervisor.interaction(item)).wrapups) == 2

        counted = await op.disposition_stats()
        [support] = [c for c in counted.campaigns if c.campaign == "Support"]
        assert support.closed == 2
        assert {c.disposition: c.count for c in support.counts} == {
            "Sale > Upsell > Annual": 1,
            "Other": 1,
        }
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        assert (await op.disposition_stats(tomorrow, tomorrow + timedelta(days=1))).campaigns == []
        with pytest.raises(Invalid) as backwards:
            await op.disposition_stats(tomorrow, tomorrow - timedelta(days=1))
        assert backwards.value.field == "until"


async def test_codes_can_be_optional_and_a_campaign_without_codes_closes_as_before(
    world: World,
) -> None:
    async with world.client("agent1") as agent:
        first = await assigned(world, agent, "No codes yet")
        assert not (await agent.close_choices(first)).required
        await agent.close_interaction(first)
        [plain] = (await agent.interaction(first)).wrapups
        assert plain.disposition == "" and plain.note == ""

        optional = codes("Sale/New")
        optional.required = False
        assert not (await world.operator.set_dispositions("Support", optional)).required
        second = await assigned(world, agent, "Optional codes")
        assert not (await agent.close_choices(second)).required
        await agent.close_interaction(second, note="Just a note")
        [noted] = (await agent.interaction(second)).wrapups
        assert (noted.disposition, noted.note) == ("", "Just a note")
        counted = await world.operator.disposition_stats()
        [support] = counted.campaigns
        assert {c.disposition: c.count for c in support.counts} == {"": 2}


async def test_only_its_agent_reads_the_codes_of_an_interaction(world: World) -> None:
    await world.operator.set_dispositions("Support", codes("Sale/New"))
    async with world.client("agent1") as agent:
        item = await assigned(world, agent, "Mine")
    async with world.client("super1") as supervisor:
        with pytest.raises(Forbidden):
            await supervisor.close_choices(item)
        assert (await supervisor.disposition_stats()).campaigns == []
        assert paths((await supervisor.dispositions("Support")).codes) == ["Sale", "Sale/New"]
        with pytest.raises(Forbidden):
            await supervisor.set_dispositions("Support", codes("X"))
        with pytest.raises(Forbidden):
            await supervisor.close_interaction(item, disposition="Sale/New")


async def test_a_wrapup_note_never_leaves_in_mail(world: World) -> None:
    """A closed-then-reopened interaction answered with its history and forwarded: what the
    SMTP sink received holds the customer's mail and the agent's words, never the note or
    the code."""
    await world.operator.set_dispositions("Support", codes("Sale/Upsell/Annual"))
    async with world.client("agent1") as agent:
        item = await assigned(world, agent, "Renewal")
        await agent.reply(item, "We will send the offer.")
        await world.sink.await_count(1)
        await agent.close_interaction(item, disposition="Sale/Upsell/Annual", note=SECRET)
        world.dovecot.append(
            world.mailbox, customer_mail(f"Re: Renewal [#{item}]", "Any news on the offer?")
        )
        await eventually(
            agent.interactions,
            lambda rows: any(r.id == item and r.state == "assigned" for r in rows),
            what="reopened",
        )
        await agent.reply(item, "Here it is.", with_history=True)
        await agent.forward(item, ForwardIn(to="dave@example.org", text="Please check."))
        mails = await world.sink.await_count(3)
    reply, forward = mails[1], mails[2]
    assert b"Any news on the offer?" in reply.raw  # the history is there
    assert "Please check." in forward.message.get_body(("plain",)).get_content()
    for mail in mails:
        text = mail.raw.decode("utf-8", "replace")
        assert "reseller" not in text and "margin" not in text
        assert "Upsell" not in text and "Annual" not in text
