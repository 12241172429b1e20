"""Who gets no mail from us, and from which campaigns.

An entry applies to one campaign (an unsubscribe from that campaign's mail, by the link, the
one-click POST or a mail to the unsubscribe address) or to every campaign (`campaign_id` None:
a spam complaint, or an admin who says so). An address is blocked for a campaign when an
entry for all or for that campaign names it. Every reader and writer of the blacklist goes
through here, so the rule is written once.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import BlacklistEntry, Campaign
from engine.api.schemas import BlacklistIn, BlacklistOut
from engine.domain.compose import AddressError, parse_address_list
from engine.errors import Invalid, NotFound

# Sources a person may give (the others are written by the engine and the web service).
MANUAL = "manual"


def applies(campaign_id: int | None) -> ColumnElement[bool]:
    """Entries that block mail of `campaign_id` (None: entries for all campaigns only)."""
    if campaign_id is None:
        return BlacklistEntry.campaign_id.is_(None)
    return or_(BlacklistEntry.campaign_id.is_(None), BlacklistEntry.campaign_id == campaign_id)


async def is_blocked(session: AsyncSession, email: str, campaign_id: int | None) -> bool:
    found = await session.scalar(
        select(BlacklistEntry.id)
        .where(BlacklistEntry.email == email.lower(), applies(campaign_id))
        .limit(1)
    )
    return found is not None


async def block(
    session: AsyncSession, email: str, *, campaign_id: int | None, source: str, reason: str
) -> bool:
    """Add an entry unless the address is blocked for that scope already; True if added.
    An entry for all campaigns makes that address's entries for single campaigns redundant:
    they stay, as the record of each unsubscribe."""
    email = email.lower()
    if await is_blocked(session, email, campaign_id):
        return False
    session.add(
        BlacklistEntry(email=email, reason=reason[:200], source=source, campaign_id=campaign_id)
    )
    return True


class Blacklist:
    """The admin's side: list (with a search), add and remove entries."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def entries(self, search: str = "") -> list[BlacklistOut]:
        query = (
            select(BlacklistEntry, Campaign.name)
            .outerjoin(Campaign, BlacklistEntry.campaign_id == Campaign.id)
            .order_by(BlacklistEntry.email, BlacklistEntry.id)
        )
        if search:
            query = query.where(BlacklistEntry.email.contains(search.lower(), autoescape=True))
        async with self.db.session() as session:
            rows = await session.execute(query)
            return [
                BlacklistOut(
                    email=entry.email,
                    reason=entry.reason,
                    created_at=entry.created_at,
                    source=entry.source,
                    campaign=campaign,
                )
                for entry, campaign in rows
            ]

    async def add(self, data: BlacklistIn) -> BlacklistOut:
        email = _one_address(data.email)
        try:
            async with self.db.session() as session, session.begin():
                campaign_id = await _campaign_id(session, data.campaign)
                if not await block(
                    session,
                    email,
                    campaign_id=campaign_id,
                    source=MANUAL,
                    reason=data.reason,  # the source says who; the reason says why
                ):
                    for_all = await is_blocked(session, email, None)
                    scope = "all campaigns" if for_all else data.campaign
                    raise Invalid(
                        f"email: {email} is blacklisted for {scope} already", field="email"
                    )
        except IntegrityError as exc:  # added by someone else meanwhile
            raise Invalid(f"email: {email} is blacklisted already", field="email") from exc
        [added] = [e for e in await self.entries(email) if e.email == email and e.source == MANUAL][
            -1:
        ]
        return added

    async def remove(self, email: str, campaign: str | None) -> None:
        """Remove the entry for that scope (None: the one for all campaigns)."""
        async with self.db.session() as session, session.begin():
            campaign_id = await _campaign_id(session, campaign)
            scope = (
                BlacklistEntry.campaign_id.is_(None)
                if campaign_id is None
                else BlacklistEntry.campaign_id == campaign_id
            )
            gone = await session.execute(
                delete(BlacklistEntry).where(BlacklistEntry.email == email.lower(), scope)
            )
            if not getattr(gone, "rowcount", 0):
                where = f"for {campaign}" if campaign else "for all campaigns"
                raise NotFound(f"email: {email} is not blacklisted {where}", field="email")


def _one_address(text: str) -> str:
    try:
        parsed = parse_address_list(text)
    except AddressError as exc:
        raise Invalid(f"email: {exc}", field="email") from exc
    if len(parsed) != 1 or parsed[0].name:
        raise Invalid("email: give one address, without a name", field="email")
    return parsed[0].email.lower()


async def _campaign_id(session: AsyncSession, name: str | None) -> int | None:
    if not name:
        return None
    found = await session.scalar(select(Campaign.id).where(Campaign.name == name))
    if found is None:
        raise NotFound(f"campaign: no campaign {name!r}", field="campaign")
    return found
