"""The thread of one interaction: a fixed header, then every message, scrollable.

All text in an interaction came from strangers, so it goes through `engine.text.sanitize`
into `rich.text.Text` and every Static here is built with `markup=False`.

The quoted history that ends most replies (see `console.quoting`) is folded into one dim
line; `z` or a click on that line unfolds it for the focused message, or `z` for every
message when none is focused. What is unfolded is remembered while the thread is shown.

Only the newest messages get a widget when a thread opens, as many as fill two screens: a
Textual widget costs about a millisecond to mount and lay out, and a 200-message thread has
to open in well under 100 ms (bench/console.py). Older ones are mounted `PAGE` at a time,
above, when the agent scrolls up from the top or opens the "earlier messages" line; what
is on screen stays where it was meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from msgspec import structs
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from engine.api.schemas import AttachmentOut, InteractionDetail, MessageOut
from engine.text.sanitize import one_line

from .message import MessageView, newest_inbound
from .note import NoteView
from .wrapups import WrapupsView

PAGE = 20


def _label(text: Text, label: str, value: str, *, width: int = 9) -> None:
    text.append(f"{label:<{width}}", style="bold")
    text.append(one_line(value))


def header_text(detail: InteractionDetail) -> Text:
    """Campaign, client email and client name, labelled, the subject, then CC/BCC if any."""
    text = Text()
    _label(text, "Campaign", detail.campaign_name)
    if detail.state == "closed":
        text.append("  closed", style="bold yellow")
    text.append("\n")
    _label(text, "Client", detail.client_email)
    text.append("\n")
    _label(text, "Name", detail.client_name or "—")
    text.append("\n")
    _label(text, "Subject", detail.subject or "(no subject)")
    for label, addresses in (("CC", detail.cc), ("BCC", detail.bcc)):
        if addresses:
            text.append("\n")
            _label(text, label, ", ".join(addresses))
    if detail.draft.strip():
        text.append("\n")
        text.append(f"{'Draft':<9}", style="bold yellow")
        text.append(one_line(detail.draft, 60), style="italic")
    return text


class ThreadHeader(Static):
    DEFAULT_CSS = """
    ThreadHeader {
        height: auto;
        padding: 0 1;
        border-bottom: solid $primary;
    }
    """


class EarlierMessages(Static, can_focus=True):
    """The line above the mounted messages standing for the older ones."""

    DEFAULT_CSS = """
    EarlierMessages {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        color: $text-muted;
    }
    EarlierMessages:focus { background: $boost; color: $text; }
    """
    BINDINGS = [
        Binding("enter", "show_more", "Earlier messages", id="thread.earlier-messages"),
    ]

    @dataclass
    class Requested(Message):
        """The agent asked for the next page of older messages."""

        earlier: EarlierMessages

        @property
        def control(self) -> EarlierMessages:
            return self.earlier

    def __init__(self) -> None:
        super().__init__(markup=False)

    def count(self, hidden: int) -> None:
        noun = "message" if hidden == 1 else "messages"
        self.update(Text(f"▴ {hidden} earlier {noun} (scroll up, click or Enter for {PAGE} more)"))

    def on_click(self, event: Click) -> None:
        event.stop()
        self.action_show_more()

    def action_show_more(self) -> None:
        self.post_message(self.Requested(self))


class MessageScroll(VerticalScroll):
    """`#thread-messages`: asks for older messages when the agent scrolls up from the top
    (up, page up, the wheel) and for all of them on home."""

    @dataclass
    class WantsOlder(Message):
        """Show older messages: the next page, or `everything`."""

        scroll: MessageScroll
        everything: bool = False

        @property
        def control(self) -> MessageScroll:
            return self.scroll

    def _at_top(self) -> None:
        # Checked before a key scrolls (its scroll lands after the next refresh); the wheel
        # scrolls at once, so reaching the top with it counts too.
        if self.scroll_target_y <= 0:
            self.post_message(self.WantsOlder(self))

    def on_mouse_scroll_up(self) -> None:
        self._at_top()

    def action_scroll_up(self) -> None:
        self._at_top()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._at_top()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.post_message(self.WantsOlder(self, everything=True))
        super().action_scroll_home()


class ThreadView(Vertical, can_focus=False):
    """`#thread`: header `#thread-header` over the scrollable `#thread-messages`."""

    BINDINGS = [
        Binding(
            "z",
            "toggle_quotes",
            "Quotes",
            tooltip="Show or hide quoted history (the focused message, else all)",
            id="thread.toggle-quotes",
        ),
    ]
    EMPTY = "Select an interaction in the inbox."

    def __init__(self, *, id: str = "thread") -> None:  # noqa: A002
        super().__init__(id=id)
        self.detail: InteractionDetail | None = None
        # Every message of the thread, oldest first; only the newest have a view.
        self._messages: dict[int, MessageOut] = {}
        self._views: dict[int, MessageView] = {}
        # Messages whose quoted history the agent unfolded, for as long as the thread shows.
        self._expanded: set[int] = set()
        self._earlier: EarlierMessages | None = None  # mounted while older ones are hidden
        self._placing = False  # older messages mounted, not yet placed
        self._shown = 0  # counts the threads shown, so a late callback knows it is stale
        # Internal notes among the messages (transfers, reassignments), placed by time.
        self._note_views: list[NoteView] = []
        self._notes_placed: tuple[int, ...] = ()
        self._wrapups: list[WrapupsView] = []  # the closes, each among the messages by time

    def compose(self) -> ComposeResult:
        yield ThreadHeader(self.EMPTY, id="thread-header", markup=False)
        yield MessageScroll(id="thread-messages")

    @property
    def interaction_id(self) -> int | None:
        return self.detail.id if self.detail is not None else None

    @property
    def messages(self) -> MessageScroll:
        return self.query_one("#thread-messages", MessageScroll)

    @property
    def hidden_count(self) -> int:
        """Older messages that have no view yet."""
        return len(self._messages) - len(self._views)

    @property
    def current_message(self) -> MessageOut | None:
        """The focused message, else the newest inbound one, else the newest."""
        focused = self.app.focused
        if isinstance(focused, MessageView) and focused.message.id in self._views:
            return focused.message
        return newest_inbound(list(self._messages.values()))

    @property
    def attachments(self) -> list[AttachmentOut]:
        """Every attachment of the thread, newest message first."""
        return [a for m in reversed(self._messages.values()) for a in m.attachments]

    @property
    def current_attachment(self) -> AttachmentOut | None:
        focused = self.app.focused
        if isinstance(focused, MessageView) and focused.message.attachments:
            return focused.message.attachments[0]
        return None

    def show(self, detail: InteractionDetail | None) -> None:
        """Show `detail` (None: nothing selected). Scrolls to the newest message."""
        same = detail is not None and detail.id == self.interaction_id
        self.detail = detail
        header = self.query_one(ThreadHeader)
        header.update(header_text(detail) if detail is not None else self.EMPTY)
        if same and detail is not None:
            for message in detail.messages:
                self._upsert(message)
            self._place_notes()
            self._show_wrapups(detail)
            self.refresh_bindings()
            return
        self._messages, self._expanded, self._placing = {}, set(), False
        self.refresh_bindings()
        self._shown += 1
        self._clear_wrapups()
        if detail is None:
            self._views, self._earlier = {}, None
            self._note_views, self._notes_placed = [], ()
            self.messages.remove_children()
            return
        self._messages = {m.id: m for m in detail.messages}
        self._fill(detail.messages)
        self._place_notes(again=True)
        self._show_wrapups(detail)

    def _place_notes(self, *, again: bool = False) -> None:
        """Mount the thread's internal notes among the mounted messages, each before the
        first message that came after it; one older than every mounted message waits for
        the earlier page (it shows when they do). `again`: the messages around them moved."""
        notes = self.detail.notes if self.detail is not None else []
        placed = tuple(note.id for note in notes)
        if not again and placed == self._notes_placed:
            return
        self._notes_placed = placed
        for old in self._note_views:
            old.remove()
        self._note_views = []
        views = list(self._views.values())  # oldest first
        scroll = self.messages
        for note in notes:
            after = next((v for v in views if v.message.created_at > note.created_at), None)
            if after is not None and after is views[0] and self.hidden_count:
                continue
            view = NoteView(note)
            if after is None:
                scroll.mount(view)
            else:
                scroll.mount(view, before=after)
            self._note_views.append(view)

    def _clear_wrapups(self) -> None:
        for view in self._wrapups:
            view.remove()
        self._wrapups = []

    def _show_wrapups(self, detail: InteractionDetail) -> None:
        """Each close of the thread (docs/wrapup.md) where it happened: before the first
        shown message that came after it (a reopening mail), else at the end."""
        self._clear_wrapups()
        views = list(self._views.values())
        for wrapup in detail.wrapups:
            after = next((v for v in views if v.message.created_at > wrapup.closed_at), None)
            view = WrapupsView([wrapup])
            self._wrapups.append(view)
            self.messages.mount(view, before=after)

    def _fill(self, messages: list[MessageOut]) -> None:
        """Views for the newest of `messages`, as many as fill two screens, up to PAGE.
        The views of the thread shown before are reused for them: updating a widget costs
        a fraction of removing one and mounting another."""
        scroll = self.messages
        spare = list(self._views.values())
        if isinstance(self.app.focused, MessageView) and self.app.focused in spare:
            scroll.focus()  # it is about to show another message
        reused: list[MessageView] = []
        created: list[MessageView] = []
        lines = 0
        for message in reversed(messages[-PAGE:]):
            if spare:
                view = spare.pop()
                view.show(message, expanded=False)
                reused.append(view)
            else:
                view = MessageView(message)
                created.append(view)
            lines += view.height_floor
            if lines > 2 * self.app.size.height:
                break
        views = created[::-1] + reused[::-1]
        self._views = {view.message.id: view for view in views}
        for view in spare:
            view.remove()
        if self.hidden_count and self._earlier is None:
            self._earlier = EarlierMessages()
            scroll.mount(self._earlier, before=0)
        elif not self.hidden_count and self._earlier is not None:
            self._earlier.remove()
            self._earlier = None
        if self._earlier is not None:
            self._earlier.count(self.hidden_count)
        if created:
            if reused:
                scroll.mount_all(created[::-1], before=reused[-1])
            else:
                scroll.mount_all(created[::-1])
        # Anchored, the first layout already shows the end, with no second frame to scroll
        # there; but a thread shorter than its pane would sit at the bottom of it, so only
        # one surely taller than the whole screen is anchored.
        if lines > self.app.size.height:
            scroll.anchor()
        else:
            scroll.anchor(False)
            scroll.scroll_end(animate=False, immediate=False)
        scroll.call_after_refresh(self._to_newest_inbound, self._shown)

    def _to_newest_inbound(self, shown: int) -> None:
        """What the agent has to answer is the client's last message: when the end of the
        thread hides its beginning (an auto-confirmation, a long reply below), show it from
        its first line instead."""
        if shown != self._shown:
            return  # another thread was opened meanwhile
        inbound = [v for v in self._views.values() if v.message.direction == "inbound"]
        if not inbound or not inbound[-1].is_mounted:
            return
        target, scroll = inbound[-1], self.messages
        if target.virtual_region.y < scroll.scroll_y:
            scroll.anchor(False)
            scroll.scroll_to_widget(target, top=True, animate=False, immediate=True)

    def set_draft(self, text: str) -> None:
        """The agent's unsent reply changed: show it in the header."""
        if self.detail is not None and self.detail.draft != text:
            self.detail = structs.replace(self.detail, draft=text)
            self.query_one(ThreadHeader).update(header_text(self.detail))

    @property
    def all_messages(self) -> list[MessageOut]:
        """Every message of the shown thread, oldest first, with those that arrived or
        changed since it was loaded (`detail` is as loaded)."""
        return list(self._messages.values())

    def upsert_message(self, message: MessageOut) -> None:
        """Add a new message at the end, or update one (e.g. its delivery state)."""
        self._upsert(message)
        self.refresh_bindings()

    def _upsert(self, message: MessageOut) -> None:
        known = message.id in self._messages
        self._messages[message.id] = message
        view = self._views.get(message.id)
        if view is not None:
            view.show(message)
        elif not known:
            view = MessageView(message, expanded=message.id in self._expanded)
            self._views[message.id] = view
            self.messages.mount(view)
            self.messages.scroll_end(animate=False, immediate=False)

    # ---- older messages ----
    def show_earlier(self, *, keep_place: bool = True, everything: bool = False) -> None:
        """Mount older messages (the next `PAGE`, or all) above the mounted ones. With
        `keep_place` (the agent scrolled up to them) what was on screen stays put; without
        (the "earlier messages" line was opened) they show right below that line."""
        hidden = [m for m in self._messages.values() if m.id not in self._views]
        if not hidden or self._placing:
            return
        page = hidden if everything else hidden[-PAGE:]
        views = [MessageView(m, expanded=m.id in self._expanded) for m in page]
        first = next(iter(self._views.values()), None)
        scroll = self.messages
        # Where the first mounted message is (or is headed, mid-scroll) in the viewport.
        offset = first.virtual_region.y - scroll.scroll_target_y if first is not None else 0
        self._views = {view.message.id: view for view in views} | self._views
        # Placed by hand from here on: the anchor would hold the bottom instead.
        scroll.release_anchor()
        if first is not None:
            scroll.mount_all(views, before=first)
        else:
            scroll.mount_all(views)
        if self._earlier is not None and self.hidden_count:
            self._earlier.count(self.hidden_count)
        elif self._earlier is not None:
            if self.app.focused is self._earlier:
                views[0].focus(scroll_visible=False)
            self._earlier.remove()
            self._earlier = None
        self._place_notes(again=True)
        self._placing = True
        shown = self._shown

        def place() -> None:
            if shown != self._shown:
                return  # another thread is shown now
            self._placing = False
            if everything:
                scroll.scroll_home(animate=False, immediate=True)
            elif keep_place and first is not None:
                y = first.virtual_region.y - offset
                scroll.scroll_to(y=y, animate=False, immediate=True)

        scroll.call_after_refresh(place)
        if self.detail is not None and self.detail.wrapups:
            self._show_wrapups(self.detail)  # a close may belong among the older ones
        self.refresh_bindings()

    @on(EarlierMessages.Requested)
    def _earlier_requested(self, event: EarlierMessages.Requested) -> None:
        event.stop()
        self.show_earlier(keep_place=False)

    @on(MessageScroll.WantsOlder, "#thread-messages")
    def _wants_older(self, event: MessageScroll.WantsOlder) -> None:
        event.stop()
        self.show_earlier(everything=event.everything)

    # ---- quoted history ----
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_quotes":
            return any(view.has_history for view in self._views.values())
        return True

    def action_toggle_quotes(self) -> None:
        """The focused message's quoted history, else every message's (all open if any
        was folded, else all folded)."""
        scroll = self.messages
        at_end = scroll.scroll_y >= scroll.max_scroll_y
        last = next(reversed(self._views.values()), None)
        focused = self.app.focused
        if isinstance(focused, MessageView) and self._views.get(focused.message.id) is focused:
            focused.action_toggle_quotes()
            at_end = at_end and focused is last
        else:
            foldable = [view for view in self._views.values() if view.has_history]
            expand = any(not view.expanded for view in foldable)
            for view in foldable:
                view.set_expanded(expand)
            # Messages without a view yet open the same way when they get one.
            self._expanded = set(self._messages) if expand else set()
        if at_end:
            # Reading the end, the history just unfolded below it is what comes next.
            scroll.scroll_end(animate=False, immediate=False)

    @on(MessageView.QuotesToggled)
    def _quotes_toggled(self, event: MessageView.QuotesToggled) -> None:
        event.stop()
        if event.expanded:
            self._expanded.add(event.view.message.id)
        else:
            self._expanded.discard(event.view.message.id)
