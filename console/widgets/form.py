"""One labelled, one-line form field with room for an error under it.

Errors from the engine (`Invalid`: "cc: invalid address: 'bob@'") are shown where the agent
is typing, not only in a toast that disappears; the form stays open until it is right. The
refusal says which field it is about in its `field` (the wire name, `cc`); each form field
knows the wire name it edits, so `place_error` finds it without reading the message. A
refusal about no field, or about one the form does not show, goes to the form's own error
line.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual.worker import Worker

from engine.api.schemas import SchemaError
from engine.client.client import Invalid
from engine.errors import ServiceError
from engine.text.sanitize import one_line

from ..messages import WorkerFailed


class FormField(Vertical):
    """`label  [input]` on one line; `#<input id>-error` below it, hidden until set.

    `wire_name` is the request field it edits, the one a refusal names in `field`; by
    default what follows the input id's last "-" (`uf-display_name`: `display_name`,
    `forward-to`: `to`, `cc`: `cc`).
    """

    DEFAULT_CSS = """
    FormField {
        height: auto;
    }
    FormField > Horizontal {
        height: 1;
    }
    FormField Label {
        width: 9;
        text-style: bold;
    }
    FormField Input {
        width: 1fr;
        background: $foreground 8%;
    }
    FormField .field-error {
        display: none;
        padding-left: 9;
        color: $text-error;
    }
    FormField.-error .field-error {
        display: block;
    }
    """

    def __init__(
        self,
        label: str,
        *,
        input_id: str,
        value: str = "",
        placeholder: str = "",
        disabled: bool = False,
        wire_name: str | None = None,
    ) -> None:
        super().__init__(id=f"{input_id}-field")
        self.label = label
        self.input_id = input_id
        self.wire_name = wire_name or input_id.rpartition("-")[2]
        self.value = value
        self.placeholder = placeholder
        self.read_only = disabled

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, markup=False)
            yield Input(
                self.value,
                placeholder=self.placeholder,
                id=self.input_id,
                compact=True,
                disabled=self.read_only,
            )
        yield Static("", id=f"{self.input_id}-error", classes="field-error", markup=False)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Static).content) if self.has_error else ""

    @property
    def has_error(self) -> bool:
        return self.has_class("-error")

    def show_error(self, message: str) -> None:
        self.query_one(".field-error", Static).update(Text(one_line(message, 200)))
        self.add_class("-error")

    def clear_error(self) -> None:
        self.remove_class("-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        # Once the value is edited the refusal no longer describes it; a wrong one is said
        # again on the next save.
        if event.input is self.input:
            self.clear_error()


def refused_field(error: BaseException | None) -> str | None:
    """The wire name of the field a refusal is about, or None when it is about no one field.

    The engine says it in the error's `field`. A struct the form could not even build here
    (`convert` raising `SchemaError`, which carries no `field` yet) is the refusal the
    engine would have sent for it: its field is read by the engine's own rule.
    """
    field = getattr(error, "field", None)
    if isinstance(field, str) and field:
        return field
    if isinstance(error, SchemaError):
        return ServiceError(str(error)).field
    return None


def refusal_text(error: BaseException | None) -> str:
    """What a refusal says: the engine's message, else the exception's text."""
    return str(getattr(error, "message", error))


def said_under(message: str, field: str) -> str:
    """The message as shown under its field: without the field's wire name in front
    (`imap_port: must be at most 65535` under "IMAP port" reads `must be at most 65535`)."""
    return message.removeprefix(f"{field}: ")


def field_for(fields: Iterable[FormField], field: str | None) -> FormField | None:
    """The form field editing the wire field `field`, or None: no field, or none such in
    this form."""
    if field is None:
        return None
    return next((f for f in fields if f.wire_name == field), None)


def place_error(fields: Iterable[FormField], error: BaseException | None) -> FormField | None:
    """Show a refusal under the field it is about and move the cursor there; the field, or
    None when the form has no such field (the caller says it in its general error line)."""
    wire = refused_field(error)
    if wire is None or (field := field_for(fields, wire)) is None:
        return None
    field.show_error(said_under(refusal_text(error), wire))
    field.input.focus()
    return field


def refusal(app: App[object], worker: Worker[object]) -> str:
    """What a failed save says. Refusals of what was typed (the engine's `Invalid`, or a
    struct that did not fit here) are the form's to show; anything else is also reported to
    the app, which owns the one place that turns failures into notifications."""
    error = worker.error
    if error is not None and not isinstance(error, Invalid | ValueError):
        app.post_message(WorkerFailed(worker, error))
    return refusal_text(error)
