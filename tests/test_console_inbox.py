"""The agent's inbox: sorting (header clicks, `o` and `O`), the cursor through live updates,
the unread marker, the bell and toast of a new assignment, and the 80-column footer.

No engine: the widget in a bare host app, or the agent console on a fake engine whose
inbox the test changes and whose events the test posts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec import structs
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets.data_table import ColumnKey

from console.app import PostdeskApp
from console.messages import EngineEvent
from console.screens.agent import AgentScreen
from console.widgets.inbox import InboxTable
from console.widgets.inbox_columns import NARROW, column_widths, sorted_items
from engine.api.schemas import (
    AgentChanged,
    AgentRow,
    Event,
    InteractionChanged,
    InteractionDetail,
    InteractionSummary,
)
from tests.console_helpers import press, screen_text, settle, until
from tests.fake_engine import THREAD, FakeEngine

NOW = datetime.now(UTC)


def item(
    interaction_id: int,
    *,
    minutes: int,
    unread: bool = False,
    client: str = "",
    campaign: str = "Support",
    subject: str = "Order",
    agent: str = "agent1",
) -> InteractionSummary:
    return InteractionSummary(
        id=interaction_id,
        campaign_id=1,
        campaign_name=campaign,
        client_email=f"c{interaction_id}@example.net",
        client_name=client or f"Client {interaction_id}",
        subject=subject,
        state="assigned",
        agent=agent,
        unread=unread,
        queued_at=NOW - timedelta(hours=3),
        assigned_at=NOW - timedelta(hours=2),
        closed_at=None,
        last_message_at=NOW - timedelta(minutes=minutes),
        message_count=1,
    )


def ids(items: list[InteractionSummary]) -> list[int]:
    return [i.id for i in items]


class Host(App[None]):
    def __init__(self, inbox: InboxTable) -> None:
        super().__init__()
        self.inbox = inbox

    def compose(self) -> ComposeResult:
        yield self.inbox


def header_x(inbox: InboxTable, column: str) -> int:
    """A cell inside `column`'s header label (each cell has one cell of padding each side)."""
    x = 0
    for key, width in inbox._widths.items():
        if key == column:
            return x + 1
        x += width + 2
    raise KeyError(column)


def label(inbox: InboxTable, column: str) -> str:
    return inbox.columns[ColumnKey(column)].label.plain


# ---- pure: orders and widths ----


def test_sort_orders() -> None:
    items = [
        item(1, minutes=5, client="bob", campaign="Sales", subject="Re: Zebra"),
        item(2, minutes=50, unread=True, client="Alice", campaign="Support", subject="apple"),
        item(3, minutes=1, client="carol", campaign="sales", subject="Mango"),
        item(4, minutes=90, client="Alice", campaign="Billing", subject="RE: FWD: banana"),
    ]
    assert ids(sorted_items(items)) == [2, 3, 1, 4]  # unread, then newest
    assert ids(sorted_items(items, "waiting", reverse=True)) == [4, 2, 1, 3]  # longest wait
    # Equal values keep the default order, in both directions.
    assert ids(sorted_items(items, "campaign")) == [4, 3, 1, 2]
    assert ids(sorted_items(items, "campaign", reverse=True)) == [2, 3, 1, 4]
    assert ids(sorted_items(items, "client")) == [2, 4, 1, 3]
    assert ids(sorted_items(items, "subject")) == [2, 4, 3, 1]  # Re:/Fwd: ignored


@pytest.mark.parametrize("width", [51, 59, 60, 65, 80, 115])
def test_widths_fit_and_the_campaign_gives_way_when_narrow(width: int) -> None:
    widths = column_widths(width, {"campaign": 7, "client": 19})
    assert ("campaign" in widths) == (width >= NARROW)
    padding = 2 * len(widths) + 2
    assert sum(widths.values()) + padding <= width
    assert widths["client"] >= 12 and widths["subject"] >= widths["client"] - 4
    # Sorted by campaign, the column stays, arrow and all.
    assert "campaign" in column_widths(width, {"campaign": 7, "client": 19}, campaign=True)


# ---- the widget ----


async def test_header_click_sorts_and_clicking_again_reverses() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(100, 12)) as pilot:
        inbox.replace(
            [
                item(1, minutes=5, client="Carol"),
                item(2, minutes=50, unread=True, client="alice"),
                item(3, minutes=1, client="Bob"),
            ]
        )
        await settle(pilot)
        assert inbox.order == [2, 3, 1]
        assert inbox.sorted_by == ("waiting", False)
        assert label(inbox, "waiting") == "Waiting ▲"

        await pilot.click(InboxTable, offset=(header_x(inbox, "client"), 0))
        assert inbox.sorted_by == ("client", False)
        assert inbox.order == [2, 3, 1]  # alice, Bob, Carol
        assert label(inbox, "client") == "Client ▲"
        assert label(inbox, "waiting") == "Waiting"

        await pilot.click(InboxTable, offset=(header_x(inbox, "client"), 0))
        assert inbox.sorted_by == ("client", True)
        assert inbox.order == [1, 3, 2]
        assert label(inbox, "client") == "Client ▼"

        await pilot.click(InboxTable, offset=(header_x(inbox, "waiting") + 3, 0))
        assert inbox.sorted_by == ("waiting", False)
        assert inbox.order == [2, 3, 1]


