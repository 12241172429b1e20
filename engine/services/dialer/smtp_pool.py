"""The dialer's SMTP connections: kept open between batches, at most N per account.

An account (host, port, login) allows `connections` at once, shared by every dialer on it
(a semaphore per account). A batch is spread over the connections; each sends its share one
SMTP transaction after the other and says, per message, what the server answered:

- `SENT`; `RETRY` (4xx, a dropped connection inside the transaction: the message may or may
  not have gone, so it is sent again later with the same Message-ID); `FAILED` (5xx, with
  the server's words); `UNTRIED` (the connection was gone before its transaction began: it
  waits again without counting an attempt).

Several engine nodes on one PostgreSQL: an account with a connection cap counts its
connections across nodes too; each connection holds one of the account's slots
(`shared_slots.py`) for as long as it is open, and is given back rather than kept idle when
another node waits for one. While another node waits, a connection also gives its slot back
in the middle of its part once its turn is over (`ConnectionSlots.turn_over`): it finishes
the transaction under way, closes, and waits in line again with the rest of its part (those
records stay `sending`, none goes twice). When the account's cap is gone while a connection
waits for a slot, its records go back to `pending` (`WAIT_AGAIN`: no attempt counted, no
delay) for the dialer's next claim to send under the caps of that moment.

Password (or no) logins go through the lean pipelining client (`smtp_pipe.py`); OAuth2
accounts through aiosmtplib with the outbox's bearer login (`engine/services/outbound/`).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol, cast

import aiosmtplib

from data.models import Campaign, Security
from data.secrets import SecretBox, SecretError
from engine.domain.compose import needs_smtputf8
from engine.domain.oauth import Bearer
from engine.services.dialer.shared_slots import READY, ConnectionSlots
from engine.services.dialer.smtp_pipe import PipeConnection, SmtpReplyError, Transaction
from engine.services.outbound.outbox import describe_smtp_error, reset_after_refusal, tls_context
from engine.services.outbound.smtp_oauth import bearer_login

__all__ = ["Account", "Outcome", "Outgoing", "SmtpPool", "account_of"]

log = logging.getLogger(__name__)

Account = tuple[str, int, str]
IDLE_SECONDS = 30.0  # a connection unused this long is closed


def account_of(campaign: Campaign) -> Account:
    return (campaign.smtp_host.lower(), campaign.smtp_port, campaign.smtp_username)


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNTRIED = "untried"
    WAIT_AGAIN = "wait again"  # never tried: claimed again at once (the caps changed)


# Why the records of a connection whose slot's cap went away wait again.
CAP_GONE = (
    "not sent yet: the SMTP account's connection cap was removed while this waited for a"
    " connection slot; it waits for the next claim, under the account's caps of then"
)


class Outgoing(NamedTuple):
    """A message to send (a tuple: a batch makes a thousand of them, a frozen dataclass
    cost ~1 us each)."""

    record_id: int
    recipient: str
    raw: bytes
    attempts: int = 0  # SMTP attempts made before this one


# Awaited after each transaction, before the connection starts the next: the outcome is
# durable before more mail goes, so a kill can repeat only what was inside a transaction.
# (A future rather than a coroutine is cheapest: no task is made for it.)
Done = Callable[[Outgoing, "Outcome", str], Awaitable[None]]


class _Conn(Protocol):
    @property
    def usable(self) -> bool: ...

    async def deliver(self, campaign: Campaign, item: Outgoing) -> tuple[Outcome, str]: ...

    async def close(self) -> None: ...


class _Pipe:
    """A connection of the lean pipelining client (password or no login)."""

    def __init__(self, conn: PipeConnection) -> None:
        self.conn = conn

    @property
    def usable(self) -> bool:
        return self.conn.usable

    async def deliver(self, campaign: Campaign, item: Outgoing) -> tuple[Outcome, str]:
        early = await self.start(campaign, item)
        return early if early is not None else await self.finish(item)

    def refusal(self, utf8: bool) -> tuple[Outcome, str] | None:
        """Why a message (that needs SMTPUTF8 or not) cannot go on this connection at all."""
        if utf8 and not self.conn.smtputf8:
            return Outcome.FAILED, "not sent: the server does not offer SMTPUTF8"
        return None

    async def start(
        self, campaign: Campaign, item: Outgoing, utf8: bool | None = None
    ) -> tuple[Outcome, str] | None:
        """The envelope, up to the server's 354; None: `finish` sends the content."""
        if utf8 is None:
            utf8 = needs_smtputf8([campaign.email_address, item.recipient])
        refused = self.refusal(utf8)
        if refused is not None:
            return refused
        done = await self.conn.start(campaign.email_address, item.recipient, utf8=utf8)
        return None if done is None else _outcome(done)

    async def finish(self, started: Outgoing) -> tuple[Outcome, str]:
        return _outcome(await self.conn.finish(started.raw))

    async def finish_and_start(
        self, started: Outgoing, sender: str, item: Outgoing, utf8: bool
    ) -> tuple[tuple[Outcome, str], tuple[Outcome, str] | None]:
        """`started`'s content and end, and `item`'s envelope, in one write and one round
        trip (PIPELINING; `refusal(utf8)` already said it may go)."""
        first, done = await self.conn.finish_and_start(
            started.raw, sender, item.recipient, utf8=utf8
        )
        return _outcome(first), (None if done is None else _outcome(done))

    async def close(self) -> None:
        await self.conn.close()


