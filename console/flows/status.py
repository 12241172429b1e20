"""b: a break, with its reason; Q: log out. (`a`, Free, is one call: `AgentScreen.set_status`;
the engine's answer comes back as a `MeLoaded` message.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ..screens.breaks import BreakPicker
from ..screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def take_break(agent: AgentScreen) -> None:
    def chosen(reason: str | None) -> None:
        if reason is not None:
            agent.set_status("break", reason)

    reasons = agent.limits.break_reasons if agent.limits is not None else []
    agent.app.push_screen(BreakPicker(reasons, agent.client.break_reasons), chosen)


def log_out(agent: AgentScreen) -> None:
    """Leave: the engine makes an agent Offline when their last console disconnects, and
    routes them nothing more. Drafts are already saved in the engine."""
    app = agent.app

    def done(yes: bool | None) -> None:
        if not yes:
            return
        if getattr(app, "switch_users", None):
            # The demo: back to its user picker (run_action is a coroutine).
            app.call_later(app.run_action, "switch_user")
        else:
            app.exit()

    question = Text("Log out? You will be Offline and get no new interactions.")
    # Replies are drafts in the engine; forwards and new messages only in this console.
    # (A forward of an interaction that has left the inbox cannot be reopened anyway.)
    unsent = [
        key
        for key in agent.kept
        if key[0] == "new" or (key[0] == "forward" and key[1] in agent.inbox.order)
    ]
    if unsent:
        noun = "draft" if len(unsent) == 1 else "drafts"
        question.append(
            f"\n\n{len(unsent)} unsent forward or new-message {noun} will be lost.",
            style="bold yellow",
        )
    app.push_screen(ConfirmScreen(question, yes="Log out"), done)
