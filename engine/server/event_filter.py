"""Which events a console may see: supervisors and admins everything but other people's chat
(the statistics, the queue and mailbox health are theirs alone); an agent only what is about
them (their interactions, their messages, their own row, their log-out), their own chat
lines, the waiting counts of their campaigns, and the cues that a pick-mode queue or a
campaign's routing changed."""

from __future__ import annotations

from collections.abc import Collection

from engine.api.schemas import (
    AgentChanged,
    CampaignsChanged,
    ChatSaid,
    Event,
    InteractionChanged,
    InteractionMoved,
    LoggedOut,
    MailboxChanged,
    MessageChanged,
    PickQueueChanged,
    QueueChanged,
    ScreenChanged,
    ScreenWatchers,
    StatsChanged,
    WaitingChanged,
)
from engine.server.caller import Caller


def may_see(caller: Caller, event: Event, campaigns: Collection[str] = ()) -> bool:
    """`campaigns`: the names of the caller's campaigns (whose queues they may count)."""
    if isinstance(event, ChatSaid):  # private, other supervisors included
        return caller.username in (event.line.sender, event.line.recipient)
    if isinstance(event, ScreenWatchers):  # the watched agent's own consoles only
        return caller.username == event.agent
    if isinstance(event, ScreenChanged):  # a screen's frames: to those watching it only
        return caller.username in event.to
    if caller.sees_all:
        return True
    match event:
        case StatsChanged() | QueueChanged() | MailboxChanged():
            return False
        case InteractionChanged(interaction=item):
            return item.agent == caller.username
        case MessageChanged(agent=agent):
            return agent == caller.username
        case AgentChanged(agent=row):
            return row.username == caller.username
        case InteractionMoved(from_agent=agent):  # it left them: their console drops it
            return agent == caller.username
        case LoggedOut(username=username):
            return username == caller.username
        case PickQueueChanged() | CampaignsChanged():  # cues naming nothing: reload
            return "agent" in caller.roles
        case WaitingChanged(campaign=name):
            return name in campaigns
    return False
