"""A mailbox whose UIDVALIDITY changes (restored from backup, recreated by an admin) is
rescanned from the start: nothing is lost and nothing is stored twice (content hash)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from engine.client import EngineClient
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import eventually, provision, stored_message_ids
from tests.mail_factory import numbered_mail
from tests.servers import SmtpSink, free_port, start_dovecot


async def test_uidvalidity_change_rescans_without_duplicates(
    engine: Engine, operator: EngineClient, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    base_dir = tmp_path / "dc"
    port = free_port()
    dovecot = start_dovecot(base_dir, port=port)
    try:
        world = await provision(engine, operator, dovecot, smtp_sink)
        for n in (1, 2):
            dovecot.append(world.mailbox, numbered_mail(n))
        await eventually(lambda: operator.interactions(scope="all"), lambda rows: len(rows) == 2)
        subprocess.run(
            [
                "doveadm",
                "-c",
                str(dovecot.config_path),
                "mailbox",
                "update",
                "-u",
                world.mailbox.user,
                "--uid-validity",
                "4242",
                "INBOX",
            ],
            check=True,
            capture_output=True,
        )
        # Restarted so the engine reconnects and SELECTs again, seeing the new UIDVALIDITY.
        dovecot.stop()
        dovecot = start_dovecot(base_dir, port=port)
        dovecot.append(world.mailbox, numbered_mail(3))
        await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: len(rows) == 3,
            timeout=30,
            what="the rescan after the UIDVALIDITY change",
        )
        assert sorted(stored_message_ids(engine)) == [
            f"reconnect-{n}@example.net" for n in (1, 2, 3)
        ]
        checkpoint = db_probe.row(
            engine.settings, "SELECT uidvalidity, last_uid FROM mailbox_checkpoints"
        )
        assert checkpoint == (4242, 3)
    finally:
        dovecot.stop()
