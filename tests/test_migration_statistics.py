"""Migration 0012 fills the statistics columns in from what existing rows already say, and the
console's threshold colours follow the domain's rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, text

from console.widgets.campaign_stats import wait_level as console_wait_level
from data.db import Database, sqlite_url
from engine.domain.statistics import wait_level

T0 = datetime(2026, 3, 4, 9, 0)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat(sep=" ")


async def test_0012_backfills_deadlines_first_answers_and_handling(tmp_path: Path) -> None:
    from alembic import command

    from data.db import alembic_config

    db = Database(sqlite_url(tmp_path / "old.db"))

    def at_0009(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0009")
        run = connection.execute
        run(
            text(
                "INSERT INTO users (id, username, display_name, roles, status, status_reason,"
                " status_since, screen_monitoring_allowed, created_at) VALUES"
                " (1, 'ana', 'Ana', '[\"agent\"]', 'free', '', :t, 0, :t)"
            ),
            {"t": _at(0)},
        )
        campaign_columns = {
            "id": 1,
            "name": "Support",
            "enabled": 1,
            "receive_emails": 1,
            "service_level_seconds": 1800,
            "strategy": "least_active",
            "from_name": "",
            "email_address": "s@example.test",
            "inbound": "none",
            "imap_host": "",
            "imap_port": 993,
            "imap_security": "tls",
            "imap_username": "",
            "imap_folder": "INBOX",
            "imap_sent_folder": "",
            "maildir_path": "",
            "smtp_host": "h",
            "smtp_port": 25,
            "smtp_security": "plain",
            "smtp_username": "",
            "tls_verify": 1,
            "max_interactions_per_agent": 5,
            "max_interactions_in_queue": 0,
            "qualification_enabled": 0,
            "qualification_motivation": "",
            "qualification_thanks": "",
            "threshold_warning_seconds": 300,
            "threshold_critical_seconds": 900,
            "confirmation_enabled": 0,
            "created_at": _at(0),
        }
        names = ", ".join(campaign_columns)
        params = ", ".join(f":{k}" for k in campaign_columns)
        run(text(f"INSERT INTO campaigns ({names}) VALUES ({params})"), campaign_columns)
        # 1: answered after 10 min, closed after 40 (assigned at 5). 2: waiting, never
        # answered. 3: automated mail closed at once. 4: outbound, started by the agent.
        for iid, direction, state, agent, assigned, closed in (
            (1, "inbound", "closed", 1, _at(5), _at(40)),
            (2, "inbound", "queued", None, None, None),
            (3, "inbound", "closed", None, None, _at(0)),
            (4, "outbound", "assigned", 1, _at(0), None),
        ):
            run(
                text(
                    "INSERT INTO interactions (id, campaign_id, agent_id, state, direction,"
                    " client_email, client_name, subject, cc, bcc, unread, draft, created_at,"
                    " queued_at, assigned_at, closed_at, last_message_at) VALUES (:id, 1, :a,"
                    " :s, :d, 'c@example.net', '', '', '[]', '[]', 0, '', :t, :t, :as, :cl, :t)"
                ),
                {"id": iid, "a": agent, "s": state, "d": direction, "t": _at(0)}
                | {"as": assigned, "cl": closed},
            )
        for mid, iid, direction, kind, by, minutes in (
            (1, 1, "inbound", "customer", None, 0),
            (2, 1, "outbound", "confirmation", None, 1),  # automatic: not an answer
            (3, 1, "outbound", "reply", 1, 10),
            (4, 1, "outbound", "reply", 1, 20),
            (5, 4, "outbound", "new", 1, 0),
        ):
            run(
                text(
                    "INSERT INTO messages (id, interaction_id, direction, state, message_id,"
                    ' in_reply_to, "references", from_email, from_name, "to", cc, bcc,'
                    " subject, text, html, raw_sha256, auto_submitted, kind, sent_by_id,"
                    " attempts, error, created_at) VALUES (:id, :i, :d, 'sent', '', '', '[]',"
                    " '', '', '[]', '[]', '[]', '', '', '', '', 0, :k, :by, 0, '', :t)"
                ),
                {"id": mid, "i": iid, "d": direction, "k": kind, "by": by, "t": _at(minutes)},
            )

    def read(connection: Connection) -> list[tuple[object, ...]]:
        return list(
            connection.execute(
                text(
                    "SELECT id, service_due_at, first_response_at, first_response_seconds,"
                    " handling_seconds FROM interactions ORDER BY id"
                )
            )
        )

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(at_0009)
        await db.upgrade()
        async with db.engine.connect() as conn:
            rows = await conn.run_sync(read)
    finally:
        await db.close()

    def moment(value: object) -> datetime | None:
        return None if value is None else datetime.fromisoformat(str(value)).replace(tzinfo=None)

    got = [
        (i, moment(due), moment(first), secs, handling) for i, due, first, secs, handling in rows
    ]
    assert got == [
        (1, T0 + timedelta(minutes=30), T0 + timedelta(minutes=10), 600, 35 * 60),
        (2, T0 + timedelta(minutes=30), None, None, 0),
        (3, None, None, None, 0),  # automated: no deadline, nobody was to answer
        (4, None, None, None, 0),  # outbound
    ]


def test_the_console_colours_waits_by_the_domains_rule() -> None:
    for seconds in (0, 1, 299, 300, 301, 899, 900, 5000):
        for warning, critical in ((300, 900), (0, 900), (300, 0), (0, 0), (900, 300)):
            assert console_wait_level(seconds, warning, critical) == wait_level(
                seconds, warning, critical
            )
