"""Wire schemas of the control API: every request body, response and event a console sees.

Consoles import only this module and `engine.client`; the engine validates every request with
these models, so one definition keeps both sides honest. Text in these models is untrusted
(it comes from mail); consoles must pass it through `engine.api.sanitize` before display.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

QUEUE_VIEW_LIMIT = 200  # waiting rows sent to supervisors; the total is sent apart

Role = Literal["agent", "supervisor", "admin"]
AgentStatus = Literal["offline", "free", "break", "paused"]
Security = Literal["tls", "starttls", "plain"]
Inbound = Literal["imap", "maildir", "none"]
InteractionState = Literal["queued", "assigned", "closed"]
Direction = Literal["inbound", "outbound"]
MessageState = Literal["received", "queued", "sending", "sent", "failed"]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True, defer_build=True)


class ErrorOut(Schema):
    error: str


class Me(Schema):
    username: str
    display_name: str
    roles: list[Role]
    status: AgentStatus
    status_reason: str
    status_since: datetime
    operator: bool = False  # the engine's own OS user or root: may act as any user
    campaigns: list[str] = Field(default_factory=list)  # campaigns this user is a member of


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_][a-z0-9_.-]*$")
    display_name: str = Field(default="", max_length=200)
    roles: list[Role] = Field(default_factory=lambda: list[Role](["agent"]))
    screen_monitoring_allowed: bool = False


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[Role]
    status: AgentStatus
    status_reason: str
    status_since: datetime
    campaigns: list[str] = Field(default_factory=list)


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    email_address: str = Field(min_length=3, max_length=320)
    from_name: str = ""
    enabled: bool = True
    receive_emails: bool = True
    inbound: Inbound = "imap"
    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Security = "tls"
    imap_username: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_sent_folder: str = ""  # when set, a copy of every sent mail is appended there
    maildir_path: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Security = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    tls_verify: bool = True
    max_interactions_per_agent: int = Field(default=5, ge=1, le=1000)
    max_interactions_in_queue: int = Field(default=0, ge=0)
    service_level_seconds: int = Field(default=3600, ge=1)


class CampaignPatch(Schema):
    """Fields to change on a campaign; anything left out stays as it is."""

    email_address: str | None = None
    from_name: str | None = None
    enabled: bool | None = None
    receive_emails: bool | None = None
    max_interactions_per_agent: int | None = Field(default=None, ge=1, le=1000)
    max_interactions_in_queue: int | None = Field(default=None, ge=0)
    service_level_seconds: int | None = Field(default=None, ge=1)
    imap_sent_folder: str | None = None
    signature_template: str | None = None  # a template name; "" removes it
    confirmation_enabled: bool | None = None
    confirmation_template: str | None = None  # a template name; "" removes it


class TemplateIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    campaign: str | None = None  # None: offered in every campaign
    kind: Literal["reply", "signature", "confirmation", "dialer"] = "reply"
    body_text: str = ""
    body_html: str = ""


class TemplateOut(Schema):
    id: int
    name: str
    campaign: str | None
    kind: str
    body_text: str
    body_html: str


class ConnectionCheck(Schema):
    service: Literal["imap", "smtp"]
    ok: bool
    step: str  # resolve, connect, tls, login, mailbox, done, skipped
    detail: str
    passed: list[str] = Field(default_factory=list)  # the steps that succeeded, in order


class ConnectionReport(Schema):
    campaign: str
    ok: bool  # the manual's green status
    checks: list[ConnectionCheck]


class CampaignOut(Schema):
    id: int
    name: str
    email_address: str
    from_name: str
    enabled: bool
    receive_emails: bool
    inbound: Inbound
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_username: str
    imap_folder: str
    imap_sent_folder: str = ""
    maildir_path: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str
    tls_verify: bool
    max_interactions_per_agent: int
    max_interactions_in_queue: int
    service_level_seconds: int
    signature_template: str | None = None
    confirmation_enabled: bool = False
    confirmation_template: str | None = None
    members: list[str] = Field(default_factory=list)


class MemberIn(Schema):
    campaign: str
    username: str


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    # Received larger than the inbound limit: listed, but only kept inside the original
    # message, so it cannot be downloaded or forwarded on its own.
    over_limit: bool = False


class MessageOut(Schema):
    id: int
    direction: Direction
    state: MessageState
    message_id: str
    from_email: str
    from_name: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    created_at: datetime
    sent_at: datetime | None
    error: str
    attachments: list[AttachmentOut] = Field(default_factory=list)
    # customer, auto_reply, bounce, complaint, list or own: automated mail is shown apart
    kind: str = "customer"


class InteractionSummary(Schema):
    id: int
    campaign_id: int
    campaign_name: str
    client_email: str
    client_name: str
    subject: str
    state: InteractionState
    agent: str | None
    unread: bool
    queued_at: datetime
    assigned_at: datetime | None
    closed_at: datetime | None
    last_message_at: datetime
    message_count: int
    linked_interaction_id: int | None = None  # a non-participant's mail points here


class InteractionDetail(InteractionSummary):
    cc: list[str]
    bcc: list[str]
    messages: list[MessageOut]
    draft: str = ""


class ReplyIn(Schema):
    body: str = Field(max_length=1_000_000)
    with_history: bool = False
    uploads: list[str] = Field(default_factory=list)  # tokens from POST /uploads


class UploadOut(Schema):
    token: str
    filename: str
    size: int
    content_type: str


class CcBccIn(Schema):
    """The interaction's CC/BCC as typed: comma- or semicolon-separated addresses."""

    cc: str = ""
    bcc: str = ""


