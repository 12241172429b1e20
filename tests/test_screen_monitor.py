"""Monitor screen (issue 15): a supervisor views an allowed agent's screen live and read only,
the agent sees that they are watched, password fields never travel, and every spy and screen
view lands in the audit log. Against a real engine, Dovecot and SMTP sink, two consoles under
Pilot in one event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Input

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.agent_info import AgentInfoScreen
from console.screens.compose import ReplyScreen
from console.screens.mirror import MirrorScreen
from console.screens.supervisor import SupervisorScreen
from console.screens.thread_screen import ThreadScreen
from console.widgets.banner import EngineBanner
from console.widgets.monitor import AgentGrid
from engine.api.schemas import ScreenChanged, UserPatch, encode
from engine.client import EngineClient, EngineError, Forbidden, NotFound
from engine.engine import Engine
from tests.console_helpers import (
    as_app,
    console_for,
    press,
    screen_text,
    settle,
    type_text,
    until,
)
from tests.engine_fixtures import World, engine_settings, eventually, provision
from tests.mail_factory import numbered_mail
from tests.servers import DovecotServer, SmtpSink

VIEWED = "Screen viewed by Super1"


def mirror_text(app: PostdeskApp) -> str:
    screen = app.screen
    return screen.view.text() if isinstance(screen, MirrorScreen) else ""


def agent_rows(app: PostdeskApp) -> str:
    return "\n".join(line.rstrip() for line in screen_text(app).splitlines())


def mirrored_rows(app: PostdeskApp) -> str:
    return "\n".join(line.rstrip() for line in mirror_text(app).splitlines())


@asynccontextmanager
async def two_consoles(
    world: World, agent_size: tuple[int, int] = (100, 30)
) -> AsyncIterator[tuple[PostdeskApp, object, PostdeskApp, object]]:
    agent_app = console_for(world.engine, "agent1", "agent")
    supervisor_app = console_for(world.engine, "super1", "supervisor")
    async with agent_app.run_test(size=agent_size, notifications=True) as agent_pilot:
        await until(agent_pilot, lambda: isinstance(agent_app.screen, AgentScreen), what="agent")
        async with supervisor_app.run_test(size=(120, 40), notifications=True) as pilot:
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
            grid = supervisor_app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            yield agent_app, agent_pilot, supervisor_app, pilot


async def allow(world: World, allowed: bool = True) -> None:
    await world.operator.update_user("agent1", UserPatch(screen_monitoring_allowed=allowed))


async def test_supervisor_views_the_agents_screen_as_it_changes(world: World) -> None:
    await allow(world)
    world.dovecot.append(world.mailbox, numbered_mail(7))
    async with two_consoles(world) as (agent_app, agent_pilot, supervisor_app, pilot):
        await until(agent_pilot, lambda: "Question 7" in screen_text(agent_app), what="inbox")
        assert VIEWED not in screen_text(agent_app)

        await press(pilot, "v")  # on the selected agent in the grid
        await until(pilot, lambda: isinstance(supervisor_app.screen, MirrorScreen), what="mirror")
        mirror = supervisor_app.screen
        assert isinstance(mirror, MirrorScreen)
        await until(pilot, lambda: "Question 7" in mirror_text(supervisor_app), what="picture")
        assert mirror.view.shown_size == (100, 30)  # the agent's size, not ours
        # The agent is told, on whatever screen they are.
        await until(agent_pilot, lambda: VIEWED in screen_text(agent_app), what="indicator")

        # The agent acts: the thread opens on their screen, and on the mirror.
        await agent_pilot.press("enter")
        await until(agent_pilot, lambda: "This is question 7." in screen_text(agent_app))
        await until(
            pilot, lambda: "This is question 7." in mirror_text(supervisor_app), what="follows"
        )
        # Row for row what the agent's terminal shows, indicator included.
        await until(
            pilot,
            lambda: mirrored_rows(supervisor_app) == agent_rows(agent_app),
            what="the same rows",
        )
        assert VIEWED in mirror_text(supervisor_app)
        # In the agent's colours: the same style on the same cell.
        with as_app(agent_app):  # rendered as the agent's console, not the last started
            agent_strips = agent_app.screen._compositor.render_strips()
        header = mirror.view.rows[0]
        assert [s.style.bgcolor for s in header if s.text.strip()][:1] == [
            s.style.bgcolor for s in agent_strips[0] if s.text.strip()
        ][:1]

        # Read only: keys typed on the mirror never reach the agent.
        await press(pilot, "r")
        await settle(agent_pilot)
        assert isinstance(agent_app.screen, AgentScreen)

        await press(pilot, "escape")
        assert isinstance(supervisor_app.screen, SupervisorScreen)
        await until(agent_pilot, lambda: VIEWED not in screen_text(agent_app), what="no mark")
        sharer = agent_app.screen.screen_share
        assert not sharer.watched and sharer._timer is None  # nothing runs while unwatched

        # From the agent's information window too.
        await press(pilot, "i")
        await until(pilot, lambda: isinstance(supervisor_app.screen, AgentInfoScreen))
        await press(pilot, "v")
        await until(pilot, lambda: isinstance(supervisor_app.screen, MirrorScreen), what="v")
        await until(pilot, lambda: "This is question 7." in mirror_text(supervisor_app))
        await press(pilot, "escape")

    rows = await eventually(
        world.operator.audit,
        lambda rows: len(rows) == 2 and all(r.ended_at is not None for r in rows),
    )
    row = rows[-1]  # the first one (newest first)
    assert (row.kind, row.actor, row.subject, row.interaction_id) == (
        "screen",
        "super1",
        "agent1",
        None,
    )
    assert row.seconds is not None and row.seconds >= 0


async def test_the_agent_is_told_on_a_screen_without_a_header(world: World) -> None:
    """The reply window covers the whole terminal and has no header to carry the indicator in
    its title: it gets a line of its own while watched, gone when nobody watches."""
    await allow(world)
    world.dovecot.append(world.mailbox, numbered_mail(8))
    async with two_consoles(world, agent_size=(80, 24)) as (agent_app, agent_pilot, sup, pilot):
        await until(agent_pilot, lambda: "Question 8" in screen_text(agent_app), what="inbox")
        await agent_pilot.press("enter")
        await until(agent_pilot, lambda: "This is question 8." in screen_text(agent_app))
        await agent_pilot.press("r")
        await until(agent_pilot, lambda: isinstance(agent_app.screen, ReplyScreen), what="reply")
        assert VIEWED not in screen_text(agent_app)

        await press(pilot, "v")
        await until(pilot, lambda: isinstance(sup.screen, MirrorScreen), what="mirror")
        await until(agent_pilot, lambda: VIEWED in screen_text(agent_app), what="on the reply")
        await until(pilot, lambda: VIEWED in mirror_text(sup), what="the mirror shows it too")

        await press(pilot, "escape")  # nobody watches any more
        await until(agent_pilot, lambda: VIEWED not in screen_text(agent_app), what="gone")
        assert isinstance(agent_app.screen, ReplyScreen)  # the agent's work went on untouched


async def test_refused_without_the_agents_consent_and_for_non_supervisors(world: World) -> None:
    async with world.client("super1") as supervisor, world.client("agent1") as agent:
        with pytest.raises(Forbidden, match="screen monitoring is not allowed"):
            await supervisor.watch("screen", "agent1")
        await allow(world)
        with pytest.raises(Forbidden, match="supervisor role"):
            await agent.watch("screen", "agent1")
        with pytest.raises(Forbidden, match="admin role"):
            await supervisor.audit()
        with pytest.raises(NotFound):
            await supervisor.watch("screen", "nobody")
        watching = await supervisor.watch("screen", "agent1")
        await supervisor.end_watch(watching.id)
        with pytest.raises(NotFound):
            await supervisor.end_watch(watching.id)
        # Nobody watches: the agent's console is told to stop.
        assert not (await agent.send_screen(_tiny_frame())).watched
        # A console sending faster than any Postdesk console does is held back.
        again = await supervisor.watch("screen", "agent1")
        answers = []
        monitoring = world.engine.monitoring
        clock, monitoring.clock = monitoring.clock, lambda: 100.0  # all within one second
        for _ in range(12):
            try:
                answers.append((await agent.send_screen(_tiny_frame())).watched)
            except EngineError as exc:
                answers.append(exc.status)
        monitoring.clock = clock
        assert answers == [True] * 8 + [429] * 4
        await supervisor.end_watch(again.id)
    await allow(world, False)
    async with two_consoles(world) as (agent_app, agent_pilot, supervisor_app, pilot):
        await press(pilot, "v")
        await until(
            pilot,
            lambda: any(
                "screen monitoring is not allowed" in n.message
                for n in supervisor_app._notifications
            ),
            what="the refusal",
        )
        assert isinstance(supervisor_app.screen, SupervisorScreen)
        assert VIEWED not in screen_text(agent_app)
        # The information window says why its button is off.
        await press(pilot, "i")
        await until(pilot, lambda: isinstance(supervisor_app.screen, AgentInfoScreen))
        assert "Screen monitoring  not allowed" in screen_text(supervisor_app)
        await press(pilot, "escape")


def _tiny_frame():  # type: ignore[no-untyped-def]
    from engine.api.schemas import ScreenFrame, ScreenLine

    return ScreenFrame(
        width=2, height=1, full=True, styles=[""], lines=[ScreenLine(y=0, spans=[("hi", 0)])]
    )


class PasswordPrompt(ModalScreen[None]):
    """A form with a password field and a plain one, as the agent's console could show."""

    def compose(self) -> ComposeResult:
        yield Input(id="plain", placeholder="plain")
        yield Input(id="secret", password=True, placeholder="password")


