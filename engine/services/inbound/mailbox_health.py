"""Whether each campaign's mailbox is being read, for the people who can fix it.

A mailbox that cannot log in is restarted with backoff forever (engine.py); without this
its failure was only a log line naming `mailbox:3`. Mailboxes say when they are connected,
the supervisor of their task says when they fail, and every change is published as a
`MailboxChanged` event (the server passes it to supervisors and admins only).

Kept in memory: it describes this engine's connections right now, and a restarted engine
finds out again within one connection attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.api.schemas import MailboxChanged, MailboxHealth, MailboxState
from engine.bus import EventBus


class MailboxBoard:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._rows: dict[int, MailboxHealth] = {}

    def all(self) -> list[MailboxHealth]:
        return sorted(self._rows.values(), key=lambda row: row.campaign_name.casefold())

    def get(self, campaign_id: int) -> MailboxHealth | None:
        return self._rows.get(campaign_id)

    def set(self, campaign_id: int, name: str, state: MailboxState, error: str = "") -> None:
        """Record `state` (see `MailboxHealth`); publish only what changed."""
        old = self._rows.get(campaign_id)
        if old is not None and (old.state, old.error, old.campaign_name) == (state, error, name):
            return
        since = old.since if old is not None and old.state == state else datetime.now(UTC)
        row = MailboxHealth(
            campaign_id=campaign_id,
            campaign_name=name,
            state=state,
            since=since,
            error=error,
        )
        self._rows[campaign_id] = row
        self.bus.publish(MailboxChanged(mailbox=row))

    def failed(self, campaign_id: int, error: str) -> None:
        old = self._rows.get(campaign_id)
        self.set(campaign_id, old.campaign_name if old else f"#{campaign_id}", "failing", error)

    def connected(self, campaign_id: int) -> None:
        old = self._rows.get(campaign_id)
        self.set(campaign_id, old.campaign_name if old else f"#{campaign_id}", "connected")

    def forget(self, campaign_id: int) -> None:
        """The campaign is gone."""
        self._rows.pop(campaign_id, None)
