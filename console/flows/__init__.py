"""The agent's actions, one module per flow; the agent screen (`console/screens/agent.py`)
binds the keys and calls them.

    r R e   reply (with the history quoted, in $EDITOR)   reply.py
    f       forward the pointed-at message                forward.py
    c s     new interaction (blank, from a message)      new_interaction.py
    C       CC/BCC of the interaction                     cc_bcc.py
    v       save an attachment                            save_attachment.py
    x       close (wrap-up)                               close.py
    /       search earlier interactions                   search.py
    b Q     break, log out                                status.py
    t       take from a pick-mode campaign's queue        pick.py
    T n     transfer (colleague, queue), internal note   transfer.py
    (sup.)  reassign an absent agent's work (monitor r)  reassign.py

A flow is a function of the agent screen and, for most, of the highlighted interaction's
detail (its draft, CC/BCC, messages and attachments): it opens a modal and handles what the
modal returns. When the thread pane already shows that detail the flow runs at once;
otherwise the screen's `fetch_for` worker loads it and posts a `DetailFetched` message that
carries the flow (see `AgentScreen.with_detail`).

Each flow module is imported when the agent first uses it, and imports its modal: together
they would add tens of milliseconds to every console's cold start (bench/console.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail, MessageOut

from ..widgets.message import newest_inbound

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def max_bytes(agent: AgentScreen) -> int | None:
    """The largest attachment the engine sends (None: not known yet)."""
    return agent.limits.max_attachment_bytes if agent.limits is not None else None


def draft_of(agent: AgentScreen, detail: InteractionDetail) -> str:
    """The agent's unsent reply: as typed in this console, else the engine's."""
    return agent.drafts.get(detail.id, detail.draft)


def message_of(agent: AgentScreen, detail: InteractionDetail) -> MessageOut | None:
    """The message the agent points at: the focused one, else the newest inbound."""
    if agent.thread.interaction_id == detail.id:
        return agent.thread.current_message
    return newest_inbound(detail.messages)
