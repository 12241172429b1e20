"""Admin console against a real engine: break reasons, and campaigns added, changed and tested
in their form against a real Dovecot and SMTP sink."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec import structs
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, SelectionList, TextArea

from console.app import PostdeskApp
from console.screens.admin import AdminScreen
from console.screens.break_reasons import BreakReasonsForm
from console.screens.campaign_form import CampaignForm
from console.screens.confirm import ConfirmScreen
from console.screens.conn_report import ConnectionReportScreen
from console.screens.members import MembersScreen
from console.screens.template_admin import TemplateForm, TemplatesScreen
from console.screens.user_form import UserForm
from console.widgets.form import FormField
from engine.api.schemas import CampaignPatch, TemplateIn, UserIn, UserPatch
from engine.client import EngineClient, Invalid, NotFound
from engine.engine import Engine
from tests.console_helpers import console_for, press, screen_text, settle, until
from tests.servers import DovecotServer, SmtpSink


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


async def admin_console(engine: Engine, operator: EngineClient) -> PostdeskApp:
    await operator.add_user(UserIn(username="ada", display_name="Ada Admin", roles=["admin"]))
    return console_for(engine, "ada", "admin")


def fill(form: CampaignForm, **values: str) -> None:
    for key, value in values.items():
        form.query_one(f"#cf-{key}", Input).value = value


def choose(form: CampaignForm, **values: str) -> None:
    for key, value in values.items():
        form.query_one(f"#cf-{key}", Select).value = value


async def open_form(pilot: Pilot[object], app: PostdeskApp, key: str) -> CampaignForm:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the campaign form")
    assert isinstance(app.screen, CampaignForm)
    return app.screen


async def test_admin_adds_a_campaign_in_the_form_and_tests_its_servers(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("formadd")
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        form = await open_form(pilot, app, "a")
        fill(
            form,
            name="Billing",
            email_address="billing@postdesk.test",
            from_name="Acme Billing",
            imap_host=dovecot.host,
            imap_port=str(dovecot.port),
            imap_username=box.user,
            imap_password=box.password,
            smtp_host=smtp_sink.host,
            smtp_port=str(smtp_sink.port),
            max_interactions_per_agent="3",
        )
        choose(form, imap_security="plain", smtp_security="plain")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        await until(pilot, lambda: "billing@postdesk.test" in screen_text(app), what="listed")

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConnectionReportScreen), what="report")
        await until(pilot, lambda: "Billing: connected" in screen_text(app), what="verdict")
        shown = screen_text(app)
        assert "IMAP  ✓ resolve ✓ connect ✓ login ✓ mailbox ✓ ok" in shown
        await pilot.press("escape")

    saved = (await operator.campaigns())[0]
    assert (saved.name, saved.from_name, saved.imap_username) == (
        "Billing",
        "Acme Billing",
        box.user,
    )
    assert (saved.imap_port, saved.smtp_port) == (dovecot.port, smtp_sink.port)
    assert saved.max_interactions_per_agent == 3
    assert saved.imap_password_set and not saved.smtp_password_set
    assert smtp_sink.messages == []


async def test_a_refused_field_is_pointed_out_and_what_was_typed_stays(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("formedit")
    campaign = box.campaign("Support", smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    await operator.add_campaign(campaign)
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaign")
        form = await open_form(pilot, app, "enter")
        assert form.query_one("#cf-name", Input).disabled  # a campaign keeps its name
        assert form.query_one("#cf-imap_password", Input).placeholder == "saved; type to replace"

        fill(form, imap_port="70000", from_name="Acme Support")
        await pilot.press("ctrl+s")
        port = form.query_one("#cf-imap_port-field", FormField)
        await until(pilot, lambda: port.has_error, what="the port's error")
        assert port.error == "must be at most 65535"
        assert app.screen is form and app.focused is form.query_one("#cf-imap_port", Input)
        assert form.query_one("#cf-from_name", Input).value == "Acme Support"

        fill(form, imap_port=str(dovecot.port), imap_password="wrong-password")
        choose(form, inbound="maildir")
        await settle(pilot)
        assert not form.query_one("#cf-imap_host-field").display  # IMAP rows hide for a Maildir
        await pilot.press("ctrl+s")
        maildir = form.query_one("#cf-maildir_path-field", FormField)
        await until(pilot, lambda: maildir.has_error, what="the Maildir's error")
        assert maildir.error.startswith("required when the campaign receives mail from a Maildir")

        choose(form, inbound="imap")
        await pilot.press("ctrl+s")
        # The engine tries the new password before saving it: refused, under the password,
        # with the step that failed (the manual: the campaign cannot be saved so).
        password = form.query_one("#cf-imap_password-field", FormField)
        await until(pilot, lambda: password.has_error, what="the login's refusal")
        assert password.error.startswith("IMAP login failed (resolve, connect passed)")
        assert app.screen is form
        assert (await operator.test_campaign("Support")).ok  # nothing saved

        fill(form, imap_password=box.password)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        # Changing something else keeps the saved password (it is never sent back).
        form = await open_form(pilot, app, "e")
        fill(form, service_level_seconds="600")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        report = await operator.test_campaign("Support")
        assert report.ok, report

        # Leaving with unsaved changes asks first; "No" keeps the form and the text.
        form = await open_form(pilot, app, "e")
        fill(form, from_name="Someone Else")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await press(pilot, "n")
        assert app.screen is form and form.query_one("#cf-from_name", Input).value == "Someone Else"

    saved = (await operator.campaigns())[0]
    assert (saved.from_name, saved.service_level_seconds) == ("Acme Support", 600)
    assert (saved.inbound, saved.imap_port) == ("imap", dovecot.port)


async def test_a_patch_replaces_or_removes_a_password_and_switches_transport(
    operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    box = dovecot.new_mailbox("patch")
    await operator.add_campaign(box.campaign("Support", smtp_host=smtp_sink.host))
    # Unchecked (no SMTP server on port 25 here): what is stored is the test.
    set_password = CampaignPatch(smtp_password="s3cret", smtp_security="starttls", check=False)
    changed = await operator.update_campaign("Support", set_password)
    assert changed.smtp_password_set and changed.smtp_security == "starttls"
    assert changed.imap_password_set  # untouched
    no_password = CampaignPatch(smtp_password="", check=False)
    removed = await operator.update_campaign("Support", no_password)
    assert not removed.smtp_password_set and removed.imap_password_set

    with pytest.raises(Invalid, match="^maildir_path: required"):
        await operator.update_campaign("Support", CampaignPatch(inbound="maildir"))
    assert (await operator.campaigns())[0].inbound == "imap"  # nothing saved
    with pytest.raises(Invalid, match="^maildir_path: a full path"):
        await operator.update_campaign(
            "Support", CampaignPatch(inbound="maildir", maildir_path="Maildir")
        )
    # (It was the mailbox's user name, a relative path: the engine made that Maildir in
    # the directory the tests ran from.)
    maildir = str(tmp_path / "Maildir")
    switched = await operator.update_campaign(
        "Support", CampaignPatch(inbound="maildir", maildir_path=maildir)
    )
    assert (switched.inbound, switched.maildir_path) == ("maildir", maildir)


async def test_admin_moves_agents_between_the_agents_and_members_columns(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("members")
    await operator.add_campaign(box.campaign("Support", smtp_host=smtp_sink.host))
    for name in ("ana", "ben", "carla"):
        await operator.add_user(UserIn(username=name, display_name=name.title()))
    await operator.add_member("Support", "carla")
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        # The campaign's row itself ("carla" alone is also the users table's username).
        campaigns = app.screen.query_one("#campaigns", DataTable)
        await until(pilot, lambda: campaigns.row_count == 1, what="the campaign's row")
        # The users table too: the dialog offers the users the screen has loaded.
        await until(pilot, lambda: "Carla" in screen_text(app), what="the users")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MembersScreen), what="members")
        screen = app.screen
        agents = screen.query_one("#members-agents", SelectionList)
        members = screen.query_one("#members-members", SelectionList)
        assert [agents.get_option_at_index(i).value for i in range(agents.option_count)] == [
            "ana",
            "ben",
        ]
        await pilot.press("space", "down", "space")  # tick ana and ben
        await pilot.click("#members-add")
        await until(pilot, lambda: members.option_count == 3, what="three members")
        assert agents.option_count == 0

        members.focus()
        # Members stand in their order on the campaign: carla (added first), ana, ben.
        assert [members.get_option_at_index(i).value for i in range(3)] == [
            ("Support", "carla"),
            ("Support", "ana"),
            ("Support", "ben"),
        ]
        await pilot.press("space")  # the first member: carla
        await pilot.press("minus")
        await until(pilot, lambda: members.option_count == 2, what="carla removed")
        assert agents.option_count == 1
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back")
        await until(pilot, lambda: "ana, ben" in screen_text(app), what="the members listed")
    assert (await operator.campaigns())[0].members == ["ana", "ben"]


async def test_admin_adds_and_changes_users_in_a_form(
    engine: Engine, operator: EngineClient
) -> None:
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UserForm), what="the user form")
        form = app.screen
        login = form.query_one("#uf-username-field", FormField)
        login.input.value = "Not A Login"
        form.query_one("#uf-display_name", Input).value = "Sam Lee"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: login.has_error, what="the login's error")
        assert login.error.startswith("must be a login name")
        login.input.value = "sam"
        form.query_one("#uf-role-agent", Checkbox).value = False
        form.query_one("#uf-role-supervisor", Checkbox).value = True
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        await until(pilot, lambda: "Sam Lee" in screen_text(app), what="listed")

        users = app.screen.query_one("#users", DataTable)
        users.focus()
        users.move_cursor(row=users.get_row_index("sam"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, UserForm), what="the user form")
        form = app.screen
        assert form.query_one("#uf-username", Input).disabled
        form.query_one("#uf-role-supervisor", Checkbox).value = False
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "at least one role" in screen_text(app), what="the refusal")
        form.query_one("#uf-role-admin", Checkbox).value = True
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    sam = next(u for u in await operator.users() if u.username == "sam")
    assert (sam.display_name, sam.roles) == ("Sam Lee", ["admin"])


async def test_a_user_patch_changes_only_what_it_names(operator: EngineClient) -> None:
    await operator.add_user(UserIn(username="ana", display_name="Ana", roles=["agent"]))
    changed = await operator.update_user("ana", UserPatch(roles=["agent", "supervisor"]))
    assert (changed.display_name, changed.roles) == ("Ana", ["agent", "supervisor"])
    with pytest.raises(Invalid, match="^roles: must"):
        await operator.update_user("ana", UserPatch(roles=[]))
    with pytest.raises(NotFound):
        await operator.update_user("nobody", UserPatch(display_name="X"))


async def test_admin_writes_edits_and_deletes_templates(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("templates")
    await operator.add_campaign(box.campaign("Support", smtp_host=smtp_sink.host))
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaign")
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TemplatesScreen), what="templates")
        listing = app.screen

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TemplateForm), what="the form")
        form = app.screen
        form.query_one("#tf-name-field", FormField).input.value = "Signed"
        choose_in(form, **{"tf-campaign": "Support", "tf-kind": "signature"})
        form.query_one("#tf-body", TextArea).load_text("Regards, ${agent}\nOrder ${order}")
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: "${order} will not be filled in" in screen_text(app), what="warn"
        )
        assert app.screen is form
        await pilot.press("ctrl+s")  # saved as it is, on the second asking
        await until(pilot, lambda: app.screen is listing, what="saved")
        await until(pilot, lambda: "Signed" in screen_text(app), what="listed")

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TemplateForm), what="the form")
        form = app.screen
        assert form.query_one("#tf-body", TextArea).text == "Regards, ${agent}\nOrder ${order}"
        form.query_one("#tf-body", TextArea).load_text("Regards, ${agent}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is listing, what="saved")

        await operator.update_campaign("Support", CampaignPatch(signature_template="Signed"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await until(
            pilot,
            lambda: "Not deleted: template 'Signed' is the signature" in screen_text(app),
            what="refusal",
        )
        await operator.update_campaign("Support", CampaignPatch(signature_template=""))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await until(pilot, lambda: "Signed" not in screen_text(app), what="deleted")
    assert await operator.templates() == []


def choose_in(screen: object, **values: str) -> None:
    for widget_id, value in values.items():
        screen.query_one(f"#{widget_id}", Select).value = value  # type: ignore[attr-defined]


async def test_a_template_in_use_keeps_its_campaign_and_kind(
    operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("inuse")
    await operator.add_campaign(box.campaign("Support", smtp_host=smtp_sink.host))
    await operator.add_campaign(box.campaign("Sales", smtp_host=smtp_sink.host))
    sig = TemplateIn(name="Sig", campaign="Support", kind="signature", body_text="Support")
    saved = await operator.add_template(sig)
    await operator.update_campaign("Support", CampaignPatch(signature_template="Sig"))
    for moved in ({"campaign": "Sales"}, {"kind": "reply"}):
        with pytest.raises(Invalid, match="is the signature or confirmation of 'Support'"):
            await operator.replace_template(saved.id, structs.replace(sig, **moved))
    edited = await operator.replace_template(saved.id, structs.replace(sig, body_text="Team"))
    assert (edited.campaign, edited.kind, edited.body_text) == ("Support", "signature", "Team")
    with pytest.raises(Invalid, match="choose another there first"):
        await operator.delete_template(saved.id)


async def test_names_with_markup_show_as_typed_in_the_forms(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """Template and campaign names are free text: `[/]` used to crash a Select prompt."""
    box = dovecot.new_mailbox("markup")
    await operator.add_campaign(box.campaign("Sup[/]port", smtp_host=smtp_sink.host))
    hostile = "[red]Sig[/] [/]"
    await operator.add_template(TemplateIn(name=hostile, kind="signature", body_text="x"))
    await operator.update_campaign("Sup[/]port", CampaignPatch(signature_template=hostile))
    app = await admin_console(engine, operator)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Sup[/]port" in screen_text(app), what="the campaign")
        form = await open_form(pilot, app, "enter")
        form.query_one("#cf-signature_template", Select).scroll_visible(animate=False)
        await until(pilot, lambda: hostile in screen_text(app), what="the name as typed")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back")
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TemplatesScreen), what="templates")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TemplateForm), what="the form")
        await until(pilot, lambda: "(every campaign)" in screen_text(app), what="its campaign")
        assert hostile in screen_text(app)


async def test_admin_turns_on_rating_in_the_campaign_form(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """The manual's "Enable qualification", "Motivation to qualify" and "Thanks for rating",
    and the tracking image of replies."""
    box = dovecot.new_mailbox("rating")
    await operator.add_campaign(box.campaign("Support", smtp_host=smtp_sink.host))
    app = await admin_console(engine, operator)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaign")
        form = await open_form(pilot, app, "enter")
        assert not form.query_one("#cf-qualification_enabled", Checkbox).value
        form.query_one("#cf-qualification_enabled", Checkbox).value = True
        form.query_one("#cf-track_replies", Checkbox).value = True
        fill(
            form,
            qualification_motivation="How did we do?",
            qualification_thanks="Thanks, it helps us.",
        )
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    [saved] = await operator.campaigns()
    assert saved.qualification_enabled and saved.track_replies
    assert (saved.qualification_motivation, saved.qualification_thanks) == (
        "How did we do?",
        "Thanks, it helps us.",
    )
