"""x: close (wrap up) the interaction in the wrap-up dialog: the campaign's disposition and
an internal note (docs/wrapup.md), under warnings when the client's last mail has no answer
or the agent's reply was never sent. The dialog closes it; the engine's answer comes back to
the agent screen as an `InteractionClosed` message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from engine.api.schemas import InteractionDetail, InteractionSummary
from engine.text.sanitize import one_line

from ..messages import InteractionClosed
from ..screens.wrapup import WrapupScreen
from ..timefmt import local_stamp
from ..widgets.message import unanswered
from . import draft_of

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def close(agent: AgentScreen, detail: InteractionDetail) -> None:
    client = one_line(detail.client_name.strip() or detail.client_email, 50)
    question = Text("Close the interaction with ")
    question.append(client, "bold")
    question.append("?\n")
    question.append(one_line(detail.subject, 60), style="dim")
    shown = agent.thread.interaction_id == detail.id
    messages = agent.thread.all_messages if shown else detail.messages
    if (waiting := unanswered(messages)) is not None:
        question.append(f"\n\n{client} has had no answer", style="bold yellow")
        question.append(f" to their mail of {local_stamp(waiting.created_at)}.")
    draft = draft_of(agent, detail).strip()
    if draft:
        question.append("\n\nYour reply was never sent: ", style="bold yellow")
        question.append(f"“{one_line(draft, 80)}”", style="italic")
        question.append("\nClosing leaves it unsent.")

    def done(closed: InteractionSummary | None) -> None:
        if closed is not None:
            agent.post_message(InteractionClosed(agent.thread, closed))

    yes = "Close unanswered" if waiting is not None else "Close"
    agent.app.push_screen(WrapupScreen(agent.client, detail.id, question, yes=yes), done)
