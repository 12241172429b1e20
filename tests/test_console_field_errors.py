"""Forms put a refusal under the field its `field` names, never guessing from the message:
a refusal about a field the form does not show, or about none, goes to the form's error line.

Against a real engine (a template's name taken: a Conflict about `name`), and against a
stand-in engine whose refusals do not name their field in the text at all, so that only
`field` can place them.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, TextArea

from console.screens.admin import AdminScreen
from console.screens.break_reasons import BreakReasonsForm
from console.screens.ccbcc import CcBccScreen
from console.screens.template_admin import TemplateForm, TemplatesScreen
from console.screens.user_form import UserForm
from console.widgets.dialog_error import DialogError
from console.widgets.form import FormField
from engine.api.schemas import TemplateIn, UserIn, UserOut
from engine.client import Conflict, EngineClient, Invalid
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, until
from tests.fake_engine import THREAD


async def test_a_taken_template_name_is_said_under_the_name(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    await operator.add_template(TemplateIn(name="Thanks", body_text="Thank you."))
    with pytest.raises(Conflict) as clash:
        await operator.add_template(TemplateIn(name="Thanks", body_text="Again."))
    assert clash.value.field == "name"

    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TemplatesScreen), what="templates")
        await until(pilot, lambda: "Thanks" in screen_text(app), what="the template listed")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TemplateForm), what="the form")
        form = app.screen
        name = form.query_one("#tf-name-field", FormField)
        name.input.value = "Thanks"
        form.query_one("#tf-body", TextArea).load_text("Thanks again.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: name.has_error, what="the name's error")
        assert name.error == "template 'Thanks' already exists there"
        assert app.screen is form and app.focused is name.input
        assert "Not saved: name: template 'Thanks' already exists there" in screen_text(app)
    assert [t.body_text for t in await operator.templates()] == ["Thank you."]


class StandIn:
    """The few engine calls these forms make, each refused with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def add_user(self, user: UserIn) -> UserOut:
        raise self.error

    async def set_cc_bcc(self, interaction_id: int, cc: str, bcc: str) -> object:
        raise self.error

    async def set_break_reasons(self, reasons: list[str]) -> list[str]:
        raise self.error


def api(error: Exception) -> EngineClient:
    return cast(EngineClient, StandIn(error))


class FormApp(App[None]):
    def __init__(self, form: Screen[Any]) -> None:
        super().__init__()
        self.form = form

    def on_mount(self) -> None:
        self.push_screen(self.form)


async def opened(pilot: Pilot[Any], form: Screen[Any]) -> None:
    await until(pilot, lambda: pilot.app.screen is form, what="the form")


def said(form: Screen[Any], line: str) -> str:
    return str(form.query_one(line, DialogError).content)


@pytest.mark.parametrize(
    ("field", "under_login"),
    [("username", True), ("roles", False), (None, False)],
)
async def test_the_user_form_places_a_refusal_by_its_field(
    field: str | None, under_login: bool
) -> None:
    refused = Conflict("taken by someone else", 409, field)
    form = UserForm(api(refused))
    app = FormApp(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, form)
        login = form.query_one("#uf-username-field", FormField)
        login.input.value = "ana"
        await pilot.press("ctrl+s")
        if under_login:
            await until(pilot, lambda: login.has_error, what="the login's error")
            assert login.error == "taken by someone else"
            assert said(form, "#user-error") == ""
            assert app.focused is login.input
        else:
            await until(pilot, lambda: bool(said(form, "#user-error")), what="the error line")
            assert said(form, "#user-error") == "Not saved: taken by someone else"
            assert not any(f.has_error for f in form.query(FormField))
        assert app.screen is form and login.input.value == "ana"


async def test_the_cc_form_believes_the_field_not_the_address_quoted() -> None:
    # The address quoted is in the CC field; the engine says the refusal is about BCC.
    refused = Invalid("not accepted: 'boss@example.net'", 422, "bcc")
    form = CcBccScreen(api(refused), THREAD)
    app = FormApp(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, form)
        form.query_one("#cc", Input).value = "boss@example.net"
        form.query_one("#bcc", Input).value = "audit@example.net"
        await pilot.press("ctrl+s")
        bcc = form.query_one("#bcc-field", FormField)
        await until(pilot, lambda: bcc.has_error, what="the BCC's error")
        assert bcc.error == "not accepted: 'boss@example.net'"
        assert not form.query_one("#cc-field", FormField).has_error
        assert app.focused is bcc.input


async def test_break_reasons_select_the_entry_the_field_names() -> None:
    refused = Invalid("not a reason agents can give", 422, "reasons.2")
    form = BreakReasonsForm(api(refused), [])
    app = FormApp(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, form)
        area = form.query_one("#reasons-text", TextArea)
        area.load_text("Lunch\n\nCoffee\nNap\nTraining")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(said(form, "#reasons-error")), what="the error line")
        assert said(form, "#reasons-error") == "Not saved: not a reason agents can give"
        assert area.selected_text == "Nap"  # the third entry: the fourth line
