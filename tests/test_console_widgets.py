"""Console widgets on their own: no engine, hand-made schema objects, a bare host app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import TextArea

from console.app import css_path
from console.bridge import backoff_delays
from console.screens.compose import ReplyScreen, reply_subject
from console.timefmt import format_duration, since
from console.widgets.banner import EngineBanner
from console.widgets.inbox import InboxTable, column_widths, inbox_order
from console.widgets.monitor import AgentGrid, QueueTable
from console.widgets.status_bar import StatusBar
from console.widgets.thread import ThreadView, message_text
from engine.api.schemas import (
    AgentRow,
    AttachmentOut,
    InteractionDetail,
    InteractionSummary,
    MessageOut,
    QueueRow,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EVIL = "\x1b]52;c;ZXZpbA==\x07[bold]x[/bold]"


def summary(
    interaction_id: int, *, unread: bool = False, minutes: int = 5, subject: str = "Order"
) -> InteractionSummary:
    return InteractionSummary(
        id=interaction_id,
        campaign_id=1,
        campaign_name="Sales",
        client_email=f"c{interaction_id}@example.com",
        client_name=f"Client {interaction_id}",
        subject=subject,
        state="assigned",
        agent="alice",
        unread=unread,
        queued_at=NOW - timedelta(hours=1),
        assigned_at=NOW - timedelta(minutes=50),
        closed_at=None,
        last_message_at=NOW - timedelta(minutes=minutes),
        message_count=1,
    )


def message(
    message_id: int,
    *,
    direction: str = "inbound",
    state: str = "received",
    text: str = "Hello",
    **extra: object,
) -> MessageOut:
    fields: dict[str, object] = {
        "id": message_id,
        "direction": direction,
        "state": state,
        "message_id": f"<{message_id}@example.com>",
        "from_email": "bob@example.com",
        "from_name": "Bob",
        "to": ["sales@example.com"],
        "cc": [],
        "subject": "Order",
        "text": text,
        "created_at": NOW,
        "sent_at": None,
        "error": "",
    }
    fields.update(extra)
    return MessageOut.model_validate(fields)


def detail(item: InteractionSummary, messages: list[MessageOut]) -> InteractionDetail:
    return InteractionDetail(**item.model_dump(), cc=[], bcc=[], messages=messages)


class Host(App[None]):
    """Mounts one widget; no stylesheet, no engine."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def rendered(widget: Widget) -> str:
    """What the widget (and every widget inside it) sends to the terminal, as plain text."""
    own = "\n".join(
        "".join(segment.text for segment in widget.render_line(y))
        for y in range(widget.size.height)
    )
    return "\n".join([own, *(rendered(child) for child in widget.children)])


