"""Who works which campaign: one member at a time (the console's columns, `ctl member`), or
many campaigns and many agents at once, as the manual's Members screen does.

A change in bulk is one transaction: every campaign and user named is checked first, and one
that does not exist (or a campaign that was removed) refuses the whole change, naming them
all, so an admin never has to find out which half was saved. Adding a member who already is
one, or removing one who is not, changes nothing and is counted as unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import Campaign, Membership, User
from engine.api.schemas import CampaignOut, MemberChanges, MemberPatch, MembersChanged
from engine.errors import Invalid, NotFound
from engine.services.admin.campaign_rules import CAMPAIGN_DETAIL, campaign_out, named


class MemberRecords:
    """The member half of `Admin` (records.py), which provides these attributes."""

    db: Database
    on_member_added: Callable[[], None]  # the router's kick: queued mail may go to them

    async def campaign(self, name: str) -> CampaignOut:
        raise NotImplementedError

    async def add_member(self, campaign_name: str, username: str) -> CampaignOut:
        async with self.db.session() as session, session.begin():
            campaign, user = await _campaign_and_user(session, campaign_name, username)
            exists = await session.scalar(
                select(Membership.id).where(
                    Membership.campaign_id == campaign.id, Membership.user_id == user.id
                )
            )
            if exists is None:
                last = await session.scalar(
                    select(func.max(Membership.position)).where(
                        Membership.campaign_id == campaign.id
                    )
                )
                session.add(
                    Membership(campaign_id=campaign.id, user_id=user.id, position=(last or 0) + 1)
                )
        self.on_member_added()
        return await self.campaign(campaign_name)

    async def patch_member(self, patch: MemberPatch) -> CampaignOut:
        """A member's penalty, or their place in the campaign's order: the members from
        that place on move down one, and the order is renumbered 1, 2, 3..."""
        async with self.db.session() as session, session.begin():
            campaign, user = await _campaign_and_user(session, patch.campaign, patch.username)
            members = list(
                (
                    await session.execute(
                        select(Membership)
                        .where(Membership.campaign_id == campaign.id)
                        .order_by(Membership.position, Membership.user_id)
                    )
                ).scalars()
            )
            member = next((m for m in members if m.user_id == user.id), None)
            if member is None:
                raise NotFound(
                    f"username: {user.username!r} is not a member of {campaign.name!r}",
                    field="username",
                )
            if patch.penalty is not None:
                member.penalty = patch.penalty
            if patch.position is not None:
                members.remove(member)
                members.insert(min(patch.position, len(members) + 1) - 1, member)
                for number, m in enumerate(members, start=1):
                    m.position = number
        self.on_member_added()
        return await self.campaign(patch.campaign)

    async def remove_member(self, campaign_name: str, username: str) -> CampaignOut:
        """The user gets no new interactions of the campaign; those already assigned stay
        with them to finish (taking them away mid-reply would lose the agent's work)."""
        async with self.db.session() as session, session.begin():
            campaign, user = await _campaign_and_user(session, campaign_name, username)
            await session.execute(
                delete(Membership).where(
                    Membership.campaign_id == campaign.id, Membership.user_id == user.id
                )
            )
        self.on_member_added()  # the router forgets them; their console drops the campaign
        return await self.campaign(campaign_name)

    async def change_members(self, changes: MemberChanges) -> MembersChanged:
        """Add and remove (campaign, user) pairs in one transaction, or none of them."""
        adding = list(dict.fromkeys((p.campaign, p.username) for p in changes.add))
        removing = list(dict.fromkeys((p.campaign, p.username) for p in changes.remove))
        if not adding and not removing:
            raise Invalid("add: no campaign and user given", field="add")
        if both := sorted(set(adding) & set(removing)):
            campaign, username = both[0]
            raise Invalid(
                f"remove: {username!r} is both added to and removed from {campaign!r}",
                field="remove",
            )
        pairs = adding + removing
        names = sorted({c for c, _ in pairs})
        usernames = sorted({u for _, u in pairs})
        added = removed = 0
        async with self.db.session() as session, session.begin():
            campaigns, users = await _campaigns_and_users(session, names, usernames)
            ids = [c.id for c in campaigns.values()]
            members: set[tuple[int, int]] = {
                (campaign_id, user_id)
                for campaign_id, user_id in await session.execute(
                    select(Membership.campaign_id, Membership.user_id).where(
                        Membership.campaign_id.in_(ids)
                    )
                )
            }
            last = dict(
                (
                    await session.execute(
                        select(Membership.campaign_id, func.max(Membership.position))
                        .where(Membership.campaign_id.in_(ids))
                        .group_by(Membership.campaign_id)
                    )
                ).all()
            )
            new_rows = []
            for campaign_name, username in adding:
                key = (campaigns[campaign_name].id, users[username].id)
                if key in members:
                    continue
                last[key[0]] = position = (last.get(key[0]) or 0) + 1
                new_rows.append({"campaign_id": key[0], "user_id": key[1], "position": position})
                members.add(key)
            if new_rows:  # one executemany: 10,000 pairs in one statement, not 10,000 objects
                await session.execute(insert(Membership), new_rows)
            added = len(new_rows)
            gone = [
                key
                for key in ((campaigns[c].id, users[u].id) for c, u in removing)
                if key in members
            ]
            if gone:
                await session.execute(
                    delete(Membership).where(
                        tuple_(Membership.campaign_id, Membership.user_id).in_(gone)
                    )
                )
            removed = len(gone)
        if added or removed:
            self.on_member_added()
        async with self.db.session() as session:
            rows = await session.execute(
                select(Campaign)
                .where(Campaign.name.in_(names), Campaign.removed_at.is_(None))
                .options(*CAMPAIGN_DETAIL)
                .order_by(Campaign.name)
            )
            saved = [campaign_out(c) for c in rows.scalars()]
        return MembersChanged(
            added=added, removed=removed, unchanged=len(pairs) - added - removed, campaigns=saved
        )


async def _campaign_and_user(
    session: AsyncSession, campaign_name: str, username: str
) -> tuple[Campaign, User]:
    campaign = await session.scalar(select(Campaign).where(named(campaign_name)))
    if campaign is None:
        raise NotFound(f"no campaign {campaign_name!r}")
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return campaign, user


async def _campaigns_and_users(
    session: AsyncSession, names: list[str], usernames: list[str]
) -> tuple[dict[str, Campaign], dict[str, User]]:
    """Every campaign and user named, or NotFound naming each one missing."""
    campaigns = {
        c.name: c
        for c in (
            await session.execute(
                select(Campaign).where(Campaign.name.in_(names), Campaign.removed_at.is_(None))
            )
        ).scalars()
    }
    users = {
        u.username: u
        for u in (await session.execute(select(User).where(User.username.in_(usernames)))).scalars()
    }
    if missing := [n for n in names if n not in campaigns]:
        listed = ", ".join(repr(n) for n in missing)
        raise NotFound(f"campaign: no campaign {listed}", field="campaign")
    if missing := [u for u in usernames if u not in users]:
        listed = ", ".join(repr(u) for u in missing)
        raise NotFound(f"username: no user {listed}", field="username")
    return campaigns, users
