"""The Postdesk console: one Textual app whose mode (agent, supervisor, admin) follows the role.

The app owns the engine client of the current session and nothing else: each mode screen
loads its data, runs its event bridge and handles its keys. In demo mode a role switcher sits
at the bottom of the screen stack and Ctrl+U returns to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

import console
from engine.api.schemas import Me
from engine.client.client import EngineClient, EngineError, EngineUnavailable
from engine.text.sanitize import one_line

from .config import ConsoleConfig
from .hangup import hung_up, terminal_fd
from .messages import LoggedIn, LoginFailed, WorkerFailed
from .screens.base import ModeScreen
from .screens.help import HelpScreen, screen_keys
from .screens.switcher import MODES, ModePicker, SwitcherScreen
from .textual_release import release_styles_caches

log = logging.getLogger(__name__)
release_styles_caches()  # Textual's cache would keep every widget's lines (textual_release)
CONFIG_PROBLEM_SECONDS = 30.0  # how long a problem in the settings file stays on screen

ClientFactory = Callable[[str | None], EngineClient]


def mode_screen(mode: str) -> type[ModeScreen]:
    """The screen class of a mode, imported on first use: a console opens one mode, and the
    others' modules would only slow its start (bench/console.py)."""
    if mode == "agent":
        from .screens.agent import AgentScreen

        return AgentScreen
    if mode == "supervisor":
        from .screens.supervisor import SupervisorScreen

        return SupervisorScreen
    from .screens.admin import AdminScreen

    return AdminScreen


def css_path() -> Path:
    """The wheel installs textual.tcss inside the package; the source tree keeps it at the root."""
    here = Path(console.__file__).parent
    packaged = here / "textual.tcss"
    return packaged if packaged.exists() else here.parent / "textual.tcss"


