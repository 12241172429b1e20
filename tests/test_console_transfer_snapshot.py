"""SVG snapshot of a thread holding internal notes at 80x24: a transfer note and a plain
note among the messages, in time order, marked as internal (not mail). From fixed data, as
tests/test_console_snapshots.py; review a failing diff before `--snapshot-update`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from msgspec import structs
from textual.pilot import Pilot

from console.app import PostdeskApp
from engine.api.schemas import InteractionDetail, NoteOut
from tests.console_helpers import screen_text, settle, until
from tests.fake_engine import SENT, THREAD, FakeEngine, inbox, message

NOTES = [
    NoteOut(
        id=1,
        kind="transfer",
        author="ada",
        author_name="Ada Lovelace",
        target="Agent One",
        text="Called her: the parcel is lost. Refund approved by Carla.",
        created_at=SENT + timedelta(minutes=5),
    ),
]


class NotedEngine(FakeEngine):
    """The fake engine's thread, with a transfer note between the reply and a new mail."""

    async def interaction(self, interaction_id: int, **_: object) -> InteractionDetail:
        detail = structs.replace(THREAD, **structs.asdict(inbox()[interaction_id - 1]))
        later = message(12, "inbound", "Any news? I need it by Friday.")
        later = structs.replace(later, created_at=SENT + timedelta(minutes=30))
        return structs.replace(
            detail, messages=[*detail.messages[1:], later], notes=NOTES, draft=""
        )


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


async def _thread_open(pilot: Pilot[None]) -> None:
    app = pilot.app
    await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="the inbox")
    await pilot.press("enter")
    await until(pilot, lambda: "Internal note" in screen_text(app), what="the note")
    await settle(pilot)


def test_thread_with_an_internal_note(snap_compare: Callable[..., bool]) -> None:
    app = PostdeskApp(lambda _user: NotedEngine(), mode="agent")  # type: ignore[arg-type,return-value]
    assert snap_compare(app, terminal_size=(80, 24), run_before=_thread_open)
