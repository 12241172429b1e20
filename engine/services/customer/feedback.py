"""What a customer does on the public web service, recorded against the message whose token
they hold: a rating (a later one replaces it), the tracking image being seen, an unsubscribe.

A token is a message's (`message_links`, a reply's or an agent's mail) or a dialer record's
(`dialer_records.link_token`, `engine.services.customer.dialer_tracking`): the image and the
unsubscribe link work the same for both, and the pages do not tell them apart.

Every method takes the token as it came from the URL and answers None (or False) for anything
that is not a live token of ours, changing nothing: the web service turns that into one plain
404, the same for a malformed, forged or deleted token. Each write is one short transaction,
committed before the answer, so a rating the page thanked for is on disk (SQLite WAL, several
web processes sharing it with the engine; `busy_timeout` orders the writers).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from data.db import Database
from data.models import (
    Campaign,
    CustomerEvent,
    Interaction,
    Message,
    MessageLink,
    Rating,
)
from engine.domain.web_links import SCORES, is_token
from engine.services.customer import blacklist, dialer_tracking

# Outgoing kinds a customer may rate: answers by a person (the manual: replies only).
RATED_KINDS = frozenset({"reply"})
# How long the image counter waits for more fetches before committing a group (seconds).
# Measured by bench/web: 1 ms of lingering made groups larger but, with the fetches waiting
# on them, throughput lower (0.42x against 0.62x at 16 fetches in flight).
SEEN_LINGER = 0.0
# Outgoing kinds that carry an unsubscribe link: the dialer's mailings (issue 13). A reply to
# someone who wrote to us has none, and its token does not unsubscribe.
UNSUBSCRIBE_KINDS = frozenset({"dialer"})
# How an address reached the blacklist through the web service.
UNSUBSCRIBE_SOURCES = frozenset({"unsubscribe-link", "one-click"})


@dataclass(frozen=True)
class RatingPage:
    """What the rating pages show: the campaign's texts and the score given so far."""

    campaign: str
    motivation: str
    thanks: str
    score: int | None


@dataclass(frozen=True)
class UnsubscribePage:
    campaign: str
    done: bool  # the address is on the blacklist already


@dataclass(frozen=True)
class _Unsubscriber:
    """Whom a token unsubscribes from which campaign, and what the event names."""

    email: str
    campaign_id: int
    campaign: str
    message_id: int | None = None
    dialer_record_id: int | None = None

    def event(self) -> CustomerEvent:
        if self.dialer_record_id is not None:
            return CustomerEvent(
                kind=dialer_tracking.UNSUBSCRIBE, dialer_record_id=self.dialer_record_id
            )
        return CustomerEvent(kind="unsubscribe", message_id=self.message_id)


class SchemaBehind(RuntimeError):
    """The database is older than this code: the engine upgrades it when it starts."""


