"""A campaign whose mailbox cannot be read says so where people look, not only in the log by
id: the admin's campaign list and the supervisor's monitor, live. Against a real engine and
Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec import structs
from textual.widgets import DataTable

from console.screens.admin import AdminScreen
from console.screens.supervisor import SupervisorScreen
from engine.api.schemas import CampaignIn, CampaignPatch, MailboxHealth, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests import db_probe
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World, engine_settings, eventually


def by_name(rows: list[MailboxHealth]) -> dict[str, MailboxHealth]:
    return {row.campaign_name: row for row in rows}


async def test_a_failing_mailbox_is_shown_to_supervisors_and_admins(world: World) -> None:
    operator = world.operator
    broken = world.dovecot.new_mailbox("broken")
    await operator.add_campaign(
        structs.replace(
            broken.campaign("Billing", email_address="billing@postdesk.test"),
            imap_password="not-the-password",
        )
    )
    rows = await eventually(
        operator.mailboxes,
        lambda rows: (
            {r.campaign_name: r.state for r in rows}
            == {"Billing": "failing", "Support": "connected"}
        ),
        what="Billing failing, Support connected",
    )
    assert by_name(rows)["Billing"].error  # the server's words, for whoever fixes it
    # Agents do not hear of it.
    async with world.client("agent1") as agent:
        try:
            await agent.mailboxes()
        except PermissionError:
            pass
        else:
            raise AssertionError("an agent read the mailboxes' health")

    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        # Both halves of the line in one painted frame: the summary's height follows its
        # text, so a frame caught mid-layout may hold the line cut short.
        await until(
            pilot,
            lambda: "Billing ✗ failing" in (text := screen_text(app)) and "✓ 1 connected" in text,
            what="the failing mailbox and the connected one on the monitor",
        )
        # Turned off by an admin meanwhile: the monitor follows without a reload.
        await operator.update_campaign("Billing", CampaignPatch(receive_emails=False))
        await until(
            pilot, lambda: "failing" not in screen_text(app), what="the monitor updated live"
        )
        assert "✓ Support" in screen_text(app)

    # On again, unchecked: turning receiving on tries the login, and this mailbox must fail.
    await operator.update_campaign("Billing", CampaignPatch(receive_emails=True, check=False))
    await operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        table = app.screen.query_one("#campaigns", DataTable)

        def cell(name: str) -> str:
            key = next(k for k, c in app.screen.campaigns.items() if c.name == name)
            return str(table.get_cell(key, "mailbox"))

        await until(
            pilot,
            lambda: len(table.rows) == 2 and cell("Billing").startswith("✗ failing"),
            what="Billing failing in the campaign list",
        )
        assert cell("Support") == "✓ connected"
        assert "✗ failing" in screen_text(app)


async def test_a_maildir_campaign_without_a_path_fails_and_reads_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form requires a Maildir path; a row without one (written by hand, an old import)
    is a failing mailbox, named as such, not the engine's working directory read as a
    Maildir (before: `cur`, `new` and `tmp` made there, and any mail put there ingested)."""
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    maildir = tmp_path / "Maildir"
    settings = engine_settings(tmp_path / "home")
    provisioning = Engine(settings, run_mail=False)
    await provisioning.start()
    try:
        async with EngineClient(provisioning.socket_path) as operator:
            await operator.add_campaign(
                CampaignIn(
                    check=False,
                    name="Archive",
                    email_address="archive@postdesk.test",
                    inbound="maildir",
                    maildir_path=str(maildir),
                    smtp_host="127.0.0.1",
                    smtp_security="plain",
                )
            )
    finally:
        await provisioning.stop()
    db_probe.execute(settings, "UPDATE campaigns SET maildir_path = '' WHERE name = 'Archive'")

    engine = Engine(settings)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            rows = await eventually(
                operator.mailboxes,
                lambda rows: [r.state for r in rows] == ["failing"],
                what="the Archive mailbox failing",
            )
        assert "no Maildir path" in rows[0].error
        assert list(workdir.iterdir()) == []  # nothing made, nothing read there
    finally:
        await engine.stop()
