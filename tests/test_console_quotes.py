"""Quoted history in the agent console: folded when a thread opens, `z` and a click unfold it.

Driven through the real agent screen with the hand-made engine of the snapshot tests, whose
thread gets a customer reply that quotes the agent's earlier answer.
"""

from __future__ import annotations

from msgspec import structs

from console.app import PostdeskApp
from console.screens.help import HelpScreen
from console.widgets.message import MessageView
from console.widgets.thread import ThreadView
from engine.api.schemas import InteractionDetail
from tests.console_helpers import screen_text, until
from tests.fake_engine import THREAD, FakeEngine, message

REPLY = (
    "Thanks, it came today!\n"
    "\n"
    "On Sat, 1 Mar 2025 at 11:30, Postdesk Support <support@postdesk.test> wrote:\n"
    "> We are looking into it and will write back today.\n"
    ">\n"
    "> Kind regards,\n"
    "> Postdesk Support"
)


class QuotingEngine(FakeEngine):
    async def interaction(self, interaction_id: int, **_: object) -> InteractionDetail:
        detail = await super().interaction(interaction_id)
        return structs.replace(detail, messages=[*THREAD.messages, message(12, "inbound", REPLY)])


def quoting_app() -> PostdeskApp:
    return PostdeskApp(lambda _user: QuotingEngine(), mode="agent")  # type: ignore[arg-type,return-value]


async def test_quoted_history_is_folded_and_z_unfolds_it() -> None:
    app = quoting_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: "▸ 5 quoted lines" in screen_text(app), what="the fold")
        text = screen_text(app)
        assert "Thanks, it came today!" in text and "▸ 5 quoted lines (z to show)" in text
        assert "Kind regards" not in text and "wrote:" not in text

        # The inbox has the focus in the wide layout: Enter moves it into the thread.
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query_one(ThreadView).has_focus_within)
        await pilot.press("z")
        await until(pilot, lambda: "> Kind regards," in screen_text(app), what="the history")
        text = screen_text(app)
        assert "▾ 5 quoted lines (z to hide)" in text
        assert "wrote:" in text and "z Quotes" in text  # the footer offers it here

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert "Quotes" in screen_text(app)
        await pilot.press("escape")

        await pilot.press("z")
        await until(pilot, lambda: "Kind regards" not in screen_text(app), what="the fold")


async def test_a_click_on_the_fold_line_unfolds_that_message() -> None:
    app = quoting_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: "▸ 5 quoted lines" in screen_text(app), what="the fold")
        view = next(v for v in app.screen.query(MessageView) if v.message.id == 12)
        rows = screen_text(app).split("\n")
        y = next(i for i, row in enumerate(rows) if "▸ 5 quoted lines" in row)
        x = rows[y].index("▸")
        await pilot.click(offset=(x + 2, y))
        await until(pilot, lambda: view.expanded, what="the click")
        assert "> Kind regards," in screen_text(app)
        assert app.focused is view


async def test_z_works_from_the_inbox_beside_the_thread() -> None:
    app = quoting_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "▸ 5 quoted lines" in screen_text(app), what="the fold")
        assert app.screen.query_one("#inbox").has_focus
        await pilot.press("z")
        await until(pilot, lambda: "> Kind regards," in screen_text(app), what="the history")
        assert app.screen.query_one("#inbox").has_focus  # still working the inbox
        await pilot.press("z")
        await until(pilot, lambda: "Kind regards" not in screen_text(app), what="folded again")
