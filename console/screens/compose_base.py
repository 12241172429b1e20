"""Writing mail: what the reply, forward and new-interaction screens share.

A compose screen is a modal returning the engine's `InteractionDetail` once the message is
accepted, or None when cancelled. It sends by itself and stays open when the engine says no
(a bad address is shown under its field, an unreachable engine in the error line), so
nothing typed is lost. Templates (ctrl+t) are inserted at the cursor; `${variables}` they
leave unfilled are named in a warning line and confirmed before sending. Files (ctrl+a)
are uploaded as soon as they are chosen and listed, removable, above the footer.

Sending and uploading run as workers that post what came of them (`MailSent`, `MailNotSent`,
`FileUploaded`, `FileNotUploaded` in `console/messages.py`), handled with `@on`.
"""

from __future__ import annotations

import asyncio
import mimetypes
from abc import abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from engine.api.schemas import InteractionDetail, RenderOut
from engine.client.client import EngineClient, EngineError, Invalid
from engine.text.sanitize import one_line
from engine.text.variables import TEMPLATE_VARIABLE

from ..editor import EditorFailed, edit_text
from ..messages import (
    FileNotUploaded,
    FileUploaded,
    MailNotSent,
    MailSent,
    WorkerFailed,
)
from ..widgets.form import FormField, place_error, refusal_text
from ..widgets.uploads import UploadList
from .attach import AttachScreen
from .base import AbstractScreenMeta
from .compose_drafts import Kept, restore_fields, typed
from .confirm import ConfirmScreen
from .templates import TemplatePicker


def labelled(label: str, value: str, *, width: int = 9) -> Text:
    text = Text(f"{label:<{width}}", style="bold")
    text.append(one_line(value))
    return text


def unfilled(body: str, unknown: Iterable[str]) -> list[str]:
    """The template variables the engine could not fill that are still in `body`."""
    present = set(TEMPLATE_VARIABLE.findall(body))
    return sorted(name for name in set(unknown) if name in present)


def shown_inline_only(error: BaseException) -> bool:
    """Errors about what the agent typed or chose: the form says it, no toast as well."""
    if isinstance(error, Invalid):
        return True
    return isinstance(error, OSError) and not isinstance(error, EngineError)


