"""Console widgets on their own: no engine, hand-made schema objects, a bare host app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec import structs
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import TextArea

from console.app import css_path
from console.bridge import backoff_delays
from console.screens.compose import ReplyScreen, reply_subject
from console.timefmt import format_duration, since
from console.widgets.banner import EngineBanner
from console.widgets.inbox import InboxTable, column_widths, inbox_order
from console.widgets.message import MessageView, message_text
from console.widgets.monitor import AgentGrid, QueueTable
from console.widgets.status_bar import StatusBar
from console.widgets.thread import PAGE, EarlierMessages, ThreadView
from engine.api.schemas import (
    AgentRow,
    AttachmentOut,
    InteractionDetail,
    InteractionSummary,
    MessageOut,
    QueueRow,
    convert,
)
from tests.console_helpers import press, screen_text, settle, until
from tests.fake_engine import supervisor_app

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
    return convert(fields, MessageOut)


def detail(item: InteractionSummary, messages: list[MessageOut]) -> InteractionDetail:
    return InteractionDetail(**structs.asdict(item), cc=[], bcc=[], messages=messages)


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
    assert "CC  carol@example.com" in plain
    assert "To  sales@example.com" in plain  # whom it went to, on every outgoing message
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
        await settle(pilot)
        assert inbox.order == [2, 1, 3]
        assert inbox.row_count == 3

        inbox.move_cursor(row=2)  # interaction 3
        await settle(pilot)
        assert inbox.current_id == 3

        inbox.upsert(summary(3, unread=True, minutes=0))  # new mail: goes to the top
        await settle(pilot)
        assert inbox.order == [3, 2, 1]
        assert inbox.current_id == 3

        inbox.upsert(summary(4, minutes=20))
        await settle(pilot)
        assert inbox.order == [3, 2, 1, 4]
        inbox.touch(4, NOW)  # a newer message moves it up among the read ones
        inbox.touch(1, NOW - timedelta(hours=1))  # an older one changes nothing
        await settle(pilot)
        assert inbox.order == [3, 2, 4, 1]

        inbox.discard(3)
        await settle(pilot)
        assert inbox.order == [2, 4, 1]
        assert inbox.current_id == 2
        assert len(inbox) == 3


async def test_inbox_cells_are_inert_text() -> None:
    inbox = InboxTable()
    async with Host(inbox).run_test(size=(120, 10)) as pilot:
        inbox.replace([summary(1, unread=True, subject=EVIL)])
        await settle(pilot)
        screen = rendered(inbox)
        assert "[bold]x[/bold]" in screen
        assert "\x1b" not in screen and "ZXZpbA" not in screen
        assert "•" in screen


async def test_thread_view_renders_untrusted_text_inert() -> None:
    thread = ThreadView()
    item = summary(5, subject=EVIL)
    item = structs.replace(item, client_name="[red]Mallory[/red]")
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(detail(item, [message(1, text=f"Hi {EVIL}")]))
        await settle(pilot)
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
        await settle(pilot)
        thread.upsert_message(message(2, direction="outbound", state="queued", text="Reply"))
        await settle(pilot)
        thread.upsert_message(message(2, direction="outbound", state="sent", text="Reply"))
        await settle(pilot)
        assert len(thread.messages.children) == 2
        assert "sent" in rendered(thread) and "queued" not in rendered(thread)
        thread.show(None)
        await settle(pilot)
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
        grid.upsert(structs.replace(agent, status="break", active=0))
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
        await settle(pilot)
        assert grid.row_count == 1
        assert grid.get("bob") is not None and grid.get("bob").status == "break"
        assert "[b]Bob[/b]" in rendered(grid) and "Break" in rendered(grid)
        assert [row.interaction_id for row in queue.rows_in_order] == [1, 2]


async def test_status_bar_shows_status_and_time() -> None:
    bar = StatusBar()
    async with Host(bar).run_test(size=(80, 3)) as pilot:
        bar.status, bar.status_since = "free", datetime.now(UTC) - timedelta(minutes=3)
        bar.display_name = "Alice [i]"
        await settle(pilot)
        assert "Free 3m" in rendered(bar)
        assert "Alice [i]" in rendered(bar)


async def test_banner_shows_only_while_lost() -> None:
    banner = EngineBanner()
    async with Host(banner).run_test(size=(80, 3)) as pilot:
        assert not banner.display or not banner.lost
        banner.show_lost("socket gone")
        await settle(pilot)
        assert banner.lost and banner.display
        assert "Engine connection lost" in rendered(banner)
        banner.show_back()
        await settle(pilot)
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
        await settle(pilot)
        assert app.screen.query_one("#reply-body", TextArea).has_focus
        await pilot.press(*"Bob")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await settle(pilot)
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
        await settle(pilot)
        await pilot.press(*"draft", "escape")
        await settle(pilot)
        assert results[-1] is None
        assert screen.body == "draft"  # the caller keeps it as a draft


QUOTED = (
    "It arrived, thanks!\n\nOn Mon, 3 Mar 2025, Sales <sales@example.com> wrote:\n"
    "> Your parcel left today.\n>\n> Tracking: 1234\n> Sales"
)


def fold_row(view: Widget) -> int:
    """The row of the fold line inside `view`."""
    rows = rendered(view).split("\n")
    return next(y for y, row in enumerate(rows) if "quoted lines" in row)


async def test_thread_view_folds_quoted_history() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(detail(summary(5), [message(1, text=QUOTED), message(2, text="Plain")]))
        await settle(pilot)
        first, second = thread.messages.children
        assert isinstance(first, MessageView) and isinstance(second, MessageView)
        assert first.has_history and not second.has_history
        shown = rendered(thread)
        assert "It arrived, thanks!" in shown
        assert "▸ 5 quoted lines (z to show)" in shown
        assert "Tracking: 1234" not in shown and "wrote:" not in shown

        first.focus()
        await pilot.press("z")
        shown = rendered(thread)
        assert "▾ 5 quoted lines (z to hide)" in shown
        assert "Sales <sales@example.com> wrote:" in shown and "> Tracking: 1234" in shown
        await press(pilot, "z")
        assert "Tracking: 1234" not in rendered(thread)

        # A click on the fold line toggles it (the line carries an @click action).
        await pilot.click(first, offset=(4, fold_row(first)))
        assert first.expanded and "Tracking: 1234" in rendered(first)
        await pilot.click(first, offset=(4, fold_row(first)))
        assert not first.expanded

        # New messages of the same thread keep what was unfolded.
        await pilot.press("z")
        thread.upsert_message(message(3, text="Another"))
        thread.show(detail(summary(5), [message(1, text=QUOTED), message(3, text="Another")]))
        await settle(pilot)
        assert first.expanded

        # With no message focused, z folds or unfolds them all.
        thread.messages.focus()
        await press(pilot, "z")
        assert not first.expanded
        await press(pilot, "z")
        assert first.expanded
        # Another interaction starts folded.
        thread.show(detail(summary(6), [message(4, text=QUOTED)]))
        await settle(pilot)
        (fresh,) = thread.messages.children
        assert isinstance(fresh, MessageView) and not fresh.expanded


async def test_thread_view_offers_z_only_with_quoted_history() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(detail(summary(5), [message(1, text="Plain")]))
        await settle(pilot)
        assert thread.check_action("toggle_quotes", ()) is False
        thread.upsert_message(message(2, text=QUOTED))
        await settle(pilot)
        assert thread.check_action("toggle_quotes", ()) is True


def test_message_text_folds_history_and_keeps_it_inert() -> None:
    evil = message(9, text=f"Thanks\n\nOn Monday, {EVIL} wrote:\n> a\n> b\n> {EVIL}")
    folded = message_text(evil).plain
    assert folded.endswith("Thanks\n\n▸ 4 quoted lines (z to show)")
    shown = message_text(evil, expanded=True).plain
    assert "> [bold]x[/bold]" in shown
    assert "\x1b" not in shown and "ZXZpbA" not in shown


def long_thread(interaction_id: int, count: int = 45) -> InteractionDetail:
    """`count` messages, the first with an attachment; ids 1000*interaction_id + n."""
    base = 1000 * interaction_id
    messages = [
        message(base + n, text=f"Message {n}\nsecond line\nthird line", created_at=NOW)
        for n in range(count)
    ]
    messages[0] = structs.replace(
        messages[0], attachments=[AttachmentOut(id=9, filename="old.pdf", content_type="x", size=1)]
    )
    return detail(summary(interaction_id), messages)


def mounted(thread: ThreadView) -> list[int]:
    return [c.message.id for c in thread.messages.children if isinstance(c, MessageView)]


async def test_long_thread_mounts_the_newest_messages_then_earlier_ones() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(long_thread(1))
        await settle(pilot)
        earlier, *views = thread.messages.children
        assert isinstance(earlier, EarlierMessages)
        # The newest messages, enough to fill two screens (each is 6 lines here): not all.
        first = len(views)
        assert 60 / 6 < first < PAGE
        assert mounted(thread) == [1000 + n for n in range(45 - first, 45)]
        assert f"▴ {45 - first} earlier messages" in rendered(earlier)
        # Taller than the screen: the first frame already shows the end.
        assert thread.messages.scroll_y == thread.messages.max_scroll_y > 0
        # What the thread offers covers the messages without a view too.
        assert [a.filename for a in thread.attachments] == ["old.pdf"]
        assert thread.current_message is not None and thread.current_message.id == 1044
        thread.upsert_message(message(1003, text="changed"))
        await settle(pilot)
        assert len(mounted(thread)) == first

        earlier.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert mounted(thread) == [1000 + n for n in range(45 - first - PAGE, 45)]
        assert f"▴ {45 - first - PAGE} earlier messages" in rendered(earlier)
        await pilot.press("enter")
        await settle(pilot)
        assert mounted(thread) == [1000 + n for n in range(45)]
        assert not any(isinstance(c, EarlierMessages) for c in thread.messages.children)
        focused = pilot.app.focused
        assert isinstance(focused, MessageView) and focused.message.id == 1000
        assert "Message 3\nsecond" not in rendered(thread) and "changed" in rendered(thread)


async def test_scrolling_up_to_the_top_mounts_earlier_messages_in_place() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        thread.show(long_thread(2))
        await settle(pilot)
        scroll = thread.messages
        scroll.focus()
        oldest = scroll.children[1]
        assert isinstance(oldest, MessageView)
        while scroll.scroll_y > 0:
            await pilot.press("pageup")
            await settle(pilot)
        first = len(mounted(thread))
        on_screen = oldest.virtual_region.y - scroll.scroll_y
        await pilot.press("up")  # past the top
        await settle(pilot)
        await settle(pilot)
        assert len(mounted(thread)) == first + PAGE
        # The message that was at the top stays there; the new ones are above it.
        assert scroll.scroll_y > 0
        assert oldest.virtual_region.y - scroll.scroll_y == on_screen

        await pilot.press("home")  # everything, and to the very top
        await settle(pilot)
        await settle(pilot)
        assert len(mounted(thread)) == 45 and scroll.scroll_y == 0


async def test_toggling_all_quotes_reaches_messages_mounted_later() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        item = long_thread(3)
        texts = [structs.replace(m, text=QUOTED) for m in item.messages]
        thread.show(structs.replace(item, messages=texts))
        await settle(pilot)
        thread.messages.focus()
        await pilot.press("z")
        thread.show_earlier(everything=True)
        await settle(pilot)
        views = [c for c in thread.messages.children if isinstance(c, MessageView)]
        assert len(views) == 45 and all(view.expanded for view in views)


async def test_another_thread_reuses_the_message_views() -> None:
    thread = ThreadView()
    async with Host(thread).run_test(size=(100, 30)) as pilot:
        first = long_thread(4)
        quoted = message(4044, text=QUOTED, direction="outbound", state="failed")
        thread.show(structs.replace(first, messages=[*first.messages[:-1], quoted]))
        await settle(pilot)
        views = [c for c in thread.messages.children if isinstance(c, MessageView)]
        newest = views[-1]
        assert newest.has_class("-outbound", "-failed")
        newest.focus()
        await press(pilot, "z")
        assert newest.expanded

        thread.show(long_thread(5, count=30))
        await settle(pilot)
        again = [c for c in thread.messages.children if isinstance(c, MessageView)]
        # The same widgets, showing the other thread (its messages are shorter than the
        # outgoing one with its To line, so more of them may fit: those are added).
        assert again[-len(views) :] == views
        assert mounted(thread) == [5000 + n for n in range(30 - len(again), 30)]
        assert not newest.expanded and not newest.has_class("-outbound") and not newest.has_history
        assert pilot.app.focused is thread.messages
        earlier = thread.messages.children[0]
        assert isinstance(earlier, EarlierMessages)
        assert f"▴ {30 - len(again)} earlier messages" in rendered(earlier)

        thread.show(detail(summary(6), [message(6001, text="Short")]))
        await settle(pilot)
        (only,) = thread.messages.children
        assert only is views[-1] and "Short" in rendered(only)

        thread.show(long_thread(7))
        await settle(pilot)
        assert mounted(thread)[-1] == 7044 and thread.messages.children[-1] is only
        assert isinstance(thread.messages.children[0], EarlierMessages)
        thread.show(None)
        await settle(pilot)
        assert len(thread.messages.children) == 0


async def test_thread_opens_on_the_start_of_the_clients_last_message() -> None:
    """An auto-confirmation (or any reply) below the client's long message must not push the
    beginning of what the agent has to answer out of view."""
    from tests.console_helpers import screen_text

    thread = ThreadView()
    question = "\n".join(f"Line {n} of my question." for n in range(1, 31))
    messages = [
        message(1, text="An older message."),
        message(2, text=question),
        message(3, direction="outbound", state="sent", text="We received your message."),
    ]
    app = Host(thread)
    async with app.run_test(size=(80, 24)) as pilot:
        thread.show(detail(summary(5), messages))
        await settle(pilot)
        await settle(pilot)
        text = screen_text(app)
        assert "Line 1 of my question." in text, text
        assert "An older message." not in text  # scrolled to it, not to the top


# ---- the body of a message is split once per text ----


async def test_message_view_splits_the_body_once_per_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.text import Text

    import console.widgets.message as message_module

    calls: list[str] = []
    split = message_module.split_history

    def counting(text: str) -> object:
        calls.append(text)
        return split(text)

    monkeypatch.setattr(message_module, "split_history", counting)
    app = App[None]()
    async with app.run_test(size=(100, 30)) as pilot:
        view = MessageView(message(1, text=QUOTED))
        await app.mount(view)
        assert len(calls) == 1 and view.has_history
        view.action_toggle_quotes()
        view.action_toggle_quotes()
        view.show(message(1, text=QUOTED, state="sent", direction="outbound"), expanded=True)
        await settle(pilot)
        assert len(calls) == 1  # refolds and state updates reuse the split
        assert isinstance(view.content, Text) and "> Tracking: 1234" in view.content.plain
        view.show(message(2, text="Plain"))
        assert len(calls) == 2 and not view.has_history
        view.show(message(3, text=QUOTED))
        assert len(calls) == 3 and view.has_history


async def test_message_view_with_a_hostile_long_line_builds_at_once() -> None:
    """The reported mail: a long line that ends like an attribution, above a quote. It froze
    the console for seconds (an attribution search quadratic in the line, run twice a view)."""
    import time

    text = "Hi\n" + "schrieb:x " * 32_000 + "\n> a\n> b\n> c"
    app = App[None]()
    async with app.run_test(size=(100, 30)) as pilot:
        started = time.perf_counter()
        view = MessageView(message(1, text=text))
        view.set_expanded(True)
        assert time.perf_counter() - started < 0.5
        assert view.has_history
        await app.mount(view)
        await settle(pilot)
        shown = view.content.plain  # type: ignore[union-attr]
        assert "\nschrieb:x schrieb:x " in shown and "▾ 3 quoted lines" in shown


# ---- break reasons: the option is its reason ----


async def test_break_picker_keeps_the_reason_across_a_reload() -> None:
    import asyncio

    from rich.text import Text
    from textual.widgets import OptionList

    from console.screens.breaks import BreakPicker
    from tests.console_helpers import press, until

    # Each picker asks the engine once; the answer arrives when the test says so.
    lists = [["Team huddle", "Meeting", "Lunch"], ["Team huddle", "Lunch"]]
    release = [asyncio.Event(), asyncio.Event()]
    answers = iter(zip(release, lists, strict=True))

    async def reload() -> list[str]:
        arrived, reasons = next(answers)
        await arrived.wait()
        return reasons

    def highlighted(picker: OptionList) -> str:
        option = picker.highlighted_option
        assert option is not None and isinstance(option.prompt, Text)
        return option.prompt.plain

    results: list[str | None] = []
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = BreakPicker(["Lunch", "Coffee", "Meeting"], reload)
        app.push_screen(screen, results.append)
        await settle(pilot, workers=False)
        picker = screen.query_one("#break-reasons", OptionList)
        coffee = picker.get_option_at_index(1)

        # The agent moves to "Meeting"; the engine's list arrives reordered: still "Meeting".
        await press(pilot, "down", "down", workers=False)
        assert highlighted(picker) == "Meeting"
        release[0].set()
        await until(pilot, lambda: screen.reasons == lists[0], what="the engine's list")
        assert [o.prompt.plain for o in picker.options] == lists[0]  # type: ignore[union-attr]
        assert highlighted(picker) == "Meeting"

        # "Coffee" was chosen just before the reload landed: "Coffee" is what comes back,
        # not whatever now sits where it was.
        picker.post_message(OptionList.OptionSelected(picker, coffee, 1))
        await until(pilot, lambda: bool(results), what="the choice")
        assert results == ["Coffee"]

        # A reason that went away leaves the cursor at the top.
        screen = BreakPicker(["Lunch", "Meeting"], reload)
        app.push_screen(screen, results.append)
        await settle(pilot, workers=False)
        picker = screen.query_one("#break-reasons", OptionList)
        await press(pilot, "down", workers=False)
        assert highlighted(picker) == "Meeting"
        release[1].set()
        await until(pilot, lambda: screen.reasons == lists[1], what="the shorter list")
        assert highlighted(picker) == "Team huddle"
        await pilot.press("down", "enter")
        await until(pilot, lambda: len(results) == 2, what="the second choice")
        assert results[-1] == "Lunch"


async def test_the_statistics_panel_shows_ratings_where_there_is_room() -> None:
    """80 cells hold the eleven columns; widened, the panel adds the customers' ratings."""
    app = supervisor_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Carla Conti" in screen_text(app), what="the monitor")
        assert "Rated" not in screen_text(app)
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: "★4.3 (9)" in screen_text(app), what="the ratings column")
        assert "Rated" in screen_text(app) and "75" in screen_text(app)  # rows kept
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "Rated" not in screen_text(app), what="narrow again")
        assert "Support" in screen_text(app)
