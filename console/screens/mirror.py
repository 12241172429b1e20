"""Supervisor: the live, read-only view of an agent's screen (the manual's "Monitor screen").

Opened from the grid (`v`) or the agent's information window once the engine has accepted the
watch (it refuses without the agent's "screen monitoring allowed", or to anyone but a
supervisor). Frames arrive on the supervisor screen's event stream, which hands them here;
nothing typed here reaches the agent. After a reconnect the watch is resumed (the engine then
asks the agent's console for every row again); `escape` ends it, which the audit log records.
`z` (tmux's zoom) hides this screen's own lines and the frame, so an agent's 80x24 picture fits
a supervisor's 80x24 terminal whole.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from engine.api.schemas import AgentRow, ScreenFrame, WatchOut
from engine.client.client import EngineClient, EngineError
from engine.text.sanitize import one_line

from ..widgets.mirror_view import MirrorView

RESYNC = 2.0  # seconds between asks for every row again, when a change came without a base


class MirrorScreen(Screen[None]):
    DEFAULT_CSS = """
    MirrorScreen #mirror-frame { height: 1fr; }
    MirrorScreen.-zoomed Header, MirrorScreen.-zoomed #mirror-status,
    MirrorScreen.-zoomed Footer { display: none; }
    MirrorScreen.-zoomed MirrorView { border: none; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="mirror.back"),
        Binding("q", "leave", "Back", show=False, id="mirror.leave"),
        Binding("z", "zoom", "Full screen", id="mirror.zoom"),
    ]

    def __init__(self, client: EngineClient, watch: WatchOut) -> None:
        super().__init__()
        self.client = client
        self.watching = watch
        self._asked_at = 0.0
        self.away = False  # the agent's console is closed: the picture is the last one

    @property
    def agent(self) -> str:
        return self.watching.agent

    @property
    def view(self) -> MirrorView:
        return self.query_one(MirrorView)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(self._status(), id="mirror-status")
        with Container(id="mirror-frame"):
            yield MirrorView(id="mirror")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        name = one_line(self.watching.agent_name, 30)
        self.sub_title = f"Screen of {name} (read only)"
        self.view.focus()

    def _status(self) -> Text:
        name = one_line(self.watching.agent_name, 30)
        text = Text()
        if self.away:  # nothing live about a closed console's last picture
            text.append("◼ CLOSED ", style="bold yellow")
        else:
            text.append("◉ LIVE ", style="bold red")
        text.append(f"{name}'s screen, read only")
        view = self.query(MirrorView)
        if view and view.first().has_picture:
            width, height = view.first().shown_size
            text.append(f" · {width}×{height}", style="dim")
        else:
            text.append(" · waiting for the first picture…", style="dim")
        if self.away:
            text.append(" · their console is closed: its last picture", style="bold yellow")
        else:
            text.append(" · they see that you watch", style="dim")
        return text

    def agent_changed(self, row: AgentRow) -> None:
        """Their console closed: what is shown is the last picture, and says so."""
        away = row.status == "offline"
        if away != self.away:
            self.away = away
            self.query_one("#mirror-status", Label).update(self._status())

    def show(self, frame: ScreenFrame) -> None:
        if self.view.apply(frame):
            self.query_one("#mirror-status", Label).update(self._status())
            return
        now = time.monotonic()
        if now - self._asked_at >= RESYNC:  # a change to a picture we never had
            self._asked_at = now
            self.resume()

    @work(exclusive=True, group="mirror-resume", exit_on_error=False)
    async def resume(self) -> None:
        """The same watch again (after a reconnect, or to get every row again)."""
        self.watching = await self.client.watch("screen", self.agent, resume=self.watching.id)

    @property
    def zoomed(self) -> bool:
        return self.has_class("-zoomed")

    def action_zoom(self) -> None:
        self.set_class(not self.zoomed, "-zoomed")
        if self.zoomed:
            # Nothing of the supervisor's own console shows any more: say how to get back.
            self.notify("Only the agent's screen shows now: z, Esc or a click brings this back.")

    def on_click(self, event: events.Click) -> None:
        if self.zoomed:  # the mouse's way back: full screen has no footer to click
            event.stop()
            self.action_zoom()

    def action_back(self) -> None:
        """Esc: out of full screen first, then out of the view."""
        if self.zoomed:
            self.action_zoom()
        else:
            self.action_leave()

    def action_leave(self) -> None:
        # The app's worker, not this screen's: the screen's are cancelled as it leaves.
        self.app.run_worker(
            end_watch(self.client, self.watching.id), group="watch-end", exit_on_error=False
        )
        self.dismiss(None)


async def end_watch(client: EngineClient, watch_id: int) -> None:
    try:
        await client.end_watch(watch_id)
    except EngineError:
        pass  # the engine ends it by itself once this console has been gone a while
