"""Who am I and in which mode: the demo role switcher and the mode picker.

The switcher stays at the bottom of the screen stack in demo mode; choosing a user posts
`SwitcherScreen.Chosen` to the app, which logs in and pushes the mode screen on top.
A user with several roles picks the mode in `ModePicker` (agent is highlighted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine.text.sanitize import one_line

MODES = ("agent", "supervisor", "admin")
MODE_HELP = {
    "agent": "work my inbox",
    "supervisor": "watch agents and the queue",
    "admin": "campaigns and users",
}


class SwitcherScreen(Screen[None]):
    """`#switcher`: one option per demo user (id = username)."""

    @dataclass
    class Chosen(Message):
        switcher: SwitcherScreen
        username: str

        @property
        def control(self) -> SwitcherScreen:
            return self.switcher

    def __init__(self, users: list[tuple[str, str]]) -> None:
        super().__init__()
        self.users = users

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="switcher-pane"):
            yield Static(
                "Demo: choose who to be. Ctrl+U comes back here.",
                id="switcher-intro",
                markup=False,
            )
            width = max((len(u) for u, _ in self.users), default=8) + 3
            yield OptionList(
                *(self._option(username, label, width) for username, label in self.users),
                id="switcher",
            )
        yield Footer(compact=True)

    @staticmethod
    def _option(username: str, label: str, width: int) -> Option:
        prompt = Text(one_line(username).ljust(width), style="bold")
        prompt.append(one_line(label, 60))
        return Option(prompt, id=username)

    def on_mount(self) -> None:
        self.sub_title = "Choose a user"
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#switcher")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.post_message(self.Chosen(self, event.option.id))


class ModePicker(ModalScreen[str | None]):
    """`#mode-picker`: returns the chosen mode, or None on escape."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="mode.cancel")]

    def __init__(self, name: str, roles: Sequence[str]) -> None:
        super().__init__()
        self.who = name
        self.roles = [mode for mode in MODES if mode in roles]

    def compose(self) -> ComposeResult:
        with Vertical(id="mode-dialog"):
            title = Text("Open Postdesk as ")
            title.append(one_line(self.who, 40), style="bold")
            yield Static(title, id="mode-title", markup=False)
            yield OptionList(
                *(
                    Option(Text.assemble((m.capitalize(), "bold"), f"  {MODE_HELP[m]}"), id=m)
                    for m in self.roles
                ),
                id="mode-picker",
            )

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        picker.highlighted = self.roles.index("agent") if "agent" in self.roles else 0
        picker.focus()

    @on(OptionList.OptionSelected, "#mode-picker")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