class ComposeScreen(ModalScreen[InteractionDetail | None], metaclass=AbstractScreenMeta):
    """Base of the reply, forward and new-interaction screens: each says what `submit`
    sends (an abstract method: the base alone cannot be opened)."""

    BODY_ID = "compose-body"
    BODY_PLACEHOLDER = "Write your message here."
    DRAFT_DELAY = 1.0
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="compose.send", priority=True),
        Binding("ctrl+t", "template", "Template", id="compose.template", priority=True),
        Binding("ctrl+a", "attach", "Attach", id="compose.attach", priority=True),
        Binding("ctrl+e", "edit", "$EDITOR", id="compose.edit", priority=True),
        Binding("escape", "cancel", "Cancel", id="compose.cancel"),
    ]

    def __init__(
        self,
        api: EngineClient,
        *,
        draft: str = "",
        interaction_id: int | None = None,
        max_attachment_bytes: int | None = None,
        on_draft: Callable[[str], None] | None = None,
        kept: Kept | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.opening_body = draft
        self.draft = kept.body if kept is not None and kept.body is not None else draft
        self.kept = kept
        # What the screen held when it opened, and when the agent left it with Esc: the
        # caller keeps the latter as a draft when they differ.
        self.pristine = Kept()
        self.left: Kept | None = None
        self.interaction_id = interaction_id
        self.max_attachment_bytes = max_attachment_bytes
        self.on_draft = on_draft
        self.unknown: set[str] = set()
        self.sending = False
        self.sent = False
        self._draft_timer: Timer | None = None

    # ---- layout (subclasses add fields above and below the body) ----
    def title_text(self) -> Text:
        return Text("New message", style="bold")

    def compose_fields(self) -> Iterable[Widget]:
        return ()

    def compose_below(self) -> Iterable[Widget]:
        return ()

    def compose(self) -> ComposeResult:
        with Vertical(id="compose-dialog"):
            title = self.title_text()
            if self.kept is not None:
                title.append("  (draft)", style="dim")
            yield Label(title, id="compose-title", markup=False)
            yield from self.compose_fields()
            yield TextArea(
                self.draft,
                id=self.BODY_ID,
                classes="compose-body",
                soft_wrap=True,
                placeholder=self.BODY_PLACEHOLDER,
            )
            yield from self.compose_below()
            yield UploadList()
            yield Static("", id="compose-warning", markup=False)
            yield Static("", id="compose-error", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.pristine = typed(self, [])
        if self.pristine.body is not None:
            self.pristine = replace(self.pristine, body=self.opening_body)
        if self.kept is not None:
            restore_fields(self, self.kept)
            for upload in self.kept.uploads:
                self.uploads.add(upload)
        area = self.body_area
        area.move_cursor(area.document.end)
        self.initial_focus().focus()

    @property
    def changed(self) -> bool:
        """Whether the agent left something worth keeping (meaningful once `left` is set)."""
        return self.left is not None and self.left != self.pristine

    def initial_focus(self) -> Widget:
        """Where typing starts (subclasses with address fields start there)."""
        return self.body_area

    @property
    def body_area(self) -> TextArea:
        return self.query_one(".compose-body", TextArea)

    @property
    def body(self) -> str:
        """The text typed so far; still readable after the screen is dismissed."""
        return self.draft

    @property
    def uploads(self) -> UploadList:
        return self.query_one(UploadList)

    # ---- typing ----
    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area is not self.body_area:
            return
        self.draft = event.text_area.text
        self._show_warning()
        if self.on_draft is not None:
            if self._draft_timer is not None:
                self._draft_timer.stop()
            self._draft_timer = self.set_timer(self.DRAFT_DELAY, self._save_draft)

    def _save_draft(self) -> None:
        if self.on_draft is not None and not (self.sent or self.sending):
            self.on_draft(self.draft)

    def _show_warning(self) -> None:
        left = unfilled(self.draft, self.unknown)
        warning = self.query_one("#compose-warning", Static)
        if left:
            text = Text("⚠ Not filled in: ", style="bold")
            text.append(", ".join(f"${{{one_line(n, 40)}}}" for n in left))
            text.append(" (replace them, or they are sent as written)", style="dim")
            warning.update(text)
        warning.set_class(bool(left), "-shown")

    def show_error(self, message: str) -> None:
        error = self.query_one("#compose-error", Static)
        error.update(Text(one_line(message, 300)) if message else "")
        error.set_class(bool(message), "-shown")

    # ---- sending ----
    def problem(self) -> str | None:
        """Why the message cannot be sent yet (None: it can)."""
        if not self.draft.strip() and not self.uploads.tokens:
            return "The message is empty."
        return None

    @abstractmethod
    async def submit(self) -> InteractionDetail:
        """Ask the engine to send what the screen holds; its answer: the interaction now."""

    def fields(self) -> list[FormField]:
        return list(self.query(FormField))

    def action_send(self) -> None:
        if self.sending:
            return
        self.draft = self.body_area.text
        for field in self.fields():
            field.clear_error()
        if (problem := self.problem()) is not None:
            self.show_error(problem)
            return
        left = unfilled(self.draft, self.unknown)
        if not left:
            self._send()
            return
        question = Text("The message still contains ")
        question.append(", ".join(f"${{{one_line(n, 40)}}}" for n in left), style="bold")
        question.append(".\nSend it as written?")

        def answered(yes: bool | None) -> None:
            if yes:
                self._send()

        self.app.push_screen(ConfirmScreen(question, yes="Send anyway"), answered)

    def _send(self) -> None:
        # A draft saved after the engine accepted the reply would bring the sent text back.
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.sending = True
        self.show_error("")
        self.run_worker(self._submitted(), group="send", exit_on_error=False)

    async def _submitted(self) -> None:
        try:
            detail = await self.submit()
        except Exception as error:
            self.post_message(MailNotSent(error))
            raise
        self.post_message(MailSent(detail))

    @on(MailSent)
    def _sent(self, message: MailSent) -> None:
        self.sent = True
        self.dismiss(message.detail)

    @on(MailNotSent)
    def _not_sent(self, message: MailNotSent) -> None:
        self.sending = False
        self.send_failed(message.error)

    def send_failed(self, error: BaseException) -> None:
        """A refusal about one of the screen's fields (its `field`: `to`, `cc`, `bcc`,
        `subject`) goes under it; anything else to the error line."""
        if isinstance(error, Invalid) and place_error(self.fields(), error) is not None:
            return
        self.show_error(f"Not sent: {refusal_text(error)}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # What the screen says about a failure came first, as a typed message.
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not shown_inline_only(worker.error):
                self.app.post_message(WorkerFailed(worker, worker.error))

    # ---- templates, files, editor ----
    def action_template(self) -> None:
        def chosen(rendered: RenderOut | None) -> None:
            area = self.body_area
            area.focus()
            if rendered is not None:
                area.insert(rendered.text)
                self.unknown.update(rendered.unknown)
                self._show_warning()

        self.app.push_screen(TemplatePicker(self.api, self.interaction_id), chosen)

    def action_attach(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.show_error(f"Attaching {one_line(path.name, 60)}…")
                self.run_worker(self._uploaded(path), group="upload", exit_on_error=False)

        self.app.push_screen(AttachScreen(self.max_attachment_bytes), chosen)

    async def _uploaded(self, path: Path) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            upload = await self.api.upload(path.name, data, content_type)
        except Exception as error:
            self.post_message(FileNotUploaded(error))
            raise
        self.post_message(FileUploaded(upload))

    @on(FileUploaded)
    def _uploaded_file(self, message: FileUploaded) -> None:
        self.uploads.add(message.upload)
        self.show_error("")

    @on(FileNotUploaded)
    def _not_uploaded(self, message: FileNotUploaded) -> None:
        self.show_error(f"Not attached: {getattr(message.error, 'message', message.error)}")

    def action_edit(self) -> None:
        area = self.body_area
        try:
            text = edit_text(self.app, area.text)
        except EditorFailed as exc:
            self.show_error(str(exc))
            return
        # replace() rather than load_text(): ctrl+z can undo what the editor did.
        area.replace(text.rstrip("\n"), area.document.start, area.document.end)
        area.move_cursor(area.document.end)
        area.focus()

    def action_cancel(self) -> None:
        if self.sending:
            self.notify("Still sending…", severity="warning")
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.draft = self.body_area.text
        self.left = typed(self, self.uploads.uploads)
        self.dismiss(None)