async def test_cursor_stays_on_top_until_the_agent_moves_it() -> None:
    """A burst of assignments (oldest first, as the router hands them out) leaves the
    cursor on the top row; once the agent has moved it, it follows its interaction."""
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(100, 12)) as pilot:
        for n, minutes in enumerate([40, 30, 20, 10], start=1):
            inbox.upsert(item(n, minutes=minutes, unread=True))
            await settle(pilot)
        assert inbox.order == [4, 3, 2, 1]
        assert inbox.cursor_row == 0 and inbox.current_id == 4

        await pilot.press("down")  # the agent picks interaction 3
        inbox.upsert(item(5, minutes=0, unread=True))
        await settle(pilot)
        assert inbox.order == [5, 4, 3, 2, 1]
        assert inbox.current_id == 3

        for n in [5, 4, 3, 2, 1]:  # all closed: the next ones start from the top again
            inbox.discard(n)
        inbox.upsert(item(6, minutes=9, unread=True))
        inbox.upsert(item(7, minutes=8, unread=True))
        await settle(pilot)
        assert inbox.current_id == 7


async def test_a_row_read_under_the_cursor_stays_put() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(100, 12)) as pilot:
        inbox.replace([item(1, minutes=5, unread=True), item(2, minutes=9, unread=True)])
        await settle(pilot)
        assert inbox.current_id == 1
        inbox.upsert(item(1, minutes=5, unread=False))  # the thread pane read it
        await settle(pilot)
        assert inbox.order == [1, 2] and inbox.current_id == 1
        assert inbox.get_row("1")[0].plain == " "  # no unread marker any more
        assert inbox.get_row("2")[0].plain == "•"
        inbox.upsert(item(3, minutes=1))  # the next rebuild puts it in its place
        await settle(pilot)
        assert inbox.order == [2, 3, 1]


async def test_sort_survives_live_updates_and_keeps_the_cursor() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(100, 12)) as pilot:
        inbox.replace(
            [item(1, minutes=5, client="Dora"), item(2, minutes=7, client="Bea", unread=True)]
        )
        inbox.sort_by("client")
        await settle(pilot)
        assert inbox.order == [2, 1]
        inbox.move_cursor(row=1)  # Dora
        await settle(pilot)

        inbox.upsert(item(3, minutes=0, client="Ada", unread=True))  # a new assignment
        inbox.upsert(item(4, minutes=1, client="Cleo"))
        inbox.touch(2, NOW)  # new mail changes nothing in a client order
        await settle(pilot)
        assert inbox.sorted_by == ("client", False)
        assert inbox.order == [3, 2, 4, 1]
        assert inbox.current_id == 1

        inbox.upsert(item(1, minutes=5, client="Aaron"))  # renamed: moves, cursor follows
        await settle(pilot)
        assert inbox.order == [1, 3, 2, 4]
        assert inbox.current_id == 1 and inbox.cursor_row == 0


# ---- the agent console on a fake engine ----


class LiveEngine(FakeEngine):
    """The snapshot data, plus interactions a test adds."""

    def __init__(self) -> None:
        self.extra: list[InteractionSummary] = []

    async def interactions(self, **_: object) -> list[InteractionSummary]:
        return [*await super().interactions(), *self.extra]

    async def interaction(self, interaction_id: int, **_: object) -> InteractionDetail:
        summary = next(i for i in await self.interactions() if i.id == interaction_id)
        return structs.replace(THREAD, **structs.asdict(summary))


def live_app() -> tuple[PostdeskApp, LiveEngine, list[str]]:
    """The console, its engine, and what it rang and toasted ("bell", "title: message")."""
    engine = LiveEngine()
    app = PostdeskApp(lambda _user: engine, mode="agent")  # type: ignore[arg-type,return-value]
    noise: list[str] = []
    app.bell = lambda: noise.append("bell")  # type: ignore[method-assign]
    notify = app.notify

    def recording_notify(message: str, *, title: str = "", **options: Any) -> None:
        noise.append(f"{title}: {message}" if title else message)
        notify(message, title=title, **options)

    app.notify = recording_notify  # type: ignore[method-assign]
    return app, engine, noise


async def loaded(pilot: Pilot[None], app: PostdeskApp) -> AgentScreen:
    await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="the inbox")
    assert isinstance(app.screen, AgentScreen)
    return app.screen


def send(screen: AgentScreen, event: Event) -> None:
    screen.post_message(EngineEvent(event))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_cursor_on_the_first_row_after_loading(size: tuple[int, int]) -> None:
    app, _engine, _bells = live_app()
    async with app.run_test(size=size) as pilot:
        screen = await loaded(pilot, app)
        await settle(pilot)  # wide: the thread of the top row loads beside it
        assert screen.inbox.cursor_row == 0
        assert screen.inbox.current_id == screen.inbox.order[0] == 1


