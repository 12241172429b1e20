"""The supervisor's recordings search screen on the fake engine (1,234 recordings): filters,
pages, sort by key and by header click, the debounce; SVG snapshots at 80x24 and 160x48."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import msgspec
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from console.screens.search import SearchScreen
from console.timefmt import local_stamp
from engine.api.schemas import RecordingPage, RecordingQuery
from tests.console_helpers import screen_text, settle, type_text, until
from tests.fake_engine import recordings_store, searching_supervisor_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


def matching(word: str, state: str = "") -> str:
    """How many of the fake's recordings a search for `word` finds, as the screen says it."""
    found = [
        r
        for r in recordings_store()
        if word.lower() in (r.subject + " " + r.client_email + r.client_name).lower()
        and (not state or (r.state == "closed") == (state == "closed"))
    ]
    return f"{len(found):,}"


async def open_search(pilot: Pilot[None]) -> SearchScreen:
    app = pilot.app
    await until(pilot, lambda: "Carla Conti" in screen_text(app), what="the monitor")
    await pilot.press("slash")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen), what="the search")
    await until(pilot, lambda: "1-40 of 1,234" in screen_text(app), what="the first page")
    assert isinstance(app.screen, SearchScreen)
    return app.screen


async def test_pages_sort_and_filters() -> None:
    app, fake = searching_supervisor_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_search(pilot)
        asked = len(fake.asked)
        await type_text(pilot, "Refund")
        await until(pilot, lambda: fake.asked[-1].any == "Refund", what="the search")
        await until(
            pilot, lambda: f"of {matching('Refund')}" in screen_text(app), what="the refunds"
        )
        # Six keystrokes, fewer searches (one, unless this machine stalls mid-typing for
        # longer than the debounce), never a search per keystroke.
        assert len(fake.asked) - asked < 6
        await pilot.press("pagedown")
        await until(
            pilot, lambda: f"41-80 of {matching('Refund')}" in screen_text(app), what="page 2"
        )
        await pilot.press("pageup")
        await until(
            pilot, lambda: f"1-40 of {matching('Refund')}" in screen_text(app), what="page 1 again"
        )
        screen.query_one("#search-state", Select).value = "open"
        await until(
            pilot,
            lambda: f"of {matching('Refund', 'open')}" in screen_text(app),
            what="the open refunds",
        )
        assert fake.asked[-1].state == "open"
        # sort: the `s` key from the list cycles, a header click sorts by that column
        table = screen.query_one("#search-results", DataTable)
        table.focus()
        await pilot.press("s")
        await until(pilot, lambda: fake.asked[-1].sort == "created", what="sort by start")
        await until(pilot, lambda: "Started ↓" in screen_text(app), what="the Started column")
        assert "by start ↓" in screen_text(app) and "Last" not in screen_text(app)
        # The date column shows when each began (the order's): not its last message, nor
        # when it was queued again after a reopening.
        for row, item in enumerate(screen.results[:6]):
            assert item.created_at is not None and item.created_at != item.last_message_at
            assert str(table.get_row_at(row)[-1]) == local_stamp(item.created_at)
        assert any(item.queued_at != item.created_at for item in screen.results[:6])
        # A click on that column's header reverses the start's order (not: by last message).
        when = sum(c.get_render_width(table) for c in table.ordered_columns[:-1])
        await pilot.click("#search-results", offset=(when + 2, 0))
        await until(pilot, lambda: "Started ↑" in screen_text(app), what="oldest start first")
        assert fake.asked[-1].sort == "created" and fake.asked[-1].descending is False
        await pilot.click("#search-results", offset=(20, 0))  # the Client header
        await until(pilot, lambda: fake.asked[-1].sort == "client", what="sort by client")
        assert fake.asked[-1].descending is False and "Client ↑" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: fake.asked[-1].page == 2, what="n: the next page")
        campaigns = screen.query_one("#search-campaign", Select)
        await until(pilot, lambda: any(v == "Billing" for _, v in campaigns._options))
        campaigns.value = "Billing"
        await until(pilot, lambda: fake.asked[-1].campaign == "Billing", what="the pick")
        await settle(pilot)
        assert (
            "Billing" in screen_text(app) and "Returns" not in screen_text(app).split("\n", 4)[-1]
        )


async def test_a_bad_date_waits_and_says_so() -> None:
    app, fake = searching_supervisor_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_search(pilot)
        asked = len(fake.asked)
        screen.query_one("#search-start", Input).focus()
        await type_text(pilot, "2025-02")
        await until(pilot, lambda: "a date is YYYY-MM-DD" in screen_text(app), what="the hint")
        assert len(fake.asked) == asked  # nothing asked with half a date
        await type_text(pilot, "-28")
        await until(pilot, lambda: len(fake.asked) == asked + 1, what="the search")
        assert str(fake.asked[-1].start) == "2025-02-28"

        # An end before the start, and a day that does not exist: said in the screen's
        # words, the field marked, nothing asked, nothing raised as an alarm.
        end = screen.query_one("#search-end", Input)
        end.focus()
        await type_text(pilot, "2025-01-31")
        await until(pilot, lambda: "To date: before the From date" in screen_text(app))
        assert end.has_class("-invalid") and len(fake.asked) == asked + 1
        with end.prevent(Input.Changed):
            end.value = ""
        await type_text(pilot, "2025-02-30")
        await until(pilot, lambda: "To date: there is no day 2025-02-30" in screen_text(app))
        assert end.has_class("-invalid") and len(fake.asked) == asked + 1
        assert not app._notifications  # no error toast for a filter typed wrong
        with end.prevent(Input.Changed):  # emptied without a search of its own
            end.value = ""
        await type_text(pilot, "2025-03-31")
        await until(pilot, lambda: len(fake.asked) == asked + 2, what="the search again")
        assert str(fake.asked[-1].end) == "2025-03-31" and not end.has_class("-invalid")


