"""A dialer's lists: a name, a subject and records imported from a CSV upload.

The upload is streamed to a spool file under the data dir (never held whole in memory) and
refused past `max_bytes`; its encoding is checked as it arrives. The rows are then read and
checked by `engine/domain/dialer_rows.py` (the common row with one pattern, any other by
`dialer_csv.py`) in a worker thread, a batch at a time, while the batch before is inserted
and committed in the database's writer thread (`import_rows.py`, `Database.write_at_once`):
the writer is free between batches, so other engine work goes on during a large import.
The rows land in a list marked `importing` (the new list, or a staging list an append moves
into its list in the last transaction), so an import lands whole or not at all: a failed or
cancelled one is removed at once, one the engine died in by `recover` at the next start. A
bad row is reported with its line number and reason; a record the dialer cannot send
(invalid recipient, undefined `${variable}`) is stored failed with the reason, so the report
and the dashboard count it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import (
    Campaign,
    Dialer,
    DialerList,
    DialerListAttachment,
    DialerRecord,
    DialerRecordState,
    Template,
    UploadedFile,
)
from engine import failpoints
from engine.api.schemas import DialerListOut, DialerListQuery, ImportReport
from engine.domain.dialer_csv import (
    Accepted,
    CsvError,
    EncodingCheck,
    ListRules,
    Rejected,
    example_csv,
)
from engine.domain.dialer_rows import Ready, read_rows
from engine.errors import Conflict, Invalid, NotFound
from engine.services.dialer.import_check import Row, check_file, next_batch
from engine.services.dialer.import_rows import STATES, insert_rows
from engine.services.dialer.records import find_dialer

__all__ = ["ATTACHMENT_PURPOSE", "DialerLists"]

log = logging.getLogger(__name__)
ATTACHMENT_PURPOSE = "dialer"


class DialerLists:
    def __init__(
        self, db: Database, spool_dir: Path, *, max_bytes: int, process_from_bytes: int
    ) -> None:
        self.db = db
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        # A list from this size up is checked in a process of its own (`import_check.py`):
        # starting one costs ~0.25 s, which a small list would notice and a large one repays.
        self.process_from_bytes = process_from_bytes

    async def lists(self, dialer_name: str) -> list[DialerListOut]:
        async with self.db.session() as session:
            dialer = await find_dialer(session, dialer_name)
            lists = (
                await session.scalars(
                    select(DialerList)
                    .where(DialerList.dialer_id == dialer.id, DialerList.importing.is_(False))
                    .order_by(DialerList.id)
                )
            ).all()
            counts: dict[tuple[int, DialerRecordState], int] = {
                (list_id, state): n
                for list_id, state, n in await session.execute(
                    select(DialerRecord.list_id, DialerRecord.state, func.count())
                    .where(DialerRecord.list_id.in_([x.id for x in lists]))
                    .group_by(DialerRecord.list_id, DialerRecord.state)
                )
            }
            return [
                DialerListOut(
                    id=x.id,
                    dialer=dialer.name,
                    name=x.name,
                    subject=x.subject,
                    active=x.active,
                    records=sum(n for (i, _), n in counts.items() if i == x.id),
                    pending=counts.get((x.id, DialerRecordState.PENDING), 0),
                    failed=counts.get((x.id, DialerRecordState.FAILED), 0),
                    created_at=x.created_at,
                )
                for x in lists
            ]

    @staticmethod
    def example(campaign: str) -> str:
        """The example list the screens and `ctl dialer example-csv` offer."""
        return example_csv(campaign or "Support")

    async def remove(self, list_id: int) -> None:
        """Refused while its dialer runs with it active (its records may be going out)."""
        async with self.db.session() as session, session.begin():
            found = await session.get(DialerList, list_id)
            if found is None:
                raise NotFound(f"no dialer list {list_id}")
            dialer = await session.get_one(Dialer, found.dialer_id)
            if dialer.running and found.active:
                raise Conflict(
                    f"list {found.name!r} is running (dialer {dialer.name!r} is playing it):"
                    " stop the dialer before removing it"
                )
            await session.execute(delete(DialerRecord).where(DialerRecord.list_id == list_id))
            await session.delete(found)

    # ---- upload ----
    async def upload(
        self,
        dialer_name: str,
        query: DialerListQuery,
        chunks: AsyncIterator[bytes],
        declared_length: int | None = None,
    ) -> ImportReport:
        if declared_length is not None and declared_length > self.max_bytes:
            raise Invalid(self._too_large(), field="file")
        async with self.db.session() as session:
            dialer = await find_dialer(session, dialer_name)
            existing = await session.scalar(
                select(DialerList).where(
                    DialerList.dialer_id == dialer.id, DialerList.name == query.name
                )
            )
            rules, token_ids = await self._rules(session, dialer, query, existing)
        if query.mode == "new" and existing is not None:
            raise Conflict(
                f"name: dialer {dialer_name!r} already has a list {query.name!r}; append to it"
                " (--append) or choose another name",
                field="name",
            )
        if query.mode == "append" and existing is None:
            raise NotFound(f"name: dialer {dialer_name!r} has no list {query.name!r}", field="name")
        try:
            check = EncodingCheck(query.encoding)
        except CsvError as exc:
            raise Invalid(str(exc), field="encoding") from exc
        path = await self._spool(chunks, check)
        try:
            return await self._import(dialer, query, existing, rules, token_ids, path, check)
        finally:
            path.unlink(missing_ok=True)

    def _too_large(self) -> str:
        return (
            f"file: the list is larger than the {self.max_bytes:,} bytes limit"
            " (POSTDESK_MAX_LIST_BYTES); split it and append the parts"
        )

    async def _spool(self, chunks: AsyncIterator[bytes], check: EncodingCheck) -> Path:
        self.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.spool_dir / f"list-{secrets.token_hex(8)}.csv"
        size = 0
        try:
            with open(path, "xb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise Invalid(self._too_large(), field="file")
                    check.feed(chunk)
                    out.write(chunk)
            check.finish()
        except CsvError as exc:
            path.unlink(missing_ok=True)
            raise Invalid(f"file: {exc}", field="file") from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise Invalid("file: the list is empty", field="file")
        return path

    async def _rules(
        self,
        session: AsyncSession,
        dialer: Dialer,
        query: DialerListQuery,
        existing: DialerList | None,
    ) -> tuple[ListRules, dict[str, int]]:
        campaign = await session.get_one(Campaign, dialer.campaign_id)
        template = await session.get(Template, dialer.template_id) if dialer.template_id else None
        subject = query.subject if existing is None else existing.subject
        event = (
            (
                dialer.event_title,
                dialer.event_organizer,
                dialer.event_start_var,
                dialer.event_end_var,
            )
            if dialer.attach_event
            else ()
        )
        token_ids = dict(
            (
                await session.execute(
                    select(UploadedFile.token, UploadedFile.id).where(
                        UploadedFile.purpose == ATTACHMENT_PURPOSE
                    )
                )
            ).all()
        )
        rules = ListRules(
            campaign=campaign.name,
            subject=subject,
            template_texts=(template.body_text, template.body_html) if template else (),
            event_texts=event,
            attachment_tokens=frozenset(token_ids),
        )
        return rules, token_ids

    async def _import(
        self,
        dialer: Dialer,
        query: DialerListQuery,
        existing: DialerList | None,
        rules: ListRules,
        token_ids: dict[str, int],
        path: Path,
        check: EncodingCheck,
    ) -> ImportReport:
        # Rows go into a list of their own, marked `importing`: the new list itself, or a
        # staging list whose records join the existing one in the last transaction. So an
        # import that fails, is cancelled or dies with the engine (`recover`) leaves nothing.
        name = (
            query.name if existing is None else f"{query.name} (importing {secrets.token_hex(4)})"
        )
        try:
            async with self.db.session() as session, session.begin():
                staging = DialerList(
                    dialer_id=dialer.id,
                    name=name,
                    subject=query.subject if existing is None else existing.subject,
                    active=False,
                    importing=True,
                )
                session.add(staging)
                await session.flush()
                staging_id = staging.id
        except IntegrityError as exc:  # the same name uploaded twice at once
            raise Conflict(
                f"name: dialer {dialer.name!r} already has a list {query.name!r}", field="name"
            ) from exc
        list_id = staging_id if existing is None else existing.id
        report = ImportReport(
            dialer=dialer.name,
            list_name=query.name,
            list_id=list_id,
            appended=existing is not None,
            imported=0,
            failed=0,
            rejected=0,
            failures=[],
            rejections=[],
        )
        used: set[int] = set()
        try:
            if path.stat().st_size >= self.process_from_bytes:
                await self._store_checked_apart(
                    path, check.text_codec, rules, staging_id, report, token_ids, used
                )
            else:
                with open(path, encoding=check.text_codec, newline="") as text:
                    outcomes = read_rows(text, rules)
                    await self._store(outcomes, staging_id, report, token_ids, used)
            async with self.db.session() as session, session.begin():
                await self._finish(session, staging_id, list_id, used)
        except IntegrityError as exc:  # its dialer or list went away meanwhile
            await asyncio.shield(self._undo(staging_id))
            raise Conflict(
                f"name: list {query.name!r} or its dialer was removed during the import",
                field="name",
            ) from exc
        except BaseException:
            await asyncio.shield(self._undo(staging_id))
            raise
        shown = len(report.failures) + len(report.rejections)
        report.not_shown = report.failed + report.rejected - shown
        return report

    @staticmethod
    async def _finish(session: AsyncSession, staging_id: int, list_id: int, used: set[int]) -> None:
        """The import's last transaction: the rows become the list's."""
        await session.execute(
            update(DialerRecord)
            .where(
                DialerRecord.list_id == staging_id,
                DialerRecord.state == DialerRecordState.FAILED,
            )
            .values(processed_at=datetime.now(UTC))
        )
        if list_id != staging_id:
            await session.execute(
                update(DialerRecord)
                .where(DialerRecord.list_id == staging_id)
                .values(list_id=list_id)
            )
            await session.execute(delete(DialerList).where(DialerList.id == staging_id))
        else:
            await session.execute(
                update(DialerList)
                .where(DialerList.id == list_id)
                .values(importing=False, active=True)
            )
        known = set(
            (
                await session.scalars(
                    select(DialerListAttachment.file_id).where(
                        DialerListAttachment.list_id == list_id
                    )
                )
            ).all()
        )
        if used - known:
            await session.execute(
                insert(DialerListAttachment),
                [{"list_id": list_id, "file_id": f} for f in sorted(used - known)],
            )

    async def recover(self) -> int:
        """At start: lists an import was filling when the engine stopped (a crash, a kill)
        are removed with their records; their upload never got its report. (One engine per
        database for now: engines sharing one will need to mark whose import a list is.)"""
        async with self.db.session() as session, session.begin():
            dead = (await session.scalars(select(DialerList.id).where(DialerList.importing))).all()
            if dead:
                await session.execute(delete(DialerRecord).where(DialerRecord.list_id.in_(dead)))
                await session.execute(delete(DialerList).where(DialerList.id.in_(dead)))
        if dead:
            log.warning(
                "removed %d dialer list import(s) the engine stopped in the middle of", len(dead)
            )
        for spooled in self.spool_dir.glob("list-*.csv"):  # their uploads, on disk
            spooled.unlink(missing_ok=True)
        return len(dead)

    async def _store(
        self,
        outcomes: Iterator[Ready | Accepted | Rejected],
        list_id: int,
        report: ImportReport,
        token_ids: dict[str, int],
        used: set[int],
    ) -> None:
        """Check the next batch in a worker thread while this one is inserted in the
        database's writer thread, in its write turn: the rows' checks are Python, the insert
        mostly SQLite, which lets go of the GIL."""
        checking = asyncio.ensure_future(
            asyncio.to_thread(next_batch, outcomes, list_id, report, token_ids, used, STATES)
        )
        try:
            while True:
                batch, done = await checking
                if not done:
                    checking = asyncio.ensure_future(
                        asyncio.to_thread(
                            next_batch, outcomes, list_id, report, token_ids, used, STATES
                        )
                    )
                await self._insert(batch)
                if done:
                    return
        finally:
            if not checking.done():
                with contextlib.suppress(Exception):
                    await checking

    async def _store_checked_apart(
        self,
        path: Path,
        codec: str,
        rules: ListRules,
        list_id: int,
        report: ImportReport,
        token_ids: dict[str, int],
        used: set[int],
    ) -> None:
        """The same, with the checking in a process of its own (`import_check.check_file`),
        which is a batch ahead: its next batch is received while this one is inserted."""
        ours, theirs = socket.socketpair()
        try:
            checker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                check_file.__module__,
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the checker's copy only: the pipe ends when the checker does
        channel = Connection(ours.detach())

        def receive() -> tuple[object, ...]:
            try:
                message: tuple[object, ...] = channel.recv()
            except EOFError:
                return ("ended",)
            return message

        receiving: asyncio.Future[tuple[object, ...]] | None = None
        finished = False
        try:
            task = (str(path), codec, rules, list_id, token_ids, STATES, report)
            await asyncio.to_thread(channel.send, task)
            receiving = asyncio.ensure_future(asyncio.to_thread(receive))
            while (message := await receiving)[0] == "batch":
                # The next batch is received (unpickled) while this one is inserted.
                receiving = asyncio.ensure_future(asyncio.to_thread(receive))
                assert isinstance(message[1], list)
                await self._insert(message[1])
            if message[0] == "ended":  # killed (out of memory?), or a bug before it could say
                code = await checker.wait()
                raise RuntimeError(
                    f"the list's checking process ended early (exit status {code});"
                    " nothing of this upload was kept"
                )
            if message[0] != "done":
                raise RuntimeError(f"checking the list failed: {message[1]}")
            checked, checked_used = message[1], message[2]
            assert isinstance(checked, ImportReport) and isinstance(checked_used, set)
            report.imported, report.failed = checked.imported, checked.failed
            report.rejected = checked.rejected
            report.failures, report.rejections = checked.failures, checked.rejections
            used |= checked_used
            finished = True
        finally:
            if not finished and checker.returncode is None:  # an error, a cancelled upload
                with contextlib.suppress(ProcessLookupError):
                    checker.kill()
            if receiving is not None and not receiving.done():  # ends with the checker's end
                with contextlib.suppress(Exception):
                    await receiving
            channel.close()
            await checker.wait()

    async def _insert(self, batch: list[Row]) -> None:
        if batch:
            await self.db.write_at_once(functools.partial(insert_rows, batch))
            failpoints.reached("dialer-import-batch")

    async def _undo(self, staging_id: int) -> None:
        """Remove what a failed import stored: its staging list and the records in it."""
        try:
            async with self.db.session() as session, session.begin():
                await session.execute(
                    delete(DialerRecord).where(DialerRecord.list_id == staging_id)
                )
                await session.execute(delete(DialerList).where(DialerList.id == staging_id))
        except Exception:
            log.exception("could not undo the failed import into dialer list %s", staging_id)
