"""Every screen at 80x24 shows all of its footer: each key the footer offers is on the last
line in full, none cut off at the right edge. Against a real engine and Dovecot; each screen
is opened the way a person opens it."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Footer

from console.screens.admin import AdminScreen
from console.screens.agent import AgentScreen
from console.screens.supervisor import SupervisorScreen
from engine.api.schemas import UserIn
from tests.console_helpers import console_for, screen_text, settle, until
from tests.engine_fixtures import World
from tests.mail_factory import customer_mail


def last_line(app: App[object]) -> str:
    return screen_text(app).rstrip("\n").splitlines()[-1]


async def footer_problems(pilot: Pilot[None], app: App[object]) -> list[str]:
    """The footer's keys that are not shown whole on the last line of the screen."""
    name = type(app.screen).__name__
    # Help lists every key and says under them how it closes; a footer would cost a row.
    if not app.screen.query(Footer) and name != "HelpScreen":
        # A dialog without one shows the keys of the screen under it, which do nothing here.
        return [f"{name}: no footer of its own"]
    if name == "HelpScreen":
        return []
    await until(pilot, lambda: last_line(app).strip() != "", what=f"{name}'s footer")
    last = last_line(app)
    missing = []
    for active in app.screen.active_bindings.values():
        binding = active.binding
        if not binding.show or not active.enabled:
            continue
        if binding.description not in last:
            missing.append(binding.description)
    return [f"{name}: {m!r} not in {last!r}" for m in missing]


async def visit(
    pilot: Pilot[None], app: App[object], keys: Sequence[str], back: Sequence[str]
) -> list[str]:
    """Press `keys`, wait for the screen they open, note what its footer misses, go back."""
    before = app.screen
    await pilot.press(*keys)
    await until(pilot, lambda: app.screen is not before, what=f"the screen {keys} opens")
    # Laid out and painted, its footer with it (not a guess of 0.2 s); workers aside, as
    # the file picker's directory loader runs as long as its screen.
    await settle(pilot, workers=False)
    problems = await footer_problems(pilot, app)
    await pilot.press(*back)
    await until(pilot, lambda: app.screen is before, what=f"back from {keys}")
    return problems


async def opened(pilot: Pilot[None], app: App[object], keys: Sequence[str]) -> None:
    """Press `keys` and wait until the screen they open is on top and settled: under load a
    fixed pause let the next key reach the screen below."""
    before = app.screen
    await pilot.press(*keys)
    await until(pilot, lambda: app.screen is not before, what=f"the screen {keys} opens")
    await settle(pilot, workers=False)


async def test_every_footer_fits_80_columns(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Broken kettle", "It sparks."))
    problems: list[str] = []
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Broken kettle" in screen_text(app), what="the inbox")
        assert isinstance(app.screen, AgentScreen)
        problems += await footer_problems(pilot, app)
        for keys, back in [
            (["r"], ["escape"]),
            (["f"], ["escape"]),
            (["c"], ["escape"]),
            (["C"], ["escape"]),
            (["slash"], ["escape"]),
            (["b"], ["escape"]),
            (["question_mark"], ["escape"]),
            (["x"], ["escape"]),
            (["r", "ctrl+t"], ["escape"]),
            (["r", "ctrl+a"], ["escape"]),
        ]:
            if len(keys) > 1:  # a dialog over a dialog: open the first one, then visit
                await opened(pilot, app, keys[:-1])
                problems += await visit(pilot, app, keys[-1:], back)
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="inbox")
            else:
                problems += await visit(pilot, app, keys, back)
        await pilot.press("enter")  # the thread, full screen at 80 columns
        await until(pilot, lambda: "It sparks." in screen_text(app), what="the thread")
        problems += await footer_problems(pilot, app)

    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        await until(pilot, lambda: "Agent1" in screen_text(app), what="the agents")
        problems += await footer_problems(pilot, app)
        for keys in (["c"], ["slash"], ["i"], ["w"]):
            problems += await visit(pilot, app, keys, ["escape"])
        # The recording viewer, over the search (its keys: print, export, write, save).
        await opened(pilot, app, ["slash"])
        await until(pilot, lambda: "1-1 of 1" in screen_text(app), what="the recording")
        problems += await visit(pilot, app, ["down", "enter"], ["escape"])
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")

    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
        await until(pilot, lambda: "Support" in screen_text(app), what="the campaigns")
        problems += await footer_problems(pilot, app)
        for keys in (["a"], ["u"], ["T"], ["m"], ["b"], ["t"], ["d"]):
            problems += await visit(pilot, app, keys, ["escape"])
        await opened(pilot, app, ["T"])
        problems += await visit(pilot, app, ["n"], ["escape"])
    assert not problems, "\n".join(problems)
