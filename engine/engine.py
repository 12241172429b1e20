"""The engine: owns the database, every mail connection, the routing queues and the API.

`Engine.start()` wires the services and runs each long-lived one as a supervised asyncio task:
a failing mailbox is logged, waits with exponential backoff and starts again; it never takes
the engine down. Only one engine may own a data dir (an flock on `run/engine.lock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from data.blobs import BlobStore
from data.db import Database
from data.db_blobs import Blobs, DatabaseBlobs
from data.models import Campaign, InboundTransport
from data.secrets import SecretBox, SecretError
from engine import memory
from engine.api.schemas import Event, encode
from engine.bus import EventBus
from engine.config import Settings
from engine.domain.node_changes import Changes
from engine.server.app import ApiServer
from engine.services.admin.campaign_removal import CampaignRemoval
from engine.services.admin.oauth import OAuthService
from engine.services.admin.records import Admin
from engine.services.customer.blacklist import Blacklist
from engine.services.customer.ratings import Ratings
from engine.services.customer.watch import CustomerEventWatcher
from engine.services.dialer.answers import DialerAnswers
from engine.services.dialer.attachments import DialerAttachments
from engine.services.dialer.board import DialerBoard
from engine.services.dialer.drilldown import DialerRecords
from engine.services.dialer.lists import DialerLists
from engine.services.dialer.progress import DialerProgressBoard
from engine.services.dialer.records import Dialers
from engine.services.dialer.runner import DialerRunner
from engine.services.dialer.shared_slots import ConnectionSlots
from engine.services.dialer.smtp_pool import SmtpPool
from engine.services.inbound.imap import ImapMailbox
from engine.services.inbound.ingest import Ingestor
from engine.services.inbound.mailbox_health import MailboxBoard
from engine.services.inbound.maildir import MaildirMailbox
from engine.services.inbound.quarantine import QuarantineService
from engine.services.node_events import NodeEvents
from engine.services.nodes.leases import NodeLeases
from engine.services.nodes.screens import CHANNEL as SCREENS
from engine.services.nodes.screens import ScreenRelay
from engine.services.notify import Notifier
from engine.services.outbound.agent_mail import AgentMail
from engine.services.outbound.confirmations import Confirmations
from engine.services.outbound.outbox import Outbox
from engine.services.people.break_reasons import BreakReasons
from engine.services.people.chat import Chat
from engine.services.people.identity import Identity
from engine.services.people.monitoring import Monitoring
from engine.services.people.presence import Presence
from engine.services.queries import Queries
from engine.services.recordings.files import RecordingFiles
from engine.services.recordings.search import RecordingsSearch
from engine.services.recordings.upkeep import SearchUpkeep
from engine.services.work.interactions import Work
from engine.services.work.pick import Picking
from engine.services.work.router import Router
from engine.services.work.schedules import Schedules
from engine.services.work.transfer import Transfers
from engine.services.work.wrapups import Wrapups

log = logging.getLogger(__name__)

# A service that ran this long before failing had recovered: its backoff starts again.
RAN_WELL_SECONDS = 60.0


def restart_wait(delay: float, ran_for: float) -> float:
    """Seconds to wait before restarting a service that failed after ``ran_for`` seconds.

    ``delay`` is the backoff earned by earlier failures; a service that had been running
    well for a while starts afresh, so one failure a day never waits the full minute.
    """
    return 1.0 if ran_for >= RAN_WELL_SECONDS else delay


class EngineAlreadyRunning(RuntimeError):
    pass


class Engine:
    def __init__(self, settings: Settings, *, run_mail: bool = True) -> None:
        self.settings = settings
        self.run_mail = run_mail
        self.stopping = False
        self.stop_seconds = 10.0  # how long `stop` waits for each part (see there)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lock_file: IO[bytes] | None = None
        self.service_errors: dict[str, str] = {}
        self._umask: int | None = None
        self.leases: NodeLeases | None = None  # several nodes on PostgreSQL (issue 16)

    @property
    def socket_path(self) -> Path:
        return self.settings.socket

    def _lock(self) -> None:
        run_dir = self.settings.socket.parent
        run_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(run_dir / "engine.lock", "wb")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_file.close()
            self._lock_file = None
            raise EngineAlreadyRunning(
                f"another Postdesk engine already owns {self.settings.home}"
            ) from exc

    async def start(self) -> None:
        # Everything the engine writes is private (database, blobs, key); consoles of other OS
        # users only need to reach the socket, so the data dir and run dir are traverse-only.
        self._umask = os.umask(0o077)
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o711)
        self._lock()
        os.chmod(self.settings.socket.parent, 0o711)
        self.db = Database(self.settings.db_url)
        await self.db.upgrade()
        if "POSTDESK_BREAK_REASONS" in os.environ:
            log.warning(
                "POSTDESK_BREAK_REASONS is no longer read: break reasons are kept in the "
                "database (postdesk ctl break-reason)"
            )
        # Several nodes read every blob (issue 16): in the database on PostgreSQL unless a
        # shared directory is set; files on SQLite (data/db_blobs.py).
        files = BlobStore(self.settings.blob_dir)
        self.blobs: Blobs = (
            DatabaseBlobs(self.db, old_files=files)
            if self.db.engine.dialect.name == "postgresql" and not self.settings.shared_blob_dir
            else Blobs(files)
        )
        self.secrets = SecretBox(self.settings.key)
        await self._check_key()
        self.bus = EventBus()
        self.mailboxes = MailboxBoard(self.bus)
        self.notifier = Notifier(self.db, self.bus)
        self.outbox = Outbox(
            self.db,
            self.blobs,
            self.secrets,
            self.notifier,
            retry_base=self.settings.outbox_retry_base,
        )
        self.ingestor = Ingestor(
            self.db,
            self.blobs,
            self.notifier,
            max_attachment_bytes=self.settings.max_inbound_attachment_bytes,
        )
        self.quarantine = QuarantineService(self.db, self.blobs, self.ingestor)
        # The one clock of opening hours (tests move `schedules.clock` across an edge).
        self.schedules = Schedules(self.db)
        self.notifier.campaign_states = self.schedules.states
        self.confirmations = Confirmations(
            self.db, self.blobs, self.notifier, self.outbox.kick, schedules=self.schedules
        )
        self.ingestor.on_new_customer = self.confirmations.for_new_interactions
        self.router = Router(self.db, self.notifier, schedules=self.schedules)
        self.work = Work(
            self.db, self.blobs, self.notifier, self.outbox.kick, web_url=self.settings.web_url
        )
        self.picking = Picking(self.db, self.notifier)
        self.admin = Admin(
            self.db, self.secrets, self.campaign_changed, on_member_added=self._routing_changed
        )
        self.campaign_removal = CampaignRemoval(
            self.db,
            self.notifier,
            stop_mailbox=self.stop_mailbox,
            campaign_changed=self.campaign_changed,
            routing_changed=self._routing_changed,
        )
        # OAuth2 mailboxes (issue 17): a new grant restarts the campaign's mailbox at once.
        self.oauth = OAuthService(self.db, self.secrets, self.settings, self.campaign_changed)
        self.outbox.bearer_for = self.oauth.bearer_for
        self.admin.oauth = self.oauth
        self.break_reasons = BreakReasons(self.db)
        self.wrapups = Wrapups(self.db)
        self.identity = Identity(self.db)
        self.queries = Queries(self.db, self.schedules.states)
        self.ratings = Ratings(self.db)
        self.blacklist = Blacklist(self.db)
        self.customer_events = CustomerEventWatcher(self.db, self.notifier)
        self.presence = Presence(
            self.db,
            self.notifier,
            self.break_reasons,
            node=self.settings.node,
            status_lock=self.router.status_lock,
            beat=self.settings.presence_beat,
            on_free=self.router.kick,
            on_offline=lambda: self.transfers.kick(),
        )
        self.chat = Chat(self.db, self.notifier, self.presence)
        # Transfers, reassignments and the requeue after a log-out, on the schedules' clock.
        self.transfers = Transfers(self.db, self.notifier, clock=self.schedules.now)
        self.agent_mail = AgentMail(
            self.db,
            self.blobs,
            self.notifier,
            self.outbox.kick,
            max_attachment_bytes=self.settings.max_attachment_bytes,
        )
        # The email dialer (issue 13): its records, lists and attachments.
        self.dialers = Dialers(self.db, clock=self.schedules.now)
        self.dialer_records = DialerRecords(self.db)  # the records one by one (drill-down)
        self.dialer_lists = DialerLists(
            self.db,
            home / "spool",
            max_bytes=self.settings.max_list_bytes,
            process_from_bytes=self.settings.list_check_process_bytes,
        )
        self.dialer_attachments = DialerAttachments(
            self.db, self.blobs, max_bytes=self.settings.max_attachment_bytes
        )
        await self.dialer_lists.recover()  # imports this data dir's last engine left half done
        # The dialer sends (issue 13): progress events, SMTP connections, the runner.
        self.dialer_progress = DialerProgressBoard(self.db, self.bus, self.schedules.now)
        # Seen images, unsubscribes, bounces and complaints change records outside the
        # runner; the customer-event watcher tells the board, whose event follows.
        self.customer_events.dialer_records_changed = self.dialer_progress.changed
        # Several nodes on PostgreSQL: an account's connection cap holds across them.
        self.smtp_slots: ConnectionSlots | None = None
        if self.db.engine.dialect.name == "postgresql":
            self.smtp_slots = ConnectionSlots(self.db, self.settings.node)
            await self.smtp_slots.start()
        self.dialer_runner = DialerRunner(
            self.db,
            self.blobs,
            SmtpPool(self.secrets, bearer_for=self.oauth.bearer_for, slots=self.smtp_slots),
            self.dialer_progress,
            clock=self.schedules.now,
            base_url=lambda: self.settings.web_url,
            retry_base=self.settings.outbox_retry_base,
        )
        self.ingestor.dialer_threads = DialerAnswers(self.db, self.dialer_runner, self.blobs)
        self.dialer_board = DialerBoard(self.db, self.schedules.now)  # the dashboard (issue 14)
        self.recordings = RecordingsSearch(self.db)
        self.recording_files = RecordingFiles(self.db, self.blobs, self.queries)
        # Screen views, spies, the audit log.
        self.monitoring = Monitoring(self.db, self.bus, node=self.settings.node)
        await self.monitoring.recover()
        self.presence.on_lost = self.monitoring.nodes_lost  # a dead node's watches end
        # No console of this node is connected yet: routing waits for the agents to come.
        await self.presence.start()
        # Several nodes on one PostgreSQL (issue 16, docs/deploy.md): each tells the others what
        # it changed and publishes what they changed to its own consoles.
        self.node_events: NodeEvents | None = None
        if self.db.engine.dialect.name == "postgresql":
            self.node_events = NodeEvents(
                self.db,
                self.notifier,
                on_campaigns=self.router.reconsider,
                on_dialers=self.dialer_progress.heard,
            )
            self.dialer_progress.share = self.node_events.tell_dialers
            # The live view of an agent's screen from a supervisor on another node.
            relay = ScreenRelay(self.db, self.node_events.token)
            relay.on_watchers = self.monitoring.refresh
            relay.on_frame = self.monitoring.frame_heard
            self.node_events.channels[SCREENS] = relay.heard
            self.node_events.after_catch_up.append(self.monitoring.refresh_all)
            # Every mailbox's health on every node: stored by its reader, read by all.
            node_events = self.node_events

            async def tell_events(events: list[Event]) -> None:
                await node_events.tell(Changes(events=[encode(e).decode() for e in events]))

            self.mailboxes.share(self.db, self.settings.node, tell_events)
            self.supervise("mailbox-health", self.mailboxes.run)
            self.monitoring.relay = relay
            self.supervise("node-events", self.node_events.run)
        self.server = ApiServer(self)
        await self.server.start(self.settings.socket, self.settings.socket_group)
        self.supervise("notifier", self.notifier.run)
        self.supervise("presence", self.presence.run)
        self.supervise("customer-events", self.customer_events.run)
        self.supervise("dialer-progress", self.dialer_progress.run)
        self.supervise("monitoring", self.monitoring.run)
        if SearchUpkeep.applies(self.db):  # the search indexes kept merged (issue 15)
            self.supervise("search-upkeep", SearchUpkeep(self.db).run)
        if self.run_mail:
            self.supervise("router", self.router.run)
            self.ingestor.router = self.router  # new mail is routed as it is stored
            if self.node_events is not None:
                self.node_events.routes = True  # it routes what it queues (notify.py `heard`)
            self.supervise("outbox", self.outbox.run)
            self.supervise("requeue", self.transfers.run)
            self.supervise("dialer-runner", self.dialer_runner.run)
            if self.smtp_slots is not None:
                self.supervise("smtp-slots", self.smtp_slots.run)
            if self.db.engine.dialect.name == "postgresql":
                # Several nodes may share this database (issue 16): each campaign's mailbox
                # and outbox run on the node holding its lease, taken over within seconds
                # when that node dies (engine/services/nodes/leases.py). SQLite: one node.
                # Wired before the first await, so before the outbox task first runs.
                async def lease_lost(campaign_id: int) -> None:
                    await self.stop_mailbox(campaign_id)
                    self.mailboxes.forget(campaign_id)

                self.leases = NodeLeases(
                    self.db,
                    self.settings.node,
                    recover=self.outbox.recover_campaign,
                    start=self.campaign_changed,
                    stop=lease_lost,
                    settled=self.outbox.settled,
                )
                self.ingestor.fence = self.leases.fence
                self.outbox.owned = self.leases.owned
                await self.leases.begin()
                self.supervise("leases", self.leases.run)
            async with self.db.session() as session:
                ids = (
                    (
                        await session.execute(
                            select(Campaign.id).where(Campaign.removed_at.is_(None))
                        )
                    )
                    .scalars()
                    .all()
                )
            for campaign_id in ids if self.leases is None else ():
                await self.campaign_changed(campaign_id)
        await self._check_web_url()
        log.info("engine started on %s", self.settings.socket)

    async def _check_web_url(self) -> None:
        """Rating links built on the listening address (the default) reach nobody outside
        this machine: say so once, naming the campaigns whose replies carry them."""
        if self.settings.web_base_url:
            return
        async with self.db.session() as session:
            names = (
                await session.execute(
                    select(Campaign.name).where(
                        Campaign.qualification_enabled | Campaign.track_replies
                    )
                )
            ).scalars()
            rating = sorted(names)
        if rating:
            log.warning(
                "POSTDESK_WEB_BASE_URL is not set: the links in replies of %s point to %s, which"
                " customers cannot reach; set it to the web service's public https address"
                " (docs/web.md)",
                ", ".join(rating),
                self.settings.web_url,
            )

    async def _check_key(self) -> None:
        """A data dir copied or restored without its key still starts (its mail can be read),
        and says once, plainly, why its mailboxes cannot log in."""
        async with self.db.session() as session:
            stored = await session.scalar(
                select(func.coalesce(Campaign.imap_password_enc, Campaign.smtp_password_enc))
                .where(
                    (Campaign.imap_password_enc.is_not(None))
                    | (Campaign.smtp_password_enc.is_not(None))
                )
                .limit(1)
            )
        try:
            self.secrets.decrypt(stored)
        except SecretError as exc:
            log.error("%s", exc)

    def supervise(
        self,
        name: str,
        factory: Callable[[], Awaitable[None]],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        old = self._tasks.pop(name, None)
        if old is not None:
            old.cancel()
        task = self._supervised(name, factory, on_error)
        self._tasks[name] = asyncio.create_task(task, name=name)

    async def _supervised(
        self,
        name: str,
        factory: Callable[[], Awaitable[None]],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        delay = 1.0
        while not self.stopping:
            started = time.monotonic()
            try:
                await factory()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a service failure must not stop the engine
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Cancelled, but a library swallowed it (Python 3.11's wait_for) and
                    # failed otherwise: stop rather than retry forever under a stopper.
                    raise asyncio.CancelledError from exc
                self.service_errors[name] = f"{exc.__class__.__name__}: {exc}"
                if on_error is not None:
                    on_error(str(exc) or exc.__class__.__name__)
                delay = restart_wait(delay, time.monotonic() - started)
                log.warning("service %s failed (%s); restarting in %.0fs", name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    def _routing_changed(self) -> None:
        """A campaign's routing or members changed: the router reads them again and agents
        reload what they may hold and take."""
        self.router.reconsider()
        self.notifier.campaigns_changed()

    async def stop_mailbox(self, campaign_id: int) -> None:
        """The campaign's mailbox stops reading (its fetch in progress is cancelled: ingest
        is idempotent, the next start takes it up again)."""
        old = self._tasks.pop(f"mailbox:{campaign_id}", None)
        if old is not None:
            old.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await old

    async def campaign_changed(self, campaign_id: int) -> None:
        name = f"mailbox:{campaign_id}"
        await self.stop_mailbox(campaign_id)
        if not self.run_mail:
            return
        if self.leases is not None and not await self.leases.owns(campaign_id):
            return  # another node reads it (and restarts it: see NodeLeases.owns)
        async with self.db.session() as session:
            campaign = await session.get(Campaign, campaign_id)
        if campaign is None or campaign.removed_at is not None:
            self.mailboxes.forget(campaign_id, removed=True)
            return
        if not (campaign.enabled and campaign.receive_emails):
            self.mailboxes.set(campaign_id, campaign.name, "off")
            return
        self.mailboxes.set(campaign_id, campaign.name, "connecting")

        def connected() -> None:
            self.mailboxes.connected(campaign_id)

        def failed(error: str) -> None:
            self.mailboxes.failed(campaign_id, error)

        if campaign.inbound == InboundTransport.IMAP:
            imap = ImapMailbox(
                campaign_id,
                self.db,
                self.secrets,
                self.ingestor,
                poll_seconds=self.settings.poll_seconds,
                idle_seconds=self.settings.idle_seconds,
                idle_check_seconds=self.settings.idle_check_seconds,
                on_connected=connected,
                bearer_for=self.oauth.bearer_for,
            )
            self.supervise(name, imap.run, failed)
        elif campaign.inbound == InboundTransport.MAILDIR:
            if not campaign.maildir_path.strip():
                # The form requires one; a row written otherwise (by hand, an old import)
                # must not make the engine's working directory a Maildir it reads from.
                failed("no Maildir path is set: set one in the campaign's form")
                return
            maildir = MaildirMailbox(
                campaign_id, Path(campaign.maildir_path), self.ingestor, on_connected=connected
            )
            self.supervise(name, maildir.run, failed)

    async def stop(self) -> None:
        self.stopping = True
        if hasattr(self, "oauth"):
            await self.oauth.stop()
        for task in self._tasks.values():
            task.cancel()
        # A stop never hangs: each service has `stop_seconds` to end once cancelled, and the
        # database as long to close its connections; one that does not is named in the log
        # (a PostgreSQL connection whose query was cancelled can wait on the server).
        if self._tasks:
            done, late = await asyncio.wait(self._tasks.values(), timeout=self.stop_seconds)
            for task in done:  # retrieved, so none is reported as never retrieved
                if not task.cancelled() and (error := task.exception()) is not None:
                    log.warning("service %s ended with %r", task.get_name(), error)
            for task in late:
                log.warning(
                    "service %s did not stop within %.0f s", task.get_name(), self.stop_seconds
                )
        self._tasks.clear()
        if hasattr(self, "server"):
            await self.server.stop()
            self.bus.close()
            slots: ConnectionSlots | None = getattr(self, "smtp_slots", None)
            if slots is not None:
                # Its SMTP connections are closed: the other nodes need not wait for expiry.
                try:
                    await asyncio.wait_for(slots.free_all(), self.stop_seconds)
                except Exception as exc:  # noqa: BLE001 - they expire anyway
                    log.warning("could not give back this node's SMTP connection slots: %s", exc)
            try:
                await asyncio.wait_for(self.db.close(), self.stop_seconds)
            except TimeoutError:
                log.warning("the database did not close within %.0f s", self.stop_seconds)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.settings.socket)
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None

    async def serve_forever(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        memory.settle_after_start()
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()