async def test_a_password_typed_by_the_agent_never_leaves_their_console(world: World) -> None:
    await allow(world)
    relayed: list[bytes] = []
    async with world.engine.bus.subscribe() as tap:  # everything the engine relays
        async with two_consoles(world) as (agent_app, agent_pilot, supervisor_app, pilot):
            await press(pilot, "v")
            await until(pilot, lambda: isinstance(supervisor_app.screen, MirrorScreen))
            await until(agent_pilot, lambda: VIEWED in screen_text(agent_app), what="watched")
            # In the agent app's own task: two apps run in this loop.
            agent_app.call_later(agent_app.push_screen, PasswordPrompt())
            await until(
                agent_pilot,
                lambda: (
                    isinstance(agent_app.screen, PasswordPrompt)
                    and "password" in screen_text(agent_app)
                ),
                what="the password form",
            )
            agent_app.call_later(agent_app.screen.query_one("#plain", Input).focus)
            await settle(agent_pilot)
            await type_text(agent_pilot, "visible words")
            agent_app.call_later(agent_app.screen.query_one("#secret", Input).focus)
            await settle(agent_pilot)
            await type_text(agent_pilot, "hunter2secret")
            await until(agent_pilot, lambda: "visible words" in screen_text(agent_app))
            await until(
                pilot, lambda: "visible words" in mirror_text(supervisor_app), what="relayed"
            )
            # The next frames too: the field is masked whatever it shows.
            # Over the field's whole width (13 typed), so not even the length travels.
            await until(pilot, lambda: "•" * 40 in mirror_text(supervisor_app), what="masked")
            assert "•" * 40 not in screen_text(agent_app)  # the agent sees their usual field
            await press(pilot, "escape")
        while True:
            got, event = await tap.next(0.05)
            if not got:
                break
            if isinstance(event, ScreenChanged):
                relayed.append(encode(event))
    everything = b"".join(relayed)
    assert b"visible words" in everything  # what the agent typed in a plain field travels
    assert b"hunter2" not in everything and b"secret" not in everything