# ---- pure helpers ----


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (180, "3m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (3900, "1h05m"),
        (86399, "23h59m"),
        (93784, "1d02h"),
        (-5, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_since_reads_naive_times_as_utc() -> None:
    naive = (NOW - timedelta(minutes=65)).replace(tzinfo=None)
    assert since(naive, NOW) == "1h05m"
    assert since(NOW - timedelta(minutes=3), NOW) == "3m"


def test_inbox_order_puts_unread_first_then_newest() -> None:
    items = [
        summary(1, minutes=1),
        summary(2, unread=True, minutes=30),
        summary(3, minutes=10),
        summary(4, unread=True, minutes=2),
    ]
    assert [i.id for i in sorted(items, key=inbox_order)] == [4, 2, 1, 3]


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_column_widths_fit_and_favour_the_subject(width: int) -> None:
    widths = column_widths(width)
    assert sum(widths.values()) + 5 * 2 + 2 <= width  # cell padding and scrollbar
    assert widths["subject"] >= max(widths["campaign"], widths["client"])


def test_reply_subject_adds_re_once() -> None:
    assert reply_subject("Order 12") == "Re: Order 12"
    assert reply_subject("RE: Order 12") == "RE: Order 12"
    assert reply_subject("re:Order") == "re:Order"
    assert reply_subject("Regarding the order") == "Re: Regarding the order"


def test_backoff_doubles_to_ten_seconds() -> None:
    delays = backoff_delays()
    assert [next(delays) for _ in range(8)] == [0.5, 1, 2, 4, 8, 10, 10, 10]


def test_stylesheet_is_found() -> None:
    assert css_path().is_file()


def test_message_text_shows_delivery_details() -> None:
    failed = message(
        7,
        direction="outbound",
        state="failed",
        error="550 5.1.1 no such user",
        cc=["carol@example.com"],
        attachments=[AttachmentOut(id=1, filename="quote.pdf", content_type="x", size=48213)],
    )
    plain = message_text(failed).plain
    assert "→ Out" in plain
    assert "failed" in plain
    assert "550 5.1.1 no such user" in plain
    assert "CC carol@example.com" in plain
    assert "quote.pdf (48.2 kB)" in plain
    assert message_text(message(8)).plain.startswith("← In")


def test_message_text_is_inert() -> None:
    text = message_text(message(9, from_name=EVIL, text=f"body {EVIL}\x1b[31mred\x1b[0m"))
    assert "[bold]x[/bold]" in text.plain
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "ZXZpbA" not in text.plain


# ---- widgets in a host app ----


async def test_inbox_sorts_and_follows_the_cursor() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(100, 20)) as pilot:
        inbox.replace(
            [summary(1, minutes=1), summary(2, unread=True, minutes=30), summary(3, minutes=10)]
        )
        await pilot.pause()
        assert inbox.order == [2, 1, 3]
        assert inbox.row_count == 3

        inbox.move_cursor(row=2)  # interaction 3
        await pilot.pause()
        assert inbox.current_id == 3

        inbox.upsert(summary(3, unread=True, minutes=0))  # new mail: goes to the top
        await pilot.pause()
        assert inbox.order == [3, 2, 1]
        assert inbox.current_id == 3

        inbox.upsert(summary(4, minutes=20))
        await pilot.pause()
        assert inbox.order == [3, 2, 1, 4]
        inbox.touch(4, NOW)  # a newer message moves it up among the read ones
        inbox.touch(1, NOW - timedelta(hours=1))  # an older one changes nothing
        await pilot.pause()
        assert inbox.order == [3, 2, 4, 1]

        inbox.discard(3)
        await pilot.pause()
        assert inbox.order == [2, 4, 1]
        assert inbox.current_id == 2
        assert len(inbox) == 3


async def test_inbox_cells_are_inert_text() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(120, 10)) as pilot:
        inbox.replace([summary(1, unread=True, subject=EVIL)])
        await pilot.pause()
        screen = rendered(inbox)
        assert "[bold]x[/bold]" in screen
        assert "\x1b" not in screen and "ZXZpbA" not in screen
        assert "•" in screen


async def test_thread_view_renders_untrusted_text_inert() -> None:
    thread = ThreadView()
    item = summary(5, subject=EVIL)
    item = item.model_copy(update={"client_name": "[red]Mallory[/red]"})
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(detail(item, [message(1, text=f"Hi {EVIL}")]))
        await pilot.pause()
        header = rendered(thread.query_one("#thread-header"))
        assert "Campaign" in header and "Sales" in header
        assert "Client" in header and "c5@example.com" in header
        assert "Name" in header and "[red]Mallory[/red]" in header
        assert "[bold]x[/bold]" in header
        whole = rendered(thread)
        assert "Hi [bold]x[/bold]" in whole
        assert "\x1b" not in whole and "\x07" not in whole and "ZXZpbA" not in whole


