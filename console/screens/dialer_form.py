"""Admin: one email dialer in a form, to add it or change it (the manual's "Email Dialer").

Every field the engine keeps: the email campaign it sends through (a pick list), the time
between two messages, when it sends (time zone, weekly windows added with `+` and removed
with `-` as in the campaign form, a date range), the dialer template (a pick list with a
preview of its text), the unsubscribe HTML (typed here, or `ctrl+e` in `$EDITOR`; a missing
`<a id="unsubscribe_link">` is pointed out under it while typing), the attach schedule (an
iCalendar invitation: title, organizer, start and end fixed or `${variable}`) and the caps of
the campaign's SMTP account. The engine checks everything and its refusal lands under the
field its `field` names (fields: `dialer_fields.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from engine.api.schedule_text import parse_window, window_text
from engine.api.schemas import DialerIn, DialerOut, DialerPatch, TemplateOut, convert
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..editor import EditorFailed, edit_text
from ..messages import CampaignsLoaded, TemplatesLoaded
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, refusal, refused_field, said_under
from ..widgets.pick_list import PickList
from ..widgets.row_list import RowList
from .confirm import ConfirmScreen
from .dialer_fields import (
    CAPS,
    DIALER,
    EVENT,
    NO_TEMPLATE,
    TEXT_FIELDS,
    WHEN,
    Spec,
    field_id,
    initial_values,
    unsubscribe_warning,
    wire_values,
)

# Fields that are not a FormField: where their refusal is written, and what gets the cursor.
OTHER = {
    "campaign": ("#dlf-campaign-error", "#dlf-campaign"),
    "template": ("#dlf-template-error", "#dlf-template"),
    "unsubscribe_html": ("#dlf-unsubscribe-error", "#dlf-unsubscribe"),
    "event": ("#dlf-event-error", "#dlf-attach"),
}
PREVIEW_LINES = 5


@dataclass
class DialerSaved(Message, bubble=False):
    dialer: DialerOut


class DialerForm(ModalScreen[DialerOut | None]):
    """Returns the dialer as the engine saved it, or None when cancelled."""

    DEFAULT_CSS = """
    DialerForm { align: center middle; }
    #dialer-dialog {
        width: 90;
        max-width: 100%;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #dialer-fields { height: 1fr; }
    #dialer-dialog .form-section {
        margin-top: 1;
        color: $text-accent;
        text-style: bold underline;
    }
    #dialer-dialog FormField Label, #dialer-dialog .choice-row Label,
    #dialer-dialog RowList Label, #dialer-dialog .side-label {
        width: 17;
        text-style: bold;
    }
    #dialer-dialog FormField .field-error { padding-left: 17; }
    #dialer-dialog .choice-row { height: 1; }
    #dialer-dialog .choice-row PickList { width: 1fr; max-width: 50; }
    #dialer-dialog RowList Rows { width: 40; }
    #dialer-dialog RowList .rows-entry Input { width: 40; max-width: 1fr; }
    #dialer-dialog .under {
        padding-left: 17;
        color: $text-muted;
        height: auto;
    }
    #dialer-dialog .under-error {
        padding-left: 17;
        color: $text-error;
        display: none;
    }
    #dialer-dialog .under-error.-shown { display: block; }
    #dlf-unsubscribe-warning { padding-left: 17; color: $text-warning; }
    #dlf-unsubscribe-row { height: auto; }
    #dlf-unsubscribe { height: 5; width: 1fr; }
    #dialer-dialog Checkbox { margin-left: 16; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="dialer-form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="dialer-form.cancel"),
        Binding("ctrl+e", "edit_html", "HTML in $EDITOR", id="dialer-form.editor", priority=True),
    ]

    def __init__(self, api: EngineClient, dialer: DialerOut | None = None) -> None:
        super().__init__()
        self.api = api
        self.dialer = dialer
        self.initial = initial_values(dialer)
        self.templates: list[TemplateOut] = []
        self.saving = False

    # ---- layout ----
    def compose(self) -> ComposeResult:
        title = f"Dialer {self.dialer.name}" if self.dialer else "New dialer"
        with Vertical(id="dialer-dialog"):
            yield Label(Text(one_line(title, 70)), classes="dialog-title")
            with VerticalScroll(id="dialer-fields"):
                yield Label("Dialer", classes="form-section")
                yield from self.text_field(DIALER[0])
                yield from self.choice("campaign", "Campaign")
                yield from self.text_field(DIALER[1])
                yield Label("When it sends", classes="form-section")
                yield from self.text_field(WHEN[0])
                yield RowList(
                    "Weekly hours",
                    list_id="dlf-schedule",
                    values=self.initial["schedule"],
                    wire_name="schedule",
                    parse=parse_window,
                    show=window_text,
                    example="mon-fri 09:00-17:00",
                    empty="none: any hour of its days",
                )
                for spec in WHEN[1:]:
                    yield from self.text_field(spec)
                yield Label("Message", classes="form-section")
                yield from self.choice("template", "Template")
                yield Static("", id="dlf-template-preview", classes="under", markup=False)
                with Horizontal(id="dlf-unsubscribe-row"):
                    yield Label("Unsubscribe HTML", classes="side-label")
                    yield TextArea(
                        self.initial["unsubscribe_html"], id="dlf-unsubscribe", language=None
                    )
                yield Static(
                    "empty: the engine's default block · ctrl+e: $EDITOR",
                    classes="under",
                    markup=False,
                )
                yield Static("", id="dlf-unsubscribe-warning", markup=False)
                yield Static("", id="dlf-unsubscribe-error", classes="under-error", markup=False)
                yield Label("Attach schedule (an invitation)", classes="form-section")
                yield Checkbox(
                    "Attach an event", self.initial["event.attach"], id="dlf-attach", compact=True
                )
                yield Static("", id="dlf-event-error", classes="under-error", markup=False)
                for spec in EVENT:
                    yield from self.text_field(spec, classes="event-row")
                yield Label("Caps of the campaign's SMTP account", classes="form-section")
                account = self.dialer.smtp_account if self.dialer else "that account"
                yield Static(
                    f"Shared by all dialers of {one_line(account, 50)} · 0: none",
                    classes="under",
                    markup=False,
                )
                for spec in CAPS:
                    yield from self.text_field(spec)
            yield DialogError(id="dialer-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="dialer-save", variant="primary", compact=True)
                yield Button("Cancel", id="dialer-cancel", compact=True)
        yield Footer(compact=True)

    def text_field(self, spec: Spec, classes: str = "") -> ComposeResult:
        field = FormField(
            spec.label,
            input_id=field_id(spec.key),
            value=str(self.initial[spec.key]),
            placeholder=spec.placeholder,
            wire_name=spec.key,
        )
        if classes:
            field.add_class(classes)
        yield field

    def choice(self, key: str, label: str) -> ComposeResult:
        value = self.initial[key]
        with Horizontal(classes="choice-row"):
            yield Label(label, markup=False)
            options = [(Text("(none)"), NO_TEMPLATE)] if key == "template" else []
            if value:
                options.append((Text(one_line(value, 60)), value))
            yield PickList(
                options,
                value=value if value or key == "template" else PickList.NULL,
                allow_blank=key != "template",
                prompt="choose an email campaign",
                id=f"dlf-{key}",
                compact=True,
            )
        yield Static("", id=f"dlf-{key}-error", classes="under-error", markup=False)

    def on_mount(self) -> None:
        self.show_event_fields()
        self.check_unsubscribe()
        self.query_one("#dlf-name", Input).focus()
        self.load_campaigns()
        self.load_templates()

    # ---- pick lists ----
    @work(exclusive=True, group="campaigns", exit_on_error=False)
    async def load_campaigns(self) -> None:
        self.post_message(CampaignsLoaded(await self.api.campaigns()))

    @work(exclusive=True, group="templates", exit_on_error=False)
    async def load_templates(self) -> None:
        self.post_message(TemplatesLoaded(await self.api.templates()))

    @on(CampaignsLoaded)
    def offer_campaigns(self, message: CampaignsLoaded) -> None:
        select: PickList[str] = self.query_one("#dlf-campaign", PickList)
        current = select.value if isinstance(select.value, str) else ""
        names = sorted({c.name for c in message.campaigns if c.smtp_host} | {current} - {""})
        select.set_options([(Text(one_line(n, 60)), n) for n in names])
        if current:
            select.value = current

    @on(TemplatesLoaded)
    def _templates(self, message: TemplatesLoaded) -> None:
        self.templates = [t for t in message.templates if t.kind == "dialer"]
        self.offer_templates()

    @on(PickList.Changed, "#dlf-campaign")
    def offer_templates(self) -> None:
        """The dialer templates that may serve: the campaign's own and the global ones."""
        campaign = self.value_of("campaign")
        select: PickList[str] = self.query_one("#dlf-template", PickList)
        current = self.value_of("template")
        names = sorted({t.name for t in self.templates if t.campaign in (None, campaign)})
        if current and current not in names:
            names.append(current)
        select.set_options(
            [(Text("(none)"), NO_TEMPLATE), *((Text(one_line(n, 60)), n) for n in names)]
        )
        select.value = current
        self.show_preview()

    @on(PickList.Changed, "#dlf-template")
    def show_preview(self) -> None:
        name, campaign = self.value_of("template"), self.value_of("campaign")
        found = [t for t in self.templates if t.name == name and t.campaign in (None, campaign)]
        preview = self.query_one("#dlf-template-preview", Static)
        if not name:
            preview.update(Text("No template: each row's message column is the body."))
            return
        if not found:
            preview.update(Text("(not a dialer template of this campaign)"))
            return
        template = sorted(found, key=lambda t: t.campaign is None)[0]
        lines = template.body_text.splitlines() or ["(empty text part)"]
        shown = [one_line(line, 70) for line in lines[:PREVIEW_LINES]]
        if len(lines) > PREVIEW_LINES:
            shown.append(f"… {len(lines) - PREVIEW_LINES} more lines")
        preview.update(Text("\n".join(shown), style="italic"))

    def value_of(self, key: str) -> str:
        value = self.query_one(f"#dlf-{key}", PickList).value
        return value if isinstance(value, str) else ""

    # ---- said while typing ----
    @on(Checkbox.Changed, "#dlf-attach")
    def show_event_fields(self) -> None:
        shown = self.query_one("#dlf-attach", Checkbox).value
        for row in self.query(".event-row"):
            row.display = shown

    @on(TextArea.Changed, "#dlf-unsubscribe")
    def check_unsubscribe(self) -> None:
        warning = unsubscribe_warning(self.query_one("#dlf-unsubscribe", TextArea).text)
        line = self.query_one("#dlf-unsubscribe-warning", Static)
        line.update(Text(warning))
        line.display = bool(warning)
        self.query_one("#dlf-unsubscribe-error", Static).remove_class("-shown")

    def action_edit_html(self) -> None:
        area = self.query_one("#dlf-unsubscribe", TextArea)
        try:
            text = edit_text(self.app, area.text, suffix=".html")
        except EditorFailed as exc:
            self.query_one("#dialer-error", DialogError).say(str(exc))
            return
        area.load_text(text.rstrip("\n"))
        area.focus()

    # ---- values ----
    def entered(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            spec.key: self.query_one(f"#{field_id(spec.key)}", Input).value.strip()
            for spec in TEXT_FIELDS
        }
        values["campaign"] = self.value_of("campaign")
        values["template"] = self.value_of("template")
        values["schedule"] = list(self.query_one("#dlf-schedule-field", RowList).values)
        values["unsubscribe_html"] = self.query_one("#dlf-unsubscribe", TextArea).text
        values["event.attach"] = self.query_one("#dlf-attach", Checkbox).value
        return values

    def changes(self) -> dict[str, Any]:
        now, before = wire_values(self.entered()), wire_values(self.initial)
        return {key: value for key, value in now.items() if value != before[key]}

    # ---- saving ----
    @on(Button.Pressed, "#dialer-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.clear_errors()
        rows = self.query_one("#dlf-schedule-field", RowList)
        if rows.entry.value.strip() and not rows.add_typed():
            self.show_error(f"schedule: {rows.error}", "schedule")
            return
        if not self.value_of("campaign"):
            self.show_error("campaign: choose the email campaign it sends through", "campaign")
            return
        if self.dialer is not None and not self.changes():
            self.dismiss(None)
            return
        self.saving = True
        self.submit()

    @work(exclusive=True, group="save", exit_on_error=False)
    async def submit(self) -> None:
        if self.dialer is None:
            saved = await self.api.add_dialer(convert(wire_values(self.entered()), DialerIn))
        else:
            patch = convert(self.changes(), DialerPatch)
            saved = await self.api.update_dialer(self.dialer.name, patch)
        self.post_message(DialerSaved(saved))

    @on(DialerSaved)
    def _saved(self, message: DialerSaved) -> None:
        self.dismiss(message.dialer)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "save" and event.state is WorkerState.ERROR:
            self.saving = False
            self.show_error(refusal(self.app, worker), refused_field(worker.error))

    def clear_errors(self) -> None:
        for field in self.query(FormField):
            field.clear_error()
        self.query_one("#dlf-schedule-field", RowList).clear_error()
        for error_id, _target in OTHER.values():
            self.query_one(error_id, Static).remove_class("-shown")
        self.query_one("#dialer-error", DialogError).say("")

    def show_error(self, message: str, field: str | None) -> None:
        """Under the field the refusal is about, and always at the bottom (the field may be
        scrolled out of sight)."""
        self.query_one("#dialer-error", DialogError).say(f"Not saved: {message}")
        if not field:
            return
        # `schedule.2.start` is the third window's: said under the windows; `caps` alone is
        # about the account: said under its first cap.
        head = field.partition(".")[0]
        if head == "schedule":
            rows = self.query_one("#dlf-schedule-field", RowList)
            rows.show_error(said_under(message, field))
            rows.entry.focus()
            rows.scroll_visible()
            return
        key = CAPS[0].key if field == "caps" else field
        form_field = next((f for f in self.query(FormField) if f.wire_name == key), None)
        if form_field is not None and form_field.display:
            form_field.show_error(said_under(message, field))
            form_field.input.focus()
            form_field.scroll_visible()
            return
        where = OTHER.get(head)
        if where is not None:
            error = self.query_one(where[0], Static)
            error.update(Text(one_line(said_under(message, field), 200)))
            error.add_class("-shown")
            self.query_one(where[1]).focus()
            error.scroll_visible()

    # ---- leaving ----
    @on(Button.Pressed, "#dialer-cancel")
    def action_cancel(self) -> None:
        if not self.changes():  # a new dialer's are the defaults' changes
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(Text("Discard the changes to this dialer?"), yes="Discard"), answered
        )
