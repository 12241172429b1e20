"""The admin's blacklist screen against a real engine: the entries with their source and
scope, a search that waits for the admin to pause, adding with the refusal under its field,
and removing after a question (with a warning when the person asked not to be mailed)."""

from __future__ import annotations

from textual.widgets import Input

from console.screens.admin import AdminScreen
from console.screens.blacklist import BlacklistForm, BlacklistScreen
from console.screens.confirm import ConfirmScreen
from engine.api.schemas import UserIn
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World


async def test_the_admin_searches_adds_and_removes_blacklist_entries(world: World) -> None:
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    await world.operator.add_to_blacklist("pat@example.net", reason="[b]not markup[/b]")
    await world.operator.add_to_blacklist("lee@example.org", campaign="Support")
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await pilot.press("B")
        await until(
            pilot, lambda: "lee@example.org" in screen_text(app), what="the blacklist entries"
        )
        screen = app.screen
        assert isinstance(screen, BlacklistScreen)
        text = screen_text(app)
        assert "Blacklist · 2 addresses" in text
        assert "Support only" in text and "all campaigns" in text
        assert "[b]not markup[/b]" in text  # a reason is text, never markup

        # Searching: the list follows what is typed, once the admin pauses.
        await pilot.press("slash", *"pat")
        await until(
            pilot,
            lambda: "lee@example.org" not in screen_text(app) and "pat@" in screen_text(app),
            what="the search",
        )
        screen.query_one("#blacklist-search", Input).value = ""
        await until(pilot, lambda: "lee@example.org" in screen_text(app), what="all again")
        await pilot.press("enter")  # back to the list

        # Adding: a bad address is refused under its field; the form keeps what was typed.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BlacklistForm), what="the form")
        await pilot.press(*"not-an-address", "enter")
        await until(
            pilot, lambda: "invalid address" in screen_text(app), what="the refusal under it"
        )
        form = app.screen
        assert form.query_one("#bf-email", Input).value == "not-an-address"
        form.query_one("#bf-email", Input).value = "sam@example.com"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="back to the list")
        await until(pilot, lambda: "sam@example.com" in screen_text(app), what="the new entry")
        assert "an admin" in screen_text(app)
        app.save_screenshot("/tmp/blacklist-80x24.svg")
        assert [e.email for e in await world.operator.blacklist()] == [
            "lee@example.org",
            "pat@example.net",
            "sam@example.com",
        ]

        # Removing: asked first; lee unsubscribed?  No: an admin added lee, so no warning.
        screen.query_one("#blacklist-table").focus()
        await pilot.press("home", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "lee@example.org" in screen_text(app) and "from Support" in screen_text(app)
        assert "asked not to be mailed" not in screen_text(app)
        await pilot.press("y")  # No has the focus: Enter would keep it
        await until(pilot, lambda: "lee@example.org" not in screen_text(app), what="the entry gone")

        # Esc closes it (a worker method named `remove` once shadowed Widget.remove, so
        # closing the screen raised instead).
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back to admin")
    assert {e.email for e in await world.operator.blacklist()} == {
        "pat@example.net",
        "sam@example.com",
    }
