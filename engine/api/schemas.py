"""Wire schemas of the control API: every request body, response and event a console sees.

Consoles import only this module and `engine.client`; the engine validates every request with
these structs, so one definition keeps both sides honest. Text in these structs is untrusted
(it comes from mail); consoles must pass it through `engine.text.sanitize` before display.

They are msgspec structs rather than pydantic models: a console imports them at start, and
msgspec costs ~12 ms there against ~170 ms for pydantic and the models (the console's cold
start is measured by `bench/console`). Constructing a struct does not validate it; decoding
does, so the engine checks every request body by decoding it (`decode`), and so does the
client with every answer.

One module over 500 lines on purpose: it is the whole wire contract, read top to bottom by
whoever changes either side, and a console imports it whole at start anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec
from msgspec import Meta, Struct, field

# The template-variable syntax and names belong to the domain; consoles read them from here.

QUEUE_VIEW_LIMIT = 200  # waiting rows sent to supervisors; the total is sent apart

Role = Literal["agent", "supervisor", "admin"]
AgentStatus = Literal["offline", "free", "break", "paused"]
# What the grid shows (the manual's states), derived by the engine from the status and work.
AgentState = Literal["offline", "free", "busy", "free_on_break", "busy_on_break", "paused"]
Level = Literal["ok", "warning", "critical"]
Security = Literal["tls", "starttls", "plain"]
Inbound = Literal["imap", "maildir", "none"]
InteractionState = Literal["queued", "assigned", "closed"]
Direction = Literal["inbound", "outbound"]
MessageState = Literal["received", "queued", "sending", "sent", "failed"]
# A campaign's routing strategy (engine/domain/routing.py, docs/strategies.md): who may
# receive, and in what order members are chosen.
Availability = Literal["one", "up-to-max", "pick-one", "pick-many"]
Delivery = Literal[
    "least-active", "round-robin", "linear", "weighted-random", "least-recent", "fewest-completed"
]
Penalty = Annotated[int, Meta(ge=0, le=100)]
# What happens to a logged-out agent's open work (docs/transfer.md), and after how long.
OnLogout = Literal["keep", "requeue"]
RequeueMinutes = Annotated[int, Meta(ge=0, le=10_080)]  # up to a week
Position = Annotated[int, Meta(ge=1, le=100_000)]

Port = Annotated[int, Meta(ge=1, le=65535)]
PerAgent = Annotated[int, Meta(ge=1, le=1000)]
NotNegative = Annotated[int, Meta(ge=0)]
Positive = Annotated[int, Meta(ge=1)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HourMinute = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z")]  # 00:00-23:59
MaybeHourMinute = Annotated[str, Meta(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?\Z")]
TimeZoneName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+\Z")]
LongText = Annotated[str, Meta(max_length=1_000_000)]
Addresses = Annotated[str, Meta(min_length=3)]  # one or more addresses, comma-separated

# An OS login name (agents are recognised by their uid's name). `\Z`, not `$`: msgspec
# searches with Python's `re`, where `$` also matches before a final newline.
LOGIN_NAME = r"^[a-z_][a-z0-9_.-]*\Z"
# Text that becomes one line of a mail header or a name on a screen (subjects, names, file
# names, servers): none of the characters that break a line once the mail library has
# decoded it (CR, LF, NUL, every other C0/C1 control; VT, FF, FS-US, NEL, U+2028 and U+2029
# are where str.splitlines, and so the library's folder, breaks lines), and no bidi control
# that would make the line read other than it is. The compose layer refuses them as well;
# refusing them here tells the person at once, under the field, instead of a send failing.
_LINE_BREAKERS = r"\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029"
_BIDI_CONTROLS = r"\u200e\u200f\u202a-\u202e\u2066-\u2069"
ONE_LINE = rf"^[^{_LINE_BREAKERS}{_BIDI_CONTROLS}]*\Z"
# A media type as an attachment's Content-Type: `type/subtype` restricted names (RFC 6838
# 4.2, within RFC 2045's tokens), no parameters. The same rule the message builder applies,
# so an accepted upload never fails later, when it is sent. Empty: application/octet-stream.
MEDIA_TYPE = r"(?i)^(?:[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126})?\Z"
# Row ids are INTEGER columns: 64-bit on SQLite but 32-bit on PostgreSQL, so the largest id
# both can hold is the largest that names anything; a larger number is answered "not found".
ID_MAX = 2**31 - 1

Id = Annotated[int, Meta(ge=1, le=ID_MAX)]
OneLine = Annotated[str, Meta(pattern=ONE_LINE)]
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
DisplayName = Annotated[str, Meta(max_length=200, pattern=ONE_LINE)]
EmailAddress = Annotated[str, Meta(min_length=3, max_length=320, pattern=ONE_LINE)]
# The campaign's "Motivation to qualify": one line above a reply's rating links.
Motivation = Annotated[str, Meta(max_length=200, pattern=ONE_LINE)]
ThanksText = Annotated[str, Meta(max_length=2000)]

S = TypeVar("S")


class Schema(Struct, forbid_unknown_fields=True):
    """Base of every wire struct: unknown fields refused.

    Every struct is declared `kw_only=True` (msgspec does not inherit it): construction by
    keyword, as the wire names them, and defaults may come before required fields.
    """


class SchemaError(ValueError):
    """A body that does not fit its schema, said as `field: problem`."""


def decode(data: bytes | str, schema: type[S]) -> S:
    """Parse and validate JSON as `schema` (a struct or e.g. `list[...]`)."""
    try:
        return msgspec.json.decode(data, type=schema)
    except msgspec.ValidationError as exc:
        raise SchemaError(_readable(str(exc))) from exc
    except msgspec.DecodeError as exc:
        raise SchemaError(f"body: not valid JSON ({str(exc).lower()})") from exc


def convert(data: Any, schema: type[S], *, lax: bool = False) -> S:
    """Validate already-parsed data (or objects with attributes) as `schema`; `lax` also
    accepts numbers and booleans written as text, as command-line flags give them."""
    try:
        return msgspec.convert(data, schema, from_attributes=True, strict=not lax)
    except msgspec.ValidationError as exc:
        raise SchemaError(_readable(str(exc))) from exc


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def as_roles(names: Iterable[str]) -> list[Role]:
    """Roles as the data layer stores them (text it only ever gets from `Role` values)."""
    return cast("list[Role]", list(names))


def to_builtins(value: Any) -> Any:
    """Plain JSON-ready data (dicts, lists, strings), as for `--json` output."""
    return msgspec.to_builtins(value)


def _at_least(match: re.Match[str]) -> str:
    count = int(match[1])
    return f"must be at least {count} character{'s' if count != 1 else ''}"


def _at_most(match: re.Match[str]) -> str:
    count = int(match[1])
    return f"must be at most {count} character{'s' if count != 1 else ''}"


_KINDS = {"int": "a whole number", "str": "text", "bool": "true or false", "array": "a list"}
_PHRASES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Expected `str` of length >= (\d+)"), _at_least),
    (re.compile(r"Expected `str` of length <= (\d+)"), _at_most),
    (
        re.compile(r"Expected `str` matching regex " + re.escape(repr(LOGIN_NAME))),
        "must be a login name: lower-case letters, digits, '.', '_' or '-', "
        "not starting with a digit",
    ),
    (
        re.compile(r"Expected `str` matching regex " + re.escape(repr(ONE_LINE))),
        "must be one line of text: no line breaks, control characters or bidi controls",
    ),
    (
        re.compile(r"Expected `str` matching regex " + re.escape(repr(MEDIA_TYPE))),
        "must be a media type such as text/plain or application/pdf (type/subtype)",
    ),
    (re.compile(r"Expected `str` matching regex (.*)"), r"must match \1"),
    (re.compile(r"Expected `array` of length >= (\d+)"), r"must have at least \1 entry"),
    (re.compile(r"Expected `int` >= (-?\d+)"), r"must be at least \1"),
    (re.compile(r"Expected `int` <= (-?\d+)"), r"must be at most \1"),
    (
        re.compile(r"Expected `(int|str|bool|array)(?: \| null)?`, got `\w+`"),
        lambda m: f"must be {_KINDS[m[1]]}",
    ),
    (re.compile(r"Object missing required field `(.*)`"), r"\1: required"),
    (re.compile(r"Object contains unknown field `(.*)`"), r"\1: unknown field"),
    (re.compile(r"Invalid enum value (.*)"), r"\1 is not one of the allowed values"),
]


def _readable(message: str) -> str:
    """msgspec's "Expected `int` >= 1 - at `$.imap_port`" as "imap_port: must be at least 1".

    The field comes first so forms can put the message under the field it names."""
    text, _, where = message.rpartition(" - at ")
    if not text:
        text, where = message, ""
    for pattern, phrase in _PHRASES:
        if pattern.fullmatch(text):
            text = pattern.sub(phrase, text)
            break
    path = where.strip("`").removeprefix("$").lstrip(".")
    path = path.replace("[", ".").replace("]", "")
    return f"{path}: {text}" if path else text


class ErrorOut(Schema, kw_only=True):
    error: str


class CampaignLoad(Schema, kw_only=True):
    """One of an agent's campaigns as the agent sees it: how many of its interactions they
    hold, how many they may hold at once (the campaign's availability and maximum), and how
    many customers wait in its queue."""

    name: str
    open: int
    capacity: int
    waiting: int
    pick: bool = False  # agents take its work themselves (`t`)


class Me(Schema, kw_only=True):
    username: str
    display_name: str
    roles: list[Role]
    status: AgentStatus
    status_reason: str
    status_since: datetime
    operator: bool = False  # the engine's own OS user or root: may act as any user
    campaigns: list[str] = field(default_factory=list)  # campaigns this user is a member of
    load: list[CampaignLoad] = field(default_factory=list)  # those campaigns, by name


class UserIn(Schema, kw_only=True):
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=LOGIN_NAME)]
    display_name: DisplayName = ""
    roles: list[Role] = field(default_factory=lambda: list[Role](["agent"]))
    screen_monitoring_allowed: bool = False


class UserOut(Schema, kw_only=True):
    id: int
    username: str
    display_name: str
    roles: list[Role]
    status: AgentStatus
    status_reason: str
    status_since: datetime
    campaigns: list[str] = field(default_factory=list)
    screen_monitoring_allowed: bool = False


class UserPatch(Schema, omit_defaults=True, kw_only=True):
    """What an admin changes on a user; left out (None) stays. The login name never changes:
    it is how the engine recognises the person's OS account."""

    display_name: DisplayName | None = None
    roles: Annotated[list[Role], Meta(min_length=1)] | None = None
    screen_monitoring_allowed: bool | None = None


class ScheduleWindow(Schema, kw_only=True):
    """Open on these days from `start` until `end` in the campaign's time zone; an end at or
    before the start runs past midnight (22:00-06:00), "00:00" as an end is midnight."""

    days: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]
    start: HourMinute
    end: HourMinute


