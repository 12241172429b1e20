"""The agent's mail API against a real engine and SMTP sink: CC/BCC, forward, new interaction,
uploads, attachments, search, drafts and templates."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from engine.api.schemas import (
    CampaignPatch,
    ForwardIn,
    NewInteractionIn,
    RecordingQuery,
    TemplateIn,
    UserIn,
    UserPatch,
)
from engine.client import EngineClient, Forbidden, Invalid, NotFound
from tests.engine_fixtures import World, eventually


def mail_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Cc"] = "boss@example.net"
    msg["Subject"] = "Invoice attached"
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("See the attached invoice.")
    msg.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice 42.pdf"
    )
    return msg.as_bytes()


async def assigned(world: World, agent: EngineClient) -> int:
    world.dovecot.append(world.mailbox, mail_with_attachment())
    await agent.set_status("free")
    [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
    return row.id


async def test_cc_bcc_form_rules_and_reply(world: World) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent)
        detail = await agent.interaction(interaction_id)
        assert detail.cc == ["boss@example.net"]  # follows the last received message
        with pytest.raises(Invalid) as refused:
            await agent.set_cc_bcc(interaction_id, "ok@example.net, not-an-address", "")
        assert "not-an-address" in refused.value.message
        detail = await agent.set_cc_bcc(interaction_id, "team@example.net", "audit@example.net")
        assert (detail.cc, detail.bcc) == (["team@example.net"], ["audit@example.net"])
        await agent.reply(interaction_id, "Thanks, booked.")
        received = (await world.sink.await_count(1))[0]
    assert sorted(received.rcpt_tos) == sorted(
        ["carol@example.net", "team@example.net", "audit@example.net"]
    )
    assert received.message["Cc"] == "team@example.net"
    assert received.message["Bcc"] is None and b"audit@" not in received.raw


async def test_forward_carries_attachments_and_prefixes_subject(world: World) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent)
        upload = await agent.upload("notes.txt", b"extra notes", "text/plain")
        detail = await agent.forward(
            interaction_id,
            ForwardIn(
                to="billing@example.org, accounts@example.org",
                bcc="audit@example.net",
                text="Please check this invoice.",
                uploads=[upload.token],
            ),
        )
        assert detail.messages[-1].kind == "forward"
        received = (await world.sink.await_count(1))[0]
    sent = received.message
    assert sorted(received.rcpt_tos) == [
        "accounts@example.org",
        "audit@example.net",
        "billing@example.org",
    ]
    assert sent["Subject"] == "FWD: Invoice attached"
    assert sent["Bcc"] is None
    body = sent.get_body(("plain",)).get_content()
    assert body.startswith("Please check this invoice.")
    assert "---------- Forwarded message ----------" in body
    assert "See the attached invoice." in body
    files = {p.get_filename(): p.get_content() for p in sent.iter_attachments()}
    assert files == {"invoice 42.pdf": b"%PDF-1.4 invoice", "notes.txt": "extra notes"}


async def test_forward_without_the_original_attachment(world: World) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent)
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org", attachment_ids=[]))
        sent = (await world.sink.await_count(1))[0].message
    assert list(sent.iter_attachments()) == []


async def test_new_interaction_search_and_draft(world: World) -> None:
    async with world.client("agent1") as agent:
        me = await agent.me()
        assert me.campaigns == ["Support"]
        detail = await agent.new_interaction(
            NewInteractionIn(
                campaign="Support",
                to="Dana Client <dana@example.com>",
                cc="",
                subject="Your renewal",
                body="Your contract renews next month.",
            )
        )
        assert (detail.client_email, detail.client_name, detail.state) == (
            "dana@example.com",
            "Dana Client",
            "assigned",
        )
        sent = (await world.sink.await_count(1))[0].message
        assert sent["Subject"] == f"Your renewal [#{detail.id}]"
        assert [r.id for r in await agent.interactions()] == [detail.id]
        for query in ("renewal", "DANA", "example.com"):
            found = await agent.recordings(RecordingQuery(any=query))
            assert [r.id for r in found.items] == [detail.id], query
        in_support = await agent.recordings(RecordingQuery(campaign="Support"))
        assert [r.id for r in in_support.items] == [detail.id]
        assert (await agent.recordings(RecordingQuery(any="nothing like this"))).items == []
        assert (await agent.recordings(RecordingQuery(any="%"))).items == []  # no wildcards
        await agent.save_draft(detail.id, "Half a thought")
        assert (await agent.interaction(detail.id)).draft == "Half a thought"


async def test_template_render_attachment_access_and_limits(world: World) -> None:
    await world.operator.add_template(
        TemplateIn(name="Hello", body_text="Dear ${name}, ${agent} here about ${order}.")
    )
    await world.operator.add_user(UserIn(username="agent2"))
    async with world.client("agent1") as agent, world.client("agent2") as other:
        interaction_id = await assigned(world, agent)
        [template] = await agent.templates()
        rendered = await agent.render_template(template.id, interaction_id)
        assert rendered.text == "Dear Carol Customer, Agent1 here about ${order}."
        assert rendered.unknown == ["order"]
        detail = await agent.interaction(interaction_id)
        [attachment] = detail.messages[0].attachments
        assert await agent.attachment(attachment.id) == b"%PDF-1.4 invoice"
        with pytest.raises(NotFound):  # as if it did not exist (tests/test_owner_only.py)
            await other.attachment(attachment.id)
        limits = await agent.limits()
        assert limits.max_attachment_bytes > 0 and "Lunch" in limits.break_reasons
        await agent.set_status("break", "Lunch")
        assert (await agent.me()).status_reason == "Lunch"
        with pytest.raises(Invalid):
            await agent.upload("../", b"x")


async def test_signature_with_html_makes_multipart_alternative_and_history_is_quoted(
    world: World,
) -> None:
    await world.operator.add_template(
        TemplateIn(
            name="Sig",
            campaign="Support",
            kind="signature",
            body_text="${agent}, Support team (${campaign})",
            body_html="<b>${agent}</b> <a href='https://example.com'>help</a> ${order}",
        )
    )
    await world.operator.update_user("agent1", UserPatch(display_name="Ana <Alvarez>"))
    await world.operator.update_campaign("Support", CampaignPatch(signature_template="Sig"))
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent)
        await agent.reply(interaction_id, "Fixed <now> & done.", with_history=True)
        sent = (await world.sink.await_count(1))[0].message
    assert sent.get_content_type() == "multipart/alternative"
    plain = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    # The signature's variables are filled like a template's; HTML gets them escaped; an
    # unknown one stays as typed (the admin's template form warns about it).
    assert plain.startswith("Fixed <now> & done.\n\n-- \nAna <Alvarez>, Support team (Support)\n")
    assert "> See the attached invoice." in plain and "Carol Customer" in plain
    assert "Fixed &lt;now&gt; &amp; done." in html and "<b>Ana &lt;Alvarez&gt;</b>" in html
    assert "${order}" in html


async def test_an_agent_taken_off_a_campaign_finishes_with_its_templates(world: World) -> None:
    template = await world.operator.add_template(
        TemplateIn(name="Thanks", campaign="Support", body_text="Thanks ${name}")
    )
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent)
        await world.operator.remove_member("Support", "agent1")
        assert [t.name for t in await agent.templates()] == ["Thanks"]
        rendered = await agent.render_template(template.id, interaction_id)
        assert rendered.text == "Thanks Carol Customer"
        await agent.close_interaction(interaction_id)
        assert await agent.templates() == []
        with pytest.raises(Forbidden):
            await agent.render_template(template.id, interaction_id)


async def test_a_template_is_filled_in_only_for_an_interaction_the_caller_sees(
    world: World,
) -> None:
    template = await world.operator.add_template(TemplateIn(name="Hi", body_text="Hi ${name}"))
    await world.operator.add_user(UserIn(username="agent2", display_name="Agent2", roles=["agent"]))
    await world.operator.add_member("Support", "agent2")
    async with world.client("agent1") as agent, world.client("agent2") as other:
        interaction_id = await assigned(world, agent)
        with pytest.raises(Forbidden) as refused:
            await other.render_template(template.id, interaction_id)
        assert "not yours" in refused.value.message
        await other.render_template(template.id)  # with no interaction: nothing to hide
        assert (await agent.render_template(template.id, interaction_id)).text == (
            "Hi Carol Customer"
        )
    async with world.client("super1") as supervisor:  # supervisors see every interaction
        seen = await supervisor.render_template(template.id, interaction_id)
        assert seen.text == "Hi Carol Customer"
