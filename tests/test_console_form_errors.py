"""Admin forms against a real engine: an address that is not one is refused under its field,
an error shown once and gone as soon as its field is edited, and no promise the console
does not keep (the screen-monitoring box)."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, DataTable, Input

from console.screens.admin import AdminScreen
from console.screens.campaign_form import CampaignForm
from console.screens.user_form import UserForm
from console.widgets.form import FormField
from engine.api.schemas import CampaignIn, UserIn, UserPatch
from engine.client import EngineClient, Forbidden, Invalid
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, type_text, until


@pytest.mark.parametrize(
    "address", ["abc", "a@", "support@example.com, sales@example.com", "Acme <s@example.com>"]
)
async def test_a_campaign_address_must_be_one_address(operator: EngineClient, address: str) -> None:
    with pytest.raises(Invalid, match="^email_address: "):
        await operator.add_campaign(
            CampaignIn(name="X", email_address=address, receive_emails=False, smtp_host="localhost")
        )
    assert await operator.campaigns() == []


async def test_campaign_form_says_the_address_is_wrong_until_it_is_edited(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
        form = app.screen
        for key, value in {
            "name": "Billing",
            "email_address": "abc",
            "imap_host": "localhost",
            "smtp_host": "localhost",
        }.items():
            form.query_one(f"#cf-{key}", Input).value = value
        await pilot.press("ctrl+s")
        field = form.query_one("#cf-email_address-field", FormField)
        await until(pilot, lambda: field.has_error, what="the address's error")
        assert "invalid address" in field.error
        assert app.screen is form and app.focused is field.input
        assert "Not saved: email_address" in screen_text(app)

        await type_text(pilot, "@example")  # the agent goes on typing in the field
        await until(pilot, lambda: not field.has_error, what="the error gone")
        assert "invalid address" not in screen_text(app)
        assert "Not saved" not in screen_text(app)
    assert await operator.campaigns() == []


async def test_user_form_shows_an_error_once_and_keeps_screen_monitoring(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    await operator.add_user(UserIn(username="ana", display_name="Ana", roles=["agent"]))
    await operator.update_user("ana", UserPatch(screen_monitoring_allowed=True))
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UserForm), what="the user form")
        form = app.screen
        # Nothing shows a screen yet: no box pretends to decide about it.
        assert not form.query(Checkbox).filter("#uf-screen_monitoring_allowed")
        assert "view this user's screen" not in screen_text(app)

        login = form.query_one("#uf-username-field", FormField)
        login.input.value = "Not A Login"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: login.has_error, what="the login's error")
        await until(pilot, lambda: "must be a login name" in screen_text(app), what="shown")
        assert screen_text(app).count("must be a login name") == 1
        await pilot.press("end", "backspace")
        await until(pilot, lambda: not login.has_error, what="the error gone")
        assert "must be a login name" not in screen_text(app)
        login.input.value = "ben"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="ben added")

        # Ana's stored permission outlives an edit in the form that no longer shows it.
        users = app.screen.query_one("#users", DataTable)
        await until(pilot, lambda: "ana" in screen_text(app), what="ana listed")
        users.focus()
        users.move_cursor(row=users.get_row_index("ana"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, UserForm), what="ana's form")
        app.screen.query_one("#uf-display_name", Input).value = "Ana A"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    by_name = {u.username: u for u in await operator.users()}
    assert by_name["ana"].display_name == "Ana A"
    assert by_name["ana"].screen_monitoring_allowed
    assert not by_name["ben"].screen_monitoring_allowed


async def test_an_operator_is_told_in_words_why_chat_needs_a_user(
    operator: EngineClient,
) -> None:
    await operator.add_user(UserIn(username="ana", display_name="Ana", roles=["agent"]))
    with pytest.raises(Forbidden) as refused:
        await operator.say("ana", "hello")
    said = refused.value.message
    assert "engine's operator" in said and "postdesk --as" in said
    assert "header" not in said.lower() and "X-Postdesk" not in said