class ScheduleExceptionIn(Schema, kw_only=True):
    """A date that does not follow the weekly windows: closed all day (no start and end, a
    holiday) or open only from `start` to `end` (special opening hours)."""

    day: date
    start: MaybeHourMinute = ""
    end: MaybeHourMinute = ""
    note: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] = ""


MAX_SCHEDULE_ROWS = 500


class CampaignIn(Schema, kw_only=True):
    name: Name
    email_address: EmailAddress
    from_name: OneLine = ""
    enabled: bool = True
    receive_emails: bool = True
    inbound: Inbound = "imap"
    imap_host: OneLine = ""
    imap_port: Port = 993
    imap_security: Security = "tls"
    imap_username: OneLine = ""
    imap_password: str = ""
    imap_folder: OneLine = "INBOX"
    imap_sent_folder: OneLine = ""  # when set, a copy of every sent mail is appended there
    maildir_path: OneLine = ""
    smtp_host: OneLine = ""
    smtp_port: Port = 587
    smtp_security: Security = "starttls"
    smtp_username: OneLine = ""
    smtp_password: str = ""
    tls_verify: bool = True
    max_interactions_per_agent: PerAgent = 5
    max_interactions_in_queue: NotNegative = 0
    service_level_seconds: Positive = 3600
    time_zone: TimeZoneName = "UTC"
    schedule: Annotated[list[ScheduleWindow], Meta(max_length=MAX_SCHEDULE_ROWS)] = field(
        default_factory=list
    )  # no window: always open
    schedule_exceptions: Annotated[
        list[ScheduleExceptionIn], Meta(max_length=MAX_SCHEDULE_ROWS)
    ] = field(default_factory=list)
    availability: Availability = "up-to-max"
    delivery: Delivery = "least-active"
    # The manual's "Enable qualification": replies carry rating links under this text
    # ("Motivation to qualify"); the page thanks with `qualification_thanks`.
    qualification_enabled: bool = False
    qualification_motivation: Motivation = ""
    qualification_thanks: ThanksText = ""
    track_replies: bool = False  # a tracking image in every reply (seen time and count)
    # A logged-out agent's open work: kept for them, or back to the queue after N minutes.
    on_logout: OnLogout = "keep"
    requeue_after: RequeueMinutes = 15
    # Try the IMAP and SMTP logins before saving (engine/services/admin/login_check.py);
    # False saves without trying, for servers not reachable yet (`ctl campaign add --no-check`).
    check: bool = True


