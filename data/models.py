"""The whole domain as SQLAlchemy 2.0 typed tables.

Every table the product needs is declared here, even where no service uses it yet, so that later
work adds behaviour rather than schema churn. Times are stored as timezone-aware UTC.
Column types stay portable between SQLite and PostgreSQL (no dialect-only types). One module
over 500 lines on purpose: the schema is read as a whole, and Alembic's autogenerate compares
it with the database as a whole.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UtcDateTime()}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings so PostgreSQL and SQLite agree and new members need no DDL.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class AgentStatus(enum.StrEnum):
    OFFLINE = "offline"
    FREE = "free"
    BREAK = "break"
    PAUSED = "paused"


class Security(enum.StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    PLAIN = "plain"


class InboundTransport(enum.StrEnum):
    IMAP = "imap"
    MAILDIR = "maildir"
    NONE = "none"


class Availability(enum.StrEnum):
    """Who may receive a campaign's interactions (engine/domain/routing.py)."""

    ONE = "one"
    UP_TO_MAX = "up-to-max"
    PICK_ONE = "pick-one"
    PICK_MANY = "pick-many"


class Delivery(enum.StrEnum):
    """In what order a campaign's agents are chosen (engine/domain/routing.py)."""

    LEAST_ACTIVE = "least-active"
    ROUND_ROBIN = "round-robin"
    LINEAR = "linear"
    WEIGHTED_RANDOM = "weighted-random"
    LEAST_RECENT = "least-recent"
    FEWEST_COMPLETED = "fewest-completed"