def _outcome(done: Transaction) -> tuple[Outcome, str]:
    if done.sent:
        return Outcome.SENT, ""
    if done.lost:
        # Lost before the final dot went: it was not delivered. After: it may have been.
        return (Outcome.RETRY if done.maybe_sent else Outcome.UNTRIED), done.text
    error = f"{done.code} {done.text}"
    return (Outcome.FAILED if 500 <= done.code < 600 else Outcome.RETRY), error


class _Aio:
    """An aiosmtplib connection (OAuth2 accounts: their login is the outbox's)."""

    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self.smtp = smtp
        self.ok = True

    @property
    def usable(self) -> bool:
        return self.ok and self.smtp.is_connected

    async def deliver(self, campaign: Campaign, item: Outgoing) -> tuple[Outcome, str]:
        outcome, error, self.ok = await _send_one(self.smtp, campaign, item)
        return outcome, error

    async def close(self) -> None:
        try:
            await self.smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            self.smtp.close()


NO_SLOT = -1  # a connection of an account whose cap this node counts alone


class _Connections:
    def __init__(self, limit: int, limit_id: int | None = None) -> None:
        self.limit = limit
        self.limit_id = limit_id  # set: the cap holds across nodes (a slot per connection)
        self.slots = asyncio.Semaphore(limit)
        self.idle: list[tuple[_Conn, float, int]] = []  # connection, idle since, its slot