async def test_thread_view_updates_messages_in_place() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(detail(summary(5), [message(1)]))
        await pilot.pause()
        thread.upsert_message(message(2, direction="outbound", state="queued", text="Reply"))
        await pilot.pause()
        thread.upsert_message(message(2, direction="outbound", state="sent", text="Reply"))
        await pilot.pause()
        assert len(thread.messages.children) == 2
        assert "sent" in rendered(thread) and "queued" not in rendered(thread)
        thread.show(None)
        await pilot.pause()
        assert thread.interaction_id is None
        assert len(thread.messages.children) == 0


async def test_agent_grid_and_queue_key_rows() -> None:
    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield AgentGrid()
            yield QueueTable()

    agent = AgentRow(
        username="bob",
        display_name="[b]Bob[/b]",
        status="free",
        status_reason="",
        status_since=NOW,
        active=1,
        completed=2,
    )
    async with Monitor().run_test(size=(100, 20)) as pilot:
        grid, queue = pilot.app.query_one(AgentGrid), pilot.app.query_one(QueueTable)
        grid.replace([agent])
        grid.upsert(agent.model_copy(update={"status": "break", "active": 0}))
        queue.replace(
            [
                QueueRow(interaction_id=2, campaign_name="S", client_email="b@x", queued_at=NOW),
                QueueRow(
                    interaction_id=1,
                    campaign_name="S",
                    client_email="a@x",
                    queued_at=NOW - timedelta(minutes=5),
                ),
            ]
        )
        await pilot.pause()
        assert grid.row_count == 1
        assert grid.get("bob") is not None and grid.get("bob").status == "break"
        assert "[b]Bob[/b]" in rendered(grid) and "Break" in rendered(grid)
        assert [row.interaction_id for row in queue.rows_in_order] == [1, 2]


async def test_status_bar_shows_status_and_time() -> None:
    bar = StatusBar()
    async with Host(bar).run_test(size=(80, 3)) as pilot:
        bar.status, bar.status_since = "free", datetime.now(UTC) - timedelta(minutes=3)
        bar.display_name = "Alice [i]"
        await pilot.pause()
        assert "Free 3m" in rendered(bar)
        assert "Alice [i]" in rendered(bar)


async def test_banner_shows_only_while_lost() -> None:
    banner = EngineBanner()
    async with Host(banner).run_test(size=(80, 3)) as pilot:
        assert not banner.display or not banner.lost
        banner.show_lost("socket gone")
        await pilot.pause()
        assert banner.lost and banner.display
        assert "Engine connection lost" in rendered(banner)
        banner.show_back()
        await pilot.pause()
        assert not banner.lost


class ReplyApi:
    """Just what ReplyScreen calls when it sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, bool, list[str]]] = []

    async def reply(
        self, interaction_id: int, body: str, *, with_history: bool, uploads: list[str]
    ) -> InteractionDetail:
        self.sent.append((interaction_id, body, with_history, uploads))
        return detail(summary(interaction_id), [message(1)])


async def test_reply_screen_sends_and_returns_the_detail_or_none() -> None:
    api = ReplyApi()
    results: list[InteractionDetail | None] = []
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ReplyScreen(
            api,  # type: ignore[arg-type]
            client="Bob",
            to="bob@example.com",
            subject="Order",
            draft="Hi ",
            interaction_id=7,
        )
        app.push_screen(screen, results.append)
        await pilot.pause()
        assert app.screen.query_one("#reply-body", TextArea).has_focus
        await pilot.press(*"Bob")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.pause()
        assert api.sent == [(7, "Hi Bob", False, [])]
        assert [r.id if r else None for r in results] == [7]

        screen = ReplyScreen(
            api,  # type: ignore[arg-type]
            client="Bob",
            to="bob@example.com",
            subject="Re: Order",
            interaction_id=7,
        )
        app.push_screen(screen, results.append)
        await pilot.pause()
        await pilot.press(*"draft", "escape")
        await pilot.pause()
        assert results[-1] is None
        assert screen.body == "draft"  # the caller keeps it as a draft