class ForwardIn(Schema):
    to: str = Field(min_length=3)  # one or more addresses, comma-separated
    cc: str = ""
    bcc: str = ""
    text: str = Field(default="", max_length=1_000_000)  # added above the forwarded message
    message_id: int | None = None  # the message to forward; default: the newest inbound one
    attachment_ids: list[int] | None = None  # originals to carry; None: all of them
    uploads: list[str] = Field(default_factory=list)


class NewInteractionIn(Schema):
    campaign: str
    to: str = Field(min_length=3)
    cc: str = ""
    bcc: str = ""
    subject: str = Field(max_length=998)
    body: str = Field(default="", max_length=1_000_000)
    uploads: list[str] = Field(default_factory=list)


class DraftIn(Schema):
    text: str = Field(max_length=1_000_000)


class RenderIn(Schema):
    template_id: int
    interaction_id: int | None = None


class RenderOut(Schema):
    text: str
    unknown: list[str]  # ${variables} left unfilled: warn before sending


class LimitsOut(Schema):
    max_attachment_bytes: int
    break_reasons: list[str]


class BreakReasonList(Schema):
    """The whole ordered list; the engine checks each entry and names the first bad one."""

    reasons: list[str]


class StatusIn(Schema):
    status: Literal["free", "break"]
    reason: str = Field(default="", max_length=100)


class AgentRow(Schema):
    username: str
    display_name: str
    status: AgentStatus
    status_reason: str
    status_since: datetime
    active: int
    completed: int


class QueueRow(Schema):
    interaction_id: int
    campaign_name: str
    client_email: str
    queued_at: datetime


class MonitorSnapshot(Schema):
    agents: list[AgentRow]
    queue: list[QueueRow]  # the longest-waiting ones, at most QUEUE_VIEW_LIMIT
    queue_total: int


class BlacklistOut(Schema):
    email: str
    reason: str
    created_at: datetime


class QuarantineOut(Schema):
    id: int
    campaign: str | None
    error: str
    size: int
    imap_uid: int | None
    created_at: datetime


class QuarantineDetail(QuarantineOut):
    raw: str  # the stored bytes decoded as UTF-8 with replacement: untrusted, sanitise


class RetryOut(Schema):
    quarantine_id: int
    ingested: bool
    interaction_id: int | None
    error: str


# ---- events (one NDJSON stream per console; the engine filters them by role) ----


class InteractionChanged(Schema):
    """An interaction was created, assigned, got a message, or closed."""

    type: Literal["interaction"] = "interaction"
    interaction: InteractionSummary


class AgentChanged(Schema):
    type: Literal["agent"] = "agent"
    agent: AgentRow


class QueueChanged(Schema):
    type: Literal["queue"] = "queue"
    queue: list[QueueRow]  # the longest-waiting ones, at most QUEUE_VIEW_LIMIT
    total: int


class MessageChanged(Schema):
    """A message was added to an interaction or its delivery state changed."""

    type: Literal["message"] = "message"
    interaction_id: int
    agent: str | None
    message: MessageOut


class Hello(Schema):
    """First event of every stream: from here on nothing is missed, so (re)load now."""

    type: Literal["hello"] = "hello"
    username: str


Event = Annotated[
    Hello | InteractionChanged | AgentChanged | QueueChanged | MessageChanged,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