class SmtpPool:
    def __init__(
        self,
        secrets: SecretBox,
        *,
        default_connections: int = 4,
        bearer_for: Callable[[int], Awaitable[Bearer | None]] | None = None,
        slots: ConnectionSlots | None = None,
    ) -> None:
        self.secrets = secrets
        self.default_connections = default_connections
        self.bearer_for = bearer_for
        self.shared = slots  # PostgreSQL: connection caps held across nodes
        if slots is not None:
            slots.on_wanted = self._give_back
        self._accounts: dict[Account, _Connections] = {}

    async def _of(self, campaign: Campaign, connections: int, limit_id: int | None) -> _Connections:
        key = account_of(campaign)
        limit = connections or self.default_connections
        # Only an account's own cap is held across nodes; the default is each node's.
        across = limit_id if self.shared is not None and connections > 0 else None
        pool = self._accounts.get(key)
        if pool is None or pool.limit != limit or pool.limit_id != across:
            if pool is not None:
                await self._close_idle(pool)
            pool = _Connections(limit, across)  # a changed cap takes effect from the next batch
            self._accounts[key] = pool
        return pool

    async def send(
        self,
        campaign: Campaign,
        connections: int,
        messages: Sequence[Outgoing],
        done: Done,
        limit_id: int | None = None,
    ) -> None:
        """Send every message; `done` hears each one's outcome (and the server's words).
        `limit_id`: the account's `smtp_limits` row, whose connection cap holds across nodes."""
        pool = await self._of(campaign, connections, limit_id)
        shares = max(1, min(pool.limit, len(messages)))
        parts = [list(messages[i::shares]) for i in range(shares)]
        # Every share ends before a failure is raised: one still sending when the dialer
        # starts again (its records back to `pending`) could send them twice.
        ended = await asyncio.gather(
            *(self._send_share(pool, campaign, part, done) for part in parts),
            return_exceptions=True,
        )
        for failure in ended:
            if isinstance(failure, BaseException):
                raise failure

    async def _send_share(
        self,
        pool: _Connections,
        campaign: Campaign,
        part: list[Outgoing],
        done: Done,
    ) -> None:
        loop = asyncio.get_running_loop()
        async with pool.slots:
            while part:
                conn, slot = await self._take(pool)
                if slot is None:  # the account's cap is gone: claimed again under the new
                    # Together: the recorder commits them at once, not one commit each.
                    await asyncio.gather(*(done(i, Outcome.WAIT_AGAIN, CAP_GONE) for i in part))
                    return
                kept = False
                try:
                    since = loop.time()
                    conn, part = await self._send_part(
                        campaign,
                        part,
                        done,
                        conn,
                        functools.partial(self._turn_over, pool, slot, since),
                    )
                    if conn is not None and not part and self._keeps(pool, slot):
                        pool.idle.append((conn, loop.time(), slot))
                        kept = True
                    elif conn is not None:
                        await conn.close()
                finally:
                    if not kept:
                        await self._release(pool, slot)

    async def _take(self, pool: _Connections) -> tuple[_Conn | None, int | None]:
        """An idle connection with its slot, or none yet and a slot to open one with (None:
        the account's cap across nodes is gone)."""
        loop = asyncio.get_running_loop()
        while True:
            while pool.idle:
                candidate, since, slot = pool.idle.pop()
                if (
                    candidate.usable
                    and loop.time() - since < IDLE_SECONDS
                    and self._still_held(pool, slot)
                ):
                    return candidate, slot
                await candidate.close()
                await self._release(pool, slot)
            if pool.limit_id is None or self.shared is None:
                return None, NO_SLOT
            # Waiting in the database, it looks here too: a connection of this node that
            # ended its part meanwhile is idle with its slot (more connections than slots
            # here after a turn given back or a lowered cap), and no other node wanted it.
            got = await self.shared.acquire(pool.limit_id, lambda: bool(pool.idle))
            if got != READY:
                return None, got

    def _turn_over(self, pool: _Connections, slot: int, since: float) -> bool:
        """The connection holding `slot` since `since` gives it back now (another node
        waits for the account and this one has had its turn, or the cap was lowered)."""
        if pool.limit_id is None or self.shared is None:
            return False
        return self.shared.turn_over(pool.limit_id, slot, since)

    def _still_held(self, pool: _Connections, slot: int) -> bool:
        if pool.limit_id is None or self.shared is None:
            return True
        return self.shared.holds(pool.limit_id, slot)

    def _keeps(self, pool: _Connections, slot: int) -> bool:
        """Keep the connection open for the next batch (or for a connection of this node
        waiting for a slot: `_take`), unless another node waits for the account's slots (or
        this one's expired)."""
        if pool.limit_id is None or self.shared is None:
            return True
        return self._still_held(pool, slot) and pool.limit_id not in self.shared.wanted

    async def _release(self, pool: _Connections, slot: int) -> None:
        if slot != NO_SLOT and pool.limit_id is not None and self.shared is not None:
            await self.shared.release(pool.limit_id, slot)

    async def _close_idle(self, pool: _Connections) -> None:
        idle, pool.idle = pool.idle, []
        for conn, _, slot in idle:
            await conn.close()
            await self._release(pool, slot)

    async def _give_back(self, limit_id: int) -> None:
        """Another node waits for this account's slots: the idle connections close."""
        for pool in list(self._accounts.values()):
            if pool.limit_id == limit_id:
                await self._close_idle(pool)

    async def _send_part(
        self,
        campaign: Campaign,
        part: list[Outgoing],
        done: Done,
        conn: _Conn | None,
        turn_over: Callable[[], bool] = lambda: False,
    ) -> tuple[_Conn | None, list[Outgoing]]:
        """Send `part` one transaction after the other (connecting when needed), until
        `turn_over` says so between two messages; the connection still open at the end, if
        any, and the messages not sent (their turn comes again)."""
        # A message's content and final dot wait for every earlier outcome of its
        # connection to be committed, so at most one message per connection is ever
        # accepted by the server and not yet recorded. On a pipelining server they go in
        # the same write as the next message's envelope: one write and one round trip a
        # message.
        recording: list[asyncio.Future[None]] = []
        started: Outgoing | None = None  # the server said 354; its content waits

        async def recorded() -> None:
            while recording:
                await recording.pop(0)

        def record(item: Outgoing, outcome: Outcome, error: str) -> None:
            recording.append(asyncio.ensure_future(done(item, outcome, error)))

        rest: list[Outgoing] = []
        # Read once, not from the ORM object for every message.
        sender = campaign.email_address
        sender_utf8 = needs_smtputf8([sender])
        try:
            for index, item in enumerate(part):
                if index and turn_over():  # the transaction under way ends first, below
                    rest = part[index:]
                    break
                if conn is None:
                    try:
                        conn = await self._connect(campaign)
                    except (
                        aiosmtplib.SMTPException,
                        OSError,
                        SecretError,
                        SmtpReplyError,
                        TimeoutError,
                    ) as exc:
                        error = _describe(exc) if str(exc) else "timed out connecting"
                        await recorded()
                        for untried in part[index:]:
                            await done(untried, Outcome.UNTRIED, error)
                        return None, []
                if isinstance(conn, _Pipe):
                    ended: tuple[Outcome, str] | None
                    utf8 = sender_utf8 or needs_smtputf8((item.recipient,))
                    refused = conn.refusal(utf8)
                    if started is not None and refused is None and conn.conn.pipelining:
                        await recorded()
                        first, ended = await conn.finish_and_start(started, sender, item, utf8)
                        record(started, *first)
                        started = None
                    else:
                        if started is not None:
                            await recorded()
                            record(started, *await conn.finish(started))
                            started = None
                        ended = refused or await conn.start(campaign, item, utf8)
                    if ended is None:
                        started = item
                    else:
                        record(item, *ended)
                else:
                    await recorded()
                    record(item, *await conn.deliver(campaign, item))
                if not conn.usable:
                    if started is not None:  # its content never went: not delivered
                        record(started, Outcome.UNTRIED, "the connection was lost")
                        started = None
                    await conn.close()
                    conn = None
            if started is not None and conn is not None:
                await recorded()
                record(started, *await cast(_Pipe, conn).finish(started))
                started = None
        finally:
            await recorded()
        return conn, rest

    async def _connect(self, campaign: Campaign) -> _Conn:
        bearer = await self.bearer_for(campaign.id) if self.bearer_for else None
        password = "" if bearer else self.secrets.decrypt(campaign.smtp_password_enc)
        tls = tls_context(campaign.tls_verify) if campaign.smtp_security != Security.PLAIN else None
        if bearer is None:
            return _Pipe(
                await PipeConnection.open(
                    campaign.smtp_host,
                    campaign.smtp_port,
                    implicit_tls=campaign.smtp_security == Security.TLS,
                    starttls=campaign.smtp_security == Security.STARTTLS,
                    tls=tls,
                    username=campaign.smtp_username,
                    password=password,
                )
            )
        smtp = aiosmtplib.SMTP(
            hostname=campaign.smtp_host,
            port=campaign.smtp_port,
            use_tls=campaign.smtp_security == Security.TLS,
            start_tls=campaign.smtp_security == Security.STARTTLS,
            tls_context=tls,
            timeout=60,
        )
        try:
            await smtp.connect()
            await bearer_login(smtp, campaign.smtp_username or campaign.email_address, bearer)
        except BaseException:
            smtp.close()
            raise
        return _Aio(smtp)

    async def release(self) -> None:
        """Say goodbye (QUIT) on the idle connections: a stopped dialer keeps none open."""
        for pool in self._accounts.values():
            await self._close_idle(pool)

    def close(self) -> None:
        for pool in self._accounts.values():
            for conn, _, _ in pool.idle:  # their slots expire (or go at the next start)
                if isinstance(conn, _Pipe):
                    conn.conn.abort()
                elif isinstance(conn, _Aio):
                    conn.smtp.close()
            pool.idle.clear()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SmtpReplyError):  # the pipelining client's refusal
        return f"{exc.code} {exc.text}"
    return describe_smtp_error(exc)


async def _send_one(
    smtp: aiosmtplib.SMTP, campaign: Campaign, item: Outgoing
) -> tuple[Outcome, str, bool]:
    """(outcome, the server's words, the connection is still usable)."""
    options = ["SMTPUTF8"] if needs_smtputf8([campaign.email_address, item.recipient]) else []
    try:
        await smtp.sendmail(
            campaign.email_address, [item.recipient], item.raw, mail_options=options
        )
    except aiosmtplib.SMTPNotSupported as exc:
        return Outcome.FAILED, f"not sent: {exc}", True
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        error = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        permanent = all(500 <= c < 600 for c in codes)
        return (
            (Outcome.FAILED if permanent else Outcome.RETRY),
            error,
            await reset_after_refusal(smtp),
        )
    except aiosmtplib.SMTPServerDisconnected as exc:
        return Outcome.RETRY, _describe(exc), False
    except aiosmtplib.SMTPResponseException as exc:
        usable = exc.code != 421 and await reset_after_refusal(smtp)  # 421: the server is closing
        permanent = 500 <= exc.code < 600
        return (Outcome.FAILED if permanent else Outcome.RETRY), _describe(exc), usable
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Outcome.RETRY, _describe(exc), False
    return Outcome.SENT, "", True