class CampaignPatch(Schema, omit_defaults=True, kw_only=True):
    """Fields to change on a campaign; anything left out (None) stays as it is and is not sent.

    Passwords are write-only: left out, the saved one stays; "" removes it (a server that
    needs no login)."""

    email_address: EmailAddress | None = None
    from_name: OneLine | None = None
    enabled: bool | None = None
    receive_emails: bool | None = None
    inbound: Inbound | None = None
    imap_host: OneLine | None = None
    imap_port: Port | None = None
    imap_security: Security | None = None
    imap_username: OneLine | None = None
    imap_password: str | None = None
    imap_folder: OneLine | None = None
    imap_sent_folder: OneLine | None = None
    maildir_path: OneLine | None = None
    smtp_host: OneLine | None = None
    smtp_port: Port | None = None
    smtp_security: Security | None = None
    smtp_username: OneLine | None = None
    smtp_password: str | None = None
    tls_verify: bool | None = None
    max_interactions_per_agent: PerAgent | None = None
    max_interactions_in_queue: NotNegative | None = None
    service_level_seconds: Positive | None = None
    availability: Availability | None = None
    delivery: Delivery | None = None
    signature_template: str | None = None  # a template name; "" removes it
    confirmation_enabled: bool | None = None
    confirmation_template: str | None = None  # a template name; "" removes it
    # Schedules: each list given replaces the whole list ([] removes every window).
    time_zone: TimeZoneName | None = None
    schedule: Annotated[list[ScheduleWindow], Meta(max_length=MAX_SCHEDULE_ROWS)] | None = None
    schedule_exceptions: (
        Annotated[list[ScheduleExceptionIn], Meta(max_length=MAX_SCHEDULE_ROWS)] | None
    ) = None
    out_of_hours_template: str | None = None  # a template name; "" removes it
    # Queue limit: where interactions over max_interactions_in_queue go ("": held as overflow)
    overflow_campaign: str | None = None
    busy_template: str | None = None  # a template name; "" removes it
    qualification_enabled: bool | None = None
    qualification_motivation: Motivation | None = None
    qualification_thanks: ThanksText | None = None
    track_replies: bool | None = None
    on_logout: OnLogout | None = None
    requeue_after: RequeueMinutes | None = None
    # A change to how it logs in is tried first unless this is False (see CampaignIn.check).
    check: bool | None = None


class TemplateIn(Schema, kw_only=True):
    name: Name
    campaign: str | None = None  # None: offered in every campaign
    kind: Literal["reply", "signature", "confirmation", "dialer"] = "reply"
    body_text: str = ""
    body_html: str = ""


class TemplateOut(Schema, kw_only=True):
    id: int
    name: str
    campaign: str | None
    kind: str
    body_text: str
    body_html: str


class ConnectionCheck(Schema, kw_only=True):
    service: Literal["imap", "smtp"]
    ok: bool
    step: str  # resolve, connect, tls, login, mailbox, done, skipped
    detail: str
    passed: list[str] = field(default_factory=list)  # the steps that succeeded, in order


class ConnectionReport(Schema, kw_only=True):
    campaign: str
    ok: bool  # the manual's green status
    checks: list[ConnectionCheck]


class CampaignOut(Schema, kw_only=True):
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
    imap_password_set: bool = False  # passwords never leave the engine; only whether one is set
    smtp_password_set: bool = False
    max_interactions_per_agent: int
    max_interactions_in_queue: int
    service_level_seconds: int
    signature_template: str | None = None
    confirmation_enabled: bool = False
    confirmation_template: str | None = None
    members: list[str] = field(default_factory=list)
    time_zone: str = "UTC"
    schedule: list[ScheduleWindow] = field(default_factory=list)
    schedule_exceptions: list[ScheduleExceptionIn] = field(default_factory=list)
    out_of_hours_template: str | None = None
    overflow_campaign: str | None = None  # None: held as overflow in its own queue
    busy_template: str | None = None
    availability: Availability = "up-to-max"
    delivery: Delivery = "least-active"
    # The members in their order on the campaign, with their penalty.
    member_settings: list[MemberOut] = field(default_factory=list)
    qualification_enabled: bool = False
    qualification_motivation: str = ""
    qualification_thanks: str = ""
    track_replies: bool = False
    on_logout: OnLogout = "keep"
    requeue_after: int = 15


class MemberIn(Schema, kw_only=True):
    campaign: str
    username: str


class MemberOut(Schema, kw_only=True):
    username: str
    position: int
    penalty: int


class MemberPatch(Schema, omit_defaults=True, kw_only=True):
    """A member's routing settings on one campaign; left out (None) stays. A new position
    moves the member there and the others after it down one."""

    campaign: str
    username: str
    penalty: Penalty | None = None
    position: Position | None = None


class PickQueue(Schema, kw_only=True):
    """What waits in the caller's pick-mode campaigns (`campaigns`; empty: none), the
    longest waiting first (at most QUEUE_VIEW_LIMIT; `total` counts them all)."""

    campaigns: list[str]
    waiting: list[InteractionSummary]
    total: int


class AttachmentOut(Schema, kw_only=True):
    id: int
    filename: str
    content_type: str
    size: int
    # Received larger than the inbound limit: listed, but only kept inside the original
    # message, so it cannot be downloaded or forwarded on its own.
    over_limit: bool = False


class MessageOut(Schema, kw_only=True):
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
    attachments: list[AttachmentOut] = field(default_factory=list)
    # Inbound: customer, auto_reply, bounce, complaint, list or own (automated mail is shown
    # apart); outbound: reply, forward, new, confirmation or dialer.
    kind: str = "customer"
    # Outbound only (a received mail's BCC is not in it): whom we sent a blind copy.
    bcc: list[str] = field(default_factory=list)
    # Outbound still queued: how often the server put it off (`error` says why) and when the
    # outbox tries again.
    attempts: int = 0
    next_attempt_at: datetime | None = None
    # Outbound with a public token: the customer's rating (1-5), and how often its tracking
    # image was fetched (first at `seen_at`); see docs/web.md for what that number means.
    rating: int | None = None
    rated_at: datetime | None = None
    seen_count: int = 0
    seen_at: datetime | None = None


class InteractionSummary(Schema, kw_only=True):
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
    # When its first mail came (never moves; `queued_at` does on a reopen): the search's
    # "Started" column and sort. None only from an engine older than the field.
    created_at: datetime | None = None
    disposition: str = ""  # the last close's code, as search results show it (docs/wrapup.md)