class InteractionState(enum.StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageState(enum.StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class TemplateKind(enum.StrEnum):
    REPLY = "reply"
    SIGNATURE = "signature"
    CONFIRMATION = "confirmation"
    DIALER = "dialer"


class DialerRecordState(enum.StrEnum):
    """A dialer record's life: pending (queued) -> sending -> sent | failed(reason), or
    skipped (blacklisted or unsubscribed: not sent, not lost); a sent one may later be seen,
    rejected (a bounce) or spam (a complaint)."""

    PENDING = "pending"
    SENDING = "sending"
    SKIPPED = "skipped"
    SENT = "sent"
    FAILED = "failed"
    SEEN = "seen"
    REJECTED = "rejected"
    SPAM = "spam"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # the OS login name
    display_name: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[AgentStatus] = mapped_column(_enum(AgentStatus), default=AgentStatus.OFFLINE)
    status_reason: Mapped[str] = mapped_column(String(100), default="")
    status_since: Mapped[datetime] = mapped_column(default=utcnow)
    screen_monitoring_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    # A supervisor's decisions the agent cannot undo themselves. A pause lasts until a
    # supervisor resumes the agent, across their consoles closing; a log-out until the agent
    # opens a console again. `*_by_id` is None when an operator did it (`postdesk ctl`).
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    logged_out_at: Mapped[datetime | None] = mapped_column(default=None)
    logged_out_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    api_token_hash: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Campaign(Base):
    __tablename__ = "campaigns"
    # A name is unique among live campaigns only: a removed one keeps its name for its
    # recordings, and a new campaign may take it.
    __table_args__ = (
        Index(
            "uq_campaigns_live_name",
            "name",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    receive_emails: Mapped[bool] = mapped_column(Boolean, default=True)
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    availability: Mapped[Availability] = mapped_column(
        _enum(Availability), default=Availability.UP_TO_MAX
    )
    delivery: Mapped[Delivery] = mapped_column(_enum(Delivery), default=Delivery.LEAST_ACTIVE)
    # Round-robin goes on after the member who got the campaign's last interaction.
    round_robin_last_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    from_name: Mapped[str] = mapped_column(String(200), default="")
    email_address: Mapped[str] = mapped_column(String(320))
    # Inbound
    inbound: Mapped[InboundTransport] = mapped_column(
        _enum(InboundTransport), default=InboundTransport.IMAP
    )
    imap_host: Mapped[str] = mapped_column(String(255), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[Security] = mapped_column(_enum(Security), default=Security.TLS)
    imap_username: Mapped[str] = mapped_column(String(320), default="")
    imap_password_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    imap_sent_folder: Mapped[str] = mapped_column(String(200), default="")
    maildir_path: Mapped[str] = mapped_column(String(1000), default="")
    # Outbound
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[Security] = mapped_column(_enum(Security), default=Security.STARTTLS)
    smtp_username: Mapped[str] = mapped_column(String(320), default="")
    smtp_password_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tls_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    # Parameters from the manual's advanced settings
    max_interactions_per_agent: Mapped[int] = mapped_column(Integer, default=5)
    max_interactions_in_queue: Mapped[int] = mapped_column(Integer, default=0)  # 0: unlimited
    # Over the limit new interactions go to this campaign's queue; None: held as overflow.
    overflow_campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    busy_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    # Schedules: the zone of its windows (rows of `schedules`) and exceptions.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    out_of_hours_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    signature_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    qualification_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    qualification_motivation: Mapped[str] = mapped_column(String(200), default="")
    qualification_thanks: Mapped[str] = mapped_column(Text, default="")
    # A tracking image in every reply's HTML part (first seen time and count per message).
    track_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    # What happens to an agent's open work when they are logged out (docs/transfer.md):
    # "keep" (it waits for them) or "requeue" once they have been Offline this many minutes.
    on_logout: Mapped[str] = mapped_column(String(16), default="keep")
    requeue_after_minutes: Mapped[int] = mapped_column(Integer, default=15)
    threshold_warning_seconds: Mapped[int] = mapped_column(Integer, default=300)
    threshold_critical_seconds: Mapped[int] = mapped_column(Integer, default=900)
    confirmation_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmation_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Wrap-up (docs/wrapup.md): closing asks for one of its dispositions when it has any,
    # unless the admin made them optional.
    disposition_required: Mapped[bool] = mapped_column(Boolean, default=True)
    # Removed by an admin (soft): no mailbox, no routing, in no list or form; its
    # interactions and messages stay, searchable under its name.
    removed_at: Mapped[datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="campaign")
    signature_template: Mapped[Template | None] = relationship(
        foreign_keys=[signature_template_id], lazy="joined", post_update=True
    )
    confirmation_template: Mapped[Template | None] = relationship(
        foreign_keys=[confirmation_template_id], lazy="joined", post_update=True
    )
    # Loaded only when asked for (selectinload): the router and ingest never need them.
    schedules: Mapped[list[Schedule]] = relationship(
        foreign_keys="Schedule.campaign_id",
        order_by="(Schedule.weekday, Schedule.start)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )
    schedule_exceptions: Mapped[list[ScheduleException]] = relationship(
        order_by="(ScheduleException.day, ScheduleException.start)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )
    overflow_campaign: Mapped[Campaign | None] = relationship(
        foreign_keys=[overflow_campaign_id], remote_side="Campaign.id", lazy="raise"
    )
    out_of_hours_template: Mapped[Template | None] = relationship(
        foreign_keys=[out_of_hours_template_id], post_update=True, lazy="raise"
    )
    busy_template: Mapped[Template | None] = relationship(
        foreign_keys=[busy_template_id], post_update=True, lazy="raise"
    )

    @property
    def domain(self) -> str:
        return self.email_address.rpartition("@")[2] or "localhost"


class Schedule(Base):
    """A weekly opening window of a campaign or a dialer (weekday 0 = Monday)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), default=None
    )
    dialer_id: Mapped[int | None] = mapped_column(
        ForeignKey("dialers.id", ondelete="CASCADE"), default=None
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)  # at or before start: runs past midnight


class ScheduleException(Base):
    """A dated exception to a campaign's weekly windows: closed all day (no hours, a
    holiday) or open only during its hours. Several rows of one day are several windows."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (Index("ix_schedule_exceptions_campaign_day", "campaign_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start: Mapped[time | None] = mapped_column(Time, default=None)  # None: closed all day
    end: Mapped[time | None] = mapped_column(Time, default=None)
    note: Mapped[str] = mapped_column(String(200), default="")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # 0..100: under weighted-random, the higher the penalty the fewer interactions.
    penalty: Mapped[int] = mapped_column(Integer, default=0)
    # The member's order on the campaign (linear, round-robin): new members go last.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # When the router or a take last gave this member one of the campaign's interactions.
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), default=None
    )  # None: offered in every campaign
    kind: Mapped[TemplateKind] = mapped_column(_enum(TemplateKind), default=TemplateKind.REPLY)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_queue", "campaign_id", "state", "queued_at"),
        Index("ix_interactions_agent_state_last", "agent_id", "state", "last_message_at"),
        Index("ix_interactions_overflow", "overflow", "campaign_id"),
        # The statistics read today's rows and the open ones through these, never a scan.
        Index("ix_interactions_waiting", "state", "queued_at"),
        Index("ix_interactions_created_at", "created_at"),
        Index("ix_interactions_closed_at", "closed_at"),
        Index("ix_interactions_first_response_at", "first_response_at"),
        # The recordings search's sort orders (engine/services/recordings/search.py).
        Index(
            "ix_interactions_last_message_at",
            *("last_message_at", "id", "client_email", "client_name", "subject"),
        ),
        Index("ix_interactions_client_email", "client_email", "id"),
        Index("ix_interactions_subject", "subject", "id"),
        Index("ix_interactions_campaign_created", "campaign_id", "created_at", "last_message_at"),
        # Issue 15's search speed (migration 0035): an agent's newest, sent mail of a
        # period, any part of an address within a period.
        Index("ix_interactions_agent_last", "agent_id", "last_message_at"),
        Index("ix_interactions_direction_created", "direction", "created_at"),
        Index(
            "ix_interactions_created_client",
            "created_at",
            "client_email",
            "client_name",
            "last_message_at",
        ),
        # Migration 0038: an agent's recordings of a period, and sorted by client.
        Index(
            "ix_interactions_agent_created", "agent_id", "created_at", "campaign_id", "direction"
        ),
        Index("ix_interactions_agent_client", "agent_id", "client_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    state: Mapped[InteractionState] = mapped_column(
        _enum(InteractionState), default=InteractionState.QUEUED
    )
    direction: Mapped[Direction] = mapped_column(_enum(Direction), default=Direction.INBOUND)
    client_email: Mapped[str] = mapped_column(String(320))
    client_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    bcc: Mapped[list[str]] = mapped_column(JSON, default=list)
    unread: Mapped[bool] = mapped_column(Boolean, default=True)
    # Queued but held back: its campaign's queue was full when it came (queue limit).
    overflow: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), default=None
    )
    draft: Mapped[str] = mapped_column(Text, default="")
    # Its messages, counted by triggers on `messages` (migration 0041): lists read it with
    # the row. Never written by the ORM after the insert; an object loaded before its
    # messages were written holds the count of then.
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Service level (docs/statistics.md). Written when it happens, by the engine: the
    # deadline when a customer's mail opens the interaction (arrival + the campaign's service
    # level then), the first answer an agent sends and how long after arrival it came, and
    # the time agents held it (assignment to close, summed over every assignment). Seconds
    # are stored, not derived in SQL, so averages read the same on SQLite and PostgreSQL.
    service_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    handling_seconds: Mapped[int] = mapped_column(Integer, default=0)

    messages: Mapped[list[Message]] = relationship(
        back_populates="interaction", order_by="Message.id"
    )
    campaign: Mapped[Campaign] = relationship(lazy="joined")
    agent: Mapped[User | None] = relationship(lazy="joined")
    linked_interaction: Mapped[Interaction | None] = relationship(remote_side="Interaction.id")


class Message(Base):
    """One mail of an interaction; outgoing rows double as the persistent outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_message_id", "message_id"),
        Index("ix_messages_raw_sha256", "raw_sha256"),
        Index("ix_messages_outbox", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    state: Mapped[MessageState] = mapped_column(_enum(MessageState))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    from_email: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    bcc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(1000), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    imap_uid: Mapped[int | None] = mapped_column(Integer, default=None)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    # customer, auto_reply, bounce, complaint, list, own (engine/domain/classify.py)
    kind: Mapped[str] = mapped_column(String(16), default="customer")
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    interaction: Mapped[Interaction] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    # Received larger than the inbound limit: no blob of its own (`sha256` still names the
    # content); the bytes are only in the message's raw .eml.
    over_limit: Mapped[bool] = mapped_column(Boolean, default=False)

    message: Mapped[Message] = relationship(back_populates="attachments")


class MailboxCheckpoint(Base):
    """Where inbound ingestion of one mailbox stopped; committed with each stored message."""

    __tablename__ = "mailbox_checkpoints"
    __table_args__ = (UniqueConstraint("campaign_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(Integer, default=0)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Quarantine(Base):
    """Inbound mail that could not be parsed or stored, kept with its raw bytes and error."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    raw_sha256: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    imap_uid: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dialer(Base):
    __tablename__ = "dialers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL"), default=None
    )
    seconds_between_messages: Mapped[float] = mapped_column(default=1.0)
    unsubscribe_html: Mapped[str] = mapped_column(Text, default="")
    attach_event: Mapped[bool] = mapped_column(Boolean, default=False)
    event_title: Mapped[str] = mapped_column(String(500), default="")
    event_organizer: Mapped[str] = mapped_column(String(500), default="")
    event_start_var: Mapped[str] = mapped_column(String(200), default="")
    event_end_var: Mapped[str] = mapped_column(String(200), default="")
    event_start: Mapped[datetime | None] = mapped_column(default=None)
    event_end: Mapped[datetime | None] = mapped_column(default=None)
    running: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it may send: its weekly windows are `schedules` rows (dialer_id), read in this
    # zone, between these dates (None: no bound; both days included).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)


