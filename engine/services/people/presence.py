"""Who is at a console, and every change of an agent's status: their own, and a supervisor's
pause, resume and log-out (the manual's "Actions with agents").

Presence is kept in the database (`console_sessions`), one row per open event stream, so that
engine nodes sharing a database can all see it: each node renews `seen_at` of its own streams
every `beat` seconds, in one statement, and a stream not renewed for `3 * beat` belonged to a
node that died; it is removed and its agent, if they have no other console, goes Offline.
The rules of who may change what are in `engine.domain.presence`; this module reads the
agent's standing, asks there, writes the change and its history, and reports it to the
notifier after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import AgentStateChange, AgentStatus, ConsoleSession, User
from engine.api.schemas import AgentRow, LoggedOut
from engine.domain import presence as rules
from engine.errors import Conflict, NotFound
from engine.services import queries
from engine.services.notify import Notifier
from engine.services.people.break_reasons import BreakReasons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: a Postdesk user, or an operator acting as nobody (`user_id` None)."""

    user_id: int | None
    username: str


def standing(user: User) -> rules.Standing:
    return rules.Standing(
        username=user.username,
        status=user.status.value,
        reason=user.status_reason,
        paused=user.paused_at is not None,
        logged_out=user.logged_out_at is not None,
    )


class Presence:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        break_reasons: BreakReasons,
        *,
        node: str,
        status_lock: asyncio.Lock,
        beat: float = 10.0,
        on_free: Callable[[], None] = lambda: None,
        on_offline: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.break_reasons = break_reasons
        self.node = node
        self.status_lock = status_lock  # the router's: no mail goes to an agent mid-change
        self.beat = beat
        self.on_free = on_free  # the router's kick: a resumed agent may take waiting mail
        # The requeue's kick: an agent gone Offline (logged out, last console closed, or their
        # node found dead) may leave work their campaign requeues, counted from now.
        self.on_offline = on_offline
        # Nodes found dead (their consoles not renewed): the screen views they held end.
        self.on_lost: Callable[[set[str]], Awaitable[None]] | None = None
        self._open: set[int] = set()

    # ---- status ----
    async def set_status(
        self,
        user_id: int,
        status: AgentStatus,
        reason: str = "",
        by: int | None = None,
        *,
        unless: Callable[[User], str | None] | None = None,
        paused: bool | None = None,
        logged_out: bool | None = None,
    ) -> None:
        """Write a status and its history. `unless(user)` is asked in the same transaction: a
        message refuses the change (say, the agent was paused a moment before their own Free
        arrived). `paused` / `logged_out` set or clear a supervisor's decision (None: kept)."""

        async def decide(session: AsyncSession, user: User) -> rules.Change:
            if unless is not None and (refusal := unless(user)) is not None:
                raise Conflict(refusal)
            return rules.Change(status.value, reason)

        await self._change(user_id, decide, by, paused=paused, logged_out=logged_out)

    async def _change(
        self,
        user_id: int,
        decide: Callable[[AsyncSession, User], Awaitable[rules.Change | None]],
        by: int | None = None,
        *,
        paused: bool | None = None,
        logged_out: bool | None = None,
    ) -> None:
        """The one way a status is written: `decide` looks at the agent's row as it is now,
        locked (this process's status lock; across nodes the row lock), so two changes
        decided at once cannot both act on what the other is about to undo, e.g. a console
        leaving (Offline, nobody else at one) while the agent's next console logs them in."""
        # Urgent: an agent's click is not kept waiting behind a flood of mail's commits (at
        # 200 mails/s in bench/routing.py, up to 2 s), and the router's pass waits on it.
        async with self.status_lock, self.db.writing(urgent=True) as session:
            user = await session.get_one(
                User, user_id, populate_existing=True, with_for_update=True
            )
            change = await decide(session, user)
            if change is None:
                return
            now = datetime.now(UTC)
            if paused is not None:
                user.paused_at, user.paused_by_id = (now, by) if paused else (None, None)
            if logged_out is not None:
                user.logged_out_at, user.logged_out_by_id = (
                    (now, by) if logged_out else (None, None)
                )
            status = AgentStatus(change.status)
            if user.status == status and user.status_reason == change.reason:
                return
            user.status = status
            user.status_reason = change.reason
            user.status_since = now
            session.add(
                AgentStateChange(
                    user_id=user_id, status=status, reason=change.reason, changed_by_id=by
                )
            )
        self.notifier.agent_changed(user_id)
        if status == AgentStatus.OFFLINE:
            self.on_offline()

    @staticmethod
    def _rule(
        rule: Callable[[rules.Standing], rules.Change | str],
    ) -> Callable[[AsyncSession, User], Awaitable[rules.Change]]:
        """A supervisor's rule as a decision: its refusal (a string) becomes a Conflict."""

        async def decide(session: AsyncSession, user: User) -> rules.Change:
            change = rule(standing(user))
            if isinstance(change, str):
                raise Conflict(change)
            return change

        return decide

    async def agent_sets(self, user_id: int, status: str, reason: str) -> None:
        """The agent's own change (Free, Break with a reason), unless a supervisor decided."""
        change = rules.own_change(status, reason)
        if change.status == "break":
            await self.break_reasons.check(change.reason)
        await self.set_status(
            user_id,
            AgentStatus(change.status),
            change.reason,
            unless=lambda user: rules.own_change_refusal(standing(user)),
        )

    # ---- supervisors acting on an agent ----
    async def _agent_and_by(self, actor: Actor, username: str) -> tuple[User, str]:
        async with self.db.session() as session:
            agent = await session.scalar(select(User).where(User.username == username))
            me = await session.get(User, actor.user_id) if actor.user_id is not None else None
        if agent is None or "agent" not in agent.roles:
            raise NotFound(f"no agent {username!r}")
        if actor.user_id == agent.id:
            raise Conflict("that is you: another supervisor can do it")
        by = (me.display_name or me.username) if me is not None else actor.username
        return agent, by

    async def pause(self, actor: Actor, username: str) -> AgentRow:
        """No new interactions for the agent until a supervisor resumes them; the ones they
        have stay theirs, and they cannot leave the pause themselves (nor by closing their
        console: they come back Paused)."""
        agent, by = await self._agent_and_by(actor, username)
        decide = self._rule(lambda agent: rules.pause(agent, by))
        await self._change(agent.id, decide, actor.user_id, paused=True)
        return await self.agent_row(agent.id)

    async def resume(self, actor: Actor, username: str) -> AgentRow:
        agent, _ = await self._agent_and_by(actor, username)
        await self._change(agent.id, self._rule(rules.resume), actor.user_id, paused=False)
        self.on_free()
        return await self.agent_row(agent.id)

    async def log_out(self, actor: Actor, username: str) -> AgentRow:
        """The agent's consoles leave and the agent is Offline: no new interactions until
        they open a console again. What they were typing is kept as drafts."""
        agent, by = await self._agent_and_by(actor, username)
        decide = self._rule(lambda agent: rules.log_out(agent, by))
        # Offline first (the router hands them nothing more), then their consoles are told.
        await self._change(agent.id, decide, actor.user_id, paused=False, logged_out=True)
        self.notifier.announce(LoggedOut(username=agent.username, by=by))
        return await self.agent_row(agent.id)

    async def agent_row(self, user_id: int) -> AgentRow:
        async with self.db.session() as session:
            user = await session.get_one(User, user_id, populate_existing=True)
            return await queries.agent_row(session, user)

    # ---- consoles coming and going ----
    async def opened(
        self, user_id: int, *, agent: bool, supervisor: bool, resuming: bool = False
    ) -> tuple[int, LoggedOut | None]:
        """A console's event stream opened: its session (to close with `closed`), and the
        log-out it missed, which that console alone must hear (the others heard it then)."""
        # The row is committed before the status is decided: a console of the same agent
        # leaving at this moment finds it and leaves the agent logged in.
        async with self.db.session() as session, session.begin():
            row = ConsoleSession(
                user_id=user_id, node=self.node, as_agent=agent, as_supervisor=supervisor
            )
            session.add(row)
            await session.flush()
            session_id = row.id
        self._open.add(session_id)
        if not agent:
            return session_id, None
        missed: LoggedOut | None = None

        async def decide(session: AsyncSession, user: User) -> rules.Change | None:
            nonlocal missed
            opening = rules.console_opened(standing(user), resuming=resuming)
            if opening.tell_logged_out:
                missed = LoggedOut(
                    username=user.username, by=await self._logged_out_by(session, user)
                )
            return opening.change

        await self._change(user_id, decide, logged_out=False)
        return session_id, missed

    async def closed(self, session_id: int, *, engine_stopping: bool = False) -> None:
        self._open.discard(session_id)
        if engine_stopping:
            return  # the row goes when this node starts again (`start`)
        async with self.db.session() as session, session.begin():
            row = await session.get(ConsoleSession, session_id)
            if row is None:
                return
            await session.delete(row)
            user_id, was_agent = row.user_id, row.as_agent
        if was_agent:
            await self._offline_unless_at_a_console(user_id)

    async def _offline_unless_at_a_console(self, user_id: int) -> None:
        async def decide(session: AsyncSession, user: User) -> rules.Change | None:
            # Asked with the agent's row locked, after any console that opened has its row.
            others = await session.scalar(
                select(ConsoleSession.id)
                .where(ConsoleSession.user_id == user_id, ConsoleSession.as_agent)
                .limit(1)
            )
            return None if others is not None else rules.last_console_closed(standing(user))

        await self._change(user_id, decide)

    @staticmethod
    async def _logged_out_by(session: AsyncSession, user: User) -> str:
        if user.logged_out_by_id is None:
            return user.status_reason.removeprefix(rules.LOGGED_OUT_BY) or "an operator"
        by = await session.get(User, user.logged_out_by_id)
        return (by.display_name or by.username) if by is not None else "a supervisor"

    async def on_duty(self) -> set[int]:
        """Supervisors with a console open on any node: a raised hand reaches them."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(ConsoleSession.user_id)
                .where(ConsoleSession.as_supervisor, ConsoleSession.seen_at >= self._fresh())
                .distinct()
            )
            return set(rows.scalars())

    # ---- the node's heartbeat ----
    def _fresh(self) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=3 * self.beat)

    async def start(self) -> None:
        """No console of this node is connected yet: streams it left behind (a crash) go, and
        agents at no console of any node are Offline, their supervisors' decisions kept."""
        async with self.db.session() as session, session.begin():
            await session.execute(delete(ConsoleSession).where(ConsoleSession.node == self.node))
            present = select(ConsoleSession.user_id).where(ConsoleSession.as_agent)
            await session.execute(
                update(User)
                .where(User.status != AgentStatus.OFFLINE, User.id.not_in(present))
                # Offline from now: a campaign that requeues a logged-out agent's work counts
                # from here, not from when they last went Free (engine/services/work/transfer.py).
                .values(status=AgentStatus.OFFLINE, status_since=datetime.now(UTC))
            )

    async def run(self) -> None:
        """Renew this node's streams; remove those of nodes that stopped renewing theirs."""
        while True:
            await asyncio.sleep(self.beat)
            await self.renew()

    async def renew(self) -> None:
        async with self.db.session() as session, session.begin():
            if self._open:
                await session.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.id.in_(self._open))
                    .values(seen_at=datetime.now(UTC))
                )
            stale = (
                await session.execute(
                    delete(ConsoleSession)
                    .where(ConsoleSession.seen_at < self._fresh())
                    .returning(ConsoleSession.user_id, ConsoleSession.as_agent, ConsoleSession.node)
                )
            ).all()
        for user_id in {user_id for user_id, as_agent, _ in stale if as_agent}:
            log.warning("a console of user %s was lost with its engine node", user_id)
            await self._offline_unless_at_a_console(user_id)
        if stale and self.on_lost is not None:
            await self.on_lost({node for _, _, node in stale})
