"""`postdesk ctl db migrate-to`: a real SQLite installation (an engine that ingested mail
through Dovecot, answered it, closed it, with templates and a signature) moved to a database of
the test PostgreSQL cluster; then an engine on PostgreSQL serves the same data dir and goes on
working. Interrupted copies resume; a target with somebody's data is refused."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from data.blobs import BlobStore
from data.db import Database, sqlite_url
from data.db_blobs import DatabaseBlobs
from data.migrate_to import MigrateError, migrate, tables
from engine.api.schemas import CampaignPatch, RecordingQuery, TemplateIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import engine_settings, eventually, provision
from tests.mail_factory import customer_mail
from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer, SmtpSink


@pytest.fixture
async def sqlite_home(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> Path:
    """A data dir whose SQLite database holds a day's work; the engine stopped."""
    home = tmp_path / "home"
    engine = Engine(engine_settings(home, database_url=""))  # SQLite whatever the run
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            world = await provision(engine, operator, dovecot, smtp_sink)
            await operator.add_template(
                TemplateIn(name="Sig", campaign="Support", kind="signature", body_text="-- Us")
            )
            await operator.update_campaign("Support", CampaignPatch(signature_template="Sig"))
            async with world.client("agent1") as agent:
                await agent.set_status("free")
                for n in range(3):
                    world.dovecot.append(
                        world.mailbox, customer_mail(f"Kettle {n}", "Bröken kettle")
                    )
                rows = await eventually(
                    agent.interactions, lambda r: len(r) == 3, what="3 assigned"
                )
                await agent.reply(rows[0].id, "A replacement gizmo is on its way.")
                await world.sink.await_count(1)
                await agent.close_interaction(rows[1].id)
    finally:
        await engine.stop()
    return home


def sqlite_counts(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "postdesk.db") as conn:
        return {
            t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in tables()
        }


async def ctl(home: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()), "--data-dir", str(home), "ctl", *args,
        env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode(), err.decode()


def plain_url(server: PostgresServer) -> str:
    """What a person types: postgresql://, no driver."""
    return server.new_database().replace("postgresql+asyncpg://", "postgresql://")


async def test_a_sqlite_installation_moves_and_the_engine_goes_on(
    sqlite_home: Path, postgres: PostgresServer
) -> None:
    counts = sqlite_counts(sqlite_home)
    assert counts["messages"] >= 4 and counts["templates"] == 1
    url = plain_url(postgres)
    code, out, err = await ctl(sqlite_home, "db", "migrate-to", url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert {t["table"]: t["rows"] for t in report["tables"]} == counts
    assert all(len(t["sha256"]) == 64 for t in report["tables"])
    # The blob files went into the database: the engine on PostgreSQL reads them there, with
    # the data dir's files out of the way.
    assert report["blobs"] >= counts["messages"] and report["blob_bytes"] > 0
    (sqlite_home / "blobs").rename(sqlite_home / "blobs.moved")

    # The same data dir on PostgreSQL: the rows, the search, and new rows after the old ids.
    engine = Engine(engine_settings(sqlite_home, database_url=url.replace("://", "+asyncpg://", 1)))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            assert {u.username for u in await operator.users()} >= {"agent1", "super1"}
            campaign = (await operator.campaigns())[0]
            assert campaign.signature_template == "Sig"  # a key set after both tables were in
            found = await operator.recordings(RecordingQuery(text="gizmo"))
            assert found.total == 1
            mails = (await operator.recording_mails(found.items[0].id)).mails
            assert len(mails) == 2 and all(m.original for m in mails)
            assert (await operator.recordings(RecordingQuery(text="broken"))).total == 3
            agent = EngineClient(engine.socket_path, act_as="agent1")
            async with agent:
                mine = await agent.interactions(state="assigned")
                await agent.reply(mine[0].id, "And a second note.")  # a new message id
                detail = await agent.interaction(mine[0].id)
                assert detail.messages[-1].text.startswith("And a second note.")
    finally:
        await engine.stop()

    # Done once: the target is somebody's data now.
    code, _out, err = await ctl(sqlite_home, "db", "migrate-to", url)
    assert code == 1 and "not empty" in err and "Traceback" not in err


async def test_an_interrupted_copy_resumes_and_nothing_is_doubled(
    sqlite_home: Path, postgres: PostgresServer
) -> None:
    counts = sqlite_counts(sqlite_home)
    source = Database(sqlite_url(sqlite_home / "postdesk.db"))
    target = Database(postgres.new_database())
    batches = 0

    def stop_after_five(table: str, copied: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 5:
            raise KeyboardInterrupt  # what Ctrl-C mid-copy does

    try:
        with pytest.raises(KeyboardInterrupt):
            await migrate(source, target, batch=1, on_batch=stop_after_five)
        with pytest.raises(MigrateError, match="--resume"):
            await migrate(source, target)
        report = await migrate(source, target, resume=True, batch=2)
        assert report.resumed
        assert {t.table: t.rows for t in report.tables} == counts
        with pytest.raises(MigrateError, match="nothing to resume"):
            await migrate(source, target, resume=True)
    finally:
        await source.close()
        await target.close()


async def test_refusals_say_what_to_do(sqlite_home: Path, postgres: PostgresServer) -> None:
    code, _out, err = await ctl(sqlite_home, "db", "migrate-to", "mysql://x/y")
    assert code == 1 and "not a postgresql:// URL" in err
    code, _out, err = await ctl(sqlite_home, "db", "migrate-to", plain_url(postgres), "--resume")
    assert code == 1 and "nothing to resume" in err
    engine = Engine(engine_settings(sqlite_home, database_url=""))
    await engine.start()
    try:
        code, _out, err = await ctl(sqlite_home, "db", "migrate-to", plain_url(postgres))
        assert code == 1 and "the engine is running" in err
    finally:
        await engine.stop()


async def test_blob_files_of_an_installation_on_postgresql_move_into_the_database(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """An installation that ran on PostgreSQL while blobs were files (before several nodes):
    `ctl db move-blobs` puts them where every node reads them."""
    home = tmp_path / "home"
    store = BlobStore(home / "blobs")
    digests = [store.put(f"blob {n}".encode() * 100) for n in range(5)]
    url = postgres.new_database()
    target = Database(url)
    await target.upgrade()
    await target.close()
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()), "--data-dir", str(home), "ctl", "--json", "db", "move-blobs",
        env=cli_env(POSTDESK_DATABASE_URL=url), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out) == {"blobs": 5, "blob_bytes": sum(len(store.get(d)) for d in digests)}
    blobs = DatabaseBlobs(Database(url))  # no fallback to the files: from the table alone
    try:
        for digest in digests:
            assert await blobs.get(digest) == store.get(digest)
    finally:
        await blobs.db.close()
