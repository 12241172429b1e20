"""The supervisor's campaign statistics panel and the agent's Info window, driven with Pilot
against a real engine, Dovecot and SMTP sink: what the panel shows follows what happens."""

from __future__ import annotations

from console.screens.agent_info import AgentInfoScreen
from console.screens.supervisor import SupervisorScreen
from console.widgets.campaign_stats import CampaignStatsTable
from console.widgets.monitor import AgentGrid, QueueTable
from engine.api.schemas import CampaignIn
from tests.console_helpers import console_for, screen_text, settle, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import numbered_mail


def _cell(panel: CampaignStatsTable, campaign_id: int, column: str) -> str:
    return str(panel.get_cell(str(campaign_id), column)).strip()


async def test_the_panel_follows_the_work_and_limits_the_monitor(world: World) -> None:
    # A second campaign, with nobody in it, to limit the monitor by.
    other = await world.operator.add_campaign(
        CampaignIn(
            name="Billing",
            email_address="billing@example.test",
            smtp_host="localhost",
            inbound="none",
            check=False,  # no SMTP server here: nothing is sent from it
        )
    )
    app = console_for(world.engine, "super1", "supervisor")
    async with (
        app.run_test(size=(80, 24)) as pilot,
        world.client("agent1") as agent,
    ):
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        panel = app.screen.query_one(CampaignStatsTable)
        support = world.campaign.id
        await until(pilot, lambda: panel.row_count == 2, what="two campaigns in the panel")
        assert _cell(panel, support, "sl") == "-"  # nothing counts yet

        world.dovecot.append(world.mailbox, numbered_mail(1))
        await until(pilot, lambda: _cell(panel, support, "waiting") == "1", what="1 waiting")
        assert _cell(panel, support, "agents") == "0/0/0/1"  # offline
        assert _cell(panel, support, "longest") != "-"

        await agent.set_status("free")
        mine = await eventually(agent.interactions, lambda r: len(r) == 1, what="assignment")
        await until(pilot, lambda: _cell(panel, support, "active") == "1", what="1 active")
        assert _cell(panel, support, "agents") == "0/1/0/0"  # busy
        await agent.reply(mine[0].id, "Done.")
        await until(pilot, lambda: _cell(panel, support, "sl") == "100", what="SL 100 %")
        assert _cell(panel, support, "answered") == "1"
        await agent.close_interaction(mine[0].id)
        await until(pilot, lambda: _cell(panel, support, "done") == "1/0", what="completed")

        # Limit to the other campaign: nobody there; `l` again goes on to all.
        grid = app.screen.query_one(AgentGrid)
        assert grid.row_count == 1
        await pilot.press("l")
        await settle(pilot)
        assert grid.limit == "Billing" and grid.row_count == 0
        assert "Agents in Billing (0)" in screen_text(app)
        await pilot.press("l")
        await settle(pilot)
        assert grid.limit == "Support" and grid.row_count == 1
        await pilot.press("l")
        await settle(pilot)
        assert grid.limit is None
        # By mouse: clicking a campaign's row limits to it, clicking it again lifts it.
        await pilot.click(CampaignStatsTable, offset=(1, 1 + panel.get_row_index(str(other.id))))
        await settle(pilot)
        assert grid.limit == "Billing"
        assert app.screen.query_one(QueueTable).row_count == 0


async def test_the_info_window_about_an_agent(world: World) -> None:
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot, world.client("agent1") as agent:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, numbered_mail(7))
        await eventually(agent.interactions, lambda r: len(r) == 1, what="assignment")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        grid = app.screen.query_one(AgentGrid)
        await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
        await until(pilot, lambda: "Busy" in str(grid.get_cell("agent1", "status")), what="busy")
        grid.focus()
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, AgentInfoScreen), what="the info")
        text = screen_text(app)
        for expected in (
            "Agent Agent1",
            "agent1",
            "Support",
            "● Busy",
            "Completed today    0 (0 in, 0 out)",
            "not allowed",
            "Status today (UTC)",
            "Free",
        ):
            assert expected in text, expected
        assert "Mail 7" in text or "#" in text  # the interaction it holds
        await pilot.click("#agent-info-close")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="closed")
