"""The campaign form's schedule section against a real engine: weekly hours added with `+` and
removed with `-`, an exception, the time zone said wrong while typing, the out-of-hours and
busy templates and the overflow campaign picked from lists; saved and read back through the
client; the engine's refusal shown under the list it is about."""

from __future__ import annotations

from datetime import date

from textual.widgets import Select

from console.messages import CampaignSaved, CampaignsLoaded, TemplatesLoaded
from console.screens.admin import AdminScreen
from console.screens.campaign_form import CampaignForm
from console.widgets.form import FormField
from console.widgets.row_list import RowList
from engine.api.schemas import CampaignIn, ScheduleExceptionIn, ScheduleWindow, TemplateIn, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, settle, type_text, until


def campaign(name: str) -> CampaignIn:
    return CampaignIn(
        name=name,
        email_address=f"{name.lower()}@postdesk.test",
        receive_emails=False,
        smtp_host="localhost",
        check=False,  # no SMTP server here: the form's schedule rows are the test
    )


async def admin_with_campaigns(engine: Engine, operator: EngineClient) -> None:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    await operator.add_campaign(campaign("Support"))
    await operator.add_campaign(campaign("Sales"))
    for name in ("Closed now", "Busy now"):
        await operator.add_template(TemplateIn(name=name, kind="confirmation", body_text="Hi"))
    await operator.add_template(TemplateIn(name="Just a reply", body_text="Hello"))


async def test_weekly_hours_added_with_plus_removed_with_minus_and_saved(
    engine: Engine, operator: EngineClient
) -> None:
    await admin_with_campaigns(engine, operator)
    seen: list[object] = []
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaigns")
        await pilot.press("e")  # the highlighted campaign: the first, Sales
        await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
        form = app.screen
        assert isinstance(form, CampaignForm)
        name = form.campaign.name if form.campaign else ""
        other = "Support" if name == "Sales" else "Sales"
        await until(
            pilot,
            lambda: (
                any(isinstance(m, CampaignsLoaded) for m in seen)
                and any(isinstance(m, TemplatesLoaded) for m in seen)
            ),
            what="the pickers filled",
        )
        await settle(pilot)

        # The time zone is said wrong while typing, before any save.
        zone = form.query_one("#cf-time_zone-field", FormField)
        zone.input.focus()
        zone.input.value = ""
        await type_text(pilot, "Mars/Olympus")
        await until(pilot, lambda: zone.has_error, what="the zone's error")
        assert "unknown time zone" in zone.error
        zone.input.value = ""
        await type_text(pilot, "Europe/Madrid")
        await until(pilot, lambda: not zone.has_error, what="the zone accepted")

        # `+` on the list goes to the line where a row is typed; Enter adds it.
        hours = form.query_one("#cf-schedule-field", RowList)
        hours.entry.focus()
        await type_text(pilot, "mon-fri 09:00-14:00")
        await pilot.press("enter")
        await until(pilot, lambda: len(hours.values) == 1, what="the first window")
        hours.rows.focus()
        await pilot.press("plus")
        assert app.focused is hours.entry
        await type_text(pilot, "mon-fri 16:00-1900")
        await pilot.press("enter")
        await until(pilot, lambda: hours.has_error, what="the typo pointed out")
        assert hours.error == "hours like 09:00-17:00, not '16:00-1900'" and len(hours.values) == 1
        hours.entry.value = ""
        await type_text(pilot, "mon-fri 16:00-19:00")
        await pilot.press("enter")
        await type_text(pilot, "sat 10:00-14:00")
        await pilot.press("enter")
        await until(pilot, lambda: len(hours.values) == 3, what="three windows")
        assert not hours.has_error
        # `-` removes the highlighted one: the cursor on the second, Monday to Friday evenings.
        hours.rows.focus()
        hours.rows.highlighted = 1
        await pilot.press("minus")
        await until(pilot, lambda: len(hours.values) == 2, what="one window removed")
        assert "mon-fri 16:00-19:00" not in screen_text(app)

        # The exception's buttons work by mouse: typed, then a click on its `+`.
        holidays = form.query_one("#cf-schedule_exceptions-field", RowList)
        holidays.entry.value = "2026-12-25 closed Christmas"
        holidays.scroll_visible(animate=False)
        await settle(pilot)
        await pilot.click("#cf-schedule_exceptions-add")
        await until(pilot, lambda: len(holidays.values) == 1, what="the exception")

        form.query_one("#cf-out_of_hours_template", Select).value = "Closed now"
        form.query_one("#cf-busy_template", Select).value = "Busy now"
        form.query_one("#cf-overflow_campaign", Select).value = other
        offered = [str(p) for p, _ in form.query_one("#cf-busy_template", Select)._options]
        assert "Just a reply" not in offered  # a reply template is no automatic answer
        overflow = [v for _, v in form.query_one("#cf-overflow_campaign", Select)._options]
        assert name not in overflow and "" in overflow  # never itself; "hold" is offered
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    assert any(isinstance(m, CampaignSaved) for m in seen)

    saved = next(c for c in await operator.campaigns() if c.name == name)
    assert saved.time_zone == "Europe/Madrid"
    week = ["mon", "tue", "wed", "thu", "fri"]
    assert saved.schedule == [
        ScheduleWindow(days=week, start="09:00", end="14:00"),  # type: ignore[arg-type]
        ScheduleWindow(days=["sat"], start="10:00", end="14:00"),
    ]
    assert saved.schedule_exceptions == [
        ScheduleExceptionIn(day=date(2026, 12, 25), note="Christmas")
    ]
    assert (saved.out_of_hours_template, saved.busy_template) == ("Closed now", "Busy now")
    assert saved.overflow_campaign == other


async def test_the_engine_refusing_an_exception_says_so_under_the_exceptions(
    engine: Engine, operator: EngineClient
) -> None:
    await admin_with_campaigns(engine, operator)
    app = console_for(engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaigns")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
        form = app.screen
        assert isinstance(form, CampaignForm)
        holidays = form.query_one("#cf-schedule_exceptions-field", RowList)
        holidays.entry.value = "2026-12-24 closed"
        holidays.scroll_visible(animate=False)  # the form scrolls at 80x24
        await settle(pilot)
        await pilot.click("#cf-schedule_exceptions-add")
        # A row typed and not added yet is added by saving: closed and open the same day.
        holidays.entry.value = "2026-12-24 09:00-13:00 Eve"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: holidays.has_error, what="the refusal under the list")
        assert holidays.error.startswith("2026-12-24 is both closed all day and open")
        assert "Not saved: schedule_exceptions" in screen_text(app)
        assert app.screen is form and len(holidays.values) == 2
        assert app.focused is holidays.rows

        # Removing the closed day with `-` makes it right.
        holidays.rows.highlighted = 0
        await pilot.press("minus")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    name = form.campaign.name if form.campaign else ""
    saved = next(c for c in await operator.campaigns() if c.name == name)
    assert saved.schedule_exceptions == [
        ScheduleExceptionIn(day=date(2026, 12, 24), start="09:00", end="13:00", note="Eve")
    ]
