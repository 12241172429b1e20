"""The supervisor's agent grid sets only the cells that change: with 2,000 agents changing
state once a second, setting all six cells of every row (and the time of every row each
second) was most of the console's work (bench/routing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec.structs as structs
from rich.text import Text
from textual.app import App, ComposeResult

from console.widgets.monitor import AgentGrid
from engine.api.schemas import AgentRow


def agent(name: str, **changes: Any) -> AgentRow:
    row = AgentRow(
        username=name, display_name=name.title(), status="free", status_reason="",
        status_since=datetime.now(UTC) - timedelta(hours=2), active=0, completed=3,
        state="free",
    )  # fmt: skip
    return structs.replace(row, **changes)


def watch_cells(grid: AgentGrid) -> list[tuple[str, str]]:
    """The (row, column) of every cell the grid sets from now on, in order."""
    set_cells: list[tuple[str, str]] = []
    update_cell = grid.update_cell

    def counted(row: Any, column: Any, value: Any, **kw: Any) -> None:
        set_cells.append((str(row), str(column)))
        update_cell(row, column, value, **kw)

    grid.update_cell = counted  # type: ignore[method-assign]
    return set_cells


def rows_of(cells: list[tuple[str, str]]) -> set[str]:
    return {row for row, _ in cells}


async def test_a_state_change_sets_the_cells_that_changed_and_the_tick_only_new_times() -> None:
    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield AgentGrid()

    async with Monitor().run_test(size=(100, 20)) as pilot:
        grid = pilot.app.query_one(AgentGrid)
        grid.replace([agent(f"a{n:02}") for n in range(50)])
        await pilot.pause()  # laid out: rows a00 to about a17 are on screen
        set_cells = watch_cells(grid)
        now = datetime.now(UTC)
        came = grid.upsert(
            agent("a07", status="break", state="free_on_break", status_reason="Lunch",
                  status_since=now)
        )  # fmt: skip
        assert not came  # the same rows: the titles need no update
        assert sorted(set_cells) == [("a07", "agent"), ("a07", "since"), ("a07", "status")]
        assert "Free on break" in str(grid.get_cell("a07", "status"))
        assert "Lunch" in str(grid.get_cell("a07", "agent"))
        set_cells.clear()
        grid.upsert(agent("a08"))  # nothing changed
        grid.tick()  # two hours ago reads the same a second later; only a07's is new
        assert set_cells in ([], [("a07", "since")])
        assert grid.upsert(agent("newcomer"))  # a new row: the title counts it
        assert grid.row_count == 51


async def test_the_tick_sets_the_times_on_screen_and_scrolling_shows_current_ones() -> None:
    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield AgentGrid()

    async with Monitor().run_test(size=(100, 20)) as pilot:
        grid = pilot.app.query_one(AgentGrid)
        started = datetime.now(UTC) - timedelta(seconds=30)
        grid.replace([agent(f"a{n:03}", status_since=started) for n in range(200)])
        await pilot.pause()
        cells = watch_cells(grid)
        for row in grid.ordered_rows:  # as if every time were painted a minute ago
            grid._painted[str(row.key.value)]["since"] = Text("stale")
        grid.tick()
        assert rows_of(cells) and len(rows_of(cells)) <= 21  # the rows on screen, not all 200
        assert "a000" in rows_of(cells) and "a150" not in rows_of(cells)

        grid.scroll_to(y=150, animate=False)
        await pilot.pause()
        assert "a150" in rows_of(cells)  # scrolled into view: its time is set as of now
        assert str(grid.get_cell("a150", "since")) in ("30s", "31s", "32s")


async def test_a_change_off_screen_is_shown_when_its_row_comes_into_view() -> None:
    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield AgentGrid()

    async with Monitor().run_test(size=(100, 20)) as pilot:
        grid = pilot.app.query_one(AgentGrid)
        grid.replace([agent(f"a{n:03}") for n in range(200)])
        await pilot.pause()
        cells = watch_cells(grid)
        assert not grid.upsert(agent("a150", status="busy", state="busy", active=2))
        assert rows_of(cells) == set()  # off screen: the table is not touched
        grid.tick()
        assert "a150" not in rows_of(cells)
        assert grid.get("a150").active == 2  # the supervisor's actions read the newest row

        grid.scroll_to(y=145, animate=False)
        await pilot.pause()
        assert "a150" in rows_of(cells)
        assert "Busy" in str(grid.get_cell("a150", "status"))
        assert str(grid.get_cell("a150", "active")) == "2"

        # A change on screen is shown at once; one that leaves the campaign filter goes.
        cells.clear()
        grid.upsert(agent("a150", status="free", state="free"))
        assert "a150" in rows_of(cells) and "Free" in str(grid.get_cell("a150", "status"))
