"""index messages by raw content hash (ingest deduplication)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_raw_sha256", "messages", ["raw_sha256"])


def downgrade() -> None:
    op.drop_index("ix_messages_raw_sha256", table_name="messages")
