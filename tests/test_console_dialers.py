"""The admin's dialer screens against a real engine (issue 14, admin side): the dialers list
from `D`, the form with every field (the missing unsubscribe link pointed out while typing,
the engine's refusals under their fields), removal refused while a dialer has lists, a list
uploaded from a CSV on disk with bad rows and its import report saved to a file, an
attachment uploaded and its token copied, and the example CSV written where the admin says."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import update
from textual.widgets import Checkbox, DataTable, Input, Select, TextArea

from console.screens.admin import AdminScreen
from console.screens.attach import AttachScreen
from console.screens.confirm import ConfirmScreen
from console.screens.dialer_attachments import DialerAttachmentsScreen
from console.screens.dialer_form import DialerForm
from console.screens.dialer_lists import DialerListsScreen, UploadListForm
from console.screens.dialers import DialersScreen
from console.screens.help import HelpScreen
from console.screens.import_report import ImportReportScreen
from console.screens.save_text import SaveTextScreen
from console.widgets.form import FormField
from data.models import Dialer
from engine.api.schemas import DialerEvent, DialerIn, SmtpCaps, TemplateIn, UserIn
from tests.console_helpers import console_for, press, screen_text, settle, until
from tests.engine_fixtures import World

UNSUBSCRIBE = '<p>Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>'
LIST = (
    "campaign;emailRecipient;message;attachments;variables;priority\r\n"  # 1
    "Support;ana@example.com;;;name=Ana:city=Lima;5\r\n"  # 2
    "Sales;carla@example.com;;;name=Carla:city=Rome;1\r\n"  # 3: another campaign
    "Support;not-an-address;;;name=Dan:city=Oslo;2\r\n"  # 4: failed
    "Support;fay@example.com;;;name=Fay:city=[b]Lima[/b];soon\r\n"  # 5: bad priority
)


async def _admin(world: World) -> None:
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    await world.operator.add_template(
        TemplateIn(name="Winter", kind="dialer", body_text="Dear ${name},\nsee you in ${city}.")
    )
    await world.operator.add_template(TemplateIn(name="Thanks", kind="reply", body_text="Hi"))


def _field(screen: DialerForm, key: str) -> FormField:
    return next(f for f in screen.query(FormField) if f.wire_name == key)


async def test_the_admin_adds_a_dialer_with_every_field(world: World) -> None:
    await _admin(world)
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        assert "D dialers" in screen_text(app)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen) and "Dialers" in screen_text(app)
        await press(pilot, "escape", "D")
        await until(pilot, lambda: isinstance(app.screen, DialersScreen), what="the dialers")
        await until(pilot, lambda: "none yet" in screen_text(app), what="no dialer yet")
        await press(pilot, "n")
        form = app.screen
        assert isinstance(form, DialerForm)
        await pilot.press(*"Winter news")
        # Esc with something typed asks before throwing it away; No keeps the form.
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert app.screen is form and _field(form, "name").input.value == "Winter news"
        # The campaign pick list offers the email campaigns; the template list only dialer
        # templates (not the reply template), with a preview of the chosen one.
        campaign = form.query_one("#dlf-campaign", Select)
        await until(pilot, lambda: len(campaign._options) == 2, what="the campaigns offered")
        campaign.value = "Support"
        await settle(pilot)
        template = form.query_one("#dlf-template", Select)
        assert [v for _t, v in template._options] == ["", "Winter"]
        template.value = "Winter"
        await settle(pilot)
        assert "see you in ${city}." in str(form.query_one("#dlf-template-preview").render())

        _field(form, "seconds_between_messages").input.value = "2.5"
        _field(form, "time_zone").input.value = "America/Montevideo"
        form.query_one("#dlf-schedule-new", Input).value = "mon-fri 13:00-18:00"
        _field(form, "starts_on").input.value = "2026-12-01"
        _field(form, "ends_on").input.value = "2027-01-31"
        _field(form, "caps.per_minute").input.value = "60"
        _field(form, "caps.per_day").input.value = "10000"

        # The unsubscribe HTML without its link: said under it while typing, before saving.
        html = form.query_one("#dlf-unsubscribe", TextArea)
        html.load_text("<p>bye</p>")
        await settle(pilot)
        warning = str(form.query_one("#dlf-unsubscribe-warning").render())
        assert 'needs <a id="unsubscribe_link">' in warning

        # The attach schedule, with a start that is no date: the engine's refusal under it.
        attach = form.query_one("#dlf-attach", Checkbox)
        form.query_one("#dialer-fields").scroll_to_widget(attach, animate=False)
        await settle(pilot)
        attach.focus()
        await press(pilot, "space")
        await settle(pilot)
        assert attach.value
        _field(form, "event.title").input.value = "Visit for ${name}"
        _field(form, "event.organizer").input.value = "agenda@example.com"
        _field(form, "event.start").input.value = "tomorrow"
        _field(form, "event.end").input.value = "${visit_end}"
        await press(pilot, "ctrl+s")
        # The unsubscribe HTML is the first refusal: the engine's word, under the area.
        await until(
            pilot, lambda: "Not saved" in screen_text(app), what="the engine's first refusal"
        )
        error = form.query_one("#dlf-unsubscribe-error")
        assert error.has_class("-shown") and "unsubscribe_link" in str(error.render())
        assert app.focused is html
        html.load_text(UNSUBSCRIBE)
        await settle(pilot)
        assert not form.query_one("#dlf-unsubscribe-warning").display
        await press(pilot, "ctrl+s")
        start = _field(form, "event.start")
        await until(pilot, lambda: start.has_error, what="the start's refusal")
        assert "not a date and time like 2027-03-14 15:30" in start.error
        assert app.focused is start.input
        app.save_screenshot("/tmp/dialer-form-80x24.svg")
        start.input.value = "${visit}"
        await pilot.click("#dialer-save")  # by mouse
        await until(pilot, lambda: isinstance(app.screen, DialersScreen), what="saved")
        await until(pilot, lambda: "Winter news" in screen_text(app), what="the dialer listed")
        text = screen_text(app)
        assert "Support" in text and "mon-fri 13:00-18:00" in text

    [dialer] = await world.operator.dialers()
    assert (dialer.name, dialer.campaign, dialer.template) == ("Winter news", "Support", "Winter")
    assert dialer.seconds_between_messages == 2.5 and dialer.time_zone == "America/Montevideo"
    assert (dialer.starts_on, dialer.ends_on) == ("2026-12-01", "2027-01-31")
    assert [(w.days, w.start, w.end) for w in dialer.schedule] == [
        (["mon", "tue", "wed", "thu", "fri"], "13:00", "18:00")
    ]
    assert dialer.unsubscribe_html == UNSUBSCRIBE
    assert dialer.caps == SmtpCaps(per_minute=60, per_day=10000)
    assert dialer.event == DialerEvent(
        title="Visit for ${name}", organizer="agenda@example.com", start="${visit}",
        end="${visit_end}",
    )  # fmt: skip


async def test_editing_a_dialer_changes_only_what_was_edited(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # $EDITOR for the unsubscribe HTML: a script that rewrites the link's text.
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/>Unsubscribe</>Stop these mails</' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("VISUAL", str(editor))
    await _admin(world)
    await world.operator.add_dialer(
        DialerIn(name="News", campaign="Support", template="Winter", unsubscribe_html=UNSUBSCRIBE)
    )
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await press(pilot, "D")
        await until(pilot, lambda: "News" in screen_text(app), what="the dialer")
        await press(pilot, "enter")
        form = app.screen
        assert isinstance(form, DialerForm)
        await until(pilot, lambda: "see you in" in screen_text(app), what="the template's preview")
        # A number the wire cannot take: refused under its field, nothing sent.
        _field(form, "caps.connections").input.value = "-1"
        await press(pilot, "ctrl+s")
        connections = _field(form, "caps.connections")
        await until(pilot, lambda: connections.has_error, what="the refusal under it")
        assert "0" in connections.error  # "must be >= 0"
        connections.input.value = "2"
        _field(form, "seconds_between_messages").input.value = "0"
        await press(pilot, "ctrl+e")
        html = form.query_one("#dlf-unsubscribe", TextArea)
        await until(pilot, lambda: "Stop these mails" in html.text, what="the editor's text")
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, DialersScreen), what="saved")

        # A running dialer is not removed: the engine's reason is shown.
        async with world.engine.db.session() as session, session.begin():
            await session.execute(update(Dialer).values(running=True))
        await press(pilot, "ctrl+r")
        dialers = app.screen
        assert isinstance(dialers, DialersScreen)
        await until(pilot, lambda: dialers.dialers[0].running, what="shown running")
        await press(pilot, "d", "y")
        await until(pilot, lambda: "is running" in screen_text(app), what="the refusal")
    [dialer] = await world.operator.dialers()
    assert dialer.caps.connections == 2 and dialer.seconds_between_messages == 0
    assert dialer.template == "Winter"
    assert dialer.unsubscribe_html == UNSUBSCRIBE.replace(">Unsubscribe<", ">Stop these mails<")


async def test_lists_upload_with_a_report_and_removal(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the path picker starts
    await _admin(world)
    await world.operator.add_dialer(
        DialerIn(name="News", campaign="Support", template="Winter", unsubscribe_html=UNSUBSCRIBE)
    )
    csv = tmp_path / "december.csv"
    csv.write_bytes(LIST.encode())
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Support;zoe@example.com;;;name=Zoë:city=São Paulo\n".encode("cp1252"))
    reports = tmp_path / "reports"
    reports.mkdir()
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await press(pilot, "D")
        await until(pilot, lambda: "News" in screen_text(app), what="the dialer")
        await press(pilot, "l")
        lists = app.screen
        assert isinstance(lists, DialerListsScreen)
        await until(pilot, lambda: "No list yet" in screen_text(app), what="no list yet")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UploadListForm), what="the form")
        upload = app.screen
        upload.query_one("#path-input", Input).value = str(csv)
        upload.query_one("#ul-name", Input).focus()
        await pilot.press(*"December")
        upload.query_one("#ul-subject", Input).value = "News for ${name}"
        app.save_screenshot("/tmp/upload-80x24.svg")
        await press(pilot, "ctrl+s")
        await until(
            pilot, lambda: isinstance(app.screen, ImportReportScreen), what="the import report"
        )
        text = screen_text(app)
        assert "2 rows imported into list December: 1 to send, 1 failed, 2 lines rejected" in text
        assert "not this dialer's campaign" in text and "not a valid email address" in text
        table = app.screen.query_one("#import-report-table", DataTable)
        assert [table.get_row_at(n)[0].plain for n in range(table.row_count)] == ["3", "4", "5"]
        app.save_screenshot("/tmp/import-report-80x24.svg")

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SaveTextScreen), what="where to")
        app.screen.query_one("#path-input", Input).value = str(reports)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), what="saved")
        [written] = list(reports.iterdir())
        report = written.read_text()
        assert "line 3: rejected:" in report and "line 4: failed:" in report
        await press(pilot, "escape")
        await until(pilot, lambda: "December" in screen_text(app), what="the list")

        # Appending a file in another encoding to it: the report says appended.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UploadListForm), what="the form")
        upload = app.screen
        upload.query_one("#ul-into", Select).value = "December"
        upload.query_one("#path-input", Input).value = str(latin)
        upload.query_one("#ul-encoding", Input).value = "cp1252"
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: "1 row appended to list December" in screen_text(app),
            what="a cp1252 file appended",
        )
        await press(pilot, "escape")

        # The dialer is not removed while it has a list: the engine says why.
        await press(pilot, "escape")
        assert isinstance(app.screen, DialersScreen)
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await until(pilot, lambda: "has 1 list" in screen_text(app), what="the refusal")
        app.save_screenshot("/tmp/dialers-80x24.svg")

        await press(pilot, "l")
        await until(pilot, lambda: "December" in screen_text(app), what="the list again")
        app.save_screenshot("/tmp/lists-80x24.svg")
        await press(pilot, "d", "y")
        await until(pilot, lambda: "No list yet" in screen_text(app), what="the list removed")
    assert await world.operator.dialer_lists("News") == []


async def test_attachments_tokens_and_the_example_csv(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    await _admin(world)
    leaflet = tmp_path / "leaflet.pdf"
    leaflet.write_bytes(b"%PDF-1.4 not much")
    out = tmp_path / "out"
    out.mkdir()
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await press(pilot, "D")
        await until(pilot, lambda: isinstance(app.screen, DialersScreen), what="the dialers")
        await press(pilot, "a")
        attachments = app.screen
        assert isinstance(attachments, DialerAttachmentsScreen)
        await until(pilot, lambda: "No attachment yet" in screen_text(app), what="empty")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, AttachScreen), what="the picker")
        app.screen.query_one("#path-input", Input).value = str(leaflet)
        await pilot.click("#attach-ok")
        await until(pilot, lambda: "leaflet.pdf" in screen_text(app), what="the upload")
        [stored] = await world.operator.dialer_attachments()
        await until(pilot, lambda: f"Token: {stored.token}" in screen_text(app), what="token")
        await press(pilot, "y")
        assert app.clipboard == stored.token
        app.save_screenshot("/tmp/attachments-80x24.svg")
        await press(pilot, "d", "y")
        await until(pilot, lambda: "No attachment yet" in screen_text(app), what="removed")
        await press(pilot, "escape")

        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, SaveTextScreen), what="where to")
        app.screen.query_one("#path-input", Input).value = str(out)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, DialersScreen), what="written")
    assert await world.operator.dialer_attachments() == []
    written = (out / "dialer-example.csv").read_text()
    assert written.startswith("campaign;emailRecipient")
