"""Admin: how a campaign's mailbox signs in, and authorising it with OAuth2 (issue 17).

Reached from the campaign form (ctrl+o). The admin picks passwords, Google, Microsoft 365 or
another provider (whose endpoints are typed in), saves, and presses Authorize: the engine
asks the provider for a code and this screen shows the address to open and the code to type
there, then follows the engine's state once a second (waiting, authorized, denied, expired)
until the flow ends. Nothing here ever holds a token: the engine keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import OAuthSettingsIn, OAuthStatus, convert
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, refusal, refused_field, said_under
from ..widgets.pick_list import PickList

PROVIDERS: list[tuple[str, str]] = [
    ("passwords (no OAuth2)", "password"),
    ("Google (Gmail, Workspace)", "google"),
    ("Microsoft 365", "microsoft"),
    ("Other provider", "custom"),
]
# How long one long poll of a waiting sign-in may last (the engine answers sooner when it ends).
FOLLOW_SECONDS = 20.0
TEXT_FIELDS = [
    ("tenant", "Tenant", "organizations (or your domain / directory id)"),
    ("device_url", "Device URL", "https://... device authorization endpoint"),
    ("token_url", "Token URL", "https://... token endpoint"),
    ("scope", "Scope", "the provider's default"),
]
STATE_WORDS = {
    "not-authorized": ("not authorised yet: press Authorize", "yellow"),
    "waiting": ("waiting for the sign-in", "bold yellow"),
    "authorized": ("authorised", "bold green"),
    "revoked": ("the grant was revoked: press Authorize to sign in again", "bold red"),
    "denied": ("the sign-in was refused: press Authorize to try again", "bold red"),
    "expired": ("the code expired: press Authorize for a new one", "bold red"),
    "failed": ("the sign-in failed", "bold red"),
}


@dataclass
class OAuthLoaded(Message, bubble=False):
    """What the engine said about the campaign's sign-in (after a read, save or start)."""

    status: OAuthStatus


def state_text(status: OAuthStatus) -> Text:
    """The state in words, and while waiting the address and code, large enough to read."""
    text = Text()
    if status.auth == "password":
        text.append("The mailbox logs in with the campaign's passwords.", style="dim")
        return text
    words, style = STATE_WORDS.get(status.state, (status.state, "bold"))
    text.append("State: ", style="bold")
    text.append(words, style=style)
    if status.state == "authorized" and status.authorized_at is not None:
        text.append(f"  (since {status.authorized_at:%Y-%m-%d %H:%M} UTC)", style="dim")
    if status.state == "waiting" and status.user_code:
        text.append("\n\nOpen   ")
        text.append(one_line(status.verification_uri, 70), style="bold underline")
        text.append("\nCode   ")
        text.append(one_line(status.user_code, 30), style="bold reverse")
        if status.code_expires_at is not None:
            text.append(f"  (valid until {status.code_expires_at:%H:%M} UTC)", style="dim")
        text.append("\nSign in there as the mailbox's account, on any device.", style="dim")
    if status.detail and status.state not in ("waiting", "authorized"):
        text.append("\n" + one_line(status.detail, 200))
    if not status.client_configured:
        variable = f"POSTDESK_OAUTH_{status.provider.upper()}_CLIENT_ID"
        text.append(f"\nNo application is configured: set {variable} (docs/oauth.md).")
    return text


class OAuthScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="oauth.save", priority=True),
        Binding("ctrl+o", "authorize", "Authorize", id="oauth.authorize", priority=True),
        Binding("escape", "close", "Close", id="oauth.close"),
    ]

    def __init__(self, api: EngineClient, campaign: str) -> None:
        super().__init__()
        self.api = api
        self.campaign = campaign
        self.status: OAuthStatus | None = None
        self._following = False  # a long poll of the waiting sign-in is out

    def compose(self) -> ComposeResult:
        with Vertical(id="oauth-dialog"):
            title = Text(f"Sign-in of {one_line(self.campaign, 50)}")
            yield Label(title, classes="dialog-title")
            with Horizontal(classes="choice-row"):
                yield Label("Log in with")
                yield PickList(
                    [(Text(label), value) for label, value in PROVIDERS],
                    value="password",
                    allow_blank=False,
                    id="oauth-provider",
                    compact=True,
                )
            for key, label, hint in TEXT_FIELDS:
                yield FormField(label, input_id=f"oauth-{key}", placeholder=hint)
            with Horizontal(classes="choice-row", id="oauth-mechanism-row"):
                yield Label("Mechanism")
                yield PickList(
                    [(Text("XOAUTH2"), "xoauth2"), (Text("OAUTHBEARER"), "oauthbearer")],
                    value="xoauth2",
                    allow_blank=False,
                    id="oauth-mechanism",
                    compact=True,
                )
            yield Static(id="oauth-state", markup=False)
            yield DialogError(id="oauth-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="oauth-save", variant="primary", compact=True)
                yield Button("Authorize", id="oauth-authorize", compact=True)
                yield Button("Close", id="oauth-close", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()

    # ---- the engine's answers ----
    @work(exclusive=True, group="oauth-load", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(OAuthLoaded(await self.api.oauth_status(self.campaign)))

    @on(OAuthLoaded)
    def show(self, message: OAuthLoaded) -> None:
        first = self.status is None
        self.status = status = message.status
        if first:
            provider = "password" if status.auth == "password" else status.provider
            self.query_one("#oauth-provider", PickList).value = provider
            self.query_one("#oauth-mechanism", PickList).value = status.mechanism
            for key, _label, _hint in TEXT_FIELDS:
                self.query_one(f"#oauth-{key}", Input).value = getattr(status, key)
        self.query_one("#oauth-state", Static).update(state_text(status))
        self.show_fields()
        if status.state == "waiting" and not self._following:
            self._following = True
            self.follow()

    @work(exclusive=True, group="oauth-follow", exit_on_error=False)
    async def follow(self) -> None:
        """While the sign-in waits, the engine answers the moment it ends (a long poll):
        "authorised" shows at once, and nothing is asked every second meanwhile."""
        try:
            status = await self.api.oauth_status(self.campaign, wait=FOLLOW_SECONDS)
            while status.state == "waiting":
                status = await self.api.oauth_status(self.campaign, wait=FOLLOW_SECONDS)
        finally:
            self._following = False
        self.post_message(OAuthLoaded(status))

    @on(PickList.Changed, "#oauth-provider")
    def show_fields(self) -> None:
        provider = self.query_one("#oauth-provider", PickList).value
        self.query_one("#oauth-tenant-field", FormField).display = provider == "microsoft"
        for key in ("device_url", "token_url"):
            self.query_one(f"#oauth-{key}-field", FormField).display = provider == "custom"
        self.query_one("#oauth-scope-field", FormField).display = provider != "password"
        self.query_one("#oauth-mechanism-row").display = provider != "password"

    # ---- actions ----
    def settings(self) -> OAuthSettingsIn:
        provider = self.query_one("#oauth-provider", PickList).value
        fields = {
            key: self.query_one(f"#oauth-{key}", Input).value.strip()
            for key, _label, _hint in TEXT_FIELDS
        }
        current = self.status
        return convert(
            {
                **fields,
                "auth": "password" if provider == "password" else "oauth2",
                "provider": current.provider if provider == "password" and current else provider,
                "mechanism": self.query_one("#oauth-mechanism", PickList).value,
            },
            OAuthSettingsIn,
        )

    @on(Button.Pressed, "#oauth-save")
    def action_save(self) -> None:
        self.clear_errors()
        self.save()

    @work(exclusive=True, group="oauth-save", exit_on_error=False)
    async def save(self) -> None:
        self.post_message(OAuthLoaded(await self.api.set_oauth(self.campaign, self.settings())))
        self.notify("Saved.", timeout=3)

    @on(Button.Pressed, "#oauth-authorize")
    def action_authorize(self) -> None:
        self.clear_errors()
        self.authorize()

    @work(exclusive=True, group="oauth-save", exit_on_error=False)
    async def authorize(self) -> None:
        await self.api.set_oauth(self.campaign, self.settings())  # what is on screen counts
        self.post_message(OAuthLoaded(await self.api.authorize(self.campaign)))

    @on(Button.Pressed, "#oauth-close")
    def action_close(self) -> None:
        if self.status is not None and self.status.state == "waiting":
            self.cancel_flow()
        self.dismiss(None)

    @work(group="oauth-cancel", exit_on_error=False)
    async def cancel_flow(self) -> None:
        await self.api.cancel_authorize(self.campaign)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.group == "oauth-cancel":
            return
        message = refusal(self.app, event.worker)
        field = refused_field(event.worker.error)
        targets = self.query(f"#oauth-{field}-field") if field else None
        if targets and isinstance(target := targets.first(), FormField) and target.display:
            target.show_error(said_under(message, field or ""))
            target.input.focus()
        else:
            self.query_one("#oauth-error", DialogError).say(message)

    def clear_errors(self) -> None:
        for form_field in self.query(FormField):
            form_field.clear_error()
        self.query_one("#oauth-error", DialogError).say("")