async def test_a_spy_on_an_interaction_is_in_the_audit_log(world: World) -> None:
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, numbered_mail(3))
        [item] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        supervisor_app = console_for(world.engine, "super1", "supervisor")
        async with supervisor_app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(supervisor_app.screen, SupervisorScreen))
            grid = supervisor_app.screen.query_one(AgentGrid)
            await until(pilot, lambda: grid.row_count == 1, what="agent1 in the grid")
            await press(pilot, "s")
            await until(pilot, lambda: isinstance(supervisor_app.screen, ThreadScreen))
            [open_row] = await world.operator.audit()
            assert (open_row.kind, open_row.ended_at) == ("spy", None)
            await press(pilot, "escape")
    [row] = await eventually(
        world.operator.audit, lambda rows: len(rows) == 1 and rows[0].ended_at is not None
    )
    assert (row.kind, row.actor, row.subject, row.interaction_id) == (
        "spy",
        "super1",
        "agent1",
        item.id,
    )


async def test_a_watch_whose_supervisor_went_away_ends(world: World) -> None:
    await allow(world)
    world.engine.monitoring.grace = 0.5
    async with EngineClient(world.engine.socket_path, act_as="super1") as supervisor:
        await supervisor.watch("screen", "agent1")  # no event stream: gone at once
    [row] = await eventually(
        world.operator.audit, lambda rows: len(rows) == 1 and rows[0].ended_at is not None
    )
    assert row.kind == "screen"


