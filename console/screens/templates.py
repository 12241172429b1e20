"""The template picker: filter by typing, preview on the right, Enter inserts.

Choosing a template asks the engine to render it for the interaction (client name, agent,
campaign…); the modal returns the engine's `RenderOut`, whose `unknown` lists the
`${variables}` it could not fill. Only reply templates are offered: signatures and
confirmations are the engine's business. The workers post what they got
(`TemplatesLoaded`, `TemplateRendered`), handled with `@on`.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from engine.api.schemas import RenderOut, TemplateOut
from engine.client.client import EngineClient
from engine.text.sanitize import one_line, safe_text

from ..messages import TemplateRendered, TemplatesLoaded, WorkerFailed

OFFERED_KINDS = ("reply",)


def matches(template: TemplateOut, query: str) -> bool:
    words = query.lower().split()
    haystack = f"{template.name}\n{template.campaign or ''}\n{template.body_text}".lower()
    return all(word in haystack for word in words)


# Shown while the engine has none to offer: what a template is and where one comes from.
NO_TEMPLATES = Text.assemble(
    ("No templates yet.\n\n", "bold"),
    "A template is a text an admin writes once (admin console, T) for answers given often; "
    "Ctrl+T puts it where your cursor is, with ${name}, ${subject} and the like filled in "
    "from this interaction.\n\n",
    ("Esc goes back to your message.", "dim"),
)


class TemplatePicker(ModalScreen[RenderOut | None]):
    """`#template-filter` over `#template-list`, `#template-preview` beside it."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="template.cancel"),
        Binding("down", "to_list", "List", id="template.to-list", show=False),
    ]

    def __init__(self, api: EngineClient, interaction_id: int | None) -> None:
        super().__init__()
        self.api = api
        self.interaction_id = interaction_id
        self.templates: list[TemplateOut] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="template-dialog"):
            yield Label("Insert a template", id="template-title")
            yield Input(placeholder="Filter templates…", id="template-filter", compact=True)
            with Horizontal(id="template-panes"):
                yield OptionList(id="template-list")
                with VerticalScroll(id="template-preview-pane"):
                    yield Static("", id="template-preview", markup=False)
            yield Static("", id="template-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#template-filter", Input).focus()
        self.set_status("Loading templates…")
        self.load()

    def set_status(self, text: str) -> None:
        self.query_one("#template-status", Static).update(Text(one_line(text, 200)))

    @work(exclusive=True, group="templates", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(TemplatesLoaded(await self.api.templates()))

    @work(exclusive=True, group="render", exit_on_error=False)
    async def fill(self, template_id: int) -> None:
        rendered = await self.api.render_template(template_id, self.interaction_id)
        self.post_message(TemplateRendered(rendered))

    @on(TemplatesLoaded)
    def _loaded(self, message: TemplatesLoaded) -> None:
        self.templates = [t for t in message.templates if t.kind in OFFERED_KINDS]
        self.set_status("" if self.templates else "No templates for your campaigns.")
        self.show_matches()

    @on(TemplateRendered)
    def _rendered(self, message: TemplateRendered) -> None:
        self.dismiss(message.rendered)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))
            self.set_status(f"Failed: {getattr(worker.error, 'message', worker.error)}")

    @property
    def options(self) -> OptionList:
        return self.query_one("#template-list", OptionList)

    def show_matches(self) -> None:
        query = self.query_one("#template-filter", Input).value
        shown = [t for t in self.templates if matches(t, query)]
        self.options.clear_options()
        for template in shown:
            label = Text.assemble(
                (one_line(template.name, 40), "bold"),
                " · ",
                (one_line(template.campaign or "all campaigns", 20), "dim"),
            )
            self.options.add_option(Option(label, id=str(template.id)))
        if shown:
            self.options.highlighted = 0
            self.preview(shown[0])
        elif self.templates:
            note = Text("No template matches “")
            note.append(one_line(query, 40), style="bold")
            note.append("”. Shorten the filter to see the others.")
            self.query_one("#template-preview", Static).update(note)
        else:
            self.query_one("#template-preview", Static).update(NO_TEMPLATES)

    def preview(self, template: TemplateOut | None) -> None:
        self.query_one("#template-preview", Static).update(
            safe_text(template.body_text) if template is not None else Text("")
        )

    def template(self, option_id: str | None) -> TemplateOut | None:
        return next((t for t in self.templates if str(t.id) == option_id), None)

    @on(Input.Changed, "#template-filter")
    def _filter(self) -> None:
        self.show_matches()

    @on(Input.Submitted, "#template-filter")
    def _submit_filter(self) -> None:
        highlighted = self.options.highlighted
        if highlighted is not None:
            self.choose(self.options.get_option_at_index(highlighted).id)

    @on(OptionList.OptionHighlighted, "#template-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.preview(self.template(event.option.id))

    @on(OptionList.OptionSelected, "#template-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option.id)

    def choose(self, option_id: str | None) -> None:
        template = self.template(option_id)
        if template is not None:
            self.set_status(f"Filling in {one_line(template.name, 60)}…")
            self.fill(template.id)

    def action_to_list(self) -> None:
        self.options.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
