"""One labelled, one-line form field with room for an error under it.

Errors from the engine (`Invalid`: "not an address: bob@") are shown where the agent is
typing, not only in a toast that disappears; the form stays open until it is right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual.worker import Worker

from engine.client.client import Invalid
from engine.text.sanitize import one_line

from ..messages import WorkerFailed

_SEPARATORS = re.compile(r"[,;]")


class FormField(Vertical):
    """`label  [input]` on one line; `#<input id>-error` below it, hidden until set."""

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
    ) -> None:
        super().__init__(id=f"{input_id}-field")
        self.label = label
        self.input_id = input_id
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


def field_named(fields: Iterable[FormField], message: str) -> FormField | None:
    """The field an engine error names first (`cc: invalid address: 'bob@'`), by its label
    or by the wire name its input id ends with (`display_name: ...` for `#uf-display_name`)."""
    head = message.split(":", 1)[0].strip().lower()
    for field in fields:
        if field.label.lower() == head or field.input_id.lower().endswith(f"-{head}"):
            return field
    return None


def field_for_error(fields: Iterable[FormField], message: str) -> FormField | None:
    """The field an engine error is about: the one it names, otherwise the field holding the
    entry the message quotes."""
    fields = list(fields)
    if (named := field_named(fields, message)) is not None:
        return named
    for field in fields:
        entries = (entry.strip() for entry in _SEPARATORS.split(field.input.value))
        if any(entry and entry in message for entry in entries):
            return field
    return None


def refusal(app: App[object], worker: Worker[object]) -> str:
    """What a failed save says. Refusals of what was typed (the engine's `Invalid`, or a
    struct that did not fit here) are the form's to show; anything else is also reported to
    the app, which owns the one place that turns failures into notifications."""
    error = worker.error
    if error is not None and not isinstance(error, Invalid | ValueError):
        app.post_message(WorkerFailed(worker, error))
    return str(getattr(error, "message", error))
