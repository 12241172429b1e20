"""Admin: the templates agents insert, campaigns sign with and auto-confirm with.

A list (`n` new, Enter edit, `d` delete) and a form: name, campaign (or every campaign), kind
and the text with its `${variables}`. The form names the variables the engine fills and warns
about any other before saving, since an agent would send it unfilled. Deleting a template a
campaign signs or confirms with is refused by the engine with the campaign's name. The workers
post what came of their calls (`console/messages.py`), handled with `@on`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from engine.api.schemas import TemplateIn, TemplateOut, convert
from engine.client.client import EngineClient, Invalid
from engine.text.sanitize import one_line
from engine.text.variables import (
    TEMPLATE_VARIABLE,
    TEMPLATE_VARIABLES,
    TEMPLATE_VARIABLES_BY_KIND,
)

from ..editor import EditorFailed, edit_text
from ..messages import (
    TemplateDeleted,
    TemplateNotDeleted,
    TemplateSaved,
    TemplatesLoaded,
    TemplatesNotLoaded,
    WorkerFailed,
)
from ..widgets import fitted_table
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, place_error, refusal, refusal_text, refused_field
from ..widgets.pick_list import PickList
from .confirm import ConfirmScreen

KINDS = ("reply", "signature", "confirmation", "dialer")
EVERY_CAMPAIGN = ""
TEMPLATE_COLUMNS = [("Name", "name"), ("Campaign", "campaign"), ("Kind", "kind"), ("Text", "text")]
# The fields of a template the form edits with something other than a FormField: a refusal
# about one of them (`campaign: template 'Sig' is the signature of 'Support'`) is said in
# the error line and the cursor goes there.
CONTROLS = {
    "campaign": "#tf-campaign",
    "kind": "#tf-kind",
    "body_text": "#tf-body",
    "body_html": "#tf-body",
}


def unknown_variables(text: str, kind: str) -> list[str]:
    """The `${variables}` the engine will not fill for this kind of template, which would
    reach a client as typed."""
    known = TEMPLATE_VARIABLES_BY_KIND.get(kind, TEMPLATE_VARIABLES)
    if known is None:
        return []
    return sorted({v for v in TEMPLATE_VARIABLE.findall(text) if v not in known})


def filled_note(kind: str) -> str:
    known = TEMPLATE_VARIABLES_BY_KIND.get(kind, TEMPLATE_VARIABLES)
    if known is None:
        return "Filled in from the columns of the dialer's list."
    return "Filled in: " + " ".join(f"${{{v}}}" for v in known)


class TemplateForm(ModalScreen[TemplateOut | None]):
    """Returns the template as the engine saved it, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="template-form.save", priority=True),
        Binding("ctrl+e", "edit", "$EDITOR", id="template-form.edit", priority=True),
        Binding("escape", "cancel", "Cancel", id="template-form.cancel"),
    ]

    def __init__(
        self, api: EngineClient, campaigns: list[str], template: TemplateOut | None = None
    ) -> None:
        super().__init__()
        self.api = api
        self.campaigns = campaigns
        self.template = template
        self.saving = False
        self.warned: list[str] = []  # the unknown variables the admin was already told about

    def compose(self) -> ComposeResult:
        t = self.template
        title = f"Template {one_line(t.name, 50)}" if t else "New template"
        with Vertical(id="template-form-dialog"):
            yield Label(Text(title), classes="dialog-title")
            yield FormField("Name", input_id="tf-name", value=t.name if t else "")
            with Horizontal(classes="choice-row"):
                yield Label("Campaign")
                # Campaign names are typed by admins: shown as text, never as markup.
                places = [(Text("(every campaign)"), EVERY_CAMPAIGN)]
                places += [(Text(one_line(c, 50)), c) for c in self.campaigns]
                current = t.campaign if t and t.campaign else EVERY_CAMPAIGN
                if current and current not in self.campaigns:
                    places.append((Text(one_line(current, 50)), current))
                yield PickList(
                    places, value=current, allow_blank=False, id="tf-campaign", compact=True
                )
            with Horizontal(classes="choice-row"):
                yield Label("Kind")
                kind = t.kind if t else "reply"
                yield PickList(
                    [(Text(k), k) for k in KINDS],
                    value=kind,
                    allow_blank=False,
                    id="tf-kind",
                    compact=True,
                )
            yield Static(filled_note(kind), id="tf-filled", classes="dialog-note", markup=False)
            if t and t.body_html:
                yield Static(
                    "This template also has an HTML version; saving replaces it with this text.",
                    classes="dialog-note",
                    markup=False,
                )
            yield TextArea(t.body_text if t else "", id="tf-body", soft_wrap=True)
            yield DialogError(id="template-form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="tf-save", variant="primary", compact=True)
                yield Button("Cancel", id="tf-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#tf-name-field", FormField).input.focus()

    @on(PickList.Changed, "#tf-kind")
    def kind_changed(self, event: PickList.Changed) -> None:
        for note in self.query("#tf-filled").results(Static):  # not there yet while composing
            note.update(filled_note(str(event.value)))

    @property
    def body(self) -> TextArea:
        return self.query_one("#tf-body", TextArea)

    def entered(self) -> dict[str, Any]:
        campaign = self.query_one("#tf-campaign", PickList).value
        return {
            "name": self.query_one("#tf-name-field", FormField).input.value.strip(),
            "campaign": campaign if isinstance(campaign, str) and campaign else None,
            "kind": self.query_one("#tf-kind", PickList).value,
            "body_text": self.body.text,
            # The text edited here is the template from now on: an HTML version kept from
            # before would go on showing the old words to clients reading HTML.
            "body_html": "",
        }

    @on(Button.Pressed, "#tf-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.query_one("#tf-name-field", FormField).clear_error()
        values = self.entered()
        unknown = unknown_variables(values["body_text"], str(values["kind"]))
        if unknown and unknown != self.warned:
            self.warned = unknown
            names = ", ".join(f"${{{v}}}" for v in unknown)
            self.show_error(f"{names} will not be filled in; Ctrl+S again saves it as it is.")
            return
        self.saving = True
        self.run_worker(self.submit(values), group="save", exit_on_error=False)

    async def submit(self, values: dict[str, Any]) -> None:
        data = convert(values, TemplateIn)
        if self.template is None:
            saved = await self.api.add_template(data)
        else:
            saved = await self.api.replace_template(self.template.id, data)
        self.post_message(TemplateSaved(saved))

    @on(TemplateSaved)
    def _saved(self, message: TemplateSaved) -> None:
        self.dismiss(message.template)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            self.show_error(f"Not saved: {refusal(self.app, worker)}")
            if place_error(self.query(FormField), worker.error) is None:
                if (control := CONTROLS.get(refused_field(worker.error) or "")) is not None:
                    self.query_one(control).focus()

    def show_error(self, message: str) -> None:
        self.query_one("#template-form-error", DialogError).say(message)

    def action_edit(self) -> None:
        try:
            text = edit_text(self.app, self.body.text)
        except EditorFailed as exc:
            self.show_error(str(exc))
            return
        self.body.load_text(text.rstrip("\n"))
        self.body.focus()

    def unchanged(self) -> bool:
        t = self.template
        start = {
            "name": t.name if t else "",
            "campaign": t.campaign if t else None,
            "kind": t.kind if t else "reply",
            "body_text": t.body_text if t else "",
        }
        now = self.entered()
        return all(now[key] == value for key, value in start.items())

    @on(Button.Pressed, "#tf-cancel")
    def action_cancel(self) -> None:
        if self.unchanged():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        question = Text("Discard what you wrote in this template?")
        self.app.push_screen(ConfirmScreen(question, yes="Discard"), answered)


class TemplatesScreen(ModalScreen[None]):
    """Every template, global and per campaign."""

    BINDINGS = [
        Binding("n", "new", "New", id="templates-admin.new"),
        Binding("e", "edit", "Edit", id="templates-admin.edit"),
        Binding("d", "delete", "Delete", id="templates-admin.delete"),
        Binding("escape", "close", "Close", id="templates-admin.close"),
    ]

    def __init__(self, api: EngineClient, campaigns: list[str]) -> None:
        super().__init__()
        self.api = api
        self.campaigns = campaigns
        self.templates: dict[str, TemplateOut] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="templates-admin-dialog"):
            yield Label("Templates", classes="dialog-title")
            yield Static(
                "n new · Enter edit · d delete · Esc close", classes="dialog-note", markup=False
            )
            yield DataTable(id="templates-table", cursor_type="row", zebra_stripes=True)
            yield DialogError(id="templates-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#templates-table", DataTable)
        fitted_table.fill(table, TEMPLATE_COLUMNS, [])
        table.focus()
        self.load()

    # ---- loading and deleting: each worker posts what it got, handled below with `@on` ----
    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self, selected: int | None = None) -> None:
        """The templates, the cursor on `selected` (a template just saved) if given."""
        try:
            templates = await self.api.templates()
        except Exception as error:
            self.post_message(TemplatesNotLoaded(error))
            raise
        self.post_message(TemplatesLoaded(templates, selected))

    @work(exclusive=True, group="delete", exit_on_error=False)
    async def delete(self, template: TemplateOut) -> None:
        try:
            await self.api.delete_template(template.id)
            self.post_message(TemplateDeleted(template))
            templates = await self.api.templates()
        except Exception as error:
            self.post_message(TemplateNotDeleted(error))
            raise
        self.post_message(TemplatesLoaded(templates))

    @on(TemplatesLoaded)
    def _loaded(self, message: TemplatesLoaded) -> None:
        self.show(message.templates, message.selected)

    @on(TemplateDeleted)
    def _deleted(self, message: TemplateDeleted) -> None:
        self.notify(f"Template {one_line(message.template.name, 40)} deleted.", markup=False)

    @on(TemplatesNotLoaded)
    def _not_loaded(self, message: TemplatesNotLoaded) -> None:
        self.show_error(refusal_text(message.error))

    @on(TemplateNotDeleted)
    def _not_deleted(self, message: TemplateNotDeleted) -> None:
        self.show_error(f"Not deleted: {refusal_text(message.error)}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            # Invalid: e.g. still a campaign's signature; the screen says so, no toast.
            if not isinstance(worker.error, Invalid):
                self.app.post_message(WorkerFailed(worker, worker.error))

    def show(self, templates: list[TemplateOut], selected: int | None = None) -> None:
        table = self.query_one("#templates-table", DataTable)
        row = table.cursor_row
        self.templates = {str(t.id): t for t in templates}
        rows = [
            (
                str(t.id),
                [
                    Text(one_line(t.name, 30)),
                    Text(one_line(t.campaign or "(every)", 20)),
                    Text(t.kind),
                    Text(one_line(t.body_text, 60), style="dim"),
                ],
            )
            for t in templates
        ]
        fitted_table.fill(table, TEMPLATE_COLUMNS, rows)
        if selected is not None and str(selected) in self.templates:
            table.move_cursor(row=table.get_row_index(str(selected)))
        elif templates:
            table.move_cursor(row=min(row, len(templates) - 1))

    def selected(self) -> TemplateOut | None:
        table = self.query_one("#templates-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.templates.get(key or "")

    def action_new(self) -> None:
        self.open_form(None)

    @on(DataTable.RowSelected, "#templates-table")
    def action_edit(self) -> None:
        if (template := self.selected()) is not None:
            self.open_form(template)

    def open_form(self, template: TemplateOut | None) -> None:
        def saved(result: TemplateOut | None) -> None:
            if result is not None:
                self.notify(f"Template {one_line(result.name, 40)} saved.", markup=False)
                self.load(result.id)

        self.app.push_screen(TemplateForm(self.api, self.campaigns, template), saved)

    def show_error(self, message: str) -> None:
        self.query_one("#templates-error", DialogError).say(message)

    def action_delete(self) -> None:
        self.show_error("")
        template = self.selected()
        if template is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(template)

        question = Text(f"Delete the template {one_line(template.name, 40)}?")
        self.app.push_screen(ConfirmScreen(question, yes="Delete"), answered)

    def action_close(self) -> None:
        self.dismiss(None)
