"""Chat lines that wait for someone away, and an agent's raised hand, against a real engine.

A line sent to someone without a console waits, unread, and their next console tells them;
an agent chats with the supervisors of their campaigns (one by name, or every one on duty at
once), and the engine refuses anyone else, whatever a console offers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from console.screens.agent import AgentScreen
from console.screens.chat import ChatScreen
from console.screens.hand import HandScreen
from console.screens.supervisor import SupervisorScreen
from engine.api.schemas import ChatSaid, Event, Hello, UserIn
from engine.client import EngineClient, Forbidden, Invalid
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import World


async def opened(client: EngineClient) -> AsyncIterator[Event]:
    """An event stream past its hello: the console it stands for is open from now on."""
    stream = client.events()
    assert isinstance(await anext(stream), Hello)
    return stream


async def test_a_line_sent_to_someone_away_waits_until_they_read_it(world: World) -> None:
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        line = await supervisor.say("agent1", "Call me when you are back")
        assert await agent.unread_chat() == [line]
        assert await agent.unread_chat() == [line]  # told is not read
        assert [x.text for x in await agent.chat("super1")] == ["Call me when you are back"]
        assert await agent.unread_chat() == []  # opening the chat read it

        answer = await agent.say("super1", "Back now")
        assert await supervisor.unread_chat() == [answer]
        await supervisor.chat_read("agent1")  # seen in a chat that was open when it came
        assert await supervisor.unread_chat() == []
        assert await agent.unread_chat() == []  # my own lines are never news to me


async def test_an_agent_chats_only_with_the_supervisors_of_their_campaigns(world: World) -> None:
    operator = world.operator
    for name, display in [("boss", "Boss"), ("sales_lead", "Sales Lead")]:
        await operator.add_user(UserIn(username=name, display_name=display, roles=["supervisor"]))
    await operator.add_user(UserIn(username="agent2", roles=["agent"]))
    await operator.add_member("Support", "boss")
    box = world.dovecot.new_mailbox("sales")
    await operator.add_campaign(box.campaign("Sales", smtp_host=world.sink.host))
    await operator.add_member("Sales", "sales_lead")

    async with (
        world.client("agent1") as agent,
        world.client("boss") as boss,
        world.client("sales_lead") as sales_lead,
        world.client("super1") as super1,
    ):
        # boss supervises Support, super1 every campaign (a member of none); not sales_lead.
        listed = await agent.chat_supervisors()
        assert [(s.username, s.on_duty) for s in listed] == [("boss", False), ("super1", False)]
        with pytest.raises(Forbidden, match="supervises none of your campaigns"):
            await agent.say("sales_lead", "Can I ask you something?")
        with pytest.raises(Forbidden):
            await agent.say("agent2", "agents do not chat with each other here")
        with pytest.raises(Invalid, match="no supervisor of your campaigns is on duty"):
            await agent.raise_hand("Anyone there?")
        assert await boss.unread_chat() == [] and await super1.unread_chat() == []

        # A supervisor writes to any agent, and the agent may answer them.
        await sales_lead.say("agent1", "Sales here: need anything?")
        await agent.say("sales_lead", "No thanks")

        # On duty: their console is open. The raised hand reaches those, and only those.
        boss_heard = await opened(boss)
        listed = await agent.chat_supervisors()
        assert [(s.username, s.on_duty) for s in listed] == [("boss", True), ("super1", False)]
        [line] = await agent.raise_hand("Customer asks for a manager")
        assert (line.sender, line.recipient) == ("agent1", "boss")
        said = await anext(boss_heard)
        while not isinstance(said, ChatSaid):
            said = await anext(boss_heard)
        assert said.line == line
        await boss_heard.aclose()
        assert await super1.unread_chat() == []  # away: the raised hand was not for them
        assert [x.text for x in await sales_lead.unread_chat()] == ["No thanks"]
        with pytest.raises(Forbidden):
            await boss.raise_hand("supervisors do not raise hands")


async def test_the_next_console_tells_of_lines_sent_while_away(world: World) -> None:
    async with world.client("super1") as supervisor:
        await supervisor.say("agent1", "First thing tomorrow: the refund")
        await supervisor.say("agent1", "Ping me when in")

    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent mode")
        await until(
            pilot,
            lambda: "Super1 sent you 2 chat lines" in screen_text(app),
            what="the toast of what came while away",
        )
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat")
        await until(pilot, lambda: "Super1: Ping me when in" in screen_text(app), what="lines")
        assert "Super1: First thing tomorrow: the refund" in screen_text(app)

    async with world.client("agent1") as agent:
        assert await agent.unread_chat() == []
    again = console_for(world.engine, "agent1", "agent")
    async with again.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(again.screen, AgentScreen), what="agent mode")
        async with world.client("super1") as supervisor:
            await supervisor.say("agent1", "One more thing")
        await until(pilot, lambda: "One more thing" in screen_text(again), what="the new line")
        assert "2 chat lines" not in screen_text(again)  # lines read before are not news


async def test_an_agent_raises_a_hand_and_the_supervisor_on_duty_answers(world: World) -> None:
    supervisor_app = console_for(world.engine, "super1", "supervisor")
    async with supervisor_app.run_test(size=(80, 24), notifications=True) as super_pilot:
        await until(super_pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="agent mode")
            await pilot.press("H")
            await until(pilot, lambda: isinstance(app.screen, HandScreen), what="the picker")
            await until(pilot, lambda: "Super1  on duty" in screen_text(app), what="super1 on duty")
            assert "Any supervisor on duty  (1 now)" in screen_text(app)
            await pilot.press("enter")  # the first choice: any supervisor on duty
            await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat")
            await type_text(pilot, "Customer wants a manager\n")
            await until(pilot, lambda: "Told super1: whoever answers first" in screen_text(app))

            await until(
                super_pilot,
                lambda: "Agent1: Customer wants a manager" in screen_text(supervisor_app),
                what="the supervisor's toast",
            )
            await super_pilot.press("M")
            await until(super_pilot, lambda: isinstance(supervisor_app.screen, ChatScreen))
            await type_text(super_pilot, "Coming\n")

            # The agent's open chat goes on with the supervisor who answered.
            await until(pilot, lambda: "Chat with Super1" in screen_text(app), what="answered")
            await until(pilot, lambda: "Super1: Coming" in screen_text(app), what="the answer")
            assert "You: Customer wants a manager" in screen_text(app)
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        assert await agent.unread_chat() == []  # seen in the open chat
        assert await supervisor.unread_chat() == []
