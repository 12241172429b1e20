"""The supervisor's dialer dashboard (issue 14) against a real engine and the SMTP sink: `d`
opens it on the dialers' lists and counts; Play (confirmed) starts the highlighted dialer,
the counts change from events alone until every record is processed and the graph reaches
100%, and the board is never read again meanwhile (no polling); Stop halts it mid-run and
Play resumes it; a hostile list name shows as typed; the
board is refused to agents; Play the engine refuses (no list) says why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from console.screens.dialer_dashboard import DialerDashboardScreen
from console.screens.dialer_records import DialerRecordsScreen
from console.screens.save_text import SaveTextScreen
from console.widgets.dialer_graph import DialerGraph
from engine.api.schemas import DialerBoardRow, DialerIn, SmtpCaps, TemplateIn, UserIn
from engine.client import Forbidden
from tests.console_helpers import console_for, press, screen_text, settle, until
from tests.engine_fixtures import World

RECORDS = 40


async def a_dialer(world: World, name: str, *, pace: float, records: int, list_name: str) -> None:
    await world.operator.add_template(
        TemplateIn(name=f"{name} body", kind="dialer", body_text="Dear ${name}, hello.")
    )
    await world.operator.add_dialer(
        DialerIn(
            name=name,
            campaign="Support",
            template=f"{name} body",
            seconds_between_messages=pace,
            caps=SmtpCaps(connections=1),
        )
    )
    rows = "".join(f"Support;r{i}@example.com;;;name=R{i};\n" for i in range(records))
    csv = "campaign;emailRecipient;message;attachments;variables;priority\n" + rows
    report = await world.operator.upload_list(
        name, csv.encode(), name=list_name, subject="Hello ${name}"
    )
    assert report.imported == records


def count_board_reads(board: DialerDashboardScreen) -> list[float]:
    """Every later `GET /dialer-board` of the dashboard, appended as it is made (the real
    call still goes to the engine)."""
    reads: list[float] = []
    real = board.client.dialer_board

    async def counted() -> list[DialerBoardRow]:
        reads.append(time.monotonic())
        return await real()

    board.client.dialer_board = counted  # type: ignore[method-assign]
    return reads


def row(board: DialerDashboardScreen, index: int = 0) -> dict[str, str]:
    table = board.query_one(DataTable)
    keys = [str(c.key.value) for c in table.ordered_columns]
    return dict(zip(keys, (cell.plain for cell in table.get_row_at(index)), strict=True))


async def test_a_supervisor_watches_a_dialer_run_to_100_percent(world: World) -> None:
    await a_dialer(world, "News", pace=0.12, records=RECORDS, list_name="December")
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "Agents" in screen_text(app), what="the monitor")
        await press(pilot, "d")
        await until(pilot, lambda: "December" in screen_text(app), what="the dashboard")
        board = app.screen
        assert isinstance(board, DialerDashboardScreen)
        first = row(board)
        assert first["dialer"] == "News" and first["active"] == "active"
        assert first["status"] == "stopped" and first["schedule"] == "on"
        assert (first["processed"], first["not_processed"], first["sent"]) == (
            "0",
            str(RECORDS),
            "0",
        )
        assert not world.sink.messages  # nothing sends before Play
        reads = count_board_reads(board)

        await press(pilot, "p")
        await until(pilot, lambda: "Start News?" in screen_text(app), what="the question")
        assert f"{RECORDS} waiting mails" in screen_text(app)
        await press(pilot, "y")
        await until(pilot, lambda: row(board)["status"] == "running", what="running")

        # Live from events: counts in between, then stop mid-run.
        seen_processed: set[int] = set()

        def some_sent() -> bool:
            seen_processed.add(int(row(board)["processed"]))
            return 5 <= int(row(board)["processed"]) < RECORDS

        await until(pilot, some_sent, what="part of the list processed")
        await press(pilot, "s")
        await until(pilot, lambda: row(board)["status"] == "stopped", what="stopped")
        stopped_at = int(row(board)["processed"])
        assert 0 < stopped_at < RECORDS
        graph = board.query_one(DialerGraph)
        assert 0 < graph.percent < 100
        # A stop returns once the batch in flight is recorded, so from here on any send is
        # the bug this checks for: the engine's own count, the board's and the sink's agree.
        status = await world.operator.dialer_status("News")
        assert not status.running and status.sending_now == 0
        await settle(pilot)
        processed = sum(p.processed for p in status.lists)
        assert int(row(board)["processed"]) == stopped_at == processed
        await world.sink.await_count(processed)
        assert len(world.sink.messages) == processed

        # Resumed: to the end, the graph at 100%.
        await press(pilot, "p")
        await until(pilot, lambda: "Start News?" in screen_text(app), what="the question")
        await press(pilot, "y")

        def done() -> bool:
            seen_processed.add(int(row(board)["processed"]))
            return row(board)["processed"] == str(RECORDS)

        await until(pilot, done, what="every record processed")
        await until(
            pilot,
            lambda: f"100% processed ({RECORDS}/{RECORDS}) · done" in screen_text(app),
            what="100%",
        )
        final = row(board)
        assert (final["not_processed"], final["sent"], final["failed"]) == ("0", str(RECORDS), "0")
        assert (final["skipped"], final["rejected"], final["spam"]) == ("0", "0", "0")
        assert graph.percent == 100
        assert graph.history is not None and graph.history.percents(50)[0] < 50  # it climbed
        assert len(seen_processed) >= 4  # the counts moved in steps, not one jump
        assert len(world.sink.messages) == RECORDS
        assert reads == []  # live from events alone: the board was never read again


async def test_hostile_names_show_as_typed_and_agents_are_refused(world: World) -> None:
    await a_dialer(world, "Promo", pace=1.0, records=2, list_name="[b red]Sale[/] $(x)")
    with pytest.raises(Forbidden):
        await world.client("agent1").dialer_board()
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Agents" in screen_text(app), what="the monitor")
        await press(pilot, "d")
        await until(pilot, lambda: "Promo" in screen_text(app), what="the dashboard")
        assert "[b red]Sale[/] $(x)" in screen_text(app)


async def test_the_engine_refusing_play_is_said_and_nothing_sends(world: World) -> None:
    await world.operator.add_dialer(DialerIn(name="Empty", campaign="Support"))
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: "Agents" in screen_text(app), what="the monitor")
        await press(pilot, "d")
        await until(pilot, lambda: "(no list)" in screen_text(app), what="the dashboard")
        board = app.screen
        assert isinstance(board, DialerDashboardScreen)
        assert row(board)["status"] == "stopped"
        await press(pilot, "p")
        await until(pilot, lambda: "Start Empty?" in screen_text(app), what="the question")
        await press(pilot, "y")
        # The engine's reason, in a toast (wrapped at 80 columns).
        await until(pilot, lambda: "'Empty' has no list" in screen_text(app), what="the refusal")
        assert row(board)["status"] == "stopped"
        assert not world.sink.messages


async def test_an_admin_opens_the_dashboard_from_the_dialers_screen(world: World) -> None:
    """Admins run dialers too: `D` then `g` opens the same live dashboard, fed by the admin
    screen's events."""
    await a_dialer(world, "Promo", pace=0.05, records=5, list_name="Spring")
    await world.operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "Campaigns" in screen_text(app), what="the admin screen")
        await press(pilot, "D")
        await until(pilot, lambda: "Promo" in screen_text(app), what="the dialers")
        await press(pilot, "g")
        await until(pilot, lambda: "Spring" in screen_text(app), what="the dashboard")
        board = app.screen
        assert isinstance(board, DialerDashboardScreen)
        await world.operator.play_dialer("Promo")
        await until(pilot, lambda: row(board)["processed"] == "5", what="live to the end")
        assert row(board)["sent"] == "5"


