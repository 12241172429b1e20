"""Moving work between people in the consoles, at 80x24, against a real engine: an agent
transfers with `T` (the colleague's console gets it live, with the note in the thread), adds
a note with `n`; a supervisor reassigns a paused agent's work with `r` on the grid; an admin
sets the campaign's log-out policy in its form."""

from __future__ import annotations

from textual.widgets import Input, Select

from console.screens.admin import AdminScreen
from console.screens.agent import AgentScreen
from console.screens.campaign_form import CampaignForm
from console.screens.note_input import NoteInput
from console.screens.reassign import ReassignScreen
from console.screens.supervisor import SupervisorScreen
from console.screens.transfer import TransferScreen
from console.widgets.monitor import AgentGrid
from engine.api.schemas import UserIn
from tests.console_helpers import console_for, open_thread, screen_text, settle, type_text, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def test_an_agent_transfers_to_a_colleague_who_gets_it_live(world: World) -> None:
    await world.operator.add_user(UserIn(username="agent2", display_name="Bob Builder"))
    await world.operator.add_member("Support", "agent2")
    async with world.client("agent1") as a1:
        await a1.set_status("free")
        world.dovecot.append(world.mailbox, customer_mail("Kettle leaks", "It leaks water."))
        [item] = await eventually(a1.interactions, lambda rows: len(rows) == 1)
    old_app = console_for(world.engine, "agent1", "agent")
    new_app = console_for(world.engine, "agent2", "agent")
    async with (
        old_app.run_test(size=(80, 24), notifications=True) as old,
        new_app.run_test(size=(80, 24), notifications=True) as new,
    ):
        await until(new, lambda: isinstance(new_app.screen, AgentScreen), what="agent2's console")
        await open_thread(old, old_app, "Kettle leaks", "It leaks water.")
        await old.press("n")
        await until(old, lambda: isinstance(old_app.screen, NoteInput), what="the note input")
        await type_text(old, "Called her: wants a refund")
        await old.press("enter")
        await until(
            old,
            lambda: (
                "Internal note · Agent1" in screen_text(old_app)
                and "wants a refund" in screen_text(old_app)
            ),
            what="the note in the thread",
        )

        await old.press("T")
        await until(old, lambda: isinstance(old_app.screen, TransferScreen), what="the picker")
        text = screen_text(old_app)
        assert "Back to the Support queue" in text and "Bob Builder" in text
        assert "Free" in text  # agent2's state, from their open console
        await old.press("down")  # past the heading (not selectable), to Bob
        await old.press("tab")
        await type_text(old, "Refund approved by Carla")
        await old.press("enter")
        await until(old, lambda: "Handed to Bob Builder" in screen_text(old_app), what="the toast")
        old_screen = old_app.screen
        assert isinstance(old_screen, AgentScreen)
        await until(old, lambda: len(old_screen.inbox) == 0, what="it to leave agent1's inbox")

        await until(
            new, lambda: "Kettle leaks" in screen_text(new_app), what="it to reach agent2 live"
        )
        await open_thread(new, new_app, "Kettle leaks", "It leaks water.")
        await until(
            new,
            lambda: "Internal note · Agent1 → Bob Builder" in screen_text(new_app),
            what="the transfer note in agent2's thread",
        )
        shown = screen_text(new_app)
        assert "Refund approved by Carla" in shown and "transferred" in shown
    detail = await world.operator.interaction(item.id)
    assert detail.agent == "agent2"
    assert [n.kind for n in detail.notes] == ["note", "transfer"]


async def test_a_supervisor_reassigns_a_paused_agents_work_from_the_grid(world: World) -> None:
    async with world.client("agent1") as a1, world.client("super1") as boss:
        await a1.set_status("free")
        world.dovecot.append(world.mailbox, customer_mail("Lost parcel", "Where is it?"))
        [item] = await eventually(a1.interactions, lambda rows: len(rows) == 1)
        app = console_for(world.engine, "super1", "supervisor")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
            grid = app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            await pilot.press("r")  # agent1 is Free: at work
            await until(pilot, lambda: "is at work" in screen_text(app), what="the refusal")
            await boss.pause_agent("agent1")
            await until(pilot, lambda: "Paused" in screen_text(app), what="paused on the grid")
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ReassignScreen), what="the dialog")
            text = screen_text(app)
            assert "All 1 open interaction" in text and "Lost parcel" in text
            await pilot.press("tab")  # to the note
            await type_text(pilot, "Ada went home ill")
            await pilot.press("enter")
            await until(
                pilot,
                lambda: "1 interaction of Agent1" in screen_text(app),
                what="the toast",
            )
            # The grid and the queue follow from events: nothing to reload.
            await until(
                pilot,
                lambda: "Waiting queue (1)" in screen_text(app),
                what="the queue to show it waiting",
            )
            # The grid applies agents' changes together, up to 4 times a second.
            await until(
                pilot,
                lambda: (row := grid.get("agent1")) is not None and row.active == 0,
                what="agent1 holding nothing on the grid",
            )
            await settle(pilot)
    detail = await world.operator.interaction(item.id)
    assert (detail.state, detail.agent) == ("queued", None)
    [note] = detail.notes
    assert (note.kind, note.author, note.text) == ("reassign", "super1", "Ada went home ill")


async def test_the_campaign_form_sets_what_happens_at_log_out(world: World) -> None:
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaign")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
        form = app.screen
        assert form.query_one("#cf-on_logout", Select).value == "keep"
        assert form.query_one("#cf-requeue_after", Input).value == "15"
        form.query_one("#cf-on_logout", Select).value = "requeue"
        form.query_one("#cf-requeue_after", Input).value = "-5"
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: app.focused is form.query_one("#cf-requeue_after", Input),
            what="the refusal under the field",
        )
        form.query_one("#cf-requeue_after", Input).value = "30"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    [campaign] = await world.operator.campaigns()
    assert (campaign.on_logout, campaign.requeue_after) == ("requeue", 30)