class InteractionDetail(InteractionSummary, kw_only=True):
    cc: list[str]
    bcc: list[str]
    messages: list[MessageOut]
    draft: str = ""
    # Internal notes (transfers, reassignments, notes), oldest first: never sent in mail.
    notes: list[NoteOut] = field(default_factory=list)
    wrapups: list[WrapupOut] = field(default_factory=list)  # internal: never in a mail

    @property
    def arrived_at(self) -> datetime:
        """When its first mail came: `queued_at` moves when a closed one is reopened."""
        return min((m.created_at for m in self.messages), default=self.queued_at)


class ReplyIn(Schema, kw_only=True):
    body: LongText
    with_history: bool = False
    uploads: list[str] = field(default_factory=list)  # tokens from POST /uploads


class UploadQuery(Schema, kw_only=True):
    """The query of `POST /uploads` (the body is the file itself)."""

    filename: Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)]
    content_type: Annotated[str, Meta(pattern=MEDIA_TYPE)] = ""


class UploadOut(Schema, kw_only=True):
    token: str
    filename: str
    size: int
    content_type: str


class CcBccIn(Schema, kw_only=True):
    """The interaction's CC/BCC as typed: comma- or semicolon-separated addresses."""

    cc: str = ""
    bcc: str = ""


class ForwardIn(Schema, kw_only=True):
    to: Addresses
    cc: str = ""
    bcc: str = ""
    text: LongText = ""  # added above the forwarded message
    message_id: Id | None = None  # the message to forward; default: the newest inbound one
    attachment_ids: list[Id] | None = None  # originals to carry; None: all of them
    uploads: list[str] = field(default_factory=list)


class NewInteractionIn(Schema, kw_only=True):
    campaign: str
    to: Addresses
    cc: str = ""
    bcc: str = ""
    subject: Annotated[str, Meta(max_length=998, pattern=ONE_LINE)]
    body: LongText = ""
    uploads: list[str] = field(default_factory=list)


class DraftIn(Schema, kw_only=True):
    text: LongText


class RenderIn(Schema, kw_only=True):
    template_id: Id
    interaction_id: Id | None = None


class RenderOut(Schema, kw_only=True):
    text: str
    unknown: list[str]  # ${variables} left unfilled: warn before sending


class LimitsOut(Schema, kw_only=True):
    max_attachment_bytes: int
    break_reasons: list[str]


class BreakReasonList(Schema, kw_only=True):
    """The whole ordered list; the engine checks each entry and names the first bad one."""

    reasons: list[str]


class StatusIn(Schema, kw_only=True):
    status: Literal["free", "break"]
    reason: Annotated[str, Meta(max_length=100)] = ""


class AgentRow(Schema, kw_only=True):
    username: str
    display_name: str
    status: AgentStatus
    status_reason: str
    status_since: datetime
    active: int
    completed: int  # closed today (UTC day), inbound and outbound
    state: AgentState | None = None  # None from an engine that does not derive it
    completed_in: int = 0
    completed_out: int = 0
    campaigns: list[str] = []
    # Customers' ratings of the agent's replies (all time): how many, their average.
    rating_count: int = 0
    rating_average: float | None = None


class QueueRow(Schema, kw_only=True):
    interaction_id: int
    campaign_name: str
    client_email: str
    queued_at: datetime


class CampaignStats(Schema, kw_only=True):
    """One campaign's row of the statistics panel, over a period (live: today, from midnight
    in the campaign's time zone).

    `sl_within / sl_counted` is the service level (docs/statistics.md); `sl_percent` is None
    while nothing counts. Waiting, longest wait, agents and active are now, whatever the
    period. The thresholds come along so a console colours waits as they grow."""

    campaign_id: int
    name: str
    service_level_seconds: int
    warning_seconds: int
    critical_seconds: int
    waiting: int
    oldest_queued_at: datetime | None
    agents: dict[AgentState, int]  # members in each state (every state present)
    active: int
    answered: int  # first answers an agent gave in the period
    sl_within: int
    sl_counted: int
    sl_percent: float | None
    sl_level: Level  # how the SL% cell is coloured (the longest wait against the thresholds)
    avg_first_response_seconds: float | None
    completed_in: int
    completed_out: int
    # Customers' ratings given in the period (the public web service): how many, average.
    rating_count: int = 0
    rating_average: float | None = None


class StatsQuery(Schema, kw_only=True):
    """`GET /stats?since=&until=`: interactions that arrived (and answers and closes that
    happened) in [since, until); both absent: today, each campaign in its own time zone."""

    since: datetime | None = None
    until: datetime | None = None


class StatsOut(Schema, kw_only=True):
    since: datetime
    until: datetime
    at: datetime  # when it was counted (what "still waiting past the deadline" is against)
    campaigns: list[CampaignStats]


class StatusChangeOut(Schema, kw_only=True):
    status: AgentStatus
    reason: str
    at: datetime
    by: str | None  # who changed it when not the agent (a supervisor, the engine)


class AgentInfo(Schema, kw_only=True):
    """The manual's "Info" window about one agent, today (UTC day)."""

    username: str
    display_name: str
    roles: list[Role]
    campaigns: list[str]
    row: AgentRow
    history: list[StatusChangeOut]  # today's changes, oldest first
    active: list[InteractionSummary]
    avg_handling_seconds: float | None  # of the interactions they closed today
    logged_in_seconds: float  # today, in any status but Offline
    screen_monitoring_allowed: bool


MailboxState = Literal["connected", "connecting", "failing", "off"]


class MailboxHealth(Schema, kw_only=True):
    """Whether a campaign's mailbox is being read: "connected", "connecting", "failing"
    (the engine retries; `error` says why) or "off" (disabled, or it receives no mail)."""

    campaign_id: int
    campaign_name: str
    state: MailboxState
    since: datetime  # in this state since
    error: str = ""  # the last failure, in the server's or the system's words


class CampaignState(Schema, kw_only=True):
    """A campaign as the supervisor sees it: open or not now, and how many are held."""

    name: str
    in_schedule: bool = True
    overflow: int = 0  # interactions held over the queue limit
    next_change: datetime | None = None  # when in_schedule flips (None: not soon)


class MonitorSnapshot(Schema, kw_only=True):
    agents: list[AgentRow]
    queue: list[QueueRow]  # the longest-waiting ones, at most QUEUE_VIEW_LIMIT
    queue_total: int
    campaigns: list[CampaignState] = field(default_factory=list)
    stats: StatsOut | None = None  # the campaign statistics panel, today


class BlacklistOut(Schema, kw_only=True):
    email: str
    reason: str
    created_at: datetime
    source: str = ""  # complaint, unsubscribe-link, one-click, mailto, manual
    campaign: str | None = None  # the one campaign it applies to; None: all campaigns


class BlacklistIn(Schema, kw_only=True):
    """An admin's entry: for one campaign, or (no campaign) for all."""

    email: EmailAddress
    campaign: str | None = None
    reason: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] = ""


