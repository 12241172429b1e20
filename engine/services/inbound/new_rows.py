"""The rows an inbound batch creates, held in memory and inserted a table at a time.

A module of its own because this is the storage half of `engine.services.inbound.ingest`: a
batch decides in memory which interactions and messages are new (`NewInteraction`,
`NewMessage`; their ids are known only after the INSERT), then `insert_rows` writes them with
one multi-row INSERT per table, in source order, and hands the new ids back to the rows.
Every row is fitted to its columns first (`data.fit`): a stranger decides how long its text is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from data.fit import fit_row
from data.models import Attachment, Interaction, InteractionState, Message

_INTERACTIONS: Table = Interaction.__table__  # type: ignore[assignment]
_MESSAGES: Table = Message.__table__  # type: ignore[assignment]
_ATTACHMENTS: Table = Attachment.__table__  # type: ignore[assignment]


@dataclass(eq=False)
class NewInteraction:
    """An interaction this batch creates; inserted with the others, its id known after."""

    client_email: str
    cc: list[str]
    state: InteractionState
    unread: bool
    queued_at: datetime
    closed_at: datetime | None
    last_message_at: datetime
    row: dict[str, Any]
    linked: Interaction | NewInteraction | None = None
    agent_id: int | None = None
    id: int = 0

    def values(self) -> dict[str, Any]:
        row = self.row
        row["cc"] = self.cc
        row["state"] = self.state
        row["unread"] = self.unread
        row["queued_at"] = self.queued_at
        row["closed_at"] = self.closed_at
        row["last_message_at"] = self.last_message_at
        row["agent_id"] = self.agent_id
        linked = self.linked
        # A link to an interaction of this same batch is set once its id is known.
        row["linked_interaction_id"] = linked.id if isinstance(linked, Interaction) else None
        return row


BatchThread = Interaction | NewInteraction


@dataclass(eq=False)
class NewMessage:
    thread: BatchThread
    kind: str
    row: dict[str, Any]
    attachments: list[dict[str, Any]]
    id: int = 0


def insert_rows(
    session: Session, new_interactions: list[NewInteraction], new_messages: list[NewMessage]
) -> None:
    """Insert a batch's new interactions, messages and attachments, a table at a time, in
    source order; each row learns its new id."""
    if new_interactions:
        rows = [fit_row(_INTERACTIONS, i.values()) for i in new_interactions]
        ids = _insert_ids(session, _INTERACTIONS, rows)
        for interaction, new_id in zip(new_interactions, ids, strict=True):
            interaction.id = new_id
        links = [
            {"b_id": i.id, "b_linked": i.linked.id}
            for i in new_interactions
            if isinstance(i.linked, NewInteraction)
        ]
        if links:
            session.execute(
                update(_INTERACTIONS)
                .where(_INTERACTIONS.c.id == bindparam("b_id"))
                .values(linked_interaction_id=bindparam("b_linked")),
                links,
            )
    rows = []
    for message in new_messages:
        message.row["interaction_id"] = message.thread.id
        rows.append(fit_row(_MESSAGES, message.row))
    # Each new message has its own content hash (the batch deduplicates): it maps the
    # returned ids back to the messages whatever order the database returns them in.
    returned = session.execute(
        insert(_MESSAGES).returning(_MESSAGES.c.id, _MESSAGES.c.raw_sha256), rows
    )
    message_ids = {digest: message_id for message_id, digest in returned}
    attachments: list[dict[str, Any]] = []
    for message in new_messages:
        message.id = message_ids[message.row["raw_sha256"]]
        for attachment in message.attachments:
            attachment["message_id"] = message.id
            attachments.append(fit_row(_ATTACHMENTS, attachment))
    if attachments:
        session.execute(insert(_ATTACHMENTS), attachments)


def _insert_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with one multi-row INSERT; their new primary keys, in the rows' order.

    SQLAlchemy can only order RETURNING rows on SQLite by inserting one row per statement.
    SQLite numbers the rows of one INSERT in ascending order instead (a new rowid is one more
    than the largest, and our transaction holds the write lock), so the sorted ids are in
    the order of the rows; the returned client addresses double-check it.
    """
    if session.get_bind().dialect.name != "sqlite":
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    result = session.execute(insert(table).returning(table.c.id, table.c.client_email), rows)
    returned = sorted(result.all())
    if [email for _id, email in returned] != [row["client_email"] for row in rows]:
        raise RuntimeError(f"{table.name}: inserted ids are not in the order of the rows")
    return [new_id for new_id, _email in returned]