class CustomerFeedback:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen_waiting: list[tuple[str, asyncio.Future[bool]]] = []
        self._seen_wake = asyncio.Event()
        self._seen_task: asyncio.Task[None] | None = None
        self._seen_connection: AsyncConnection | None = None

    @classmethod
    async def open(cls, url: str) -> CustomerFeedback:
        """On its own connection to the shared database (the public web service's). It never
        migrates: two processes upgrading one database at once is how schemas break."""
        db = Database(url)
        if not await db.at_head():
            await db.close()
            raise SchemaBehind(
                "the database is not at this version's schema: start the engine once "
                "(`postdesk engine`), which upgrades it"
            )
        return cls(db)

    async def close(self) -> None:
        if self._seen_task is not None:
            self._seen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._seen_task
        await self._drop_seen_connection()
        await self.db.close()

    async def _message(self, token: str) -> tuple[MessageLink, Message, Campaign] | None:
        if not is_token(token):
            return None
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(MessageLink, Message, Campaign)
                    .join(Message, MessageLink.message_id == Message.id)
                    .join(Interaction, Message.interaction_id == Interaction.id)
                    .join(Campaign, Interaction.campaign_id == Campaign.id)
                    .where(MessageLink.token == token)
                )
            ).first()
        return None if found is None else (found[0], found[1], found[2])

    # ---- rating ----

    async def rating_page(self, token: str) -> RatingPage | None:
        found = await self._message(token)
        if found is None or found[1].kind not in RATED_KINDS:
            return None
        _link, message, campaign = found
        async with self.db.session() as session:
            score = await session.scalar(
                select(Rating.score).where(Rating.message_id == message.id)
            )
        return RatingPage(
            campaign.name, campaign.qualification_motivation, campaign.qualification_thanks, score
        )

    async def rate(self, token: str, score: int) -> RatingPage | None:
        """Record `score` for the token's message, replacing an earlier rating of it."""
        if score not in SCORES:
            return None
        found = await self._message(token)
        if found is None or found[1].kind not in RATED_KINDS:
            return None
        _link, message, campaign = found
        values = {
            "score": score,
            "interaction_id": message.interaction_id,
            "agent_id": message.sent_by_id,
            "campaign_id": campaign.id,
            "created_at": datetime.now(UTC),
        }
        for _attempt in range(2):  # two processes rating one message at once: one updates
            try:
                async with self.db.session() as session, session.begin():
                    changed = await session.execute(
                        update(Rating).where(Rating.message_id == message.id).values(**values)
                    )
                    if getattr(changed, "rowcount", 0) == 0:
                        session.add(Rating(message_id=message.id, **values))
                    session.add(CustomerEvent(kind="rating", message_id=message.id))
                break
            except IntegrityError:
                continue
        return RatingPage(
            campaign.name, campaign.qualification_motivation, campaign.qualification_thanks, score
        )

    # ---- seen ----

    async def seen(self, token: str) -> bool:
        """Count one fetch of the tracking image (the first one's time is kept); True once it
        is committed, False for a token that is not ours.

        Fetches are committed in groups: whatever arrives while one transaction commits goes
        into the next, so a burst of image fetches costs a few commits instead of one each,
        and still no fetch is answered before it is on disk."""
        if not is_token(token):
            return False
        if self._seen_task is None or self._seen_task.done():
            self._seen_task = asyncio.create_task(self._count_seen(), name="seen")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._seen_waiting.append((token, done))
        self._seen_wake.set()
        return await done

    async def _count_seen(self) -> None:
        while True:
            await self._seen_wake.wait()
            # One turn of the loop (or SEEN_LINGER) for fetches already read off their
            # sockets to join this group; fetches arriving during a commit join the next.
            await asyncio.sleep(SEEN_LINGER)
            self._seen_wake.clear()
            batch, self._seen_waiting = self._seen_waiting, []
            if not batch:
                continue
            try:
                known = await self._commit_seen(Counter(token for token, _ in batch))
            except Exception as exc:  # the waiting requests fail; the counter goes on
                await self._drop_seen_connection()
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for token, done in batch:
                if not done.done():
                    done.set_result(token in known)

    async def _drop_seen_connection(self) -> None:
        connection, self._seen_connection = self._seen_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _commit_seen(self, counts: Counter[str]) -> set[str]:
        """One statement for the whole group: each token's count goes up by its fetches,
        and the tokens that exist come back (RETURNING: SQLite 3.35, PostgreSQL)."""
        now = datetime.now(UTC)
        added = case(counts, value=MessageLink.token, else_=0)
        if self._seen_connection is None:
            # The counter's own connection, kept: no pool checkout and reset per group.
            self._seen_connection = await self.db.engine.connect()
        connection = self._seen_connection
        async with connection.begin():  # Core: no ORM session to set up
            known = await connection.execute(
                update(MessageLink)
                .where(MessageLink.token.in_(list(counts)))
                .values(
                    seen_count=MessageLink.seen_count + added,
                    first_seen_at=func.coalesce(MessageLink.first_seen_at, now),
                )
                .returning(MessageLink.token)
            )
            found = set(known.scalars())
            # Not a message's: a dialer record's image, marked seen once (same transaction).
            if rest := set(counts) - found:
                found |= await dialer_tracking.mark_seen(connection, rest, now)
            return found

    # ---- unsubscribe ----

    async def _unsubscriber(self, token: str) -> _Unsubscriber | None:
        """The address and campaign of a dialer mail's token (a message's or a record's)."""
        found = await self._message(token)
        if found is not None:
            _link, message, campaign = found
            if message.kind not in UNSUBSCRIBE_KINDS or not message.to:
                return None
            email = message.to[0].lower()
            return _Unsubscriber(email, campaign.id, campaign.name, message_id=message.id)
        if not is_token(token):
            return None
        async with self.db.session() as session:
            record = await dialer_tracking.recipient(session, token)
        if record is None:
            return None
        return _Unsubscriber(
            record.email, record.campaign_id, record.campaign, dialer_record_id=record.record_id
        )

    async def unsubscribe_page(self, token: str) -> UnsubscribePage | None:
        who = await self._unsubscriber(token)
        if who is None:
            return None
        async with self.db.session() as session:
            listed = await blacklist.is_blocked(session, who.email, who.campaign_id)
        return UnsubscribePage(who.campaign, listed)

    async def unsubscribe(self, token: str, source: str) -> UnsubscribePage | None:
        """Put the mail's recipient on the blacklist of the campaign whose mail it was,
        saying how (`source`); an address blocked there already stays as it was."""
        if source not in UNSUBSCRIBE_SOURCES:
            raise ValueError(f"unknown unsubscribe source {source!r}")
        who = await self._unsubscriber(token)
        if who is None:
            return None
        try:
            async with self.db.session() as session, session.begin():
                if await blacklist.block(
                    session,
                    who.email,
                    campaign_id=who.campaign_id,
                    source=source,
                    reason=f"unsubscribed from {who.campaign}",
                ):
                    session.add(who.event())
        except IntegrityError:
            pass  # listed by someone else in the meantime: the address is off all the same
        return UnsubscribePage(who.campaign, True)
