"""The agent console's other tools against a real engine: the CC/BCC form (with its inline
error), search as you type, saving a hostile attachment name, break reasons and help."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from console.screens.agent import AgentScreen
from console.screens.breaks import BreakPicker
from console.screens.ccbcc import CcBccScreen
from console.screens.compose import ReplyScreen
from console.screens.help import HelpScreen
from console.screens.save_attachment import SaveAttachmentScreen
from console.screens.search import SearchScreen
from console.screens.thread_screen import ThreadScreen
from console.widgets.form import FormField
from console.widgets.status_bar import StatusBar
from engine.api.schemas import RecordingQuery
from engine.client import EngineClient
from tests.console_helpers import (
    console_for,
    open_thread,
    press,
    screen_text,
    settle,
    type_text,
    until,
)
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def test_cc_bcc_form_shows_the_bad_address_inline_then_reply_carries_them(
    world: World,
) -> None:
    world.dovecot.append(
        world.mailbox, customer_mail("Booking", "Book me in.", cc="boss@example.net")
    )
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, app, "Booking", "Book me in.")
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, CcBccScreen), what="the form")
        form = app.screen
        cc = form.query_one("#cc", Input)
        assert cc.value == "boss@example.net"  # prefilled from the interaction
        cc.value = "boss@example.net, not-an-address"
        await pilot.press("ctrl+s")
        field = form.query_one("#cc-field", FormField)
        await until(pilot, lambda: field.has_error, what="the inline error")
        assert "not-an-address" in field.error
        assert "not-an-address" in screen_text(app)
        assert app.screen is form  # still open, nothing lost
        assert cc.value == "boss@example.net, not-an-address"

        cc.value = "team@example.net"
        form.query_one("#bcc", Input).value = "audit@example.net"
        # The error line goes as soon as the field changes, and the button moves up with it:
        # click where it is once the form has laid itself out again, as a person would.
        await until(pilot, lambda: not field.has_error, what="the error cleared")
        await settle(pilot)
        await pilot.click("#ccbcc-save")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="saved")
        await until(pilot, lambda: "audit@example.net" in screen_text(app), what="BCC shown")
        assert not field.has_error

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
        await type_text(pilot, "Booked.")
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]

    assert sorted(received.rcpt_tos) == [
        "audit@example.net",
        "carol@example.net",
        "team@example.net",
    ]
    assert received.message["Cc"] == "team@example.net"
    assert received.message["Bcc"] is None and b"audit@" not in received.raw


async def test_search_as_you_type_opens_closed_read_only_and_open_in_the_inbox(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Refund for a kettle", "Sparks again."))
    world.dovecot.append(world.mailbox, customer_mail("Invoice copy", "Send the invoice."))
    queries: list[str] = []
    search = EngineClient.recordings

    async def counting(self: EngineClient, query: RecordingQuery) -> object:
        queries.append(query.any)
        return await search(self, query)

    monkeypatch.setattr(EngineClient, "recordings", counting)
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        rows = await eventually(agent.interactions, lambda rows: len(rows) == 2, what="both")
        [refund] = [r for r in rows if r.subject.startswith("Refund")]
        await agent.close_interaction(refund.id)

    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Invoice copy" in screen_text(app), what="the inbox")
        assert "Refund for a kettle" not in screen_text(app)
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        await type_text(pilot, "kettle")
        await until(pilot, lambda: "1-1 of 1 " in screen_text(app), what="the closed one found")
        assert "closed" in screen_text(app) and "Refund for a kettle" in screen_text(app)
        # All mine on opening, then "kettle": six keystrokes, one query (a few more only if
        # this machine stalls longer than the debounce), never one per keystroke.
        assert queries[0] == "" and queries[-1] == "kettle" and len(queries) < 7, queries
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="read only")
        await until(pilot, lambda: "Sparks again." in screen_text(app), what="its thread")
        assert "read only" in screen_text(app)
        await pilot.press("r")  # no reply in a closed thread
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("escape")  # back to the search as it was: filter, results, row
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), what="the search")
        assert "1-1 of 1 " in screen_text(app) and "Refund for a kettle" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the inbox")

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        await type_text(pilot, "INVOICE")
        await until(pilot, lambda: "1-1 of 1 " in screen_text(app), what="the open one")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen")
        await until(pilot, lambda: "Send the invoice." in screen_text(app), what="its thread")
        assert app.screen.has_class("-thread-open")


async def test_save_attachment_with_a_hostile_name_stays_in_the_directory(
    world: World, tmp_path: Path
) -> None:
    payload = b"root:x:0:0:not really\n"
    world.dovecot.append(
        world.mailbox,
        customer_mail("Logs", "Attached.", files={"../../etc/passwd": payload}),
    )
    sandbox = tmp_path / "sandbox"
    downloads = sandbox / "home" / "downloads"  # ../../etc/passwd would be sandbox/etc/passwd
    downloads.mkdir(parents=True)
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, app, "Logs", "Attached.")
        for expected in ("passwd", "passwd (1)"):
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, SaveAttachmentScreen), what="save")
            app.screen.query_one("#path-input", Input).value = str(downloads)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="saved")
            assert (downloads / expected).read_bytes() == payload  # never overwritten
    assert sorted(str(p.relative_to(sandbox)) for p in sandbox.rglob("*") if p.is_file()) == [
        "home/downloads/passwd",
        "home/downloads/passwd (1)",
    ]


async def test_break_reasons_help_and_free(world: World) -> None:
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: bar.status == "free", what="Free on opening")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        for key, description in (("r", "Reply"), ("f", "Forward"), ("/", "Search")):
            assert key in text and description in text
        await pilot.press("escape")

        # The admin edits the list while the agent works: the picker shows the new one.
        await world.operator.set_break_reasons(["Team huddle", "Lunch"])
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BreakPicker), what="break reasons")
        await until(pilot, lambda: "Team huddle" in screen_text(app), what="the admin's reasons")
        reasons = app.screen.query_one("#break-reasons")
        lunch = [o.prompt.plain for o in reasons.options].index("Lunch")  # type: ignore[attr-defined]
        steps = lunch - (reasons.highlighted or 0)  # type: ignore[attr-defined]
        await pilot.press(*(["down"] * steps if steps >= 0 else ["up"] * -steps), "enter")
        await until(pilot, lambda: bar.status == "break", what="on break")
        assert "Lunch" in screen_text(app) and bar.reason == "Lunch"
        async with world.client("agent1") as agent:
            assert (await agent.me()).status_reason == "Lunch"

        await pilot.press("a")
        await until(pilot, lambda: bar.status == "free", what="free again")


async def test_log_out_goes_offline_and_leaves(world: World) -> None:
    from console.screens.confirm import ConfirmScreen

    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: bar.status == "free", what="Free on opening")
        await pilot.press("Q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Offline" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, what="the console to close")
    async with world.client("agent1") as agent:
        await eventually(agent.me, lambda me: me.status == "offline", what="offline")


async def test_break_reason_under_the_cursor_survives_the_reload(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The picker opens with the list the console knows and reloads it from the engine. An
    agent who already moved to a reason keeps it: the cursor stays on it in the new order, and
    the reason chosen is the one shown, never the one now at its old place."""
    import asyncio

    from rich.text import Text
    from textual.widgets import OptionList

    answered = asyncio.Event()
    reasons = EngineClient.break_reasons

    async def held(self: EngineClient) -> list[str]:
        await answered.wait()
        return await reasons(self)

    monkeypatch.setattr(EngineClient, "break_reasons", held)
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent screen")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: bar.status == "free", what="Free on opening")
        agent_screen = app.screen
        assert isinstance(agent_screen, AgentScreen)
        # The limits (with the reasons) load beside the inbox at start; only then does the
        # console know a list to open the picker with.
        await until(pilot, lambda: agent_screen.limits is not None, what="the limits")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BreakPicker), what="break reasons")
        picker = app.screen.query_one("#break-reasons", OptionList)

        def highlighted() -> str:
            option = picker.highlighted_option
            assert option is not None and isinstance(option.prompt, Text)
            return option.prompt.plain

        # The list the console started with (the engine's defaults).
        shown = [o.prompt.plain for o in picker.options]  # type: ignore[union-attr]
        assert shown[:3] == ["Lunch", "Coffee", "Meeting"]
        await press(pilot, "down", "down", workers=False)  # the reload is held back
        assert highlighted() == "Meeting"

        # The admin reorders the list; the reload lands while the agent is on "Meeting".
        await world.operator.set_break_reasons(["Team huddle", "Lunch", "Meeting"])
        answered.set()
        await until(pilot, lambda: "Team huddle" in screen_text(app), what="the admin's list")
        assert highlighted() == "Meeting" and picker.highlighted == 2
        await pilot.press("enter")
        await until(pilot, lambda: bar.status == "break", what="on break")
        assert bar.reason == "Meeting"
        async with world.client("agent1") as agent:
            assert (await agent.me()).status_reason == "Meeting"


async def test_the_wide_preview_of_a_new_assignment_leaves_it_unread(world: World) -> None:
    """Beside the inbox the thread pane follows the top row; a new assignment landing there
    before the agent touches anything is shown, not marked read. Moving to it is reading it."""
    world.dovecot.append(world.mailbox, customer_mail("First question", "One."))
    world.dovecot.append(world.mailbox, customer_mail("Second question", "Two."))
    app = console_for(world.engine, "agent1", "agent")
    async with world.client("agent1") as agent:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(
                pilot,
                lambda: (
                    "First question" in screen_text(app) and "Second question" in screen_text(app)
                ),
                what="both assignments",
            )
            screen = app.screen
            assert isinstance(screen, AgentScreen)
            await until(pilot, lambda: screen.thread.interaction_id is not None, what="a preview")
            await settle(pilot)
            rows = await agent.interactions()
            assert [r.unread for r in rows] == [True, True]

            previewed = screen.thread.interaction_id
            await pilot.press("down")
            moved_to = screen.inbox.current_id
            assert moved_to != previewed
            await eventually(
                agent.interactions,
                lambda rows: {r.id: r.unread for r in rows} == {moved_to: False, previewed: True},
                what="only the row the agent moved to is read",
            )