async def test_o_cycles_the_sort_and_shift_o_reverses_it() -> None:
    app, _engine, _bells = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot, app)
        inbox = screen.inbox
        assert inbox.order == [1, 2, 3]  # unread Carol, then 47m, 2h10m
        await press(pilot, "o")
        assert inbox.sorted_by == ("waiting", True)
        assert inbox.order == [3, 2, 1]  # the longest wait first
        assert "Waiting ▼" in screen_text(app)
        await press(pilot, "o")
        assert inbox.sorted_by == ("campaign", False)
        assert "Campaign ▲" in screen_text(app)
        await press(pilot, "o")
        assert inbox.sorted_by == ("client", False)
        assert inbox.order == [1, 3, 2]  # Carol Customer, client3@example.net, Dan Buyer
        await press(pilot, "O")
        assert inbox.sorted_by == ("client", True)
        assert inbox.order == [2, 3, 1]
        assert "Client ▼" in screen_text(app)
        await press(pilot, "o", "o")
        assert inbox.sorted_by == ("waiting", False)
        assert inbox.order == [1, 2, 3]

        # Reading a thread full width, the inbox keys rest until Escape.
        await pilot.press("enter")
        await until(pilot, lambda: screen.has_class("-thread-open"), what="the thread")
        await press(pilot, "o")
        assert inbox.sorted_by == ("waiting", False)
        await press(pilot, "escape", "o")
        assert inbox.sorted_by == ("waiting", True)


async def test_new_assignment_rings_and_toasts_and_keeps_the_sort() -> None:
    app, engine, noise = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot, app)
        inbox = screen.inbox
        await pilot.press("o", "o", "o")  # by client
        await press(pilot, "down")  # client3@example.net
        assert inbox.current_id == 3
        assert noise == []  # loading the inbox is no news

        send(screen, InteractionChanged(interaction=item(7, minutes=0, unread=True, client="Abe")))
        await until(pilot, lambda: inbox.get(7) is not None, what="the new row")
        assert inbox.order == [7, 1, 3, 2]
        assert inbox.current_id == 3
        assert inbox.sorted_by == ("client", False)
        assert noise == ["bell", "New interaction: Abe: Order"]
        abe = next(line for line in screen_text(app).splitlines() if "Abe  " in line)
        assert abe.lstrip().startswith("•")  # marked unread

        # A change to a known interaction, or one the agent started (read): no noise.
        send(screen, InteractionChanged(interaction=item(7, minutes=0, client="Abe")))
        send(screen, InteractionChanged(interaction=item(8, minutes=0, client="Zed")))
        send(screen, InteractionChanged(interaction=item(9, minutes=0, agent="someone")))
        await until(pilot, lambda: inbox.get(8) is not None, what="the started one")
        assert inbox.get(9) is None
        assert len(noise) == 2
        assert inbox.order == [7, 1, 3, 2, 8]
        assert inbox.current_id == 3

        # Assigned while the engine was away: the reload announces them together.
        engine.extra = [item(7, minutes=0, client="Abe"), item(8, minutes=0, client="Zed")]
        engine.extra += [item(10, minutes=2, unread=True), item(11, minutes=3, unread=True)]
        screen.refresh_data()
        await until(pilot, lambda: inbox.get(11) is not None, what="the reload")
        assert noise[2:] == ["bell", "2 new interactions in your inbox"]
        assert inbox.current_id == 3


async def test_unread_marker_goes_when_read() -> None:
    app, _engine, _bells = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot, app)
        row = next(line for line in screen_text(app).splitlines() if "Carol Customer" in line)
        assert row.lstrip().startswith("•")
        read = structs.replace((await LiveEngine().interactions())[0], unread=False)
        send(screen, InteractionChanged(interaction=read))
        await until(pilot, lambda: "•" not in screen_text(app), what="the marker gone")
        row = next(line for line in screen_text(app).splitlines() if "Carol Customer" in line)
        assert "•" not in row


async def test_footer_fits_80_columns() -> None:
    app, _engine, _bells = live_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot, app)

        def footer() -> str:
            return screen_text(app).splitlines()[-1]

        await until(pilot, lambda: "? Help" in footer(), what="the whole footer")
        for key in ("r Reply", "R Reply+history", "f Forward", "x Close", "/ Search", "b Break"):
            assert key in footer()
        assert "a Free" not in footer()  # already free

        on_break = AgentRow(
            username="agent1",
            display_name="Agent One",
            status="break",
            status_reason="Lunch",
            status_since=NOW,
            active=3,
            completed=0,
        )
        send(screen, AgentChanged(agent=on_break))
        await until(pilot, lambda: "a Free" in footer(), what="Free offered on a break")
        assert "b Break" in footer(), footer()  # another reason without going Free first
        assert "? Help" in footer(), footer()

        await pilot.press("enter")
        await until(pilot, lambda: "esc Back" in footer(), what="the thread keys")
        assert "/ Search" in footer(), footer()  # searching works while reading
