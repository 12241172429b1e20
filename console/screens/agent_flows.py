"""The agent's mail actions: each opens a modal for the highlighted interaction.

Most need the interaction's detail (its draft, CC/BCC, messages and attachments). When the
thread pane already shows it (wide layout) the modal opens at once; otherwise one
exclusive "fetch" worker loads it and `run_flow` continues with it.

Each modal's module is imported when the agent first opens it, not with the agent screen:
together they would add tens of milliseconds to every console's cold start (bench/console.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work

from engine.api.schemas import InteractionDetail, InteractionSummary, LimitsOut, MessageOut
from engine.text.sanitize import one_line

from ..timefmt import local_stamp
from ..widgets.inbox import InboxTable
from ..widgets.message import newest_inbound, unanswered
from ..widgets.thread import ThreadView
from .base import ModeScreen
from .compose_drafts import DraftKey, Kept

if TYPE_CHECKING:
    from .compose_base import ComposeScreen


def summary_of(detail: InteractionDetail) -> InteractionSummary:
    return InteractionSummary(
        **{k: getattr(detail, k) for k in InteractionSummary.__struct_fields__}
    )


class AgentFlows(ModeScreen):
    """Between `ModeScreen` and `AgentScreen`, which provides the widgets and state below."""

    NEEDS_INTERACTION = frozenset(
        {"reply", "forward", "cc_bcc", "start_from", "save_attachment", "close"}
    )
    drafts: dict[int, str]
    limits: LimitsOut | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept: dict[DraftKey, Kept] = {}

    def keep(self, key: DraftKey, screen: ComposeScreen, what: str, key_name: str) -> None:
        """After Esc: keep what was typed in `screen` (or forget a draft emptied back to
        where it started), and say how to get back to it."""
        if screen.left is None or not screen.changed:
            self.kept.pop(key, None)
            return
        self.kept[key] = screen.left
        self.notify(f"{what} kept as a draft: {key_name} opens it again", markup=False)

    @property
    def inbox(self) -> InboxTable:
        raise NotImplementedError

    @property
    def thread(self) -> ThreadView:
        raise NotImplementedError

    def show_detail(self, detail: InteractionDetail) -> None:
        raise NotImplementedError

    def persist_draft(self, interaction_id: int, text: str) -> None:
        raise NotImplementedError

    def open_thread(self, interaction_id: int) -> None:
        raise NotImplementedError

    def set_status(self, status: str, reason: str = "") -> object:
        raise NotImplementedError

    def close_interaction(self, interaction_id: int) -> None:
        raise NotImplementedError

    @property
    def max_bytes(self) -> int | None:
        return self.limits.max_attachment_bytes if self.limits is not None else None

    def draft_of(self, detail: InteractionDetail) -> str:
        return self.drafts.get(detail.id, detail.draft)

    def message_of(self, detail: InteractionDetail) -> MessageOut | None:
        """The message the agent points at: the focused one, else the newest inbound."""
        if self.thread.interaction_id == detail.id:
            return self.thread.current_message
        return newest_inbound(detail.messages)

    # ---- getting the detail ----
    def with_detail(self, action: str, *args: object) -> None:
        interaction_id = self.inbox.current_id
        if interaction_id is None:
            return
        detail = self.thread.detail
        if detail is not None and detail.id == interaction_id:
            self.run_flow(action, detail, args)
        else:
            self.fetch_for(action, interaction_id, args)

    @work(exclusive=True, group="fetch", exit_on_error=False)
    async def fetch_for(
        self, action: str, interaction_id: int, args: tuple[object, ...]
    ) -> tuple[str, InteractionDetail, tuple[object, ...]]:
        return action, await self.client.interaction(interaction_id), args

    def run_flow(self, action: str, detail: InteractionDetail, args: tuple[object, ...]) -> None:
        getattr(self, f"flow_{action}")(detail, *args)

    # ---- replying ----
    def action_reply(self, with_history: bool = False, editor: bool = False) -> None:
        self.with_detail("reply", with_history, editor)

    def flow_reply(
        self, detail: InteractionDetail, with_history: bool = False, editor: bool = False
    ) -> None:
        from .compose import ReplyScreen

        key: DraftKey = ("reply", detail.id)
        screen = ReplyScreen(
            self.client,
            client=detail.client_name.strip() or detail.client_email,
            to=detail.client_email,
            subject=detail.subject,
            draft=self.draft_of(detail),
            interaction_id=detail.id,
            with_history=with_history,
            max_attachment_bytes=self.max_bytes,
            on_draft=lambda text: self.persist_draft(detail.id, text),
            start_in_editor=editor,
            kept=self.kept.get(key),
        )

        def done(result: InteractionDetail | None) -> None:
            if result is None:
                if screen.body != self.draft_of(detail):
                    self.persist_draft(detail.id, screen.body)
                # The text is the engine's draft; the files chosen stay here.
                if screen.left is not None and screen.left.uploads:
                    self.kept[key] = Kept(uploads=screen.left.uploads)
                else:
                    self.kept.pop(key, None)
                return
            self.kept.pop(key, None)
            self.drafts[detail.id] = ""
            self.show_detail(result)
            self.notify("Reply queued")

        self.app.push_screen(screen, done)

    # ---- forward, copies, new interactions ----
    def action_forward(self) -> None:
        self.with_detail("forward")

    def flow_forward(self, detail: InteractionDetail) -> None:
        from .forward import ForwardScreen

        message = self.message_of(detail)
        if message is None:
            self.notify("There is no message to forward.", severity="warning")
            return

        key: DraftKey = ("forward", detail.id, message.id)

        def done(result: InteractionDetail | None) -> None:
            if result is None:
                self.keep(key, screen, "Forward", "f on the same message")
                return
            self.kept.pop(key, None)
            self.show_detail(result)
            self.notify("Forward queued")

        screen = ForwardScreen(
            self.client,
            detail=detail,
            message=message,
            max_attachment_bytes=self.max_bytes,
            kept=self.kept.get(key),
        )
        self.app.push_screen(screen, done)

    def action_cc_bcc(self) -> None:
        self.with_detail("cc_bcc")

    def flow_cc_bcc(self, detail: InteractionDetail) -> None:
        from .ccbcc import CcBccScreen

        def done(result: InteractionDetail | None) -> None:
            if result is not None:
                self.show_detail(result)
                self.notify("CC/BCC saved")

        self.app.push_screen(CcBccScreen(self.client, detail), done)

    def my_campaigns(self) -> list[str]:
        return sorted(self.me.campaigns)

    def action_new(self) -> None:
        self.open_new()

    def action_start_from(self) -> None:
        self.with_detail("start_from")

    def flow_start_from(self, detail: InteractionDetail) -> None:
        message = self.message_of(detail)
        self.open_new(
            key=("new", detail.id, message.id if message is not None else None),
            campaign=detail.campaign_name,
            subject=message.subject if message is not None else detail.subject,
            body=message.text if message is not None else "",
        )

    def open_new(
        self,
        *,
        key: DraftKey = ("new",),
        campaign: str | None = None,
        subject: str = "",
        body: str = "",
    ) -> None:
        from .new_interaction import NewInteractionScreen

        campaigns = self.my_campaigns()
        if not campaigns:
            self.notify("You are not a member of any campaign.", severity="warning")
            return

        def done(result: InteractionDetail | None) -> None:
            if result is None:
                self.keep(
                    key, screen, "New message", "s on the same message" if len(key) > 1 else "c"
                )
                return
            self.kept.pop(key, None)
            if result.state == "assigned" and result.agent == self.me.username:
                self.inbox.upsert(summary_of(result))
            self.notify(f"Interaction #{result.id} started")

        screen = NewInteractionScreen(
            self.client,
            campaigns=campaigns,
            campaign=campaign,
            subject=subject,
            body=body,
            max_attachment_bytes=self.max_bytes,
            kept=self.kept.get(key),
        )
        self.app.push_screen(screen, done)

    # ---- search and attachments ----
    def action_search(self) -> None:
        from .search import SearchScreen
        from .thread_screen import ThreadScreen

        def done(item: InteractionSummary | None) -> None:
            if item is None:
                return
            if item.id in self.inbox.order:
                self.inbox.move_cursor(row=self.inbox.order.index(item.id))
                self.open_thread(item.id)
            else:
                self.app.push_screen(ThreadScreen(self.client, item.id))

        self.app.push_screen(SearchScreen(self.client), done)

    def action_save_attachment(self) -> None:
        self.with_detail("save_attachment")

    def flow_save_attachment(self, detail: InteractionDetail) -> None:
        from .save_attachment import SaveAttachmentScreen

        shown = self.thread.interaction_id == detail.id
        attachments = (
            self.thread.attachments
            if shown
            else [a for m in reversed(detail.messages) for a in m.attachments]
        )
        if not attachments:
            self.notify("This thread has no attachments.", severity="warning")
            return
        # Over the inbound limit: the engine kept them only inside the original mail.
        attachments = [a for a in attachments if not a.over_limit]
        if not attachments:
            self.notify(
                "Its attachments were too large to keep on their own; "
                "they are only in the original mail.",
                severity="warning",
            )
            return
        current = self.thread.current_attachment if shown else None

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Saved {path}", markup=False)

        screen = SaveAttachmentScreen(
            self.client, attachments, selected=current.id if current is not None else None
        )
        self.app.push_screen(screen, saved)

    # ---- status and closing ----
    def action_break(self) -> None:
        from .breaks import BreakPicker

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self.set_status("break", reason)

        reasons = self.limits.break_reasons if self.limits is not None else []
        self.app.push_screen(BreakPicker(reasons, self.client.break_reasons), chosen)

    def action_log_out(self) -> None:
        """Leave: the engine makes an agent Offline when their last console disconnects, and
        routes them nothing more. Drafts are already saved in the engine."""
        from .confirm import ConfirmScreen

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if getattr(self.app, "switch_users", None):
                # The demo: back to its user picker (run_action is a coroutine).
                self.app.call_later(self.app.run_action, "switch_user")
            else:
                self.app.exit()

        question = Text("Log out? You will be Offline and get no new interactions.")
        # Replies are drafts in the engine; forwards and new messages only in this console.
        # (A forward of an interaction that has left the inbox cannot be reopened anyway.)
        unsent = [
            key
            for key in self.kept
            if key[0] == "new" or (key[0] == "forward" and key[1] in self.inbox.order)
        ]
        if unsent:
            noun = "draft" if len(unsent) == 1 else "drafts"
            question.append(
                f"\n\n{len(unsent)} unsent forward or new-message {noun} will be lost.",
                style="bold yellow",
            )
        self.app.push_screen(ConfirmScreen(question, yes="Log out"), done)

    def action_close(self) -> None:
        self.with_detail("close")

    def flow_close(self, detail: InteractionDetail) -> None:
        from .confirm import ConfirmScreen

        client = one_line(detail.client_name.strip() or detail.client_email, 50)
        question = Text("Close the interaction with ")
        question.append(client, "bold")
        question.append("?\n")
        question.append(one_line(detail.subject, 60), style="dim")
        shown = self.thread.interaction_id == detail.id
        messages = self.thread.all_messages if shown else detail.messages
        if (waiting := unanswered(messages)) is not None:
            question.append(f"\n\n{client} has had no answer", style="bold yellow")
            question.append(f" to their mail of {local_stamp(waiting.created_at)}.")
        draft = self.draft_of(detail).strip()
        if draft:
            question.append("\n\nYour reply was never sent: ", style="bold yellow")
            question.append(f"“{one_line(draft, 80)}”", style="italic")
            question.append("\nClosing leaves it unsent.")

        def done(yes: bool | None) -> None:
            if yes:
                self.close_interaction(detail.id)

        yes = "Close unanswered" if waiting is not None else "Close"
        self.app.push_screen(ConfirmScreen(question, yes=yes), done)
