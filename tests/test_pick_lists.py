"""Pick lists show people's names as typed: a campaign is free text, and Textual reads an
option's `str` name as markup (`[EU]` vanished; `x[/y]` raised MarkupError and closed the
console as the recordings search or a new interaction opened). Every pick list of the
console is `PickList` (ruff bans Textual's Select elsewhere); these open the ones that
list campaigns and agents, against a real engine and Dovecot."""

from __future__ import annotations

from textual.widgets import OptionList, Select

from console.screens.agent import AgentScreen
from console.screens.new_interaction import NewInteractionScreen
from console.screens.search import SearchScreen
from console.screens.supervisor import SupervisorScreen
from console.widgets.pick_list import PickList
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import World

HOSTILE = "Shop [EU] x[/y] [bold]z[/bold]"


def names_in(select: Select[str]) -> list[str]:
    return [str(prompt) for prompt, _ in select._options]


async def test_campaign_names_with_markup_in_the_search_and_a_new_interaction(
    world: World,
) -> None:
    box = world.dovecot.new_mailbox("hostile")
    await world.operator.add_campaign(
        box.campaign(HOSTILE, smtp_host=world.sink.host, smtp_port=world.sink.port)
    )
    await world.operator.add_member(HOSTILE, "agent1")

    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="monitor")
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), what="the search")
        campaigns = app.screen.query_one("#search-campaign", PickList)
        await until(pilot, lambda: HOSTILE in names_in(campaigns), what="the name as typed")
        campaigns.focus()
        await pilot.press("enter")  # the menu, drawn
        await until(pilot, lambda: HOSTILE in screen_text(app), what="the menu shows it")
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), what="closed")

    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the inbox")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="new")
        picks = app.screen.query_one("#new-campaign", PickList)
        assert HOSTILE in names_in(picks)
        await until(pilot, lambda: picks.region.width > 0, what="laid out, to be clicked")
        await pilot.click("#new-campaign")  # by mouse, as the search's by key
        await until(pilot, lambda: HOSTILE in screen_text(app), what="the menu shows it")
        # Chosen with the keys, then written and sent from it (before: with two campaigns
        # or more this dialog broke as it opened, on Textual's BLANK, now False).
        menu = picks.query_one(OptionList)
        for _ in range(len(names_in(picks))):
            if menu.highlighted is not None and names_in(picks)[menu.highlighted] == HOSTILE:
                break
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: picks.value == HOSTILE, what="the campaign chosen")
        await pilot.press("tab")
        await type_text(pilot, "zoe@example.org")
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, "Your quote")
        await pilot.press("tab")
        await type_text(pilot, "Here it is.")
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="sent")
    assert received.rcpt_tos == ["zoe@example.org"]
    [new] = [i for i in await world.operator.interactions(scope="all") if i.subject == "Your quote"]
    assert new.campaign_name == HOSTILE
