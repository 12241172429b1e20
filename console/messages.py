"""App-wide Textual messages: engine events and connection state turned into messages, and
what the screens' workers found.

The bridge worker posts the first to the screen that owns it; widgets never see the client.
Workers post the others to their screen when the engine answers, instead of returning a
result to be told apart by the worker's group. A worker whose failure its screen tells apart
from the others' also posts a typed failure, then raises: the screen's generic worker handler
still forwards the failure to the app, which turns it into one notification. Widget-specific
messages live in the widget that sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from engine.api.schemas import (
    AgentRow,
    BlacklistOut,
    CampaignOut,
    ChatLine,
    ChatSupervisor,
    ConnectionReport,
    DialerBoardRow,
    DialerStatus,
    DispositionStats,
    DispositionTree,
    Event,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    MailboxHealth,
    Me,
    MonitorSnapshot,
    PickQueue,
    RecordingChoices,
    RecordingPage,
    RenderOut,
    TemplateOut,
    UploadOut,
    UserOut,
)

if TYPE_CHECKING:
    from engine.client.client import EngineClient

    from .widgets.thread import ThreadView


@dataclass
class EngineEvent(Message):
    """One event from the engine's event stream."""

    event: Event


@dataclass
class EngineEvents(Message):
    """Events that arrived while the screen was busy, in order: one message for a burst
    (2,000 agents changing state a second is 2,000 events), not one each. The bridge keeps
    appending to `events` until the screen takes them (`taken`)."""

    events: list[Event]
    taken: bool = False


@dataclass
class EngineLost(Message):
    """The event stream dropped; the bridge is reconnecting with backoff."""

    reason: str


@dataclass
class EngineBack(Message):
    """The engine answers again: screens refetch their data, events resume."""


@dataclass
class WorkerFailed(Message):
    """A screen's worker failed; the app turns this into one error notification.

    Worker state messages do not bubble, so screens forward failures to the app with this.
    """

    worker: Worker[object]
    error: BaseException


# ---- what workers found: the agent screen's (screens/agent.py), the thread's (thread_screen.py)
# Each worker posts one of these when its call returns; the screen handles them with `@on`.
# They are for that screen only, not bubbling up to the app.
# Those about one interaction's thread carry the `ThreadView` that asked (`control`), so a
# handler can filter by it, as `@on(ThreadLoaded, "#thread")` does.


@dataclass
class InboxLoaded(Message, bubble=False):
    """The agent's open interactions, (re)loaded."""

    items: list[InteractionSummary]


@dataclass
class MeLoaded(Message, bubble=False):
    """Who I am and my status: (re)loaded, or as the engine answered a status change."""

    me: Me
    load: str | None = None  # the load it answers (`ModeScreen.load_started`), if any


@dataclass
class LimitsLoaded(Message, bubble=False):
    """The engine's limits: attachment size, break reasons."""

    limits: LimitsOut


@dataclass
class ThreadLoaded(Message, bubble=False):
    """An interaction's thread, fetched for `thread` (the view that will show it)."""

    thread: ThreadView
    detail: InteractionDetail
    load: str | None = None  # the load it answers (`ModeScreen.load_started`), if any

    @property
    def control(self) -> ThreadView:
        return self.thread


@dataclass
class DetailFetched(Message, bubble=False):
    """The detail an agent's action needed (the highlighted interaction was not shown in
    `thread`): `flow` goes on with it."""

    thread: ThreadView
    detail: InteractionDetail
    flow: Callable[[InteractionDetail], None]

    @property
    def control(self) -> ThreadView:
        return self.thread


@dataclass
class InteractionClosed(Message, bubble=False):
    """The engine closed an interaction at the agent's request (`thread`: the agent's)."""

    thread: ThreadView
    summary: InteractionSummary

    @property
    def control(self) -> ThreadView:
        return self.thread


# ---- what the admin screen's workers found (screens/admin.py)


@dataclass
class CampaignsLoaded(Message, bubble=False):
    """Every campaign, (re)loaded."""

    campaigns: list[CampaignOut]


@dataclass
class MailboxesLoaded(Message, bubble=False):
    """The health of every campaign's mailbox, (re)loaded."""

    mailboxes: list[MailboxHealth]


@dataclass
class UsersLoaded(Message, bubble=False):
    """Every user, (re)loaded."""

    users: list[UserOut]


@dataclass
class BreakReasonsLoaded(Message, bubble=False):
    """The break reasons agents choose from, (re)loaded."""

    reasons: list[str]


@dataclass
class CampaignTested(Message, bubble=False):
    """What testing a campaign's mail servers found."""

    report: ConnectionReport


# ---- templates: the picker's (screens/templates.py), the admin's (screens/template_admin.py)


@dataclass
class TemplatesLoaded(Message, bubble=False):
    """The templates, (re)loaded; `selected`: the one to put the cursor on, if any."""

    templates: list[TemplateOut]
    selected: int | None = None


@dataclass
class TemplatesNotLoaded(Message, bubble=False):
    """Loading the templates failed with `error`."""

    error: BaseException


@dataclass
class TemplateRendered(Message, bubble=False):
    """A template filled in by the engine for the interaction being written."""

    rendered: RenderOut


@dataclass
class TemplateSaved(Message, bubble=False):
    """The engine saved a template (added or replaced) as `template`."""

    template: TemplateOut


@dataclass
class TemplateDeleted(Message, bubble=False):
    """The engine deleted `template`."""

    template: TemplateOut


@dataclass
class TemplateNotDeleted(Message, bubble=False):
    """Deleting a template (or reloading the list after it) failed with `error`."""

    error: BaseException


# ---- writing mail (screens/compose_base.py)


