"""Admin console against a real engine: editing the break reasons agents choose from."""

from __future__ import annotations

from textual.widgets import TextArea

from console.screens.admin import AdminScreen
from console.screens.break_reasons import BreakReasonsForm
from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, until


async def test_admin_edits_break_reasons_with_the_bad_line_pointed_out(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Lunch · Coffee" in screen_text(app), what="the reasons")

        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BreakReasonsForm), what="the form")
        form = app.screen
        area = form.query_one("#reasons-text", TextArea)
        assert area.text.splitlines() == ["Lunch", "Coffee", "Meeting", "Training", "Personal"]
        area.load_text("Lunch\n\nTeam huddle\nlunch\n")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "repeats reason 1" in screen_text(app), what="inline error")
        assert app.screen is form and area.text == "Lunch\n\nTeam huddle\nlunch\n"
        assert area.cursor_location[0] == 3  # the fourth line: the third non-empty one

        area.load_text("Lunch\n\nTeam huddle\n")
        await pilot.click("#reasons-save")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        await until(pilot, lambda: "Lunch · Team huddle" in screen_text(app), what="new list")
    assert await operator.break_reasons() == ["Lunch", "Team huddle"]
