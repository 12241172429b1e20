"""SVG snapshots of the dialer dashboard mid-run (issue 14), at 80x24 (dark theme) and 160x48
(light theme), from fixed hand-made data: two dialers of two campaigns, News half way
through its December list with a progress history of fixed times (shown in UTC), so the
pictures change only when the console does. Also the campaign selector, by key and by
mouse, on the same data."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select

from console.app import PostdeskApp
from console.screens.dialer_dashboard import DialerDashboardScreen
from engine.api.schemas import DialerBoardRow, DialerProgress
from tests.console_helpers import press, screen_text, settle, until
from tests.fake_engine import FakeSupervisorEngine

START = 1_796_000_000.0  # a fixed moment; the graph's time axis shows it in UTC


def progress(
    dialer: str, list_id: int, name: str, records: int, processed: int, **counts: int
) -> DialerProgress:
    return DialerProgress(
        dialer=dialer,
        list_id=list_id,
        list_name=name,
        records=records,
        processed=processed,
        not_processed=records - processed,
        sent=counts.get("sent", processed),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        seen=counts.get("seen", 0),
        rejected=counts.get("rejected", 0),
        spam=counts.get("spam", 0),
        on_schedule=counts.get("on_schedule", 1) == 1,
        list_active=counts.get("active", 1) == 1,
        running=counts.get("running", 1) == 1,
    )


class FakeDialerSupervisor(FakeSupervisorEngine):
    async def dialer_board(self) -> list[DialerBoardRow]:
        return [
            DialerBoardRow(
                dialer="News",
                campaign="Support",
                running=True,
                on_schedule=True,
                lists=[
                    progress(
                        "News",
                        1,
                        "December",
                        2400,
                        1180,
                        sent=1150,
                        failed=12,
                        skipped=18,
                        seen=420,
                        rejected=3,
                        spam=1,
                    ),
                    progress("News", 2, "Old customers", 500, 0, active=0),
                ],
            ),
            DialerBoardRow(
                dialer="Renewals",
                campaign="Billing",
                running=False,
                on_schedule=False,
                lists=[
                    progress(
                        "Renewals",
                        3,
                        "Q1",
                        800,
                        800,
                        sent=790,
                        failed=10,
                        seen=512,
                        running=0,
                        on_schedule=0,
                    )
                ],
            ),
        ]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


async def mid_run(pilot: Pilot[None]) -> None:
    app = pilot.app
    await until(pilot, lambda: "Carla Conti" in screen_text(app), what="the monitor")
    await press(pilot, "d")
    await until(pilot, lambda: "December" in screen_text(app), what="the dashboard")
    board = app.screen
    assert isinstance(board, DialerDashboardScreen)
    history = board.histories[1]
    history.samples.clear()
    # 10 minutes: a slow start (warming up under the account's caps), then steady, to the
    # 1,180 processed the table shows.
    for second in range(0, 605, 5):
        done = second * second // 150 if second < 240 else 384 + (second - 240) * 796 // 360
        history.add(START + second, min(done, 1180), 2400, max(min(done, 1180) - 30, 0))
    board._graph()
    await settle(pilot)


def app_in(theme: str) -> PostdeskApp:
    app = PostdeskApp(lambda _user: FakeDialerSupervisor(), mode="supervisor")  # type: ignore[arg-type,return-value]
    app.theme = theme
    return app


@pytest.mark.parametrize(
    ("size", "theme"),
    [((80, 24), "textual-dark"), ((160, 48), "textual-light")],
    ids=["80x24-dark", "160x48-light"],
)
def test_dialer_dashboard_mid_run(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str
) -> None:
    assert snap_compare(app_in(theme), terminal_size=size, run_before=mid_run)


def rows_shown(app: PostdeskApp) -> list[str]:
    board = app.screen
    assert isinstance(board, DialerDashboardScreen)
    table = board.query_one(DataTable)
    return [
        f"{table.get_row_at(i)[0].plain}/{table.get_row_at(i)[1].plain}"
        for i in range(table.row_count)
    ]


async def test_the_campaign_selector_limits_the_rows() -> None:
    app = app_in("textual-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await mid_run(pilot)
        everything = ["News/December", "News/Old customers", "Renewals/Q1"]
        assert rows_shown(app) == everything
        await press(pilot, "c")  # campaigns by name: Billing first
        assert rows_shown(app) == ["Renewals/Q1"]
        assert "1 dialer in Billing" in screen_text(app)
        await press(pilot, "c")
        assert rows_shown(app) == ["News/December", "News/Old customers"]
        await press(pilot, "c")
        assert rows_shown(app) == everything
        # By mouse: open the selector, choose Billing.
        await pilot.click("#dialer-campaign")
        await settle(pilot)
        await until(pilot, lambda: "Billing" in screen_text(app), what="the options")
        await pilot.click(Select, offset=(3, 2))  # the second option under the first line
        await settle(pilot)
        assert rows_shown(app) == ["Renewals/Q1"]
        assert "Q1 " in screen_text(app) and "Renewals · Q1" in screen_text(app)
