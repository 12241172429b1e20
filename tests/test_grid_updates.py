"""The supervisor's agent grid sets only the cells that change: with 2,000 agents changing
state once a second, setting all six cells of every row (and the time of every row each
second) was most of the console's work (bench/routing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec.structs as structs
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


async def test_a_state_change_sets_the_cells_that_changed_and_the_tick_only_new_times() -> None:
    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield AgentGrid()

    async with Monitor().run_test(size=(100, 20)) as pilot:
        grid = pilot.app.query_one(AgentGrid)
        grid.replace([agent(f"a{n}") for n in range(50)])
        set_cells: list[tuple[str, str]] = []
        update_cell = grid.update_cell

        def counted(row: Any, column: Any, value: Any, **kw: Any) -> None:
            set_cells.append((str(row), str(column)))
            update_cell(row, column, value, **kw)

        grid.update_cell = counted  # type: ignore[method-assign]
        now = datetime.now(UTC)
        came = grid.upsert(
            agent("a7", status="break", state="free_on_break", status_reason="Lunch",
                  status_since=now)
        )  # fmt: skip
        assert not came  # the same rows: the titles need no update
        assert sorted(set_cells) == [("a7", "agent"), ("a7", "since"), ("a7", "status")]
        assert "Free on break" in str(grid.get_cell("a7", "status"))
        assert "Lunch" in str(grid.get_cell("a7", "agent"))
        set_cells.clear()
        grid.upsert(agent("a8"))  # nothing changed
        grid.tick()  # two hours ago reads the same a second later; only a7's is new
        assert set_cells in ([], [("a7", "since")])
        assert grid.upsert(agent("newcomer"))  # a new row: the title counts it
        assert grid.row_count == 51
