"""The recording viewer in a real supervisor console (Pilot) against a real engine: found
with the recordings search, it shows whose interaction it was and when, every message, the
note and the close; `p` prints it to a private cupsd's queue or saves the PDF, `e` exports
the mails as an mbox or a folder of `.eml` files."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from console.screens.recording_files import ExportRecordingScreen, PrintRecordingScreen
from console.screens.search import SearchScreen
from console.screens.supervisor import SupervisorScreen
from console.screens.thread_screen import ThreadScreen
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.cups_server import QUEUE, CupsServer, cups  # noqa: F401  (fixture)
from tests.recording_world import mbox_messages, pdf_text, recorded_thread


@pytest.fixture
async def thread(engine: Engine, operator: EngineClient, dovecot, smtp_sink) -> dict:  # type: ignore[no-untyped-def]
    async with recorded_thread(engine, operator, dovecot, smtp_sink) as made:
        yield made


async def test_the_viewer_shows_prints_saves_and_exports(
    thread: dict,  # type: ignore[type-arg]
    cups: CupsServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # files are offered in ~/Downloads, else ~
    monkeypatch.setenv("CUPS_SERVER", str(cups.socket))  # lp and lpstat find the test queue
    world = thread["world"]
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await type_text(pilot, "cassée")
        await until(pilot, lambda: "1-1 of 1 " in screen_text(app), what="found")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen))
        await until(pilot, lambda: "Agent agent1" in screen_text(app), what="the recording line")
        shown = screen_text(app)
        assert "State closed" in shown and "Mail 2 messages, 1 attached" in shown
        # When, on a line of its own at 80 columns: no date cut in two by the wrap.
        when = r"Arrived \d{4}-\d\d-\d\d \d\d:\d\d · Closed \d{4}-\d\d-\d\d \d\d:\d\d"
        assert any(re.search(when, line) for line in shown.splitlines()), shown
        assert "Closed " in shown
        await until(pilot, lambda: "a new kettle" in screen_text(app), what="the reply")

        # p: the test queue is offered first; Enter prints there.
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PrintRecordingScreen))
        await until(pilot, lambda: f"Printer {QUEUE}" in screen_text(app), what="the printer")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="printed")
        await until(pilot, lambda: f"Sent to {QUEUE}" in screen_text(app), what="the notice")
        printed = await asyncio.to_thread(cups.wait_printed, 1000)
        assert "Ελληνικά: καλημέρα." in pdf_text(printed)

        # p again, the save choice (below the printers): the PDF lands in ~ (no Downloads).
        await pilot.press("p")
        await until(pilot, lambda: f"Printer {QUEUE}" in screen_text(app), what="the printer")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="saved")
        [saved] = tmp_path.glob("interaction-*.pdf")
        assert saved.name == f"interaction-{thread['id']} Commande 1001 cassée.pdf"
        assert "Customer called too; Ω note" in pdf_text(saved.read_bytes())

        # e: an mbox, then a folder of .eml files.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportRecordingScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="mbox saved")
        assert len(mbox_messages(tmp_path / f"interaction-{thread['id']}.mbox")) == 2
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportRecordingScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="emls saved")
        folder = tmp_path / f"interaction-{thread['id']}"
        names = sorted(p.name for p in folder.iterdir())
        assert len(names) == 2 and names[1].startswith("0002-out-")
        assert (folder / names[1]).read_bytes() == world.sink.messages[0].raw


async def test_with_no_printer_the_dialog_says_so_and_saves(
    thread: dict,  # type: ignore[type-arg]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CUPS installed but no scheduler answering (a server without printing): saving is the
    one choice, and the dialog says why."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CUPS_SERVER", str(tmp_path / "no-cupsd.sock"))
    world = thread["world"]
    app = console_for(world.engine, "super1", "supervisor")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await type_text(pilot, "cassée")
        await until(pilot, lambda: "1-1 of 1 " in screen_text(app), what="found")
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PrintRecordingScreen))
        await until(
            pilot, lambda: "no printer here" in screen_text(app), what="the no-printer note"
        )
        assert "Printer " not in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ThreadScreen), what="saved")
        await until(pilot, lambda: "Saved " in screen_text(app), what="the notice")
    [saved] = tmp_path.glob("interaction-*.pdf")
    assert "Bonjour" in pdf_text(saved.read_bytes())
