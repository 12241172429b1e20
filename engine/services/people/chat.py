"""Chat between supervisors and agents (the manual's "Chat with agent"), and an agent's
raised hand.

Who may write to whom is decided here, whatever a console offers: a supervisor writes to any
agent (the grid shows them all); an agent writes to the supervisors of their campaigns (a
supervisor of no campaign watches them all) and answers any supervisor who wrote to them.
A raised hand goes to every such supervisor on duty (with a console open), as one line each;
whoever answers first carries on with the agent. Lines are kept; one sent to someone away
waits, unread, until their next console shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import ChatMessage, Membership, User
from engine.api.schemas import ChatLine, ChatSaid, ChatSupervisor
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.services.notify import Notifier
from engine.services.people.presence import Presence

HISTORY = 200  # lines of a chat a console loads


class Chat:
    def __init__(self, db: Database, notifier: Notifier, presence: Presence) -> None:
        self.db = db
        self.notifier = notifier
        self.presence = presence  # who is on duty: a raised hand reaches them

    # ---- who may chat with whom ----
    async def _supervisors_of(self, session: AsyncSession, agent: User) -> list[User]:
        """The supervisors an agent may raise a hand to: those sharing one of the agent's
        campaigns, and those of no campaign (they supervise every one)."""
        memberships = (await session.execute(select(Membership))).scalars().all()
        campaigns: dict[int, set[int]] = {}
        for m in memberships:
            campaigns.setdefault(m.user_id, set()).add(m.campaign_id)
        mine = campaigns.get(agent.id, set())
        users = (await session.execute(select(User).order_by(User.username))).scalars()
        return [
            u
            for u in users
            if "supervisor" in u.roles
            and u.id != agent.id
            and (not campaigns.get(u.id) or campaigns[u.id] & mine)
        ]

    async def _wrote_to(self, session: AsyncSession, sender: User, recipient: User) -> bool:
        found = await session.scalar(
            select(ChatMessage.id)
            .where(ChatMessage.from_user_id == sender.id, ChatMessage.to_user_id == recipient.id)
            .limit(1)
        )
        return found is not None

    async def _may_chat(self, session: AsyncSession, me: User, other: User) -> bool:
        if me.id == other.id:
            return False
        if "supervisor" in me.roles and "agent" in other.roles:
            return True
        if "agent" in me.roles and "supervisor" in other.roles:
            if any(s.id == other.id for s in await self._supervisors_of(session, me)):
                return True
            return await self._wrote_to(session, other, me)  # an answer is always allowed
        return False

    async def _pair(self, session: AsyncSession, me_id: int, username: str) -> tuple[User, User]:
        me = await session.get_one(User, me_id)
        other = await session.scalar(select(User).where(User.username == username))
        if other is None:
            raise NotFound(f"no user {username!r}")
        if not await self._may_chat(session, me, other):
            if "agent" in me.roles and "supervisor" in other.roles:
                raise Forbidden(
                    f"{username} supervises none of your campaigns: raise your hand to the "
                    "supervisors of yours"
                )
            raise Forbidden("chat is between supervisors and agents")
        return me, other

    # ---- reading ----
    async def history(self, me_id: int, username: str) -> list[ChatLine]:
        """The last lines between the two, oldest first; the caller has now read those
        sent to them."""
        async with self.db.session() as session, session.begin():
            me, other = await self._pair(session, me_id, username)
            pair = {me.id, other.id}
            rows = (
                await session.execute(
                    select(ChatMessage)
                    .where(ChatMessage.from_user_id.in_(pair), ChatMessage.to_user_id.in_(pair))
                    .order_by(ChatMessage.id.desc())
                    .limit(HISTORY)
                )
            ).scalars()
            by_id = {me.id: me, other.id: other}
            lines = [
                _line(r, by_id[r.from_user_id], by_id[r.to_user_id])
                for r in reversed(list(rows))
                if r.from_user_id != r.to_user_id
            ]
            await self._mark_read(session, other.id, me.id)
        return lines

    async def unread(self, me_id: int) -> list[ChatLine]:
        """Lines sent to the caller that no open chat has shown them, oldest first."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(ChatMessage, User)
                    .join(User, User.id == ChatMessage.from_user_id)
                    .where(ChatMessage.to_user_id == me_id, ChatMessage.read_at.is_(None))
                    .order_by(ChatMessage.id)
                    .limit(HISTORY)
                )
            ).all()
            me = await session.get_one(User, me_id)
            return [_line(row, sender, me) for row, sender in rows]

    async def mark_read(self, me_id: int, username: str) -> None:
        async with self.db.session() as session, session.begin():
            other = await session.scalar(select(User).where(User.username == username))
            if other is None:
                raise NotFound(f"no user {username!r}")
            await self._mark_read(session, other.id, me_id)

    @staticmethod
    async def _mark_read(session: AsyncSession, sender_id: int, recipient_id: int) -> None:
        await session.execute(
            update(ChatMessage)
            .where(
                and_(
                    ChatMessage.from_user_id == sender_id,
                    ChatMessage.to_user_id == recipient_id,
                    ChatMessage.read_at.is_(None),
                )
            )
            .values(read_at=datetime.now(UTC))
        )

    async def supervisors(self, agent_id: int) -> list[ChatSupervisor]:
        on_duty = await self.presence.on_duty()
        async with self.db.session() as session:
            agent = await session.get_one(User, agent_id)
            return [
                ChatSupervisor(
                    username=s.username,
                    display_name=s.display_name or s.username,
                    on_duty=s.id in on_duty,
                )
                for s in await self._supervisors_of(session, agent)
            ]

    # ---- writing ----
    async def say(self, me_id: int, username: str, text: str) -> ChatLine:
        text = _text(text)
        async with self.db.session() as session, session.begin():
            me, other = await self._pair(session, me_id, username)
            row = ChatMessage(from_user_id=me.id, to_user_id=other.id, text=text)
            session.add(row)
            await session.flush()
            line = _line(row, me, other)
        self.notifier.announce(ChatSaid(line=line))
        return line

    async def raise_hand(self, agent_id: int, text: str) -> list[ChatLine]:
        """One line to each supervisor of the agent's campaigns who is on duty."""
        text = _text(text)
        on_duty = await self.presence.on_duty()
        async with self.db.session() as session, session.begin():
            agent = await session.get_one(User, agent_id)
            if "agent" not in agent.roles:
                raise Forbidden(f"{agent.username} needs the agent role to raise a hand")
            present = [s for s in await self._supervisors_of(session, agent) if s.id in on_duty]
            if not present:
                raise Conflict(
                    "no supervisor of your campaigns is on duty: pick one by name, and they "
                    "will see it when they come back"
                )
            rows = [ChatMessage(from_user_id=agent.id, to_user_id=s.id, text=text) for s in present]
            session.add_all(rows)
            await session.flush()
            lines = [_line(row, agent, s) for row, s in zip(rows, present, strict=True)]
        for line in lines:
            self.notifier.announce(ChatSaid(line=line))
        return lines


def _text(text: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid("text: say something")
    return text


def _line(line: ChatMessage, sender: User, recipient: User) -> ChatLine:
    return ChatLine(
        id=line.id,
        sender=sender.username,
        sender_name=sender.display_name or sender.username,
        recipient=recipient.username,
        text=line.text,
        at=line.at,
    )