class BlacklistQuery(Schema, kw_only=True):
    search: Annotated[str, Meta(max_length=320)] = ""


class BlacklistRemove(Schema, kw_only=True):
    email: EmailAddress
    campaign: str | None = None


class RatingOut(Schema, kw_only=True):
    """One customer rating of one outgoing message (`ctl ratings`, its CSV)."""

    rated_at: datetime
    score: int
    campaign: str
    agent: str | None
    interaction_id: int
    message_id: int
    client_email: str


class AgentRatings(Schema, kw_only=True):
    """Ratings of one agent's replies: how many, and their average."""

    agent: str
    display_name: str
    count: int
    average: float


class CampaignRatings(Schema, kw_only=True):
    """A campaign's statistics of ratings in a period: how many, their average."""

    campaign: str
    count: int
    average: float


class RatingsQuery(Schema, kw_only=True):
    """Which ratings: of one campaign, from and before a date (UTC, inclusive-exclusive)."""

    campaign: OneLine = ""
    since: datetime | None = None
    until: datetime | None = None


class QuarantineOut(Schema, kw_only=True):
    id: int
    campaign: str | None
    error: str
    size: int
    imap_uid: int | None
    created_at: datetime


class QuarantineDetail(QuarantineOut, kw_only=True):
    raw: str  # the stored bytes decoded as UTF-8 with replacement: untrusted, sanitise


class ChatIn(Schema, kw_only=True):
    """A line of the chat between a supervisor and an agent (the manual's "Chat with agent")."""

    to: str
    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class ChatLine(Schema, kw_only=True):
    id: int
    sender: str
    sender_name: str
    recipient: str
    text: str  # untrusted (typed by a person): sanitise before display
    at: datetime


class HandIn(Schema, kw_only=True):
    """An agent's raised hand: a line to every supervisor of their campaigns on duty."""

    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class ChatReadIn(Schema, kw_only=True):
    """The caller has seen every line `peer` sent them (a chat with them is open)."""

    peer: str


class ChatSupervisor(Schema, kw_only=True):
    """A supervisor an agent may raise a hand to; on duty: their console is open."""

    username: str
    display_name: str  # untrusted (typed by an admin): sanitise before display
    on_duty: bool


class RetryOut(Schema, kw_only=True):
    quarantine_id: int
    ingested: bool
    interaction_id: int | None
    error: str


# ---- events (one NDJSON stream per console; the engine filters them by role) ----


class _Event(Schema, tag_field="type"):
    """Events carry their kind in `"type"`, which picks the struct when decoding."""


class InteractionChanged(_Event, tag="interaction", kw_only=True):
    """An interaction was created, assigned, got a message, or closed."""

    interaction: InteractionSummary


class AgentChanged(_Event, tag="agent", kw_only=True):
    agent: AgentRow


class PickQueueChanged(_Event, tag="pick-queue", kw_only=True):
    """Something entered or left the queue of a pick-mode campaign: its agents reload what
    they may take (`GET /pick`). It names nothing, so every agent may hear it."""


class WaitingChanged(_Event, tag="waiting", kw_only=True):
    """How many customers wait in one campaign's queue now (sent when it changes): the
    campaign's members and the supervisors hear it."""

    campaign: str
    waiting: int


class CampaignsChanged(_Event, tag="campaigns", kw_only=True):
    """A campaign's routing or its members changed (availability, maximum, schedule, who
    belongs): agents reload what they may hold and take. It names nothing."""


class QueueChanged(_Event, tag="queue", kw_only=True):
    queue: list[QueueRow]  # the longest-waiting ones, at most QUEUE_VIEW_LIMIT
    total: int
    campaigns: list[CampaignState] = field(default_factory=list)


class StatsChanged(_Event, tag="stats", kw_only=True):
    """Today's campaign statistics, counted again (supervisors and admins only)."""

    stats: StatsOut


class MessageChanged(_Event, tag="message", kw_only=True):
    """A message was added to an interaction or its delivery state changed."""

    interaction_id: int
    agent: str | None
    message: MessageOut


class Hello(_Event, tag="hello", kw_only=True):
    """First event of every stream: from here on nothing is missed, so (re)load now."""

    username: str
    # Seconds: the engine writes an empty line after this long without an event for this
    # console, so a stream silent for longer than that has lost its engine. 0: not said.
    heartbeat: float = 0.0


class ChatSaid(_Event, tag="chat", kw_only=True):
    """A chat line, sent to its sender and its recipient only (not to other supervisors)."""

    line: ChatLine


class MailboxChanged(_Event, tag="mailbox", kw_only=True):
    """A campaign's mailbox connected, failed or was turned off (supervisors and admins)."""

    mailbox: MailboxHealth


class LoggedOut(_Event, tag="logout", kw_only=True):
    """A supervisor ended this agent's session: the agent's consoles leave."""

    username: str
    by: str  # the supervisor's display name


# ---- moving work between people (docs/transfer.md) ----

NoteKind = Literal["note", "transfer", "reassign"]
NoteText = Annotated[str, Meta(max_length=4000)]


class NoteOut(Schema, kw_only=True):
    """An internal note in a thread: agents and supervisors see it, customers never do."""

    id: int
    kind: NoteKind
    author: str | None  # login; None: the engine (a requeue after a log-out)
    author_name: str  # display name, or "Postdesk"
    target: str  # where a transfer sent it: an agent's name, "Sales queue"; "" for a note
    text: str
    created_at: datetime


class NoteIn(Schema, kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=4000)]


class TransferIn(Schema, kw_only=True):
    """Hand an interaction on: to `to_agent` (a member of its campaign, not Offline), to
    `to_campaign`'s queue, or, with neither, back to its own campaign's queue."""

    to_agent: Annotated[str, Meta(max_length=64, pattern=ONE_LINE)] = ""
    to_campaign: Annotated[str, Meta(max_length=100, pattern=ONE_LINE)] = ""
    note: NoteText = ""


class TransferAgent(Schema, kw_only=True):
    username: str
    display_name: str
    state: AgentState
    active: int


class TransferTargets(Schema, kw_only=True):
    """Where an interaction may go: its campaign's members at a console (the owner left
    out), and every other campaign that receives mail."""

    campaign: str
    agents: list[TransferAgent]
    campaigns: list[str]


class ReassignIn(Schema, kw_only=True):
    """A supervisor moves a paused or absent agent's open work: to `to_agent`, or with none
    to each interaction's campaign queue; one (`interaction_id`) or all of them."""

    to_agent: Annotated[str, Meta(max_length=64, pattern=ONE_LINE)] = ""
    interaction_id: Id | None = None
    note: NoteText = ""


class ReassignOut(Schema, kw_only=True):
    moved: list[int]  # the interactions moved, in id order