def scene(pilot_steps: Callable[[Pilot[None], SearchScreen], object]) -> Callable[..., object]:
    async def run(pilot: Pilot[None]) -> None:
        screen = await open_search(pilot)
        await pilot_steps(pilot, screen)  # type: ignore[misc]
        for widget in screen.query(Input):
            widget.cursor_blink = False
        await settle(pilot)

    return run


async def _filtered(pilot: Pilot[None], screen: SearchScreen) -> None:
    await type_text(pilot, "order")
    await until(
        pilot, lambda: f"of {matching('order')}" in screen_text(pilot.app), what="the orders"
    )
    screen.query_one("#search-state", Select).value = "closed"
    await until(
        pilot,
        lambda: f"of {matching('order', 'closed')}" in screen_text(pilot.app),
        what="closed orders",
    )
    await pilot.press("pagedown")
    await until(
        pilot,
        lambda: f"41-80 of {matching('order', 'closed')}" in screen_text(pilot.app),
        what="page 2",
    )


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_search_snapshot(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app, _ = searching_supervisor_app()
    assert snap_compare(app, terminal_size=size, run_before=scene(_filtered))


async def test_a_capped_count_shows_first_then_the_exact_one() -> None:
    """The engine counts up to a cap (`of 1,000+`); the screen shows the page at once, then
    asks for the exact count in the background and puts it in the status line; paging on
    past the cap works all along."""
    app, fake = searching_supervisor_app()
    exact = fake.recordings
    release = asyncio.Event()

    async def capped(query: RecordingQuery) -> RecordingPage:
        page = await exact(query)
        if query.exact_count:
            await release.wait()
            return page
        limit = max(1000, query.page * query.page_size + 1)
        return RecordingPage(
            total=min(page.total, limit),
            page=page.page,
            page_size=page.page_size,
            items=page.items,
            capped=page.total >= limit,
        )

    fake.recordings = capped  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Carla Conti" in screen_text(app), what="the monitor")
        await pilot.press("slash")
        await until(pilot, lambda: "1-40 of 1,000+ (counting…)" in screen_text(app), what="capped")
        await pilot.press("pagedown")
        await until(pilot, lambda: "41-80 of 1,000+" in screen_text(app), what="page 2")
        release.set()
        await until(pilot, lambda: "41-80 of 1,234 ·" in screen_text(app), what="the count")
        assert fake.asked[-1].exact_count and fake.asked[-1].page == 2


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_the_date_stays_in_view_beside_wrap_up_codes(size: tuple[int, int]) -> None:
    """The last close's code takes a column only where it fits beside the others: at 80
    columns the date of the last message would have been pushed out of view."""
    app, fake = searching_supervisor_app()
    fake.store = [
        msgspec.structs.replace(row, disposition="Sale > Upsell > Monthly") for row in fake.store
    ]
    async with app.run_test(size=size) as pilot:
        await open_search(pilot)
        await settle(pilot)
        table = app.screen.query_one("#search-results", DataTable)
        first = table.get_row_at(0)
        shown = screen_text(app)
        assert str(first[-1]) in shown  # the whole date, in view
        assert table.virtual_size.width <= table.size.width  # nothing off to the right
        assert ("Wrap-up" in shown) == (size[0] >= 100)
        if size[0] >= 100:
            assert "Monthly" in shown


async def test_up_from_the_first_result_goes_back_to_the_filters() -> None:
    app, _fake = searching_supervisor_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_search(pilot)
        subject = screen.query_one("#search-subject", Input)
        subject.focus()
        await pilot.press("down")  # into the list
        table = screen.query_one("#search-results", DataTable)
        await until(pilot, lambda: table.has_focus, what="the list")
        await pilot.press("down", "down", "up")  # in the list, up moves the cursor
        await settle(pilot)
        assert table.has_focus and table.cursor_row == 1
        await pilot.press("up", "up")  # past the first row: the filter the user was in
        await until(pilot, lambda: subject.has_focus, what="back to the filters")
        await type_text(pilot, "x")
        assert subject.value == "x"  # the filter takes the keys again
        # From a pick list too: Down goes to the list (Enter or Space open its menu), and
        # in its open menu Down moves in the menu.
        states = screen.query_one("#search-state", Select)
        states.focus()
        await pilot.press("down")
        await until(pilot, lambda: table.has_focus, what="the list, from a pick list")
        assert not states.expanded
        states.focus()
        await pilot.press("enter")
        await until(pilot, lambda: states.expanded, what="the menu open")
        await pilot.press("down")
        await settle(pilot)
        assert states.expanded and not table.has_focus
