"""Admin: one email campaign in a form, to add it or change it.

The manual's campaign screen: the mailbox it reads (IMAP, a Maildir, or none), the SMTP account
it sends with, the limits routing applies, the signature and the confirmation auto-reply.
The engine checks everything; its refusal names the field it is about in `field` (`imap_port`
for `imap_port: must be at most 65535`; the form's fields are the wire's, by key) and the form
puts the message under that field and moves the cursor there, keeping what the admin typed.
Passwords are write-only: the form shows whether one is saved and sends one only when the
admin typed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select
from textual.worker import Worker, WorkerState

from engine.api.schemas import (
    Availability,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    Delivery,
    TemplateOut,
    convert,
)
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, refusal, refused_field, said_under
from .confirm import ConfirmScreen

Kind = Literal["text", "number", "password", "check", "choice"]
NO_TEMPLATE = ""


@dataclass(frozen=True)
class Spec:
    """One field of the form: its wire name, its label and how it is edited."""

    key: str
    label: str
    kind: Kind = "text"
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    section: str = ""  # "imap" / "maildir": shown only for that inbound transport


SECTIONS: list[tuple[str, list[Spec]]] = [
    (
        "Campaign",
        [
            Spec("name", "Name"),
            Spec("email_address", "Address", placeholder="support@example.com"),
            Spec("from_name", "From name", placeholder="shown to clients, e.g. Acme Support"),
            Spec("enabled", "Enabled", "check"),
        ],
    ),
    (
        "Receiving",
        [
            Spec("receive_emails", "Receive mail", "check"),
            Spec("inbound", "From", "choice", ("imap", "maildir", "none")),
            Spec("imap_host", "IMAP host", placeholder="imap.example.com", section="imap"),
            Spec("imap_port", "IMAP port", "number", section="imap"),
            Spec(
                "imap_security", "IMAP security", "choice", ("tls", "starttls", "plain"), "", "imap"
            ),
            Spec("imap_username", "IMAP user", placeholder="default: the address", section="imap"),
            Spec("imap_password", "IMAP password", "password", section="imap"),
            Spec("imap_folder", "IMAP folder", section="imap"),
            Spec("imap_sent_folder", "Sent folder", placeholder="none: no copy", section="imap"),
            Spec("maildir_path", "Maildir", placeholder="/var/mail/support", section="maildir"),
        ],
    ),
    (
        "Sending",
        [
            Spec("smtp_host", "SMTP host", placeholder="smtp.example.com"),
            Spec("smtp_port", "SMTP port", "number"),
            Spec("smtp_security", "SMTP security", "choice", ("tls", "starttls", "plain")),
            Spec("smtp_username", "SMTP user", placeholder="none: no login"),
            Spec("smtp_password", "SMTP password", "password"),
            Spec("tls_verify", "Verify TLS", "check"),
        ],
    ),
    (
        "Routing",
        [
            Spec("availability", "Who receives", "choice", get_args(Availability)),
            Spec("delivery", "Order", "choice", get_args(Delivery)),
            Spec("max_interactions_per_agent", "Max per agent", "number"),
            Spec("max_interactions_in_queue", "Max in queue", "number", placeholder="0: no limit"),
            Spec("service_level_seconds", "SLA (seconds)", "number"),
        ],
    ),
    (
        "Replies",
        [
            Spec("signature_template", "Signature", "choice"),
            Spec("confirmation_enabled", "Auto-confirm", "check"),
            Spec("confirmation_template", "Confirmation", "choice"),
        ],
    ),
    (
        # The manual's "Enable qualification", "Motivation to qualify", "Thanks for rating".
        "Rating",
        [
            Spec("qualification_enabled", "Ask for rating", "check"),
            Spec("qualification_motivation", "Motivation", placeholder="How did we do?"),
            Spec("qualification_thanks", "Thanks text", placeholder="shown after rating"),
            Spec("track_replies", "Seen image", "check"),
        ],
    ),
]
SPECS = {spec.key: spec for _title, specs in SECTIONS for spec in specs}
TEMPLATE_KINDS = {"signature_template": "signature", "confirmation_template": "confirmation"}
# Only when adding: a campaign keeps its name (the inbox, the recordings and scripts use it).
NEW_ONLY = {"name"}
REQUIRED = ("name", "email_address", "smtp_host")


def initial_values(campaign: CampaignOut | None) -> dict[str, Any]:
    """What each field shows first: the campaign as saved, or the defaults of a new one."""
    source: Any = campaign if campaign is not None else CampaignIn(name="", email_address="")
    values = {key: getattr(source, key, None) for key in SPECS}
    for key, value in values.items():
        if isinstance(value, str) and SPECS[key].kind == "text":
            values[key] = value.strip()  # as the form reads them back
    values["imap_password"] = values["smtp_password"] = ""
    for key in TEMPLATE_KINDS:
        values[key] = values[key] or NO_TEMPLATE
    for key in ("confirmation_enabled", "qualification_enabled", "track_replies"):
        values[key] = bool(values[key])
    return values


class CampaignForm(ModalScreen[CampaignOut | None]):
    """Returns the campaign as the engine saved it, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="campaign.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="campaign.cancel"),
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
        elif spec.kind == "choice":
            with Horizontal(id=f"cf-{spec.key}-field", classes=f"choice-row {classes}"):
                yield Label(spec.label, markup=False)
                options: list[tuple[Text, str]] = [(Text(c), c) for c in spec.choices]
                if spec.key in TEMPLATE_KINDS:
                    # Names are typed by admins: shown as text, never as markup.
                    options = [(Text("(none)"), NO_TEMPLATE)]
                    if value:
                        options.append((Text(one_line(value, 60)), value))
                yield Select(
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
        self.run_worker(self.api.templates(), group="templates", exit_on_error=False)

    def offer_templates(self, templates: list[TemplateOut]) -> None:
        """Fill the signature and confirmation pickers with the templates that may serve:
        this campaign's own and the global ones, of the matching kind."""
        own = self.campaign.name if self.campaign else None
        for key, kind in TEMPLATE_KINDS.items():
            select: Select[str] = self.query_one(f"#cf-{key}", Select)
            names = sorted(
                {t.name for t in templates if t.kind == kind and t.campaign in (None, own)}
            )
            current = select.value if isinstance(select.value, str) else NO_TEMPLATE
            if current and current not in names:
                names.append(current)
            select.set_options(
                [(Text("(none)"), NO_TEMPLATE), *((Text(one_line(n, 60)), n) for n in names)]
            )
            select.value = current

    def section_shown(self, section: str) -> bool:
        receiving = self.query_one("#cf-receive_emails", Checkbox).value
        return receiving and self.query_one("#cf-inbound", Select).value == section

    @on(Select.Changed, "#cf-inbound")
    @on(Checkbox.Changed, "#cf-receive_emails")
    def show_sections(self) -> None:
        """IMAP fields only for IMAP, the Maildir path only for a Maildir."""
        for section in ("imap", "maildir"):
            shown = self.section_shown(section)
            for row in self.query(f".section-{section}"):
                row.display = shown

    # ---- values ----

    def entered(self) -> dict[str, Any]:
        """Every shown field as typed, in wire types; numbers not given are None. Rows hidden
        for another transport keep their saved values: what was typed there is not sent."""
        values: dict[str, Any] = {}
        for key, spec in SPECS.items():
            if spec.section and not self.section_shown(spec.section):
                values[key] = self.initial[key]
                continue
            widget = self.query_one(f"#cf-{key}")
            if isinstance(widget, Checkbox):
                values[key] = widget.value
            elif isinstance(widget, Select):
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
        name, an address and numbers left empty."""
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
        return None

    # ---- saving ----

    @on(Button.Pressed, "#campaign-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.clear_errors()
        if (problem := self.problem()) is not None:
            key, wrong = problem
            self.show_error(f"{key}: {wrong}", key)
            return
        if self.campaign is not None and not self.changes():
            self.dismiss(None)
            return
        self.saving = True
        self.run_worker(self.submit(), group="save", exit_on_error=False)

    async def submit(self) -> CampaignOut:
        if self.campaign is None:
            values = {k: v for k, v in self.entered().items() if v is not None}
            # Templates are a campaign's settings, not part of creating one: set right after.
            replies = {k: values.pop(k) for k in (*TEMPLATE_KINDS, "confirmation_enabled")}
            created = await self.api.add_campaign(convert(values, CampaignIn))
            chosen = {k: v for k, v in replies.items() if v}
            if not chosen:
                return created
            # From here on the campaign exists: should setting its replies be refused, the
            # form goes on as an edit of it (a second Save must not add it again).
            self.campaign = self.created = created
            self.initial = initial_values(created)
            return await self.api.update_campaign(created.name, convert(chosen, CampaignPatch))
        patch = convert(self.changes(), CampaignPatch)
        return await self.api.update_campaign(self.campaign.name, patch)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "templates":
            if event.state is WorkerState.SUCCESS and isinstance(worker.result, list):
                self.offer_templates(worker.result)
            return
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, CampaignOut):
            self.dismiss(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            self.show_error(refusal(self.app, worker), refused_field(worker.error))

    def clear_errors(self) -> None:
        for field in self.query(FormField):
            field.clear_error()
        self.query_one("#campaign-error", DialogError).say("")
        self.error_key = ""

    def show_error(self, message: str, field: str | None) -> None:
        """Under the field the refusal is about (its wire name, `field`) when the form has
        it, and always at the bottom (the field may be scrolled out of sight)."""
        self.query_one("#campaign-error", DialogError).say(f"Not saved: {message}")
        if field is None or field not in SPECS:
            return
        self.error_key = field
        target = self.query_one(f"#cf-{field}")
        if isinstance(target, Input):
            self.query_one(f"#cf-{field}-field", FormField).show_error(said_under(message, field))
        target.focus()
        target.scroll_visible()

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        # The bottom line goes with the field's own error once that field is edited.
        if self.error_key and event.control.id == f"cf-{self.error_key}":
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