class InteractionMoved(_Event, tag="moved", kw_only=True):
    """An interaction left `from_agent` (to `to_agent`, or a queue): that agent's console
    drops it. Sent to them and to supervisors; the new owner hears `interaction`."""

    interaction_id: int
    from_agent: str
    to_agent: str | None
    target: str  # in words: the agent's name or "Support queue"
    by: str  # who moved it: a display name, or "Postdesk" (a requeue after a log-out)


# ---- wrap-up: dispositions and closes (docs/wrapup.md) ----
DispositionName = Annotated[str, Meta(min_length=1, max_length=60, pattern=ONE_LINE)]
DispositionPath = Annotated[str, Meta(max_length=400, pattern=ONE_LINE)]
WrapupNote = Annotated[str, Meta(max_length=4000)]


class DispositionNode(Schema, kw_only=True):
    """One code of a campaign's tree; `id` None in a saved tree: a new code. Its place among
    its siblings is its order in the list."""

    name: DispositionName
    id: Id | None = None
    active: bool = True
    children: list[DispositionNode] = field(default_factory=list)


class DispositionTree(Schema, kw_only=True):
    """`GET|PUT /campaigns/{name}/dispositions` (admin; the whole tree, inactive codes too)
    and `GET /interactions/{id}/dispositions` (its agent: the active codes only)."""

    codes: list[DispositionNode] = field(default_factory=list)
    # Closing asks for a code (when there are active ones); False: a code is optional.
    required: bool = True
    campaign: str = ""  # filled in answers


class CloseIn(Schema, kw_only=True):
    """`POST /interactions/{id}/close`: the wrap-up. `disposition` is a path of the
    campaign's codes (`Sale/Upsell/Annual` or `Sale > Upsell > Annual`)."""

    disposition: DispositionPath = ""
    note: WrapupNote = ""


class WrapupOut(Schema, kw_only=True):
    disposition: str  # the path as it was at close ("" none)
    note: str
    agent: str | None
    agent_name: str
    closed_at: datetime


class DispositionCount(Schema, kw_only=True):
    disposition: str  # "" closed without one
    count: int


class CampaignDispositions(Schema, kw_only=True):
    campaign: str
    closed: int
    counts: list[DispositionCount]  # most used first


class DispositionStats(Schema, kw_only=True):
    """`GET /stats/dispositions?since=&until=`: closes in [since, until) per campaign."""

    since: datetime
    until: datetime
    campaigns: list[CampaignDispositions]


class DialerProgress(_Event, tag="dialer", kw_only=True):
    """A dialer's records, counted again after they changed (supervisors and admins only;
    coalesced: at most a few a second however fast it sends). One per list of the dialer."""

    dialer: str
    list_id: int
    list_name: str
    records: int
    processed: int  # no longer waiting: sent, failed, skipped, seen, rejected, spam
    not_processed: int  # pending or sending
    sent: int  # sent, seen, rejected and spam ones included: they were sent
    failed: int
    skipped: int  # blacklisted, unsubscribed or bouncing: not sent, not lost
    seen: int
    rejected: int
    spam: int
    on_schedule: bool
    list_active: bool
    running: bool


# ---- issue 15: the live view of an agent's screen, and the audit log of watching ----
ScreenWidth = Annotated[int, Meta(ge=1, le=1000)]
ScreenHeight = Annotated[int, Meta(ge=1, le=500)]
ScreenRow = Annotated[int, Meta(ge=0, le=499)]
StyleText = Annotated[str, Meta(max_length=200)]
WatchKind = Literal["screen", "spy"]


class ScreenLine(Schema, kw_only=True):
    """One row of a screen: `[text, style]` spans, `style` an index into the frame's
    `styles`. Untrusted text on the watching side: shown sanitised, never as markup."""

    y: ScreenRow
    spans: Annotated[list[tuple[Annotated[str, Meta(max_length=4000)], int]], Meta(max_length=1000)]


class ScreenFrame(Schema, kw_only=True):
    """What an agent's console shows: every row (`full`) or the rows that changed since its
    last frame. Password fields are masked before a frame leaves the console."""

    width: ScreenWidth
    height: ScreenHeight
    full: bool = False
    # Which console sent it (random per console): an agent with two consoles open sends two
    # screens, and a view follows the one whose full frame came last.
    source: Annotated[str, Meta(max_length=32)] = ""
    styles: Annotated[list[StyleText], Meta(max_length=5000)] = field(default_factory=list)
    lines: Annotated[list[ScreenLine], Meta(max_length=500)] = field(default_factory=list)


class FrameAck(Schema, kw_only=True):
    """`POST /me/screen`'s answer: whether anyone still watches (no: stop sending)."""

    watched: bool


class WatchIn(Schema, kw_only=True):
    """`POST /watches`: a supervisor starts watching an agent's screen or one of their
    interactions (`spy`). `resume`: the watch this console held before a reconnect."""

    kind: WatchKind
    agent: Annotated[str, Meta(min_length=1, max_length=64, pattern=LOGIN_NAME)]
    interaction_id: Id | None = None
    resume: Id | None = None


class WatchOut(Schema, kw_only=True):
    id: int
    kind: WatchKind
    agent: str
    agent_name: str
    interaction_id: int | None = None
    started_at: datetime


class AuditRow(Schema, kw_only=True):
    """One line of the audit log: `actor` watched `subject` from `started_at` until
    `ended_at` (None: still watching)."""

    id: int
    kind: WatchKind
    actor: str
    subject: str
    interaction_id: int | None = None
    started_at: datetime
    ended_at: datetime | None = None
    seconds: float | None = None


class AuditQuery(Schema, kw_only=True):
    since: datetime | None = None
    limit: Annotated[int, Meta(ge=1, le=100_000)] = 1000


class ScreenWatchers(_Event, tag="screen-watchers", kw_only=True):
    """To the agent's own consoles: who watches their screen now (empty: nobody, stop
    sending). `generation` grows with every change, so an older one arriving late is
    ignored."""

    agent: str
    watchers: list[str]
    generation: int


class ScreenChanged(_Event, tag="screen", kw_only=True):
    """A frame of an agent's screen, to the supervisors watching it (`to`) only."""

    agent: str
    to: list[str]
    frame: ScreenFrame


Event = (
    Hello
    | InteractionChanged
    | AgentChanged
    | QueueChanged
    | PickQueueChanged
    | WaitingChanged
    | CampaignsChanged
    | StatsChanged
    | MessageChanged
    | LoggedOut
    | ChatSaid
    | MailboxChanged
    | InteractionMoved
    | DialerProgress
    | ScreenWatchers
    | ScreenChanged
)


def decode_event(line: bytes | str) -> Event:
    """One line of the event stream."""
    event: Event = decode(line, Event)  # type: ignore[arg-type]  # a union is not a type[]
    return event


