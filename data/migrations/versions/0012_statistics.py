"""statistics: service-level deadline, first response and handling time per interaction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

Backfilled from what the rows already say: the deadline of every inbound interaction that
reached an agent or still waits (its arrival plus its campaign's service level now), its first
answer (the first reply an agent wrote in it), and the handling time of closed interactions
(their last assignment to their close: earlier assignments were not kept). Seconds are
computed here in Python, so the backfill reads the same on SQLite and PostgreSQL.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text to a bare reflected query
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("service_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_response_seconds", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("handling_seconds", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("ix_interactions_waiting", "interactions", ["state", "queued_at"])
    op.create_index("ix_interactions_created_at", "interactions", ["created_at"])
    op.create_index("ix_interactions_closed_at", "interactions", ["closed_at"])
    op.create_index("ix_interactions_first_response_at", "interactions", ["first_response_at"])
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    interactions = sa.table(
        "interactions",
        sa.column("id", sa.Integer),
        sa.column("campaign_id", sa.Integer),
        sa.column("direction", sa.String),
        sa.column("state", sa.String),
        sa.column("agent_id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("assigned_at", sa.DateTime(timezone=True)),
        sa.column("closed_at", sa.DateTime(timezone=True)),
        sa.column("service_due_at", sa.DateTime(timezone=True)),
        sa.column("first_response_at", sa.DateTime(timezone=True)),
        sa.column("first_response_seconds", sa.Integer),
        sa.column("handling_seconds", sa.Integer),
    )
    campaigns = sa.table(
        "campaigns", sa.column("id", sa.Integer), sa.column("service_level_seconds", sa.Integer)
    )
    messages = sa.table(
        "messages",
        sa.column("interaction_id", sa.Integer),
        sa.column("direction", sa.String),
        sa.column("kind", sa.String),
        sa.column("sent_by_id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    first_reply = (
        sa.select(sa.func.min(messages.c.created_at))
        .where(
            messages.c.interaction_id == interactions.c.id,
            messages.c.direction == "outbound",
            messages.c.kind == "reply",
            messages.c.sent_by_id.is_not(None),
        )
        .scalar_subquery()
    )
    query = (
        sa.select(
            interactions.c.id,
            interactions.c.direction,
            interactions.c.state,
            interactions.c.agent_id,
            interactions.c.created_at,
            interactions.c.assigned_at,
            interactions.c.closed_at,
            campaigns.c.service_level_seconds,
            first_reply.label("first_reply"),
        )
        .join(campaigns, campaigns.c.id == interactions.c.campaign_id)
        .order_by(interactions.c.id)
    )
    updates: list[dict[str, object]] = []
    last = 0
    while True:  # in pages by id, so a million interactions never sit in memory at once
        page = bind.execute(query.where(interactions.c.id > last).limit(_BATCH)).all()
        if not page:
            break
        last = page[-1].id
        updates.extend(v for row in page if len(v := _values(row)) > 1)
        if len(updates) >= _BATCH:
            _write(bind, interactions, updates)
            updates = []
    _write(bind, interactions, updates)


def _values(row: Any) -> dict[str, object]:
    created = _aware(row.created_at)
    first = _aware(row.first_reply)
    assigned, closed = _aware(row.assigned_at), _aware(row.closed_at)
    values: dict[str, object] = {"b_id": row.id}
    reached_people = row.agent_id is not None or row.state != "closed"
    if row.direction == "inbound" and created is not None and reached_people:
        values["due"] = created + timedelta(seconds=row.service_level_seconds or 0)
        if first is not None:
            values["first"] = first
            values["first_seconds"] = max(0, int((first - created).total_seconds()))
    if row.state == "closed" and assigned is not None and closed is not None:
        values["handling"] = max(0, int((closed - assigned).total_seconds()))
    return values


def _write(
    bind: sa.Connection, interactions: sa.TableClause, updates: list[dict[str, object]]
) -> None:
    columns = {
        "due": "service_due_at",
        "first": "first_response_at",
        "first_seconds": "first_response_seconds",
        "handling": "handling_seconds",
    }
    # One statement per shape of row (executemany wants the same keys in every row).
    shapes: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for values in updates:
        shapes.setdefault(tuple(sorted(k for k in values if k != "b_id")), []).append(values)
    for keys, rows in shapes.items():
        statement = (
            interactions.update()
            .where(interactions.c.id == sa.bindparam("b_id"))
            .values({columns[k]: sa.bindparam(k) for k in keys})
        )
        bind.execute(statement, rows)


def downgrade() -> None:
    op.drop_index("ix_interactions_first_response_at", "interactions")
    op.drop_index("ix_interactions_closed_at", "interactions")
    op.drop_index("ix_interactions_created_at", "interactions")
    op.drop_index("ix_interactions_waiting", "interactions")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("handling_seconds")
        batch.drop_column("first_response_seconds")
        batch.drop_column("first_response_at")
        batch.drop_column("service_due_at")
