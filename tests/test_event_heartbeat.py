"""An idle console's event stream stays alive while other people are busy.

The engine filters events by who may see them; its heartbeat must follow what each console
was actually sent. Against a real engine with a short heartbeat: a raw reader counts the empty
lines on the wire, and a real agent console must never show the connection as lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from textual.message import Message

from console.messages import EngineLost
from console.screens.agent import AgentScreen
from console.widgets.banner import EngineBanner
from engine.api.schemas import AgentChanged, ChatSaid, Event, Hello, UserIn, decode_event
from engine.client import EngineClient
from engine.client.transport import silence_for
from engine.engine import Engine
from tests.console_helpers import console_for, until
from tests.engine_fixtures import engine_settings, eventually

HEARTBEAT = 0.3  # seconds
SILENCE = silence_for(HEARTBEAT)  # the console gives up on a stream silent this long


@pytest.fixture
async def quick_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = Engine(engine_settings(tmp_path / "home", event_heartbeat=HEARTBEAT))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            for name, role in [("idle", "agent"), ("busy", "agent"), ("boss", "supervisor")]:
                await operator.add_user(UserIn(username=name, display_name=name, roles=[role]))
        yield engine
    finally:
        await engine.stop()


async def keep_busy(engine: Engine, said: list[object]) -> None:
    """Another agent changing status and chatting with a supervisor, as fast as it can: a
    steady flow of events the idle agent may not see."""
    async with (
        EngineClient(engine.socket_path, act_as="busy") as busy,
        EngineClient(engine.socket_path, act_as="boss") as boss,
    ):
        while True:
            said.append(await busy.set_status("break", "Lunch"))
            said.append(await boss.say("busy", "how is it going?"))
            said.append(await busy.set_status("free"))


async def collect(client: EngineClient, heard: list[Event]) -> None:
    """Read a stream as a console does, all the time: a reader that stops is dropped."""
    async for event in client.events():
        heard.append(event)


async def test_an_idle_agent_hears_heartbeats_while_others_are_busy(quick_engine: Engine) -> None:
    lost: list[Message] = []

    def hook(message: Message) -> None:
        if isinstance(message, EngineLost):
            lost.append(message)

    app = console_for(quick_engine, "idle", "agent")
    async with (
        app.run_test(size=(80, 24), message_hook=hook) as pilot,
        EngineClient(quick_engine.socket_path, act_as="boss") as boss,
        EngineClient(quick_engine.socket_path, act_as="idle") as idle,
    ):
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent mode")
        await eventually(idle.me, lambda me: me.status == "free", what="the idle agent free")
        since = (await idle.me()).status_since
        heard: list[Event] = []
        listening = asyncio.create_task(collect(boss, heard))
        await eventually(lambda: asyncio.sleep(0, heard), bool, what="the supervisor's hello")

        said: list[object] = []
        flood = asyncio.create_task(keep_busy(quick_engine, said))
        lines: list[bytes] = []
        try:
            connector = aiohttp.UnixConnector(path=str(quick_engine.socket_path))
            async with (
                aiohttp.ClientSession(connector=connector) as session,
                session.get(
                    "http://postdesk/api/v1/events", headers={"X-Postdesk-User": "idle"}
                ) as stream,
            ):
                hello = decode_event(await stream.content.readline())
                assert isinstance(hello, Hello) and hello.heartbeat == HEARTBEAT
                # Heartbeats go on arriving, for longer than a console waits for a line, while
                # other people's events flow; before, the first of those silenced them.
                async with asyncio.timeout(60):
                    while lines.count(b"\n") * HEARTBEAT <= SILENCE:
                        lines.append(await stream.content.readline())
        finally:
            flood.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flood
        assert said, "the other agent was busy meanwhile"
        assert set(lines) == {b"\n"}, "the idle agent was sent nothing but heartbeats"

        # The console that stayed open throughout never gave the engine up, and the idle agent
        # was never counted as gone and back (each would be an AgentChanged for them).
        assert lost == [] and not app.screen.query_one(EngineBanner).lost
        marker = await boss.say("idle", "still there?")  # after all the flood caused
        await eventually(
            lambda: asyncio.sleep(0, heard),
            lambda events: any(isinstance(e, ChatSaid) and e.line == marker for e in events),
            what="the marker on the supervisor's stream",
        )
        listening.cancel()
        # (The console's own connection may still be announced: Free since it connected.)
        churn = [
            e.agent
            for e in heard
            if isinstance(e, AgentChanged)
            and e.agent.username == "idle"
            and (e.agent.status, e.agent.status_since) != ("free", since)
        ]
        assert churn == []
        assert sum(isinstance(e, AgentChanged) for e in heard) > 1, "the busy agent's were heard"
        me = await idle.me()
        assert (me.status, me.status_since) == ("free", since)