# ---- the email dialer (issue 13): dialers, lists, attachments ----
SecondsBetween = Annotated[float, Meta(ge=0, le=86_400)]
Cap = Annotated[int, Meta(ge=0, le=100_000_000)]
Connections = Annotated[int, Meta(ge=0, le=1000)]
ListSubject = Annotated[str, Meta(max_length=998, pattern=ONE_LINE)]
MaybeDate = Annotated[str, Meta(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?\Z")]  # "": no bound
DialerToken = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+\Z")]


class SmtpCaps(Schema, kw_only=True):
    """What a provider lets one SMTP account send (0: no cap); every dialer on the account
    shares them."""

    per_minute: Cap = 0
    per_hour: Cap = 0
    per_day: Cap = 0
    connections: Connections = 0


class DialerIn(Schema, kw_only=True):
    name: Name
    campaign: Name  # the email campaign it sends through (its SMTP account and From)
    seconds_between_messages: SecondsBetween = 1.0  # 0: as fast as the account's caps allow
    time_zone: TimeZoneName = "UTC"
    schedule: Annotated[list[ScheduleWindow], Meta(max_length=100)] = field(
        default_factory=list
    )  # none: any time of the week
    starts_on: MaybeDate = ""  # sends from this day (in its time zone), "" no bound
    ends_on: MaybeDate = ""  # until this day included
    template: Annotated[str, Meta(max_length=100, pattern=ONE_LINE)] = ""  # a dialer template
    unsubscribe_html: Annotated[str, Meta(max_length=100_000)] = ""
    caps: SmtpCaps | None = None  # None: the account's caps stay as they are
    event: DialerEvent | None = None  # issue 14: the attach schedule; None: no invitation


class DialerPatch(Schema, kw_only=True):
    """Only the fields given change (None: unchanged; "" clears a template or a date)."""

    name: Name | None = None
    campaign: Name | None = None
    seconds_between_messages: SecondsBetween | None = None
    time_zone: TimeZoneName | None = None
    schedule: Annotated[list[ScheduleWindow], Meta(max_length=100)] | None = None
    starts_on: MaybeDate | None = None
    ends_on: MaybeDate | None = None
    template: Annotated[str, Meta(max_length=100, pattern=ONE_LINE)] | None = None
    unsubscribe_html: Annotated[str, Meta(max_length=100_000)] | None = None
    caps: SmtpCaps | None = None
    event: DialerEvent | None = None  # issue 14: attach=False turns the invitation off


class DialerOut(Schema, kw_only=True):
    id: int
    name: str
    campaign: str
    seconds_between_messages: float
    time_zone: str
    schedule: list[ScheduleWindow]
    starts_on: str
    ends_on: str
    template: str
    unsubscribe_html: str
    smtp_account: str  # user@host:port, whose caps these are
    caps: SmtpCaps
    running: bool
    on_schedule: bool  # inside its dates and windows now
    lists: int
    event: DialerEvent | None = None  # issue 14: None when no invitation is attached


class DialerListQuery(Schema, kw_only=True):
    """The query of `POST /dialers/{name}/lists` (the body is the CSV itself)."""

    name: Name
    subject: ListSubject = ""
    mode: Literal["new", "append"] = "new"
    encoding: Annotated[str, Meta(max_length=40, pattern=r"^[A-Za-z0-9_.-]*\Z")] = ""


class DialerListOut(Schema, kw_only=True):
    id: int
    dialer: str
    name: str
    subject: str
    active: bool
    records: int
    pending: int
    failed: int
    created_at: datetime


class ImportLine(Schema, kw_only=True):
    line: int
    reason: str


class ImportReport(Schema, kw_only=True):
    """What an upload did: rows imported (of which failed, with their reasons) and rows
    refused, each with its line number; the lists of lines stop after a few hundred."""

    dialer: str
    list_name: str
    list_id: int
    appended: bool
    imported: int
    failed: int
    rejected: int
    failures: list[ImportLine]
    rejections: list[ImportLine]
    not_shown: int = 0  # lines counted above but beyond the lists' length


class DialerAttachmentQuery(Schema, kw_only=True):
    filename: Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)]
    content_type: Annotated[str, Meta(pattern=MEDIA_TYPE)] = ""


class DialerAttachmentOut(Schema, kw_only=True):
    token: str  # what a list's attachments column names
    filename: str
    size: int
    content_type: str
    created_at: datetime
    lists: int  # lists whose records name it: removable at 0


# ---- campaign administration: removal, members in bulk ----


class RemovalPlan(Schema, kw_only=True):
    """What removing a campaign involves: its open interactions (waiting, and assigned to an
    agent) and the live campaigns they may be moved to."""

    campaign: str
    queued: int
    assigned: int
    targets: list[str]


class CampaignRemoveIn(Schema, kw_only=True):
    """Remove a campaign; its open interactions go to `move_to` (required when it has any)."""

    move_to: Name | None = None


class CampaignRemoved(Schema, kw_only=True):
    campaign: str
    moved: int  # open interactions moved to `moved_to`
    moved_to: str | None
    members: list[str]  # who was a member
    overflow_cleared: list[str]  # campaigns that overflowed into it and now hold their own


MAX_MEMBER_PAIRS = 10_000


class MemberChanges(Schema, kw_only=True):
    """Members added and removed in one transaction: every pair is checked first, and one
    bad pair refuses them all."""

    add: Annotated[list[MemberIn], Meta(max_length=MAX_MEMBER_PAIRS)] = field(default_factory=list)
    remove: Annotated[list[MemberIn], Meta(max_length=MAX_MEMBER_PAIRS)] = field(
        default_factory=list
    )


class MembersChanged(Schema, kw_only=True):
    added: int
    removed: int
    unchanged: int  # already a member (add) or not one (remove)
    campaigns: list[CampaignOut]  # the campaigns named, as saved


# ---- recordings search (engine/services/recordings/search.py; docs/recordings.md) ----
RECORDING_SORTS = ("last", "created", "client", "subject")
RECORDING_PAGE_SIZE_MAX = 500
SearchText = Annotated[str, Meta(max_length=1000, pattern=ONE_LINE)]