class DialerList(Base):
    __tablename__ = "dialer_lists"
    __table_args__ = (UniqueConstraint("dialer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dialer_id: Mapped[int] = mapped_column(ForeignKey("dialers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(1000), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Being filled by an upload (a new list, or the staging list of an append): not a list
    # yet; one left so by an engine that stopped mid-import is removed at the next start.
    importing: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Only records that have a Message-ID (claimed for sending) are in its index: an import
# writes none (migration 0039). A lookup by Message-ID adds this condition, which SQLite
# needs written as it is to use the partial index (a link token's `=` implies its own).
DIALER_ID_GIVEN = "rfc_message_id != ''"


class DialerRecord(Base):
    __tablename__ = "dialer_records"
    __table_args__ = (
        Index("ix_dialer_records_next", "list_id", "state", "priority"),
        Index(
            "ix_dialer_records_rfc_message_id",
            "rfc_message_id",
            sqlite_where=text(DIALER_ID_GIVEN),
            postgresql_where=text(DIALER_ID_GIVEN),
        ),
        Index(
            "ix_dialer_records_link_token",
            "link_token",
            unique=True,
            sqlite_where=text("link_token IS NOT NULL"),
            postgresql_where=text("link_token IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("dialer_lists.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=9999)
    state: Mapped[DialerRecordState] = mapped_column(
        _enum(DialerRecordState), default=DialerRecordState.PENDING
    )
    outgoing_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    error: Mapped[str] = mapped_column(Text, default="")
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Chosen before the SMTP transaction (state `sending`); a bounce, complaint, seen image
    # or answer finds its record by it.
    rfc_message_id: Mapped[str] = mapped_column(String(998), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # The token of its public links (seen image, unsubscribe; engine/domain/web_links.py),
    # minted when it is sent.
    link_token: Mapped[str | None] = mapped_column(String(22), default=None)


class UploadedFile(Base):
    """A file uploaded to be attached; its token is what a reply, forward or new mail names.

    It belongs to whoever uploaded it: another user who learns the token cannot attach it.
    Operators uploading as nobody in particular (`uploader_id` None) get a token nobody can use.
    """

    __tablename__ = "uploaded_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "" a file for an agent's mail; "dialer": a dialer attachment, named by its token in a
    # list's CSV and usable by every admin (not only its uploader).
    purpose: Mapped[str] = mapped_column(String(16), default="")


class BlacklistEntry(Base):
    """An address that gets no mail from us: from one campaign (an unsubscribe from its mail)
    or from every campaign (`campaign_id` None: a complaint, an admin's say). One entry per
    address and scope."""

    __tablename__ = "blacklist"
    # NULLs differ in a unique constraint: the code checks for an entry for all before
    # adding one (SQLite writes one transaction at a time); a duplicate would only repeat
    # what the first says.
    __table_args__ = (
        UniqueConstraint("email", "campaign_id", name="uq_blacklist_email_campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    # How it got here: "complaint" (ARF report), "unsubscribe-link" (the page),
    # "one-click" (RFC 8058 POST by a mailbox provider), "mailto" (a mail to the unsubscribe
    # address), "manual" (an admin), "" for entries made before sources.
    source: Mapped[str] = mapped_column(String(32), default="")
    # The campaign it applies to (an unsubscribe from that campaign's mail); None: all.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )  # a campaign deleted outright: its unsubscribes apply to all (never mail them again)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BouncingAddress(Base):
    """An address a hard bounce said is unusable, for dialers to skip.  A bounce is no
    complaint, so the address is not blacklisted: the person may still write, and be answered."""

    __tablename__ = "bouncing_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageLink(Base):
    """The public token of one outgoing message: what its rating, tracking-image and
    unsubscribe links carry. A random id (not derived from anything), so a token tells nothing
    and no two are related; looked up here by the public web service. Seen counts live here."""

    __tablename__ = "message_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    first_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    seen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship()


class Rating(Base):
    """A customer's score (1-5) of one outgoing message; rating it again replaces it. The
    interaction, agent and campaign are copied at rating time so reports need no joins through
    messages that may since have moved on."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    score: Mapped[int] = mapped_column(Integer)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), default=None, index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentStateChange(Base):
    __tablename__ = "agent_state_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[AgentStatus] = mapped_column(_enum(AgentStatus))
    reason: Mapped[str] = mapped_column(String(100), default="")
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatMessage(Base):
    __tablename__ = "supervisor_chat"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the recipient saw it in an open chat; until then their next console tells them.
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class CustomerEvent(Base):
    """Something a customer did on the public web service (a rating, an unsubscribe), written
    in the same transaction as the thing itself. The web service runs apart from the engine
    (another process, maybe another host), so the engine reads these in id order and tells
    the consoles: a transactional outbox, nothing told that did not happen, nothing lost."""

    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "rating" | "unsubscribe" | "dialer-..."
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The dialer record a "dialer-seen", "dialer-unsubscribe", "dialer-rejected" or
    # "dialer-spam" row is about (migration 0025; the ingest writes the last two).
    dialer_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("dialer_records.id", ondelete="CASCADE"), default=None
    )


class ConsoleSession(Base):
    """One open console event stream. Presence is kept here, not in an engine's memory, so
    that every engine node sharing the database sees who is at a console: each node renews
    `seen_at` of its own streams, and a stream not seen for a while belongs to a node that
    died (its agents are then Offline)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    node: Mapped[str] = mapped_column(String(200), index=True)
    as_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    as_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BreakReason(Base):
    """A reason an agent may give for a break; the admin keeps the list and its order."""

    __tablename__ = "break_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class InteractionNote(Base):
    """An internal note on an interaction: written by an agent or a supervisor, or left by a
    transfer or reassignment (who moved it where, and why). Seen in the thread by agents and
    supervisors; never part of any mail (replies, forwards and confirmations read messages
    only). `target` names where a transfer sent it ("Bob", "Sales queue")."""

    __tablename__ = "interaction_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default="note")  # note, transfer, reassign
    target: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class Disposition(Base):
    """A campaign's wrap-up code, one level of a tree ("Sale > Upsell > Annual"): agents
    choose a leaf when they close. A code retired while history uses it is made inactive,
    and history keeps the path it had (`InteractionWrapup.disposition_path`)."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("campaign_id", "parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispositions.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InteractionWrapup(Base):
    """One close of an interaction (a reopened one closed again has several): the code and
    the internal note the agent gave. The path is copied at close, so renaming or removing
    codes later never changes history; the campaign is copied for the statistics. Internal:
    nothing here ever goes into a mail."""

    __tablename__ = "interaction_wrapups"
    # The statistics count a period's closes per campaign and code from this index alone
    # (covering: 1M closes, 30 days, ~4x faster than through an index on closed_at only).
    __table_args__ = (
        Index("ix_interaction_wrapups_closed_at", "closed_at", "campaign_id", "disposition_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), default=None
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    disposition_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispositions.id", ondelete="SET NULL"), default=None
    )
    disposition_path: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- the email dialer (issue 13) ----
class SmtpLimit(Base):
    """Caps an SMTP account's provider imposes, shared by every dialer sending through it.

    The account is the server and login (host, port, username), not a campaign: two campaigns
    on one account share its caps. 0 means no cap."""

    __tablename__ = "smtp_limits"
    __table_args__ = (UniqueConstraint("smtp_host", "smtp_port", "smtp_username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_username: Mapped[str] = mapped_column(String(320), default="")
    per_minute: Mapped[int] = mapped_column(Integer, default=0)
    per_hour: Mapped[int] = mapped_column(Integer, default=0)
    per_day: Mapped[int] = mapped_column(Integer, default=0)
    connections: Mapped[int] = mapped_column(Integer, default=0)


class DialerListAttachment(Base):
    """A dialer attachment a list's records name: an attachment is removable only while no
    list uses it, which this answers without reading every record."""

    __tablename__ = "dialer_list_attachments"
    __table_args__ = (UniqueConstraint("list_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("dialer_lists.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(
        ForeignKey("uploaded_files.id", ondelete="RESTRICT"), index=True
    )


class CampaignOAuth(Base):
    """How a campaign's mailbox logs in with OAuth2 (issue 17); no row: with passwords.

    One row per campaign, beside `campaigns` rather than in it, so the password-only setups
    carry nothing of it. `refresh_token_enc` is encrypted like the passwords (SecretBox);
    access tokens live only in the engine's memory (one hour at most, fetched again after a
    restart). `state` says whether the grant works: "authorized", "revoked" (the provider
    refused a refresh for good: someone must authorise again) or "not-authorized"."""

    __tablename__ = "campaign_oauth"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # auth = oauth2
    provider: Mapped[str] = mapped_column(String(20), default="google")
    tenant: Mapped[str] = mapped_column(String(200), default="")
    device_url: Mapped[str] = mapped_column(String(1000), default="")
    token_url: Mapped[str] = mapped_column(String(1000), default="")
    scope: Mapped[str] = mapped_column(String(1000), default="")
    mechanism: Mapped[str] = mapped_column(String(20), default="xoauth2")
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    state: Mapped[str] = mapped_column(String(20), default="not-authorized")
    detail: Mapped[str] = mapped_column(String(500), default="")
    authorized_at: Mapped[datetime | None] = mapped_column(default=None)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- issue 15: the audit log of supervisors watching agents ----
class AuditEntry(Base):
    """One supervisor watching one agent: a spy on an interaction (`kind` "spy") or a view of
    the agent's screen ("screen"). Written when the watching starts, `ended_at` when it ends
    (or when the engine notices the watcher's console has gone). Names are copied so the log
    still reads after a user is removed; admins read it with `ctl audit`."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "spy" | "screen"
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    subject: Mapped[str] = mapped_column(String(64))
    interaction_id: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The engine node holding the watch (issue 16): its watches end when it dies.
    node: Mapped[str | None] = mapped_column(String(200), default=None)


# ---- issue 16: several engine nodes on one PostgreSQL ----
class EngineNode(Base):
    """An engine process sharing the database, renewed every few seconds while it runs: the
    live ones share the campaigns' mailboxes between them (engine/services/nodes/leases.py)."""

    __tablename__ = "engine_nodes"

    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxLease(Base):
    """Which node reads a campaign's mailbox and sends its outbox, until `expires_at` (the
    database's clock). `node` is NULL when released; `epoch` grows at each new owner, so a node
    that lost the lease cannot renew it; `changes` is bumped by a node that changed the
    campaign without owning it, and the owner restarts the mailbox when it sees it move."""

    __tablename__ = "mailbox_leases"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str | None] = mapped_column(String(200), default=None)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[int] = mapped_column(Integer, default=0)


class StoredBlob(Base):
    """Raw mail and attachments by sha256, in the database, so every node reads them: used on
    PostgreSQL unless a shared blob directory is set (data/db_blobs.py); empty on SQLite."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# ---- issue 16: the dialer's account caps counted across engine nodes ----
class SmtpSend(Base):
    """Messages claimed for sending through a capped SMTP account in one second: the caps
    of `smtp_limits` hold across engine nodes sharing a PostgreSQL database (each counts in
    memory otherwise). Rows older than a day are removed as new ones come."""

    __tablename__ = "smtp_sends"

    limit_id: Mapped[int] = mapped_column(
        ForeignKey("smtp_limits.id", ondelete="CASCADE"), primary_key=True
    )
    second: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch second
    sent: Mapped[int] = mapped_column(Integer, default=0)


# ---- issue 16: an SMTP account's connection cap held across engine nodes ----
class SmtpSlot(Base):
    """One of a connection-capped SMTP account's simultaneous connections: held by the node
    named until `expires_at` (the database's clock, renewed by the holder), free when `node`
    is NULL or the expiry passed (engine/services/dialer/shared_slots.py)."""

    __tablename__ = "smtp_slots"

    limit_id: Mapped[int] = mapped_column(
        ForeignKey("smtp_limits.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    node: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class SmtpSlotWait(Base):
    """A node waiting for a slot of the account since `since` (until `until`, renewed while
    it waits): claims go to the node that waited longest."""

    __tablename__ = "smtp_slot_waits"

    limit_id: Mapped[int] = mapped_column(
        ForeignKey("smtp_limits.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    until: Mapped[datetime] = mapped_column(default=utcnow)


# ---- issue 16: every mailbox's health seen from every engine node ----
class MailboxHealthRow(Base):
    """Whether a campaign's mailbox is being read, as the node reading it last said
    (engine/services/inbound/mailbox_health.py): stored by the lease's owner, read by all."""

    __tablename__ = "mailbox_health"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(200))
    campaign_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str] = mapped_column(Text, default="")
