"""Presence kept in the database: who is at a console is visible to every engine node, and a
node that dies takes its consoles with it (its agents go Offline, their pauses kept).

The rules of who decides an agent's status are pure (`engine.domain.presence`) and tested
here without an engine; the rest against a real engine and database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select

from data.models import AgentStatus, ConsoleSession, User
from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.domain import presence as rules
from engine.engine import Engine
from tests.engine_fixtures import eventually

T = TypeVar("T")


def agent(
    status: str, *, paused: bool = False, logged_out: bool = False, reason: str = ""
) -> rules.Standing:
    return rules.Standing("ana", status, reason, paused=paused, logged_out=logged_out)


def test_an_agent_changes_their_status_unless_a_supervisor_decided() -> None:
    assert rules.own_change_refusal(agent("free")) is None
    assert rules.own_change_refusal(agent("offline")) is None
    paused = agent("paused", paused=True, reason="paused by Sam")
    assert rules.own_change_refusal(paused) == "paused by Sam: only a supervisor resumes you"
    out = agent("offline", logged_out=True, reason="logged out by Sam")
    assert rules.own_change_refusal(out) == "logged out by Sam: open the console again to work"
    assert rules.own_change("free", "Lunch") == rules.Change("free", "")  # no reason when Free
    assert rules.own_change("break", "Lunch") == rules.Change("break", "Lunch")


def test_supervisor_actions_refuse_what_makes_no_sense() -> None:
    assert rules.pause(agent("offline"), "Sam") == "ana is not logged in"
    assert rules.pause(agent("paused", reason="paused by Max"), "Sam") == (
        "ana is already paused (paused by Max)"
    )
    assert rules.pause(agent("break"), "Sam") == rules.Change("paused", "paused by Sam")
    assert rules.resume(agent("free")) == "ana is not paused"
    assert rules.resume(agent("paused", paused=True)) == rules.Change("free")
    assert rules.log_out(agent("offline"), "Sam") == "ana is not logged in"
    assert rules.log_out(agent("free"), "Sam") == rules.Change("offline", "logged out by Sam")


def test_a_console_coming_and_going() -> None:
    # Back from Offline: Free; paused before leaving: Paused again, with the same reason.
    assert rules.console_opened(agent("offline"), resuming=False).change == rules.Change("free")
    was_paused = agent("offline", paused=True, reason="paused by Sam")
    assert rules.console_opened(was_paused, resuming=True).change == rules.Change(
        "paused", "paused by Sam"
    )
    # Logged out: a console only reconnecting is told to leave; a new console logs in.
    out = agent("offline", logged_out=True, reason="logged out by Sam")
    assert rules.console_opened(out, resuming=True) == rules.Opening(tell_logged_out=True)
    assert rules.console_opened(out, resuming=False).change == rules.Change("free")
    # A console of an agent already working changes nothing.
    assert rules.console_opened(agent("break"), resuming=False) == rules.Opening()
    # The last console closing: Offline, a pause keeping its reason, a break not.
    assert rules.last_console_closed(agent("break", reason="Lunch")) == rules.Change("offline")
    paused = agent("paused", paused=True, reason="paused by Sam")
    assert rules.last_console_closed(paused) == rules.Change("offline", "paused by Sam")


async def _status(engine: Engine, username: str) -> tuple[str, str]:
    async with engine.db.session() as session:
        user = await session.scalar(
            select(User).where(User.username == username).execution_options(populate_existing=True)
        )
        assert user is not None
        return user.status.value, user.status_reason


async def test_presence_lives_in_the_database_and_leaves_with_a_dead_node(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ana", display_name="Ana", roles=["agent"]))
    await operator.add_user(UserIn(username="sam", display_name="Sam", roles=["supervisor"]))
    ana_client = EngineClient(engine.socket_path, act_as="ana")
    sam_client = EngineClient(engine.socket_path, act_as="sam")
    async with ana_client as ana, sam_client as sam:
        ana_stream, sam_stream = ana.events(), sam.events()
        await anext(ana_stream)
        await anext(sam_stream)
        await eventually(ana.me, lambda me: me.status == "free", what="ana at her console")
        async with engine.db.session() as session:
            rows = (await session.execute(select(ConsoleSession))).scalars().all()
        assert sorted((r.as_agent, r.as_supervisor, r.node) for r in rows) == [
            (False, True, engine.settings.node),
            (True, False, engine.settings.node),
        ]
        sam_id = next(r.user_id for r in rows if r.as_supervisor)
        assert await engine.presence.on_duty() == {sam_id}
        await ana_stream.aclose()
        await eventually(ana.me, lambda me: me.status == "offline", what="ana gone")
        await sam_stream.aclose()
        await eventually(engine.presence.on_duty, lambda ids: ids == set(), what="sam off duty")

    # Another node had a console of ana's open, then died: it stopped renewing the row.
    async with engine.db.session() as session, session.begin():
        ana_id = await session.scalar(select(User.id).where(User.username == "ana"))
        assert ana_id is not None
        user = await session.get_one(User, ana_id)
        user.status, user.paused_at, user.status_reason = (
            AgentStatus.PAUSED,
            datetime.now(UTC),
            "paused by Sam",
        )
        long_ago = datetime.now(UTC) - timedelta(seconds=4 * engine.presence.beat)
        session.add(
            ConsoleSession(
                user_id=ana_id, node="other-host:/srv/postdesk", as_agent=True, seen_at=long_ago
            )
        )
    await engine.presence.renew()
    assert await _status(engine, "ana") == ("offline", "paused by Sam")  # the pause is kept
    async with engine.db.session() as session:
        assert (await session.execute(select(ConsoleSession))).scalars().all() == []


async def test_a_console_leaving_as_the_next_one_opens_leaves_the_agent_logged_in(
    engine: Engine, operator: EngineClient
) -> None:
    # A console reconnecting closes its old stream while the new one opens, in any order and
    # on any timing; whatever the interleaving, an agent at a console is never left Offline
    # (CI once saw a logged-out agent's new console stay Offline this way).
    await operator.add_user(UserIn(username="ana", display_name="Ana", roles=["agent"]))
    async with engine.db.session() as session:
        ana_id = await session.scalar(select(User.id).where(User.username == "ana"))
    assert ana_id is not None
    presence = engine.presence
    old, _ = await presence.opened(ana_id, agent=True, supervisor=False)

    async def later(delay: float, call: Awaitable[T]) -> T:
        await asyncio.sleep(delay)
        return await call

    # One starts up to 20 ms after the other, by half-milliseconds: every interleaving of
    # their few database round trips comes up.
    for step in range(-40, 41):
        delay = abs(step) / 2000
        opening = presence.opened(ana_id, agent=True, supervisor=False)
        closing = presence.closed(old)
        if step < 0:
            (new, _), _ = await asyncio.gather(opening, later(delay, closing))
        else:
            _, (new, _) = await asyncio.gather(closing, later(delay, opening))
        assert await _status(engine, "ana") == ("free", ""), f"opened {step / 2} ms late"
        old = new
    await presence.closed(old)
    assert await _status(engine, "ana") == ("offline", "")