async def test_the_view_survives_an_engine_restart(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """Both consoles lose the engine and come back: the same watch (one audit row) goes on,
    the agent is told again, and the mirror follows what the agent does next."""
    settings = engine_settings(tmp_path / "home")
    engine = Engine(settings)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            world = await provision(engine, operator, dovecot, smtp_sink)
            await operator.update_user("agent1", UserPatch(screen_monitoring_allowed=True))
        dovecot.append(world.mailbox, numbered_mail(5))
        async with two_consoles(world) as (agent_app, agent_pilot, supervisor_app, pilot):
            await until(agent_pilot, lambda: "Question 5" in screen_text(agent_app))
            await press(pilot, "v")
            await until(pilot, lambda: "Question 5" in mirror_text(supervisor_app))
            await until(agent_pilot, lambda: VIEWED in screen_text(agent_app))
            agent_banner = agent_app.screen.query_one(EngineBanner)
            supervisor_banner = supervisor_app.screen_stack[1].query_one(EngineBanner)

            await engine.stop()
            await until(pilot, lambda: supervisor_banner.lost and agent_banner.lost, what="lost")
            engine = Engine(settings)
            await engine.start()
            await until(
                pilot,
                lambda: not supervisor_banner.lost and not agent_banner.lost,
                timeout=30,
                what="both back",
            )
            await until(agent_pilot, lambda: VIEWED in screen_text(agent_app), what="told again")
            await agent_pilot.press("enter")
            await until(agent_pilot, lambda: "This is question 5." in screen_text(agent_app))
            await until(
                pilot, lambda: "This is question 5." in mirror_text(supervisor_app), what="live"
            )
            async with EngineClient(engine.socket_path) as operator:
                [row] = await operator.audit()
                assert (row.kind, row.ended_at) == ("screen", None)  # one watch, still on
            await press(pilot, "escape")
            await until(agent_pilot, lambda: VIEWED not in screen_text(agent_app))
    finally:
        await engine.stop()


async def test_the_view_says_when_the_agents_console_closed(world: World) -> None:
    await allow(world)
    async with two_consoles(world) as (agent_app, agent_pilot, supervisor_app, pilot):
        await press(pilot, "v")
        await until(pilot, lambda: isinstance(supervisor_app.screen, MirrorScreen))
        await until(pilot, lambda: "Agent · agent1" in mirror_text(supervisor_app))
        agent_app.exit()
        await until(
            pilot,
            lambda: "their console is closed" in screen_text(supervisor_app),
            what="the view to say the agent left",
        )
        assert "Agent · agent1" in mirror_text(supervisor_app)  # the last picture stays
        assert "LIVE" not in screen_text(supervisor_app) and "CLOSED" in screen_text(supervisor_app)
