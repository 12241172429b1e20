"""Supervisors acting on an agent (the manual's "Actions with agents"): pause and log out.

Against a real engine, Dovecot and SMTP sink: a paused agent gets no new mail and cannot leave
the pause alone; resuming hands them what waited; a logged-out agent's console leaves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.chat import ChatScreen
from console.screens.confirm import ConfirmScreen
from console.screens.search import SearchScreen
from console.screens.supervisor import SupervisorScreen
from console.screens.switcher import SwitcherScreen
from console.screens.thread_screen import ThreadScreen
from console.widgets.monitor import AgentGrid
from engine.api.schemas import AgentChanged, ChatSaid, LoggedOut, UserIn
from engine.client import EngineClient, Forbidden, Invalid, NotFound
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import numbered_mail


async def test_a_paused_agent_gets_no_new_mail_until_resumed(world: World) -> None:
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        await agent.set_status("free")
        paused = await supervisor.pause_agent("agent1")
        assert (paused.status, paused.status_reason) == ("paused", "paused by Super1")
        with pytest.raises(Invalid, match="only a supervisor resumes you"):
            await agent.set_status("free")

        world.dovecot.append(world.mailbox, numbered_mail(1))
        await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == 1 and rows[0].state == "queued",
            what="the mail to wait in the queue",
        )
        assert await agent.interactions() == []

        resumed = await supervisor.resume_agent("agent1")
        assert resumed.status == "free"
        await eventually(agent.interactions, lambda rows: len(rows) == 1, what="assignment")

        with pytest.raises(Forbidden):
            await agent.pause_agent("agent1")  # agents cannot
        with pytest.raises(NotFound):
            await supervisor.pause_agent("super1")  # not an agent
        with pytest.raises(Invalid, match="is not paused"):
            await supervisor.resume_agent("agent1")


async def test_supervisor_pauses_and_logs_out_from_the_grid(world: World) -> None:
    agent_app = console_for(world.engine, "agent1", "agent")
    async with agent_app.run_test(size=(80, 24)) as agent_pilot:
        await until(agent_pilot, lambda: isinstance(agent_app.screen, AgentScreen), what="agent")
        async with world.client("agent1") as agent:
            await eventually(agent.me, lambda me: me.status == "free", what="agent1 free")

        supervisor_app = console_for(world.engine, "super1", "supervisor")
        async with supervisor_app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
            grid = supervisor_app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            await pilot.press("p")
            await until(pilot, lambda: "Paused" in screen_text(supervisor_app), what="paused")
            await until(
                agent_pilot, lambda: "Paused" in screen_text(agent_app), what="agent sees it"
            )
            await pilot.press("p")
            await until(pilot, lambda: "Free" in screen_text(supervisor_app), what="resumed")

            await pilot.press("L")
            await until(pilot, lambda: isinstance(supervisor_app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: "Offline" in screen_text(supervisor_app), what="offline")
            await until(agent_pilot, lambda: agent_app.return_code is not None, what="agent left")
    assert agent_app.return_code == 0


async def test_the_agent_hears_who_logged_them_out(world: World) -> None:
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        seen = agent.events()
        assert type(await anext(seen)).__name__ == "Hello"
        await eventually(agent.me, lambda me: me.status == "free", what="agent1 free")
        await supervisor.log_out_agent("agent1")
        event = await anext(seen)
        while not isinstance(event, LoggedOut):
            event = await anext(seen)
        assert (event.username, event.by) == ("agent1", "Super1")
        await seen.aclose()


async def test_supervisor_watches_a_live_interaction_and_searches_the_recordings(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # recordings go to ~/Downloads, else ~
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, numbered_mail(7))
        [item] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        theirs = await world.operator.interactions(scope="all", agent="agent1")
        assert [i.id for i in theirs] == [item.id]
        assert await world.operator.interactions(scope="all", agent="super1") == []
        supervisor_app = console_for(world.engine, "super1", "supervisor")
        async with supervisor_app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
            grid = supervisor_app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(supervisor_app.screen, ThreadScreen))
            await until(pilot, lambda: "This is question 7." in screen_text(supervisor_app))
            assert "Watching Agent1" in screen_text(supervisor_app)

            await agent.reply(item.id, "Answer from the agent, live.")
            await until(
                pilot,
                lambda: "Answer from the agent, live." in screen_text(supervisor_app),
                what="the reply to appear while watching",
            )
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))

            await pilot.press("slash")
            await until(pilot, lambda: isinstance(supervisor_app.screen, SearchScreen))
            await type_text(pilot, "Question 7")
            await until(pilot, lambda: "1-1 of 1 " in screen_text(supervisor_app), what="found")
            assert "agent1" in screen_text(supervisor_app)  # whose interaction it is
            await pilot.press("down", "enter")
            await until(pilot, lambda: isinstance(supervisor_app.screen, ThreadScreen))
            await until(pilot, lambda: "This is question 7." in screen_text(supervisor_app))
            await pilot.press("w")
            await until(pilot, lambda: list(tmp_path.glob("interaction-*.txt")) != [])
            # Closing the viewer comes back to the search as it was, not to the grid.
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(supervisor_app.screen, SearchScreen))
            assert "1-1 of 1 " in screen_text(supervisor_app)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
    [written] = tmp_path.glob("interaction-*.txt")
    assert written.name == f"interaction-{item.id} Question 7.txt"
    text = written.read_text()
    assert text.startswith(f"Postdesk interaction #{item.id} · Support · assigned\n")
    assert text.index("This is question 7.") < text.index("Answer from the agent, live.")
    assert "→ Out · " in text and "Agent: agent1" in text


async def test_chat_between_a_supervisor_and_an_agent_is_private_and_kept(world: World) -> None:
    await world.operator.add_user(
        UserIn(username="super2", display_name="Super2", roles=["supervisor"])
    )
    async with (
        world.client("agent1") as agent,
        world.client("super1") as supervisor,
        world.client("super2") as other,
    ):
        heard = other.events()
        assert type(await anext(heard)).__name__ == "Hello"
        line = await supervisor.say("agent1", "Need help with \\x1b[2J that refund?")
        assert (line.sender, line.recipient, line.sender_name) == ("super1", "agent1", "Super1")
        await agent.say("super1", "Yes please")
        history = await agent.chat("super1")
        assert [(x.sender, x.text) for x in history] == [
            ("super1", "Need help with \\x1b[2J that refund?"),
            ("agent1", "Yes please"),
        ]
        with pytest.raises(Forbidden):
            await other.say("super1", "supervisors do not chat here")
        with pytest.raises(Invalid):
            await agent.say("super1", "   ")
        # Another supervisor's stream never carried the private lines.
        await agent.set_status("free")  # an event every supervisor gets, after the chat
        event = await anext(heard)
        while not isinstance(event, AgentChanged):
            assert not isinstance(event, ChatSaid), event
            event = await anext(heard)
        await heard.aclose()


async def test_a_supervisor_chats_with_the_agent_on_screen(world: World) -> None:
    agent_app = console_for(world.engine, "agent1", "agent")
    async with agent_app.run_test(size=(80, 24), notifications=True) as agent_pilot:
        await until(agent_pilot, lambda: isinstance(agent_app.screen, AgentScreen))
        supervisor_app = console_for(world.engine, "super1", "supervisor")
        async with supervisor_app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
            grid = supervisor_app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(supervisor_app.screen, ChatScreen))
            await type_text(pilot, "Call me when free\n")
            await until(pilot, lambda: "You: Call me when free" in screen_text(supervisor_app))

            await until(
                agent_pilot,
                lambda: "Super1: Call me when free" in screen_text(agent_app),
                what="the toast on the agent's screen",
            )
            await agent_pilot.press("M")
            await until(agent_pilot, lambda: isinstance(agent_app.screen, ChatScreen))
            await until(agent_pilot, lambda: "Super1: Call me when free" in screen_text(agent_app))
            await type_text(agent_pilot, "On it\n")
            await until(
                pilot,
                lambda: "Agent1: On it" in screen_text(supervisor_app),
                what="the answer in the supervisor's open chat",
            )


async def test_a_pause_outlives_the_console_and_a_log_out_its_reconnection(world: World) -> None:
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        stream = agent.events()
        await anext(stream)
        await eventually(agent.me, lambda me: me.status == "free", what="agent1 free")
        await supervisor.pause_agent("agent1")
        with pytest.raises(Invalid, match="already paused"):
            await supervisor.pause_agent("agent1")
        await stream.aclose()  # the console leaves while paused...
        await eventually(agent.me, lambda me: me.status == "offline", what="offline")
        stream = agent.events()  # ...and comes back: still paused
        await anext(stream)
        await eventually(agent.me, lambda me: me.status == "paused", what="paused again")
        await supervisor.resume_agent("agent1")

        await supervisor.log_out_agent("agent1")
        await stream.aclose()
        with pytest.raises(Invalid, match="logged out by Super1"):
            await agent.set_status("free")
        # A console that was only reconnecting learns it was logged out, and stays Offline.
        resumed = agent.events(resume=True)
        await anext(resumed)
        assert isinstance(await anext(resumed), LoggedOut)
        await resumed.aclose()
        # Opening a console anew is logging in again.
        fresh = agent.events()
        await anext(fresh)
        await eventually(agent.me, lambda me: me.status == "free", what="logged in again")
        await fresh.aclose()


async def test_a_supervisor_cannot_act_on_themselves(world: World) -> None:
    await world.operator.add_user(
        UserIn(username="both", display_name="Both", roles=["agent", "supervisor"])
    )
    async with world.client("both") as both:
        stream = both.events()
        await anext(stream)
        await eventually(both.me, lambda me: me.status == "free", what="free")
        with pytest.raises(Invalid, match="that is you"):
            await both.pause_agent("both")
        with pytest.raises(Invalid, match="that is you"):
            await both.log_out_agent("both")
        await stream.aclose()


async def test_in_the_demo_a_logged_out_agent_goes_back_to_the_switcher(world: World) -> None:
    app = PostdeskApp(
        lambda user: EngineClient(world.engine.socket_path, act_as=user),
        switch_users=[("agent1", "Agent1: works the queue"), ("super1", "Super1")],
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SwitcherScreen), what="switcher")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent mode")
        async with world.client("agent1") as agent, world.client("super1") as supervisor:
            await eventually(agent.me, lambda me: me.status == "free", what="agent1 free")
            await supervisor.log_out_agent("agent1")
        await until(pilot, lambda: isinstance(app.screen, SwitcherScreen), what="back")