@dataclass
class MailSent(Message, bubble=False):
    """The engine accepted the message being written: `detail`, the interaction now."""

    detail: InteractionDetail


@dataclass
class MailNotSent(Message, bubble=False):
    """Sending failed with `error` (the message stays on screen)."""

    error: BaseException


@dataclass
class FileUploaded(Message, bubble=False):
    """A chosen file is with the engine, to go with the message."""

    upload: UploadOut


@dataclass
class FileNotUploaded(Message, bubble=False):
    """Uploading a chosen file failed with `error`."""

    error: BaseException


# ---- chat and raised hands (screens/chat.py, screens/hand.py), searching (screens/search.py)


@dataclass
class ChatHistoryLoaded(Message, bubble=False):
    """The chat so far with `peer` (the engine counts these lines as read)."""

    peer: str
    lines: list[ChatLine]


@dataclass
class ChatLineSent(Message, bubble=False):
    """The engine took a chat line: `line`, as the other person gets it."""

    line: ChatLine


@dataclass
class HandRaised(Message, bubble=False):
    """A raised hand went to every supervisor on duty: one line each, the same words."""

    lines: list[ChatLine]


@dataclass
class ChatLineNotSent(Message, bubble=False):
    """Sending a chat line failed (the line goes back where it was typed)."""

    error: BaseException


@dataclass
class SupervisorsLoaded(Message, bubble=False):
    """The supervisors an agent may raise a hand to."""

    supervisors: list[ChatSupervisor]


@dataclass
class RecordingsFound(Message, bubble=False):
    """A page of the recordings search for `filters` (the fields as they were sent)."""

    filters: dict[str, object]
    page: RecordingPage


@dataclass
class RecordingsCounted(Message, bubble=False):
    """The exact count of a search whose page arrived with a capped one (`1-40 of 1,000+`),
    asked in the background after the page was shown."""

    filters: dict[str, object]
    page: RecordingPage


@dataclass
class RecordingChoicesLoaded(Message, bubble=False):
    """The campaigns and agents the search's pick lists offer."""

    choices: RecordingChoices


@dataclass
class PickQueueLoaded(Message, bubble=False):
    """What waits in the agent's pick-mode campaigns, (re)loaded."""

    queue: PickQueue


@dataclass
class InteractionTaken(Message, bubble=False):
    """The engine gave the agent the interaction they took from a pick-mode queue."""

    summary: InteractionSummary


# ---- the campaign form's (screens/campaign_form.py)


@dataclass
class CampaignSaved(Message, bubble=False):
    """The engine saved the campaign in the form (added or changed) as `campaign`."""

    campaign: CampaignOut


# ---- the supervisor screen's (screens/supervisor.py)


@dataclass
class MonitorLoaded(Message, bubble=False):
    """The whole monitor, (re)loaded: agents, the queue, campaign states and statistics."""

    snapshot: MonitorSnapshot


@dataclass
class AgentActedOn(Message, bubble=False):
    """The engine paused, resumed or logged out an agent at the supervisor's request:
    `agent`, their row now (the event follows)."""

    agent: AgentRow


# ---- moving work between people (flows/transfer.py, docs/transfer.md)


@dataclass
class InteractionTransferred(Message, bubble=False):
    """The engine handed the agent's interaction on to `words` (a colleague, a queue)."""

    summary: InteractionSummary
    words: str


# ---- the supervisor's dialer dashboard (screens/dialer_dashboard.py)


@dataclass
class DialerBoardLoaded(Message, bubble=False):
    """Every dialer with its campaign and its lists' counts, as the dashboard opens on."""

    rows: list[DialerBoardRow]


@dataclass
class DialerActed(Message, bubble=False):
    """The engine's answer to play or stop: the dialer's state now (its events follow)."""

    status: DialerStatus


# ---- wrap-up codes (screens/dispositions.py, the admin's editor; screens/wrapup.py, the close)


@dataclass
class CodesLoaded(Message, bubble=False):
    """A campaign's disposition codes: to edit (admin) or to choose from on a close (agent)."""

    tree: DispositionTree


@dataclass
class CodesSaved(Message, bubble=False):
    """The engine stored the admin's edited codes; `tree` as it keeps them."""

    tree: DispositionTree


@dataclass
class WrapupClosed(Message, bubble=False):
    """The engine closed the interaction with the agent's disposition and note."""

    summary: InteractionSummary


# ---- logging in (app.py)


@dataclass
class LoggedIn(Message, bubble=False):
    """The engine knows the person: `client` is their session, `me` who they are."""

    client: EngineClient
    me: Me


@dataclass
class LoginFailed(Message, bubble=False):
    """Logging in failed with `error` (the engine down, or the person unknown to it)."""

    error: BaseException


# ---- what a dialog's save worker got back: the dialog closes with it


@dataclass
class FileSaved(Message, bubble=False):
    """A file written where the person chose (an attachment, a CSV): `path`, as named."""

    path: Path


@dataclass
class CcBccSaved(Message, bubble=False):
    """The engine stored the interaction's CC and BCC: `detail`, the interaction now."""

    detail: InteractionDetail


@dataclass
class UserSaved(Message, bubble=False):
    """The engine added or changed the user."""

    user: UserOut


@dataclass
class BlacklistAdded(Message, bubble=False):
    """The engine added the address to the blacklist."""

    entry: BlacklistOut


@dataclass
class BreakReasonsSaved(Message, bubble=False):
    """The engine stored the break reasons, in its order."""

    reasons: list[str]


@dataclass
class DispositionsCounted(Message, bubble=False):
    """The closes per campaign and disposition over the period asked for."""

    stats: DispositionStats
