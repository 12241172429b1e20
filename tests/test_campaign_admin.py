"""Campaign administration against a real engine, Dovecot and SMTP sink: removing a campaign
(its mailbox stops, its open work moves, its recordings stay), members of several campaigns
at once, and the login check that keeps a campaign with a wrong password from being saved."""

from __future__ import annotations

import pytest
from msgspec import structs

from engine.api.schemas import CampaignIn, CampaignPatch, NewInteractionIn, RecordingQuery, UserIn
from engine.client import Conflict, EngineClient, Invalid, NotFound
from engine.engine import Engine
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail
from tests.servers import DovecotServer, SmtpSink, free_port, start_smtp_sink


async def by_subject(client: EngineClient, subject: str) -> list[tuple[str, str]]:
    rows = await client.interactions(scope="all")
    return [(r.campaign_name, r.state) for r in rows if r.subject == subject]


async def test_a_removed_campaign_stops_reading_mail_moves_its_work_and_keeps_recordings(
    world: World,
) -> None:
    operator, dovecot = world.operator, world.dovecot
    box = dovecot.new_mailbox("sales")
    sales = await operator.add_campaign(
        box.campaign(
            "Sales",
            email_address="sales@postdesk.test",
            smtp_host=world.sink.host,
            smtp_port=world.sink.port,
        )
    )
    await operator.add_member("Sales", "agent1")
    await operator.update_campaign(
        "Support", CampaignPatch(max_interactions_in_queue=50, overflow_campaign="Sales")
    )
    # A recording: an interaction of Sales that was worked and closed.
    async with world.client("agent1") as agent:
        done = await agent.new_interaction(
            NewInteractionIn(
                campaign="Sales", to="old@example.com", subject="Quote for 3 chairs", body="Hi"
            )
        )
        await agent.close_interaction(done.id)
    # Open work: a mail waiting in Sales' queue (agent1 is offline, nobody takes it).
    dovecot.append(box, customer_mail("Where is my quote?", "Still waiting."))
    await eventually(
        lambda: by_subject(operator, "Where is my quote?"),
        lambda rows: rows == [("Sales", "queued")],
        what="the mail queued in Sales",
    )

    with pytest.raises(Conflict, match="1 waiting and 0 assigned") as refused:
        await operator.remove_campaign("Sales")
    assert refused.value.field == "move_to"
    plan = await operator.removal_plan("Sales")
    assert (plan.queued, plan.assigned, plan.targets) == (1, 0, ["Support"])
    with pytest.raises(NotFound):
        await operator.remove_campaign("Sales", move_to="Nowhere")
    assert "Sales" in [c.name for c in await operator.campaigns()]  # refused: nothing changed

    removed = await operator.remove_campaign("Sales", move_to="Support")
    assert (removed.moved, removed.moved_to, removed.members) == (1, "Support", ["agent1"])
    # Support overflowed into Sales: it holds its own overflow now.
    assert removed.overflow_cleared == ["Support"]
    (support,) = [c for c in await operator.campaigns() if c.name == "Support"]
    assert support.overflow_campaign is None
    # The moved mail waits in Support's queue now.
    assert await by_subject(operator, "Where is my quote?") == [("Support", "queued")]
    # Gone from every list: campaigns, the user's campaigns, mailboxes, the monitor's panel.
    assert [c.name for c in await operator.campaigns()] == ["Support"]
    agent1 = next(u for u in await operator.users() if u.username == "agent1")
    assert agent1.campaigns == ["Support"]
    assert [m.campaign_name for m in await operator.mailboxes()] == ["Support"]
    async with world.client("super1") as supervisor:
        monitor = await supervisor.monitor()
        assert [c.name for c in monitor.campaigns] == ["Support"]
        assert monitor.stats is None or [c.name for c in monitor.stats.campaigns] == ["Support"]
        # The recordings still find its interaction, under its name.
        found = await supervisor.recordings(RecordingQuery(subject="Quote for 3 chairs"))
        assert [(r.campaign_name, r.state) for r in found.items] == [("Sales", "closed")]
    assert f"mailbox:{sales.id}" not in world.engine._tasks

    # Its mailbox is no longer read: mail sent to Sales after the removal stays on the server,
    # while Support's mailbox, read the same way, takes two mails sent after it, one after
    # the other (so Support's mailbox was polled twice since).
    dovecot.append(box, customer_mail("After the removal", "Hello?"))
    for subject in ("Support still reads", "And reads again"):
        dovecot.append(world.mailbox, customer_mail(subject, "Hi"))
        await eventually(
            lambda subject=subject: by_subject(operator, subject),
            lambda rows: rows == [("Support", "queued")],
            what=f"{subject!r} fetched by Support",
        )
    assert await by_subject(operator, "After the removal") == []
    assert dovecot.count(box) == 2  # both of Sales' mails are still there, neither fetched

    # The name is free again; the old recordings keep it.
    again = await operator.add_campaign(
        box.campaign("Sales", email_address="sales2@postdesk.test", check=False)
    )
    assert again.id != sales.id and again.members == []
    with pytest.raises(NotFound):
        await operator.remove_campaign("Nothing")


async def test_assigned_work_moves_with_its_agent(world: World) -> None:
    operator = world.operator
    box = world.dovecot.new_mailbox("billing")
    await operator.add_campaign(box.campaign("Billing", email_address="billing@postdesk.test"))
    await operator.add_member("Billing", "agent1")
    async with world.client("agent1") as agent:
        mine = await agent.new_interaction(
            NewInteractionIn(campaign="Billing", to="c@example.com", subject="Invoice 12", body="x")
        )
        removed = await operator.remove_campaign("Billing", move_to="Support")
        assert removed.moved == 1
        # Still theirs (their own list), now in Support.
        (row,) = [r for r in await agent.interactions() if r.id == mine.id]
        assert (row.campaign_name, row.state) == ("Support", "assigned")