class PostdeskApp(App[None]):
    TITLE = "Postdesk"
    CSS_PATH = css_path()
    BINDINGS = [
        # The demo's first screen says Ctrl+U comes back to it; the footer keeps room for work.
        Binding("ctrl+u", "switch_user", "Switch user", id="app.switch-user", show=False),
        Binding("ctrl+r", "retry", "Retry", id="app.retry", show=False),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
    ]

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        switch_users: list[tuple[str, str]] | None = None,
        mode: str | None = None,
        config: ConsoleConfig | None = None,
    ) -> None:
        super().__init__()
        self.config = config or ConsoleConfig()
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        self._clashes_told: set[frozenset[str]] = set()
        self.client_factory = client_factory
        self.switch_users = switch_users
        # `postdesk agent|supervisor|admin` asks for one mode; plain `postdesk` follows the role.
        self.requested_mode = mode
        self.client: EngineClient | None = None

    def compose(self) -> ComposeResult:
        yield Static("Connecting to the Postdesk engine…", id="login-status", markup=False)

    def on_mount(self) -> None:
        self._apply_config()
        terminal = terminal_fd()
        if terminal is not None and not self.is_headless:
            self.set_interval(1.0, partial(self._check_terminal, terminal))
        if self.switch_users:
            self.push_screen(SwitcherScreen(self.switch_users))
        else:
            self.login(None)

    async def on_unmount(self) -> None:
        await self._drop_client()

    def _check_terminal(self, fd: int) -> None:
        if hung_up(fd):
            log.info("the terminal hung up; leaving")
            self.exit(return_code=129)  # 128 + SIGHUP, as if the signal had arrived

    # ---- the person's settings file ----
    def _apply_config(self) -> None:
        config = self.config
        if config.theme is not None:
            if config.theme in self.available_themes:
                self.theme = config.theme
            else:
                known = ", ".join(sorted(self.available_themes))
                config.problems.append(f"no theme {config.theme!r}; there are: {known}")
        for problem in config.problems:
            # Told while the console starts: the default 5 s could end before the first
            # screen was up on a slow start (and a person needs longer to act on it).
            self.notify(
                problem,
                title=f"In {config.path}",
                severity="warning",
                markup=False,
                timeout=CONFIG_PROBLEM_SECONDS,
            )

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        """A remapped key took a key another binding had: say so once, not on every press."""
        ids = frozenset(b.id or b.action for b in clashed_bindings)
        if ids in self._clashes_told:
            return
        self._clashes_told.add(ids)
        names = ", ".join(sorted(ids))
        self.notify(
            f"Your keys clash with the default ones of: {names}. Give them other keys.",
            title="Console settings",
            severity="warning",
            markup=False,
        )

    # ---- session ----
    @on(SwitcherScreen.Chosen)
    def _chosen(self, event: SwitcherScreen.Chosen) -> None:
        self.login(event.username)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def login(self, username: str | None) -> None:
        await self._drop_client()
        client = self.client_factory(username)
        try:
            me = await client.me()
        except BaseException as error:
            await client.close()
            if isinstance(error, Exception):
                self.post_message(LoginFailed(error))
            raise
        self.post_message(LoggedIn(client, me))

    @on(LoggedIn)
    def _logged_in(self, message: LoggedIn) -> None:
        self.enter(message.client, message.me)

    @on(LoginFailed)
    def _login_failed(self, message: LoginFailed) -> None:
        if not self.switch_users:
            reason = getattr(message.error, "message", str(message.error))
            self._login_status().update(
                Text(
                    f"Could not open Postdesk: {one_line(reason)}\n\n"
                    "Ctrl+R tries again, Ctrl+Q quits."
                )
            )

    def _login_status(self) -> Static:
        # It lives on the default screen, at the bottom of the stack.
        return self.screen_stack[0].query_one("#login-status", Static)

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()

    def enter(self, client: EngineClient, me: Me) -> None:
        """Open the mode for `me`'s role; ask when there are several."""
        self.client = client
        modes = [mode for mode in MODES if mode in me.roles]
        if self.requested_mode is not None:
            if self.requested_mode not in modes:
                self._refuse(f"{one_line(me.username)} is not a Postdesk {self.requested_mode}.")
                return
            modes = [self.requested_mode]
        if not modes:
            self._refuse(f"{one_line(me.username)} has no Postdesk role.")
            return
        if len(modes) == 1:
            self.push_screen(mode_screen(modes[0])(client, me))
            return

        def picked(mode: str | None) -> None:
            if mode is None and self.switch_users:
                self.run_worker(self._drop_client(), group="logout")
                return
            chosen = mode or ("agent" if "agent" in modes else modes[0])
            self.push_screen(mode_screen(chosen)(client, me))

        self.push_screen(ModePicker(me.display_name.strip() or me.username, modes), picked)

    def _refuse(self, reason: str) -> None:
        self.notify(reason, severity="error", markup=False)
        if not self.switch_users:
            self._login_status().update(Text(f"{reason}\n\nCtrl+Q quits."))

    # ---- failures ----
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # What the login screen says about its failure came first, as a typed message.
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.post_message(WorkerFailed(worker, worker.error))

    def on_worker_failed(self, message: WorkerFailed) -> None:
        """The one place where failed engine calls become notifications."""
        error = message.error
        if isinstance(error, EngineUnavailable):
            self.notify(
                one_line(error.message, 200),
                title="Engine unavailable",
                severity="error",
                markup=False,
            )
        elif isinstance(error, EngineError):
            self.notify(one_line(error.message, 200), severity="error", markup=False)
        else:
            log.error("worker %s failed", message.worker.name, exc_info=error)
            self.notify(
                one_line(f"{type(error).__name__}: {error}", 200),
                title="Unexpected error",
                severity="error",
                markup=False,
            )

    # ---- keys: help screen and command palette ----
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers the keys valid on the current screen, then Textual's own."""
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or binding.system:
                continue
            if binding.action in seen or binding.action in ("command_palette", "help"):
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            yield SystemCommand(
                binding.description,
                f"{key} · {binding.tooltip or binding.description}",
                partial(self.run_action, binding.action, active.node),
            )
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        title = self.screen.sub_title or type(self.screen).__name__.removesuffix("Screen")
        self.push_screen(HelpScreen(title, screen_keys(self.screen)))

    # ---- actions ----
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_user":
            return bool(self.switch_users)
        if action == "retry":
            return not self.switch_users and self.client is None
        return True

    async def action_switch_user(self) -> None:
        if not self.switch_users:
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SwitcherScreen):
            await self.pop_screen()
        await self._drop_client()

    def action_retry(self) -> None:
        self._login_status().update("Connecting to the Postdesk engine…")
        self.login(None)
