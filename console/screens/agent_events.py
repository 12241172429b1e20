"""What reaches the agent screen from outside: engine events (assignments, messages, my
status changed by a supervisor), the bell and toast for new interactions, and what an empty
inbox says. `AgentScreen.handle_event` hands every engine event here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import structs
from rich.text import Text

from engine.api.schemas import (
    AgentChanged,
    CampaignsChanged,
    Event,
    InteractionChanged,
    InteractionMoved,
    InteractionSummary,
    Me,
    MessageChanged,
    PickQueueChanged,
    WaitingChanged,
)
from engine.text.sanitize import one_line

if TYPE_CHECKING:
    from .agent import AgentScreen


def inbox_note(me: Me) -> Text:
    """What an empty inbox says: what comes here, and what to do about it now."""
    if not me.campaigns:
        return Text(
            "Your inbox is empty: you are not a member of any campaign yet, so no mail comes"
            " to you. An admin adds you to one (admin console, m)."
        )
    campaigns = ", ".join(one_line(name, 30) for name in sorted(me.campaigns))
    note = Text()
    note.append("Nothing waiting for you. ", style="bold")
    if me.status == "break":
        note.append("You are on a break, so no new mail comes to you: a makes you Free.")
    elif me.status == "paused":
        note.append("A supervisor paused you: new mail comes again when they resume you.")
    else:
        note.append(f"Mail to {campaigns} comes here as it arrives; Enter opens it, r replies.")
    note.append(" c writes to a client; / searches earlier interactions.", style="dim")
    return note


def handle(screen: AgentScreen, event: Event) -> None:
    """React to one engine event (those every mode screen handles are done in `ModeScreen`)."""
    match event:
        case InteractionChanged(interaction=item):
            if item.agent == screen.me.username and item.state == "assigned":
                old = screen.inbox.get(item.id)
                new = old is None
                if item.unread and old is not None and not old.unread and shown(screen, item.id):
                    # Mail arriving in the thread the agent has open is read as it lands:
                    # the engine is told (it reloads the thread) and no marker appears.
                    screen.load_thread(item.id)
                    item = structs.replace(item, unread=False)
                screen.inbox.upsert(item)
                screen.count_open()
                if new:
                    announce(screen, [item])
            elif screen.inbox.get(item.id) is not None:
                screen.drop(item.id)
        case MessageChanged(interaction_id=interaction_id, agent=sender, message=message):
            if interaction_id == screen.thread.interaction_id:
                screen.thread.upsert_message(message)
            # Only the client's mail moves the waiting time here; what we send moves it
            # (a reply) or not (a forward) by the engine's rule, in the summary that
            # follows this event.
            if message.direction == "inbound":
                screen.inbox.touch(interaction_id, message.created_at)
            failed = message.state == "failed" and sender == screen.me.username
            if failed and not screen.replaying:
                screen.notify(
                    one_line(message.error or "delivery failed", 200),
                    title="Message not delivered",
                    severity="error",
                    markup=False,
                )
        case InteractionMoved(interaction_id=moved_id, target=target, by=by):
            # It left me (a transfer, a supervisor's reassignment): gone from my inbox.
            if screen.inbox.get(moved_id) is not None:
                screen.drop(moved_id)
                mine = by in (screen.me.display_name, screen.me.username)
                words = one_line(target, 40)
                text = f"Handed to {words}" if mine else f"Moved to {words} by {one_line(by, 40)}"
                screen.notify(text, title="Transferred", markup=False)
        case PickQueueChanged():
            if screen.pick_queue is None or screen.pick_queue.campaigns:
                screen.load_pick_queue()
        case WaitingChanged(campaign=campaign, waiting=waiting):
            screen.waiting_changed(campaign, waiting)
        case CampaignsChanged():
            # A campaign turned to a pick mode, changed its maximum, or took me on or off:
            # what I may hold and take is read again, no Ctrl+R needed.
            screen.load_me()
            screen.load_pick_queue()
        case AgentChanged(agent=row) if row.username == screen.me.username:
            screen.show_me(
                structs.replace(
                    screen.me,
                    status=row.status,
                    status_reason=row.status_reason,
                    status_since=row.status_since,
                )
            )


def shown(screen: AgentScreen, interaction_id: int) -> bool:
    """Whether the agent has this interaction's thread in front of them."""
    if screen.thread.interaction_id != interaction_id:
        return False
    return screen.reading or (screen.wide and screen.inbox.current_id == interaction_id)


def announce(screen: AgentScreen, items: list[InteractionSummary]) -> None:
    """Ring the bell and show a toast for interactions just assigned to me. Those I
    started myself are read already: they make no noise."""
    waiting = [item for item in items if item.unread]
    if not waiting:
        return
    screen.app.bell()
    if len(waiting) == 1:
        item = waiting[0]
        client = one_line(item.client_name.strip() or item.client_email, 40)
        subject = one_line(item.subject or "(no subject)", 60)
        screen.notify(f"{client}: {subject}", title="New interaction", markup=False)
    else:
        screen.notify(f"{len(waiting)} new interactions in your inbox", markup=False)