async def test_members_of_several_campaigns_at_once(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer
) -> None:
    for name in ("A", "B", "C"):
        box = dovecot.new_mailbox(name.lower())
        await operator.add_campaign(box.campaign(name, email_address=f"{name}@postdesk.test"))
    for user in ("ana", "ben", "cy"):
        await operator.add_user(UserIn(username=user, display_name=user.title()))
    await operator.add_member("A", "cy")

    pairs = [(c, u) for c in ("A", "B") for u in ("ana", "ben", "cy")]
    changed = await operator.change_members(add=pairs)
    assert (changed.added, changed.removed, changed.unchanged) == (5, 0, 1)
    assert {c.name: c.members for c in changed.campaigns} == {
        "A": ["ana", "ben", "cy"],
        "B": ["ana", "ben", "cy"],
    }
    # Order on the campaign: as added, after those already there.
    a = next(c for c in changed.campaigns if c.name == "A")
    assert [m.username for m in a.member_settings] == ["cy", "ana", "ben"]

    # One bad pair refuses them all, naming every missing one.
    with pytest.raises(NotFound, match="'Nope', 'Zed'") as missing:
        await operator.change_members(add=[("C", "ana"), ("Nope", "ana"), ("Zed", "ben")])
    assert missing.value.field == "campaign"
    with pytest.raises(NotFound, match="no user 'nobody'"):
        await operator.change_members(add=[("C", "ana"), ("C", "nobody")])
    assert next(c for c in await operator.campaigns() if c.name == "C").members == []
    with pytest.raises(Invalid, match="both added to and removed"):
        await operator.change_members(add=[("C", "ana")], remove=[("C", "ana")])
    with pytest.raises(Invalid):
        await operator.change_members()

    changed = await operator.change_members(
        add=[("C", "ana")], remove=[("A", "ana"), ("B", "ben"), ("C", "ben")]
    )
    assert (changed.added, changed.removed, changed.unchanged) == (1, 2, 1)
    members = {c.name: c.members for c in await operator.campaigns()}
    assert members == {"A": ["ben", "cy"], "B": ["ana", "cy"], "C": ["ana"]}

    await operator.remove_campaign("C")
    with pytest.raises(NotFound, match="no campaign 'C'"):
        await operator.change_members(add=[("C", "ben")])


async def test_a_campaign_whose_login_fails_is_not_saved(
    operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("login")
    sink = {"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port}

    def campaign(name: str, **changes: object) -> CampaignIn:
        return structs.replace(box.campaign(name, **sink), **changes)

    with pytest.raises(Invalid, match="IMAP login failed") as refused:
        await operator.add_campaign(campaign("Wrong", imap_password="not-it"))
    assert refused.value.field == "imap_password"
    assert "resolve, connect passed" in refused.value.message
    with pytest.raises(Invalid, match="IMAP mailbox failed") as refused:
        await operator.add_campaign(campaign("NoFolder", imap_folder="Nope"))
    assert refused.value.field == "imap_folder"
    closed = free_port()
    with pytest.raises(Invalid, match="SMTP connect failed") as refused:
        await operator.add_campaign(campaign("NoSmtp", smtp_port=closed))
    assert refused.value.field == "smtp_host"
    assert await operator.campaigns() == []  # none of them saved

    # A campaign that does not receive is not tried over IMAP.
    quiet = await operator.add_campaign(
        campaign("Quiet", receive_emails=False, imap_host="imap.invalid", imap_password="x")
    )
    assert quiet.name == "Quiet"
    # The right password is saved; a wrong one offline too, when the check is skipped.
    assert (await operator.add_campaign(campaign("Right"))).name == "Right"
    skipped = await operator.add_campaign(campaign("Offline", imap_password="no", check=False))
    assert skipped.imap_password_set

    # A change to how it logs in is tried too; other changes are not.
    with pytest.raises(Invalid, match="IMAP login failed") as refused:
        await operator.update_campaign("Right", CampaignPatch(imap_password="not-it"))
    assert refused.value.field == "imap_password"
    assert (await operator.test_campaign("Right")).ok  # the saved password is the right one
    with pytest.raises(Invalid, match="^imap_host: required"):  # said before any login
        await operator.update_campaign("Right", CampaignPatch(imap_host=""))
    renamed = await operator.update_campaign("Offline", CampaignPatch(from_name="Offline desk"))
    assert renamed.from_name == "Offline desk"  # not tried: its login did not change
    await operator.update_campaign("Right", CampaignPatch(imap_password="not-it", check=False))
    assert not (await operator.test_campaign("Right")).ok


async def test_the_smtp_login_is_tried_with_its_password(
    operator: EngineClient, dovecot: DovecotServer
) -> None:
    box = dovecot.new_mailbox("smtplogin")
    with start_smtp_sink(login=("desk", "s3cret")) as sink:
        base = box.campaign("Desk", smtp_host=sink.host, smtp_port=sink.port)
        with pytest.raises(Invalid, match="SMTP login failed") as refused:
            await operator.add_campaign(
                structs.replace(base, smtp_username="desk", smtp_password="wrong")
            )
        assert refused.value.field == "smtp_password"
        saved = await operator.add_campaign(
            structs.replace(base, smtp_username="desk", smtp_password="s3cret")
        )
        assert saved.smtp_password_set