class RecordingQuery(Schema, kw_only=True):
    """`GET /recordings?...`: every filter optional, all of them combined (AND).

    `start`/`end` are days (UTC), both inclusive, on when the interaction began; `email` is
    any part of the client's address or name, `subject` any part of the subject, `text` words
    of the messages (each word must appear, in any message of the interaction); `any` is
    either of the three. Every value is text to look for, never query syntax."""

    start: date | None = None
    end: date | None = None
    any: SearchText = ""  # the `/` box: address, name or subject contain it, or its words
    email: SearchText = ""
    subject: SearchText = ""
    campaign: SearchText = ""  # a campaign's name
    agent: SearchText = ""  # an agent's login
    text: SearchText = ""
    state: Literal["", "open", "closed"] = ""
    direction: Literal["", "inbound", "outbound"] = ""
    sort: Literal["last", "created", "client", "subject"] = "last"
    descending: bool = True
    page: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Meta(ge=1, le=RECORDING_PAGE_SIZE_MAX)] = 40
    mine: bool = False  # only the caller's own, even for a supervisor
    # Count every match (slow on large sets); otherwise counting stops at a cap (`capped`).
    exact_count: bool = False


class RecordingPage(Schema, kw_only=True):
    """One page of matches, in the asked order; `total` counts every match, or, `capped`,
    only that many were counted and there are more (never fewer than reach past this page)."""

    total: int
    page: int
    page_size: int
    items: list[InteractionSummary]
    capped: bool = False


class RecordingChoices(Schema, kw_only=True):
    """What the pick lists offer this caller: campaigns and agents it may filter on."""

    campaigns: list[str]
    agents: list[str]


# ---- OAuth2 mailboxes (issue 17; docs/oauth.md) ----
OAuthProvider = Literal["google", "microsoft", "custom"]
OAuthMechanism = Literal["xoauth2", "oauthbearer"]
# not-authorized: nobody authorised yet; waiting: a device code is out, the admin signs in;
# authorized: the grant works; revoked: the provider refused it for good (authorise again);
# denied/expired: the last device flow was refused or timed out; failed: it broke (detail).
OAuthState = Literal[
    "not-authorized", "waiting", "authorized", "revoked", "denied", "expired", "failed"
]


class OAuthSettingsIn(Schema, kw_only=True):
    """How a campaign's mailbox logs in: with its passwords (`auth="password"`) or with
    OAuth2 bearer tokens of `provider`. Presets fill the endpoints and scope; `tenant` is
    Microsoft's (a domain or directory id, "organizations" when empty); a "custom" provider
    needs its device authorization and token endpoints and the scope typed in."""

    auth: Literal["password", "oauth2"] = "oauth2"
    provider: OAuthProvider = "google"
    tenant: OneLine = ""
    device_url: OneLine = ""
    token_url: OneLine = ""
    scope: OneLine = ""
    mechanism: OAuthMechanism = "xoauth2"


class OAuthStatusQuery(Schema, kw_only=True):
    """`GET /campaigns/{name}/oauth?wait=N`: while a sign-in waits, answer when it ends (or
    after N seconds, at most 25), so a screen shows "authorised" the moment it is, without
    asking every second."""

    wait: Annotated[float, Meta(ge=0, le=25)] = 0


class OAuthStatus(Schema, kw_only=True):
    """A campaign's OAuth2 settings and where its grant stands; never a token. While a device
    flow runs, `verification_uri` and `user_code` are what the admin types in a browser."""

    campaign: str
    auth: Literal["password", "oauth2"]
    provider: OAuthProvider = "google"
    tenant: str = ""
    device_url: str = ""
    token_url: str = ""
    scope: str = ""
    mechanism: OAuthMechanism = "xoauth2"
    client_configured: bool = False  # POSTDESK_OAUTH_<PROVIDER>_CLIENT_ID is set
    state: OAuthState = "not-authorized"
    detail: str = ""  # what happened, and what to do about it
    verification_uri: str = ""
    user_code: str = ""
    code_expires_at: datetime | None = None
    authorized_at: datetime | None = None


# ---- recordings: printing and export (issue 15) ----
class RecordingMail(Schema, kw_only=True):
    """One message of a recorded interaction as a file (`GET /recordings/{id}/mails`)."""

    message_id: int  # the message's row, not its Message-ID header
    direction: Direction
    name: str  # `0003-in-812.eml`: made by the engine, never from the mail
    sender: str  # envelope-ish sender for an mbox separator line
    at: datetime
    original: bool  # the stored raw bytes; False: rebuilt from the stored fields
    data: bytes  # base64 in JSON


class RecordingMails(Schema, kw_only=True):
    interaction_id: int
    mails: list[RecordingMail]


# ---- issue 14: the dialer's attach schedule, as the admin console and ctl set it ----
EventText = Annotated[str, Meta(max_length=500, pattern=ONE_LINE)]


class DialerEvent(Schema, kw_only=True):
    """The iCalendar invitation attached to every message of a dialer (the manual's "attach
    schedule"): title and organizer may hold `${variables}` of the row; start and end are a
    fixed "YYYY-MM-DD HH:MM" in the dialer's time zone, or one `${variable}` holding such a
    date. `attach=False` (in a patch) turns the invitation off."""

    attach: bool = True
    title: EventText = ""
    organizer: EventText = ""
    start: EventText = ""
    end: EventText = ""


# ---- the email dialer sends (issue 13): play, stop, status ----


class DialerStatus(Schema, kw_only=True):
    """`GET /dialers/{name}/status`, and the answer of play and stop."""

    dialer: str
    running: bool
    on_schedule: bool
    lists: list[DialerProgress]
    sending_now: int = 0  # records inside their SMTP transaction


# ---- the supervisor's dialer dashboard (issue 14) ----


class DialerBoardRow(Schema, kw_only=True):
    """`GET /dialer-board`: one dialer as the dashboard opens on it (then `DialerProgress`
    events keep it current); supervisors may read it, unlike the dialer's configuration."""

    dialer: str
    campaign: str
    running: bool
    on_schedule: bool
    lists: list[DialerProgress]


# ---- the dialer's records, one by one (issue 14's drill-down) ----
DialerRecordStateName = Literal[
    "", "pending", "sending", "skipped", "sent", "failed", "seen", "rejected", "spam"
]


class DialerRecordQuery(Schema, kw_only=True):
    """`GET /dialers/{name}/records?list=&state=&search=&page=`: a dialer's records in list
    and line order; `state` one state ("" all), `search` any part of the address or of the
    reason (failed, rejected) as text, never a pattern."""

    list: Annotated[str, Meta(max_length=200, pattern=ONE_LINE)] = ""  # a list's name
    state: DialerRecordStateName = ""
    search: Annotated[str, Meta(max_length=320, pattern=ONE_LINE)] = ""
    page: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Meta(ge=1, le=1000)] = 100


class DialerRecordRow(Schema, kw_only=True):
    list: str
    line: int  # the CSV line it came from
    destination: str
    state: str
    error: str  # why it failed, the bounce's reason, ...
    priority: int
    attempts: int
    sent_at: datetime | None
    seen_at: datetime | None


class DialerRecordPage(Schema, kw_only=True):
    total: int
    page: int
    page_size: int
    items: list[DialerRecordRow]
