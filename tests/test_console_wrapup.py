"""The wrap-up dialog at 80x24 against a real engine, Dovecot and SMTP sink: `x` asks for
the campaign's code level by level (or by typing a part of its path), refuses a close
without one under the field and keeps the dialog open, takes an internal note, and the
thread shows the wrap-up, marked internal. The mouse works too."""

from __future__ import annotations

from textual.pilot import Pilot

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.wrapup import WrapupScreen
from console.widgets.disposition_picker import DispositionPicker
from engine.api.schemas import DispositionNode, DispositionTree
from tests.console_helpers import console_for, open_thread, press, screen_text, type_text, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


def tree() -> DispositionTree:
    annual, monthly = DispositionNode(name="Annual"), DispositionNode(name="Monthly")
    upsell = DispositionNode(name="Upsell", children=[annual, monthly])
    sale = DispositionNode(name="Sale", children=[upsell, DispositionNode(name="New")])
    return DispositionTree(codes=[sale, DispositionNode(name="Complaint")])


async def wrapup_open(pilot: Pilot[object], app: PostdeskApp) -> WrapupScreen:
    await press(pilot, "x")
    await until(pilot, lambda: "Disposition (required)" in screen_text(app), what="the codes")
    screen = app.screen
    assert isinstance(screen, WrapupScreen)
    return screen


def chosen(screen: WrapupScreen) -> str:
    return screen.query_one(DispositionPicker).chosen_path


async def test_closing_asks_for_a_code_level_by_level_and_a_note(world: World) -> None:
    await world.operator.set_dispositions("Support", tree())
    world.dovecot.append(world.mailbox, customer_mail("Renewal", "Can I renew yearly?"))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await open_thread(pilot, app, "Renewal", "Can I renew yearly?")
            [item] = await agent.interactions()
            screen = await wrapup_open(pilot, app)
            text = screen_text(app)
            assert "Carol Customer has had no answer" in text  # the old warning stays
            assert "Sale ›" in text and "Complaint" in text

            # Closing without a code: refused by the engine, said under the field.
            await press(pilot, "ctrl+s")
            await until(
                pilot,
                lambda: "choose a disposition: Support asks for one on close" in screen_text(app),
                what="the refusal",
            )
            assert app.screen is screen
            assert (await agent.interactions())[0].state == "assigned"

            # Level by level: Sale, then Upsell (the row under "‹ Sale"), then Monthly.
            await press(pilot, "enter")
            await until(pilot, lambda: "‹ Sale" in screen_text(app), what="Sale's level")
            assert "Upsell ›" in screen_text(app) and "New" in screen_text(app)
            await press(pilot, "enter")
            await until(pilot, lambda: "Monthly" in screen_text(app), what="Upsell's level")
            await press(pilot, "backspace")  # back up to Sale's level
            await until(pilot, lambda: "Monthly" not in screen_text(app), what="up again")
            await press(pilot, "enter", "down", "enter")
            assert chosen(screen) == "Sale > Upsell > Monthly"
            assert "Chosen: Sale > Upsell > Monthly" in screen_text(app)
            await type_text(pilot, "Call back in May")
            await press(pilot, "ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="closed")
        [wrapup] = (await agent.interaction(item.id)).wrapups
        assert (wrapup.disposition, wrapup.note) == ("Sale > Upsell > Monthly", "Call back in May")


async def test_typing_filters_the_full_paths_and_the_thread_shows_the_wrapup(
    world: World,
) -> None:
    await world.operator.set_dispositions("Support", tree())
    world.dovecot.append(world.mailbox, customer_mail("Upgrade", "More seats please."))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await open_thread(pilot, app, "Upgrade", "More seats please.")
            [item] = await agent.interactions()
            screen = await wrapup_open(pilot, app)
            await type_text(pilot, "ann")
            await until(
                pilot, lambda: "Sale > Upsell > Annual" in screen_text(app), what="filtered"
            )
            assert "Complaint" not in screen_text(app)
            await press(pilot, "enter")
            assert chosen(screen) == "Sale > Upsell > Annual"
            await press(pilot, "ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="closed")
            await until(pilot, lambda: "Upgrade" not in screen_text(app), what="left the inbox")

            # Reopened by the customer: the thread shows the first close, marked internal.
            world.dovecot.append(
                world.mailbox, customer_mail(f"Re: Upgrade [#{item.id}]", "And a discount?")
            )
            await until(pilot, lambda: "Upgrade" in screen_text(app), what="reopened")
            await press(pilot, "enter")
            await until(pilot, lambda: "And a discount?" in screen_text(app), what="thread")
            await until(
                pilot,
                lambda: "internal, never sent to the client" in screen_text(app),
                what="the wrap-up in the thread",
            )
            assert "Disposition: Sale > Upsell > Annual" in screen_text(app)


async def test_the_mouse_chooses_a_code_and_closes(world: World) -> None:
    await world.operator.set_dispositions("Support", tree())
    world.dovecot.append(world.mailbox, customer_mail("Complaint", "It broke."))
    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24)) as pilot:
            await open_thread(pilot, app, "Complaint", "It broke.")
            [item] = await agent.interactions()
            screen = await wrapup_open(pilot, app)
            listing = "#dispo-list"
            await pilot.click(listing, offset=(2, 1))  # the second row: Complaint
            await until(pilot, lambda: chosen(screen) == "Complaint", what="clicked")
            await pilot.click("#wrapup-yes")
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="closed")
        rows = await eventually(
            agent.interactions, lambda rows: rows[0].state == "closed", what="closed"
        )
        assert rows[0].id == item.id


async def test_the_supervisor_sees_closes_by_disposition(world: World) -> None:
    from console.screens.supervisor import SupervisorScreen
    from console.screens.wrapup_stats import WrapupStatsScreen

    await world.operator.set_dispositions("Support", tree())
    world.dovecot.append(world.mailbox, customer_mail("Refund", "Money back?"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [item] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        await agent.close_interaction(item.id, disposition="Complaint", note="Angry: be kind")
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        await press(pilot, "w")
        await until(pilot, lambda: "Complaint" in screen_text(app), what="the counts")
        assert isinstance(app.screen, WrapupStatsScreen)
        text = screen_text(app)
        assert "Closes by disposition, today (UTC)" in text and "100%" in text
        assert "Angry" not in text  # counts, not notes
        await press(pilot, "7")
        await until(pilot, lambda: "the last 7 days" in screen_text(app), what="a week")
        await pilot.click("#wrapup-stats-30")
        await until(pilot, lambda: "the last 30 days" in screen_text(app), what="a month")
        assert "Complaint" in screen_text(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, SupervisorScreen)
