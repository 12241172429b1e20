"""The admin console at 80x24 against a real engine: removing a campaign from its list (the
dialog asks where open work goes), and members of several campaigns chosen at once.

Set POSTDESK_SVG_DIR to keep an SVG of each dialog (rsvg-convert turns it into a PNG)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Select, SelectionList

from console.screens.admin import AdminScreen
from console.screens.members import MembersScreen
from console.screens.remove_campaign import RemoveCampaignScreen
from engine.api.schemas import NewInteractionIn, UserIn
from tests.console_helpers import console_for, press, screen_text, settle, until
from tests.engine_fixtures import World


def keep_svg(app: App[object], name: str) -> None:
    if out := os.environ.get("POSTDESK_SVG_DIR"):
        Path(out, f"{name}.svg").write_text(app.export_screenshot())


async def test_admin_removes_a_campaign_moving_its_open_work(world: World) -> None:
    operator = world.operator
    for name in ("Sales", "Old"):
        box = world.dovecot.new_mailbox(name.lower())
        await operator.add_campaign(box.campaign(name, email_address=f"{name}@postdesk.test"))
    await operator.add_member("Sales", "agent1")
    async with world.client("agent1") as agent:
        mine = await agent.new_interaction(
            NewInteractionIn(campaign="Sales", to="c@example.com", subject="Quote", body="x")
        )
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        table = app.screen.query_one("#campaigns", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="three campaigns")
        names = {c.name: key for key, c in app.screen.campaigns.items()}

        # A campaign with nothing open: asked, removed by mouse.
        table.move_cursor(row=table.get_row_index(names["Old"]))
        await press(pilot, "d")
        await until(pilot, lambda: isinstance(app.screen, RemoveCampaignScreen), what="dialog")
        await until(pilot, lambda: "no open interactions" in screen_text(app), what="the plan")
        assert not app.screen.query_one("#remove-move").display  # nothing to move
        await pilot.click("#remove-yes")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="removed")
        await until(pilot, lambda: table.row_count == 2, what="Old gone from the list")

        # One with an interaction assigned: it must go somewhere first.
        table.move_cursor(row=table.get_row_index(names["Sales"]))
        await press(pilot, "d")
        await until(pilot, lambda: isinstance(app.screen, RemoveCampaignScreen), what="dialog")
        await until(pilot, lambda: "1 open interaction" in screen_text(app), what="the plan")
        dialog = app.screen
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: "Pick the campaign" in screen_text(app), what="refused")
        assert [c.name for c in await operator.campaigns()] == ["Sales", "Support"]
        dialog.query_one("#remove-target", Select).value = "Support"
        await settle(pilot)
        keep_svg(app, "remove-campaign")
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="removed")
        said = [n.message for n in app._notifications]
        assert "Campaign Sales removed; 1 open moved to Support." in said
        await until(pilot, lambda: table.row_count == 1, what="Sales gone from the list")
    assert [c.name for c in await operator.campaigns()] == ["Support"]
    async with world.client("agent1") as agent:
        (row,) = [r for r in await agent.interactions() if r.id == mine.id]
        assert (row.campaign_name, row.state) == ("Support", "assigned")


async def test_admin_adds_several_agents_to_several_campaigns_at_once(world: World) -> None:
    operator = world.operator
    for name in ("Sales", "Billing"):
        box = world.dovecot.new_mailbox(name.lower())
        await operator.add_campaign(box.campaign(name, email_address=f"{name}@postdesk.test"))
    for name in ("ana", "ben", "cy"):
        await operator.add_user(UserIn(username=name, display_name=name.title()))
    await operator.add_member("Sales", "cy")
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        table = app.screen.query_one("#campaigns", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="three campaigns")
        await until(pilot, lambda: "Cy" in screen_text(app), what="the users")
        names = {c.name: key for key, c in app.screen.campaigns.items()}
        table.move_cursor(row=table.get_row_index(names["Sales"]))
        await press(pilot, "m")
        await until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        screen = app.screen
        campaigns = screen.query_one("#members-campaigns", SelectionList)
        agents = screen.query_one("#members-agents", SelectionList)
        members = screen.query_one("#members-members", SelectionList)
        assert campaigns.selected == ["Sales"]  # the one it was opened on
        assert members.option_count == 1  # cy

        # Billing too, by mouse (the first row: campaigns in name order).
        await pilot.click("#members-campaigns", offset=(4, 0))
        await settle(pilot)
        assert sorted(campaigns.selected) == ["Billing", "Sales"]
        # Every agent not yet in both: agent1, ana, ben, cy (in Sales only).
        values = [agents.get_option_at_index(i).value for i in range(agents.option_count)]
        assert values == ["agent1", "ana", "ben", "cy"]
        agents.focus()
        await press(pilot, "down", "space", "down", "space", "down", "space")  # ana, ben, cy
        await press(pilot, "plus")
        await until(pilot, lambda: members.option_count == 6, what="six memberships")
        said = [n.message for n in app._notifications]
        assert "5 memberships added, 1 already members." in said
        keep_svg(app, "members-bulk")
        # agent1 alone is in neither; cy was in Sales already.
        assert [agents.get_option_at_index(i).value for i in range(agents.option_count)] == [
            "agent1"
        ]
        by_name = {c.name: c.members for c in await operator.campaigns()}
        assert by_name["Billing"] == ["ana", "ben", "cy"]
        assert by_name["Sales"] == ["ana", "ben", "cy"]

        # Remove ticked members: two pairs, one call.
        members.focus()
        pairs = [members.get_option_at_index(i).value for i in range(members.option_count)]
        await press(pilot, "space")  # the first: Billing's first member (names in order)
        await press(pilot, "down", "space")
        await press(pilot, "minus")
        await until(pilot, lambda: members.option_count == 4, what="two removed")
        by_name = {c.name: c.members for c in await operator.campaigns()}
        gone = pairs[:2]
        for campaign, username in gone:
            assert username not in by_name[campaign]
        await press(pilot, "escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back")
