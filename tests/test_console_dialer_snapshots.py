"""SVG snapshots of the dialer form, the import report and the blacklist (issue 14), at 80x24
and 160x48, in the dark and the light theme (one picture each).

No engine: the form asks only for the campaigns and templates it offers, answered here with
fixed objects; the report is a hand-made `ImportReport`. The form is shown with unsubscribe
HTML that lacks its link (the warning under it) and an invitation with a parametrised start.
Review a failing snapshot's diff before accepting it with `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, TextArea

from console.app import css_path
from console.screens.blacklist import BlacklistScreen
from console.screens.dialer_form import DialerForm
from console.screens.import_report import ImportReportScreen
from engine.api.schemas import (
    BlacklistOut,
    DialerEvent,
    DialerOut,
    ImportLine,
    ImportReport,
    ScheduleWindow,
    SmtpCaps,
    TemplateOut,
)
from tests.console_helpers import screen_text, settle, until

SCENES = [((80, 24), "textual-dark"), ((160, 48), "textual-light")]
IDS = [f"{w}x{h}-{theme.removeprefix('textual-')}" for (w, h), theme in SCENES]


class Engine:
    """The two calls the form makes."""

    async def campaigns(self) -> list[Any]:
        return [
            SimpleNamespace(name="Support", smtp_host="smtp.example.com"),
            SimpleNamespace(name="Sales", smtp_host="smtp.example.com"),
        ]

    async def templates(self) -> list[TemplateOut]:
        return [
            TemplateOut(
                id=1,
                name="Winter",
                campaign=None,
                kind="dialer",
                body_text="Dear ${name},\nyour visit to ${city} is booked.\nSee you soon.",
                body_html="",
            )
        ]


DIALER = DialerOut(
    id=1,
    name="Winter news",
    campaign="Support",
    seconds_between_messages=2.5,
    time_zone="America/Montevideo",
    schedule=[ScheduleWindow(days=["mon", "tue", "wed", "thu", "fri"], start="13:00", end="18:00")],
    starts_on="2026-12-01",
    ends_on="2027-01-31",
    template="Winter",
    unsubscribe_html='<p>Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>',
    smtp_account="news@smtp.example.com:587",
    caps=SmtpCaps(per_minute=60, per_hour=1000, per_day=10000, connections=2),
    running=False,
    on_schedule=True,
    lists=2,
    event=DialerEvent(
        title="Visit for ${name}", organizer="agenda@example.com", start="${visit}", end="${end}"
    ),
)
REPORT = ImportReport(
    dialer="Winter news",
    list_name="December",
    list_id=7,
    appended=False,
    imported=1204,
    failed=2,
    rejected=3,
    failures=[
        ImportLine(line=5, reason="not a valid email address: 'not-an-address'"),
        ImportLine(line=6, reason="${city} not defined in this row"),
    ],
    rejections=[
        ImportLine(line=4, reason="campaign 'Sales' is not this dialer's campaign 'Support'"),
        ImportLine(
            line=8,
            reason="variables: 'name' holds a line break, which would reach the subject"
            " 'News for ${name}' (a header): the row is refused rather than sent half-made",
        ),
        ImportLine(line=11, reason="attachments: 'tok-nobody-made' is not a dialer attachment"),
    ],
)


class Harness(App[None]):
    CSS_PATH = css_path()

    def __init__(self, screen: Callable[[], Screen[Any]], theme: str) -> None:
        super().__init__()
        self.make_screen = screen
        self.start_theme = theme

    def on_mount(self) -> None:
        self.theme = self.start_theme
        self.push_screen(self.make_screen())


async def _still(pilot: Pilot[None]) -> None:
    for widget in pilot.app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await settle(pilot)


async def _form(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, DialerForm), what="the form")
    form = pilot.app.screen
    await until(pilot, lambda: bool(form.templates), what="the templates offered")
    form.query_one("#dlf-unsubscribe", TextArea).load_text("<p>Bye: reply STOP</p>")
    await _still(pilot)


async def _report(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, ImportReportScreen), what="report")
    await _still(pilot)


@pytest.mark.parametrize(("size", "theme"), SCENES, ids=IDS)
def test_dialer_form(snap_compare: Callable[..., bool], size: tuple[int, int], theme: str) -> None:
    app = Harness(lambda: DialerForm(Engine(), DIALER), theme)  # type: ignore[arg-type]
    assert snap_compare(app, terminal_size=size, run_before=_form)


@pytest.mark.parametrize(("size", "theme"), SCENES, ids=IDS)
def test_import_report(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str
) -> None:
    app = Harness(lambda: ImportReportScreen(REPORT), theme)
    assert snap_compare(app, terminal_size=size, run_before=_report)


class BlacklistEngine:
    """The one call the blacklist screen makes: the entries, of every source."""

    async def blacklist(self, search: str = "") -> list[BlacklistOut]:
        at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
        return [
            BlacklistOut(email="ann@example.org", reason="report from Yahoo", created_at=at,
                         source="complaint"),
            BlacklistOut(email="bob@example.net", reason="", created_at=at,
                         source="unsubscribe-link", campaign="Support"),
            BlacklistOut(email="cy@example.com", reason="", created_at=at, source="one-click",
                         campaign="Sales"),
            BlacklistOut(email="di@example.com", reason="asked on the phone", created_at=at,
                         source="manual"),
            BlacklistOut(email="ed@example.com", reason="", created_at=at, source="mailto",
                         campaign="Support"),
        ]  # fmt: skip


async def _blacklist(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, BlacklistScreen), what="blacklist")
    await until(pilot, lambda: "ann@example.org" in screen_text(pilot.app), what="the entries")
    await _still(pilot)


@pytest.mark.parametrize(("size", "theme"), SCENES, ids=IDS)
def test_blacklist(snap_compare: Callable[..., bool], size: tuple[int, int], theme: str) -> None:
    app = Harness(
        lambda: BlacklistScreen(BlacklistEngine(), ["Sales", "Support"]),  # type: ignore[arg-type]
        theme,
    )
    assert snap_compare(app, terminal_size=size, run_before=_blacklist)