async def test_the_records_of_a_list_by_state_and_text_saved_as_csv(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`r` on the dashboard opens the highlighted list's records: the failed ones with their
    reasons, a search by address, and every match saved as CSV where the supervisor picks."""
    await world.operator.add_template(TemplateIn(name="T", kind="dialer", body_text="Hi."))
    await world.operator.add_dialer(
        DialerIn(name="News", campaign="Support", template="T", seconds_between_messages=0)
    )
    csv_text = "Support;ann@example.com\nSupport;not an address\nSupport;bob@example.com\n"
    await world.operator.upload_list("News", csv_text.encode(), name="December", subject="S")
    monkeypatch.chdir(tmp_path)  # where the save dialog starts (a small directory to list)
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Agents" in screen_text(app), what="the monitor")
        await press(pilot, "d")
        await until(pilot, lambda: "December" in screen_text(app), what="the dashboard")
        await press(pilot, "r")
        await until(pilot, lambda: "1-3 of 3" in screen_text(app), what="the records")
        records = app.screen
        assert isinstance(records, DialerRecordsScreen)
        assert "not an address" in screen_text(app) and "not a valid email" in screen_text(app)

        records.query_one("#records-state", Select).value = "failed"
        await until(pilot, lambda: "1-1 of 1" in screen_text(app), what="failed only")
        assert "ann@example.com" not in screen_text(app)
        records.query_one("#records-state", Select).value = ""
        await until(pilot, lambda: "1-3 of 3" in screen_text(app), what="all again")
        records.query_one("#records-search", Input).value = "bob@"
        await until(pilot, lambda: "1-1 of 1" in screen_text(app), what="the search")
        assert "bob@example.com" in screen_text(app)

        await pilot.press("ctrl+s")  # (the picker's directory loader keeps a worker running)
        await until(pilot, lambda: isinstance(app.screen, SaveTextScreen), what="the picker")
        app.screen.query_one("#path-input", Input).value = str(tmp_path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any(tmp_path.glob("*.csv")), what="the CSV file")
        [written] = list(tmp_path.glob("*.csv"))
        lines = written.read_text().splitlines()
        assert lines[0].startswith("list,line,destination,state")
        assert [line.split(",")[2] for line in lines[1:]] == ["bob@example.com"]  # as searched
