"""Admin: a Postdesk user, to add one or change one.

A user is an OS login name (the engine recognises people by the uid their console connects
with), a display name and roles. The login name is fixed once added. The engine checks
everything; its refusal names the field it is about (`field`) and the form shows it there
(once), keeping what was typed.

Whether supervisors may view a user's screen is stored (`ctl user set --screen-monitoring`)
but not offered here: nothing shows a screen yet (issue 15, live view), and a box that does
nothing would promise privacy decisions the console does not act on. The form never sends
it, so saving keeps what is stored.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label
from textual.worker import Worker, WorkerState

from engine.api.schemas import Role, UserIn, UserOut, UserPatch, convert
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import UserSaved
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, place_error, refusal
from .confirm import ConfirmScreen

ROLES: list[tuple[Role, str]] = [
    ("agent", "Agent: works the queues"),
    ("supervisor", "Supervisor: watches agents and queues"),
    ("admin", "Admin: campaigns, users, templates"),
]


class UserForm(ModalScreen[UserOut | None]):
    """Returns the user as the engine saved it, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="user.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="user.cancel"),
    ]

    def __init__(self, api: EngineClient, user: UserOut | None = None) -> None:
        super().__init__()
        self.api = api
        self.user = user
        self.saving = False

    def compose(self) -> ComposeResult:
        title = f"User {self.user.username}" if self.user else "New user"
        with Vertical(id="user-dialog"):
            yield Label(Text(one_line(title, 60)), classes="dialog-title")
            yield FormField(
                "Login",
                input_id="uf-username",
                value=self.user.username if self.user else "",
                placeholder="the OS login name, e.g. ana",
                disabled=self.user is not None,
            )
            yield FormField(
                "Name",
                input_id="uf-display_name",
                value=self.user.display_name if self.user else "",
                placeholder="shown to supervisors; default: the login",
            )
            yield Label("Roles", classes="form-section")
            roles = set(self.user.roles) if self.user else {"agent"}
            for role, label in ROLES:
                yield Checkbox(label, role in roles, id=f"uf-role-{role}", compact=True)
            yield DialogError(id="user-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="user-save", variant="primary", compact=True)
                yield Button("Cancel", id="user-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        first = "#uf-display_name" if self.user else "#uf-username"
        self.query_one(first, Input).focus()

    def text(self, key: str) -> str:
        return self.query_one(f"#uf-{key}-field", FormField).input.value.strip()

    @property
    def roles(self) -> list[Role]:
        return [role for role, _ in ROLES if self.query_one(f"#uf-role-{role}", Checkbox).value]

    @on(Button.Pressed, "#user-save")
    def action_save(self) -> None:
        if self.saving:
            return
        for field in self.query(FormField):
            field.clear_error()
        if not self.roles:
            self.show_error("Not saved: roles: give the user at least one role")
            return
        self.saving = True
        self._save()

    @work(group="save", exit_on_error=False)
    async def _save(self) -> None:
        self.post_message(UserSaved(await self.submit()))

    @on(UserSaved)
    def _saved(self, message: UserSaved) -> None:
        self.dismiss(message.user)

    async def submit(self) -> UserOut:
        fields = {"display_name": self.text("display_name"), "roles": self.roles}
        if self.user is None:
            return await self.api.add_user(
                convert({"username": self.text("username")} | fields, UserIn)
            )
        return await self.api.update_user(self.user.username, convert(fields, UserPatch))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            message = refusal(self.app, worker)
            # Under the field the refusal is about, else in the dialog's error line: one place.
            if place_error(self.query(FormField), worker.error) is not None:
                self.show_error("")
            else:
                self.show_error(f"Not saved: {message}")

    def show_error(self, message: str) -> None:
        self.query_one("#user-error", DialogError).say(message)

    @on(Button.Pressed, "#user-cancel")
    def action_cancel(self) -> None:
        user = self.user
        unchanged = (
            self.text("username") == (user.username if user else "")
            and self.text("display_name") == (user.display_name if user else "")
            and self.roles == [r for r, _ in ROLES if r in (user.roles if user else ["agent"])]
        )
        if unchanged:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(Text("Discard the changes?"), yes="Discard"), answered)
