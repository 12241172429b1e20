"""Admin: one email campaign in a form, to add it or change it.

The manual's campaign screen: the mailbox it reads (IMAP, a Maildir, or none), the SMTP account
it sends with, the limits routing applies and where mail over the queue limit goes, the
schedule (time zone, weekly hours and dated exceptions, `+` adds and `-` removes a row), the
signature and the automatic answers. Fields and their order: `campaign_fields.py`.
The engine checks everything; its refusal names the field it is about in `field` (`imap_port`
for `imap_port: must be at most 65535`; the form's fields are the wire's, by key) and the form
puts the message under that field and moves the cursor there, keeping what the admin typed.
Passwords are write-only: the form shows whether one is saved and sends one only when the
admin typed it. Workers post what they found (`console/messages.py`), handled with `@on`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label
from textual.worker import Worker, WorkerState

from engine.api.schedule_text import (
    exception_text,
    parse_exception,
    parse_window,
    window_text,
)
from engine.api.schemas import CampaignIn, CampaignOut, CampaignPatch, convert
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import CampaignSaved, CampaignsLoaded, TemplatesLoaded
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, refusal, refused_field, said_under
from ..widgets.pick_list import PickList
from ..widgets.row_list import RowList
from .campaign_fields import (
    AFTER_CREATE,
    HOLD,
    NEW_ONLY,
    NO_TEMPLATE,
    REQUIRED,
    SECTIONS,
    SPECS,
    TEMPLATE_KINDS,
    Spec,
    initial_values,
    time_zone_problem,
)
from .confirm import ConfirmScreen

ROWS = {
    "schedule": dict(
        parse=parse_window,
        show=window_text,
        example="mon-fri 09:00-17:00",
        empty="none: always open",
    ),
    "schedule_exceptions": dict(
        parse=parse_exception,
        show=exception_text,
        example="2026-12-25 closed Christmas",
        empty="none",
    ),
}


# Changing one of these makes the engine try the campaign's login before saving.
LOGIN_PREFIXES = ("imap_", "smtp_", "receive_emails", "inbound", "tls_verify", "email_address")


class CampaignForm(ModalScreen[CampaignOut | None]):
    """Returns the campaign as the engine saved it, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="campaign.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="campaign.cancel"),
        # OAuth2 sign-in of the mailbox (issue 17): oauth_screen.py
        Binding("ctrl+o", "oauth", "Sign-in", id="campaign.oauth", priority=True),
    ]

    def __init__(self, api: EngineClient, campaign: CampaignOut | None = None) -> None:
        super().__init__()
        self.api = api
        self.campaign = campaign
        self.initial = initial_values(campaign)
        self.saving = False
        self.created: CampaignOut | None = None  # added by this form, whatever happens next
        self.error_key = ""  # the field the bottom error line is about

    # ---- layout ----

    def compose(self) -> ComposeResult:
        title = f"Campaign {self.campaign.name}" if self.campaign else "New campaign"
        with Vertical(id="campaign-dialog"):
            yield Label(Text(one_line(title, 70)), classes="dialog-title")
            with VerticalScroll(id="campaign-fields"):
                for section, specs in SECTIONS:
                    yield Label(section, classes="form-section")
                    for spec in specs:
                        yield from self.field(spec)
            yield DialogError(id="campaign-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="campaign-save", variant="primary", compact=True)
                yield Button("Cancel", id="campaign-cancel", compact=True)
        yield Footer(compact=True)

    def field(self, spec: Spec) -> ComposeResult:
        value = self.initial[spec.key]
        classes = f"campaign-row section-{spec.section}" if spec.section else "campaign-row"
        if spec.kind == "check":
            yield Checkbox(spec.label, bool(value), id=f"cf-{spec.key}", compact=True)
        elif spec.kind == "rows":
            rows = RowList(
                spec.label, list_id=f"cf-{spec.key}", values=value, wire_name=spec.key,
                **ROWS[spec.key],  # type: ignore[arg-type]
            )  # fmt: skip
            rows.add_class(*classes.split())
            yield rows
        elif spec.kind == "choice":
            with Horizontal(id=f"cf-{spec.key}-field", classes=f"choice-row {classes}"):
                yield Label(spec.label, markup=False)
                options: list[tuple[Text, str]] = [(Text(c), c) for c in spec.choices]
                if spec.key in TEMPLATE_KINDS or spec.key == "overflow_campaign":
                    # Names are typed by admins: shown as text, never as markup.
                    options = [self.nothing(spec.key)]
                    if value:
                        options.append((Text(one_line(value, 60)), value))
                yield PickList(
                    options,
                    value=value,
                    allow_blank=False,
                    id=f"cf-{spec.key}",
                    compact=True,
                )
        else:
            placeholder = spec.placeholder
            if spec.kind == "password":
                placeholder = self.password_hint(spec.key)
            field = FormField(
                spec.label,
                input_id=f"cf-{spec.key}",
                value="" if value is None else str(value),
                placeholder=placeholder,
                disabled=self.campaign is not None and spec.key in NEW_ONLY,
            )
            field.add_class(*classes.split())
            yield field

    @staticmethod
    def nothing(key: str) -> tuple[Text, str]:
        """The first choice of a picker of names: none, or hold in this queue."""
        if key == "overflow_campaign":
            return Text("(hold in this queue)"), HOLD
        return Text("(none)"), NO_TEMPLATE

    def password_hint(self, key: str) -> str:
        saved = self.campaign is not None and getattr(self.campaign, f"{key}_set", False)
        return "saved; type to replace" if saved else "none"

    def on_mount(self) -> None:
        for key in [k for k, spec in SPECS.items() if spec.kind == "number"]:
            self.query_one(f"#cf-{key}", Input).type = "integer"
        for key in ("imap_password", "smtp_password"):
            self.query_one(f"#cf-{key}", Input).password = True
        self.show_sections()
        first = "email_address" if self.campaign is not None else "name"
        self.query_one(f"#cf-{first}", Input).focus()
        self.load_templates()
        self.load_campaigns()

    # ---- what the pickers offer: each worker posts what it got ----
    @work(exclusive=True, group="templates", exit_on_error=False)
    async def load_templates(self) -> None:
        self.post_message(TemplatesLoaded(await self.api.templates()))

    @work(exclusive=True, group="campaigns", exit_on_error=False)
    async def load_campaigns(self) -> None:
        self.post_message(CampaignsLoaded(await self.api.campaigns()))

    @on(TemplatesLoaded)
    def offer_templates(self, message: TemplatesLoaded) -> None:
        """Fill the template pickers with the templates that may serve: this campaign's own
        and the global ones, of the matching kind."""
        own = self.campaign.name if self.campaign else None
        for key, kind in TEMPLATE_KINDS.items():
            names = {
                t.name for t in message.templates if t.kind == kind and t.campaign in (None, own)
            }
            self.offer(key, names)

    @on(CampaignsLoaded)
    def offer_campaigns(self, message: CampaignsLoaded) -> None:
        """Overflow goes to another campaign, never to this one."""
        own = self.campaign.name if self.campaign else None
        self.offer("overflow_campaign", {c.name for c in message.campaigns if c.name != own})

    def offer(self, key: str, names: set[str]) -> None:
        select: PickList[str] = self.query_one(f"#cf-{key}", PickList)
        current = select.value if isinstance(select.value, str) else NO_TEMPLATE
        choices = sorted(names)
        if current and current not in choices:
            choices.append(current)
        select.set_options([self.nothing(key), *((Text(one_line(n, 60)), n) for n in choices)])
        select.value = current

    def section_shown(self, section: str) -> bool:
        receiving = self.query_one("#cf-receive_emails", Checkbox).value
        return receiving and self.query_one("#cf-inbound", PickList).value == section

    @on(PickList.Changed, "#cf-inbound")
    @on(Checkbox.Changed, "#cf-receive_emails")
    def show_sections(self) -> None:
        """IMAP fields only for IMAP, the Maildir path only for a Maildir."""
        for section in ("imap", "maildir"):
            shown = self.section_shown(section)
            for row in self.query(f".section-{section}"):
                row.display = shown

    @on(Input.Changed, "#cf-time_zone")
    def check_time_zone(self, event: Input.Changed) -> None:
        """Said while typing: the engine would refuse the same names."""
        field = self.query_one("#cf-time_zone-field", FormField)
        if (wrong := time_zone_problem(event.value.strip())) is not None:
            field.show_error(wrong)
        else:
            field.clear_error()

    # ---- values ----

    def entered(self) -> dict[str, Any]:
        """Every shown field as typed, in wire types; numbers not given are None. Rows hidden
        for another transport keep their saved values: what was typed there is not sent."""
        values: dict[str, Any] = {}
        for key, spec in SPECS.items():
            if spec.section and not self.section_shown(spec.section):
                values[key] = self.initial[key]
                continue
            if spec.kind == "rows":
                values[key] = list(self.query_one(f"#cf-{key}-field", RowList).values)
                continue
            widget = self.query_one(f"#cf-{key}")
            if isinstance(widget, Checkbox):
                values[key] = widget.value
            elif isinstance(widget, PickList):
                values[key] = widget.value if isinstance(widget.value, str) else NO_TEMPLATE
            elif isinstance(widget, Input):
                text = widget.value if spec.kind == "password" else widget.value.strip()
                if spec.kind == "number":
                    values[key] = int(text) if text.lstrip("-").isdigit() else None
                else:
                    values[key] = text
        return values

    def changes(self) -> dict[str, Any]:
        """What differs from what the form showed first (a typed password always counts)."""
        entered = self.entered()
        return {key: value for key, value in entered.items() if value != self.initial[key]}

    def problem(self) -> tuple[str, str] | None:
        """What the form can tell before asking the engine, as (field, what is wrong): a
        name, an address and numbers left empty, a time zone that is none."""
        entered = self.entered()
        for key in REQUIRED:
            if not entered[key]:
                return key, "required"
        if entered["confirmation_enabled"] and not entered["confirmation_template"]:
            return "confirmation_template", "choose the template auto-confirmation sends"
        for key, spec in SPECS.items():
            if spec.kind != "number" or entered[key] is not None:
                continue
            if self.query_one(f"#cf-{key}-field").display:  # hidden rows are not sent
                return key, "a whole number is needed"
        if (wrong := time_zone_problem(entered["time_zone"])) is not None:
            return "time_zone", wrong
        return None

    def add_typed_rows(self) -> tuple[str, str] | None:
        """A row typed but not added yet is meant: added now, or (field, why not)."""
        for rows in self.query(RowList):
            if rows.entry.value.strip() and not rows.add_typed():
                return rows.wire_name, rows.error
        return None

    # ---- saving ----

    @on(Button.Pressed, "#campaign-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.clear_errors()
        if (problem := self.add_typed_rows() or self.problem()) is not None:
            key, wrong = problem
            self.show_error(f"{key}: {wrong}", key)
            return
        if self.campaign is not None and not self.changes():
            self.dismiss(None)
            return
        self.saving = True
        if self.campaign is None or any(k.startswith(LOGIN_PREFIXES) for k in self.changes()):
            # The engine tries the logins before it saves: a slow server takes seconds.
            self.notify("Trying the mail servers' logins before saving…", markup=False)
        self.submit()

    @work(exclusive=True, group="save", exit_on_error=False)
    async def submit(self) -> None:
        self.post_message(CampaignSaved(await self.save()))

    async def save(self) -> CampaignOut:
        if self.campaign is None:
            values = {k: v for k, v in self.entered().items() if v is not None}
            # Templates and the overflow campaign are a campaign's settings, not part of
            # creating one: set right after.
            after = {k: values.pop(k) for k in AFTER_CREATE}
            created = await self.api.add_campaign(convert(values, CampaignIn))
            chosen = {k: v for k, v in after.items() if v}
            if not chosen:
                return created
            # From here on the campaign exists: should setting its replies be refused, the
            # form goes on as an edit of it (a second Save must not add it again).
            self.campaign = self.created = created
            self.initial = initial_values(created)
            return await self.api.update_campaign(created.name, convert(chosen, CampaignPatch))
        patch = convert(self.changes(), CampaignPatch)
        return await self.api.update_campaign(self.campaign.name, patch)

    @on(CampaignSaved)
    def _saved(self, message: CampaignSaved) -> None:
        self.dismiss(message.campaign)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        if worker.group == "save":
            self.saving = False
            field = refused_field(worker.error)
            self.show_error(refusal(self.app, worker), field)
            if self.campaign is None and field and field.endswith("_password"):
                # Gmail and Microsoft 365 refuse passwords: their mailboxes sign in instead.
                self.notify(
                    "A Gmail or Microsoft 365 mailbox? ctrl+o saves the campaign and opens "
                    "its OAuth2 sign-in.",
                    markup=False,
                    timeout=8,
                )
        # A picker that could not be filled keeps what it shows: nothing to say here.

    def clear_errors(self) -> None:
        for field in self.query(FormField):
            if field.id != "cf-time_zone-field":  # said while typing, until it is right
                field.clear_error()
        for rows in self.query(RowList):
            rows.clear_error()
        self.query_one("#campaign-error", DialogError).say("")
        self.error_key = ""

    def show_error(self, message: str, field: str | None) -> None:
        """Under the field the refusal is about (its wire name, `field`) when the form has
        it, and always at the bottom (the field may be scrolled out of sight)."""
        self.query_one("#campaign-error", DialogError).say(f"Not saved: {message}")
        # `schedule.2.start`: the third weekly window's; shown under the list of windows.
        key = field.partition(".")[0] if field else None
        if key is None or key not in SPECS:
            return
        self.error_key = key
        if SPECS[key].kind == "rows":
            rows = self.query_one(f"#cf-{key}-field", RowList)
            rows.show_error(said_under(message, field or key))
            rows.rows.focus() if rows.values else rows.entry.focus()
            rows.scroll_visible()
            return
        target = self.query_one(f"#cf-{key}")
        if isinstance(target, Input):
            self.query_one(f"#cf-{key}-field", FormField).show_error(said_under(message, key))
        target.focus()
        target.scroll_visible()

    @on(Input.Changed)
    @on(PickList.Changed)
    @on(Checkbox.Changed)
    @on(RowList.Changed)
    def _edited(
        self, event: Input.Changed | PickList.Changed | Checkbox.Changed | RowList.Changed
    ) -> None:
        # The bottom line goes with the field's own error once that field is edited.
        if self.error_key and event.control.id in (
            f"cf-{self.error_key}",
            f"cf-{self.error_key}-field",
        ):
            self.query_one("#campaign-error", DialogError).say("")
            self.error_key = ""

    # ---- leaving ----

    @on(Button.Pressed, "#campaign-cancel")
    def action_cancel(self) -> None:
        if not self.changes():
            self.dismiss(self.created)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(self.created)

        question = Text("Discard the changes to this campaign?")
        self.app.push_screen(ConfirmScreen(question, yes="Discard"), answered)

    # ---- OAuth2 sign-in (issue 17): the mailbox's provider and the device flow ----
    def action_oauth(self) -> None:
        if self.campaign is not None:
            self.open_sign_in(self.campaign.name)
            return
        # A new campaign that will sign in with OAuth2 has no password to try: it is saved
        # without the login check (what `ctl campaign add --no-check` does), then signed in;
        # the connection test tries it with a token once it is authorised.
        if self.saving:
            return
        self.clear_errors()
        if (problem := self.add_typed_rows() or self.problem()) is not None:
            key, wrong = problem
            self.show_error(f"{key}: {wrong}", key)
            return
        self.saving = True
        self.notify("Saving the campaign to sign its mailbox in with OAuth2…", markup=False)
        self.save_for_sign_in()

    @work(exclusive=True, group="save", exit_on_error=False)
    async def save_for_sign_in(self) -> None:
        values = {k: v for k, v in self.entered().items() if v is not None}
        for key in AFTER_CREATE:  # templates and overflow: left in the fields for Save
            values.pop(key, None)
        created = await self.api.add_campaign(convert({**values, "check": False}, CampaignIn))
        # From here on the form edits the saved campaign: a later Save changes it (with
        # whatever templates were chosen) rather than adding it again.
        self.campaign = self.created = created
        self.initial = initial_values(created)
        self.saving = False
        self.open_sign_in(created.name)

    def open_sign_in(self, name: str) -> None:
        from .oauth_screen import OAuthScreen  # only admins who use it pay for the import

        self.app.push_screen(OAuthScreen(self.api, name))
