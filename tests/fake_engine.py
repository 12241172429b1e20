"""A fake engine for console tests that need no real one: fixed, hand-made data.

`FakeEngine` answers the calls the agent console makes with the same objects every time, so
snapshots and key tests see the same inbox and thread; `agent_app()` is a console on it.
Dates are fixed; times shown relative to now (waiting, time in state) are made relative to
now.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from msgspec import structs

from console.app import PostdeskApp
from engine.api.schemas import (
    AgentRow,
    AttachmentOut,
    CampaignLoad,
    CampaignState,
    CampaignStats,
    ChatLine,
    DispositionNode,
    DispositionTree,
    Event,
    Hello,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    MailboxHealth,
    Me,
    MessageOut,
    MonitorSnapshot,
    PickQueue,
    QueueRow,
    RecordingChoices,
    RecordingPage,
    RecordingQuery,
    RenderOut,
    StatsOut,
    TemplateOut,
    convert,
)

SENT = datetime(2025, 3, 1, 11, 30, tzinfo=UTC)


def ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes, seconds=5)


def summary(
    interaction_id: int, subject: str, name: str, minutes: int, *, unread: bool = False
) -> InteractionSummary:
    return InteractionSummary(
        id=interaction_id,
        campaign_id=1,
        campaign_name="Support",
        client_email=f"client{interaction_id}@example.net",
        client_name=name,
        subject=subject,
        state="assigned",
        agent="agent1",
        unread=unread,
        queued_at=SENT,
        assigned_at=SENT,
        closed_at=None,
        last_message_at=ago(minutes),
        message_count=2,
    )


def message(message_id: int, direction: str, text: str, **extra: object) -> MessageOut:
    inbound = direction == "inbound"
    fields: dict[str, object] = {
        "id": message_id,
        "direction": direction,
        "state": "received" if inbound else "sent",
        "message_id": f"<{message_id}@example.net>",
        "from_email": "client1@example.net" if inbound else "support@postdesk.test",
        "from_name": "Carol Customer" if inbound else "Postdesk Support",
        "to": ["support@postdesk.test"] if inbound else ["client1@example.net"],
        "cc": [],
        "subject": "Order 1234 missing",
        "text": text,
        "created_at": SENT,
        "sent_at": SENT if not inbound else None,
        "error": "",
    }
    fields.update(extra)
    return convert(fields, MessageOut)


def inbox() -> list[InteractionSummary]:
    """Made at each call: waiting times are relative to now, and a long test session must
    not turn 12m into 15m."""
    return [
        summary(1, "Order 1234 missing", "Carol Customer", 12, unread=True),
        summary(2, "Refund for a broken kettle", "Dan Buyer", 47),
        summary(3, "Invoice copy please", "", 130),
    ]


THREAD = InteractionDetail(
    **structs.asdict(summary(1, "Order 1234 missing", "Carol Customer", 12)),
    cc=["boss@example.net"],
    bcc=[],
    draft="Hi Carol,\n",
    messages=[
        message(
            10,
            "inbound",
            "Where is my parcel? It was due on Monday.\nThe tracking page says nothing.",
            cc=["boss@example.net"],
            attachments=[
                AttachmentOut(id=5, filename="receipt.pdf", content_type="a/pdf", size=48213),
            ],
        ),
        message(11, "outbound", "We are looking into it and will write back today."),
    ],
)
TEMPLATES = [
    TemplateOut(
        id=1,
        name="Greeting",
        campaign="Support",
        kind="reply",
        body_text="Hello ${name},\n\nThank you for writing to us.",
        body_html="",
    ),
    TemplateOut(
        id=2,
        name="Refund policy",
        campaign=None,
        kind="reply",
        body_text="Refunds take ${days} working days.",
        body_html="",
    ),
]


WRAPUP_CODES = DispositionTree(
    campaign="Support",
    codes=[
        DispositionNode(
            id=1,
            name="Sale",
            children=[
                DispositionNode(
                    id=2,
                    name="Upsell",
                    children=[
                        DispositionNode(id=3, name="Annual"),
                        DispositionNode(id=4, name="Monthly"),
                    ],
                ),
                DispositionNode(id=5, name="New customer"),
            ],
        ),
        DispositionNode(id=6, name="Complaint", children=[DispositionNode(id=7, name="Delivery")]),
        DispositionNode(id=8, name="Information only"),
    ],
)


class FakeEngine:
    """The calls the agent console makes, answered from the data above."""

    async def close(self) -> None:
        pass

    async def me(self) -> Me:
        return Me(
            username="agent1",
            display_name="Agent One",
            roles=["agent"],
            status="free",
            status_reason="",
            status_since=ago(3),
            campaigns=["Billing", "Support"],
            load=[
                CampaignLoad(name="Billing", open=0, capacity=5, waiting=2, pick=True),
                CampaignLoad(name="Support", open=3, capacity=5, waiting=4),
            ],
        )

    async def interactions(self, **_: object) -> list[InteractionSummary]:
        return inbox()

    async def interaction(self, interaction_id: int, **_: object) -> InteractionDetail:
        return structs.replace(THREAD, **structs.asdict(inbox()[interaction_id - 1]))

    async def limits(self) -> LimitsOut:
        return LimitsOut(max_attachment_bytes=10_000_000, break_reasons=["Lunch", "Training"])

    async def pick_queue(self) -> PickQueue:
        """Billing is a pick-mode campaign: two mails wait there to be taken."""
        waiting = [
            structs.replace(
                summary(n, subject, name, minutes),
                campaign_id=2,
                campaign_name="Billing",
                state="queued",
                agent=None,
                assigned_at=None,
                queued_at=ago(minutes),  # the pick list shows how long each has waited
            )
            for n, subject, name, minutes in (
                (7, "Charged twice in March", "Erin Payer", 9),
                (8, "VAT number on invoices", "Frank Firm", 4),
            )
        ]
        return PickQueue(campaigns=["Billing"], waiting=waiting, total=2)

    async def templates(self) -> list[TemplateOut]:
        return TEMPLATES

    async def render_template(self, template_id: int, interaction_id: int | None) -> RenderOut:
        text = TEMPLATES[template_id - 1].body_text.replace("${name}", "Carol")
        return RenderOut(text=text, unknown=re.findall(r"\$\{(\w+)\}", text))

    async def save_draft(self, interaction_id: int, text: str) -> None:
        pass

    async def unread_chat(self) -> list[ChatLine]:
        return []

    async def close_choices(self, interaction_id: int) -> DispositionTree:
        """The wrap-up codes of Support (docs/wrapup.md)."""
        return WRAPUP_CODES

    async def events(self, *, resume: bool = False) -> AsyncIterator[Event]:
        yield Hello(username="agent1")
        await asyncio.Event().wait()


def agent_app() -> PostdeskApp:
    return PostdeskApp(lambda _user: FakeEngine(), mode="agent")  # type: ignore[arg-type,return-value]


# ---- the supervisor's monitor (snapshots of the statistics panel) ----


def _agent(username: str, name: str, state: str, active: int, done: tuple[int, int]) -> AgentRow:
    status = {"busy": "free", "free_on_break": "break", "busy_on_break": "break"}.get(state, state)
    return AgentRow(
        username=username,
        display_name=name,
        status=status,  # type: ignore[arg-type]
        status_reason="Lunch" if status == "break" else "",
        status_since=ago(12),
        active=active,
        completed=sum(done),
        state=state,  # type: ignore[arg-type]
        completed_in=done[0],
        completed_out=done[1],
        campaigns=["Support"] if username != "dora" else ["Billing"],
    )


def _campaign(
    campaign_id: int, name: str, waiting: int, oldest: int | None, **numbers: object
) -> CampaignStats:
    values: dict[str, object] = {
        "campaign_id": campaign_id,
        "name": name,
        "service_level_seconds": 3600,
        "warning_seconds": 300,
        "critical_seconds": 900,
        "waiting": waiting,
        "oldest_queued_at": ago(oldest) if oldest is not None else None,
        "agents": {"free": 0, "busy": 0, "free_on_break": 0, "busy_on_break": 0}
        | {"paused": 0, "offline": 0},
        "active": 0,
        "answered": 0,
        "sl_within": 0,
        "sl_counted": 0,
        "sl_percent": None,
        "sl_level": "ok",
        "avg_first_response_seconds": None,
        "completed_in": 0,
        "completed_out": 0,
    }
    values.update(numbers)
    return convert(values, CampaignStats)


def monitor_snapshot() -> MonitorSnapshot:
    agents = [
        _agent("ana", "Ana Alvarez", "busy", 3, (7, 1)),
        _agent("ben", "Ben Bauer", "free", 0, (4, 0)),
        _agent("carla", "Carla Conti", "busy_on_break", 1, (2, 2)),
        _agent("dora", "Dora Dahl", "offline", 0, (0, 0)),
    ]
    queue = [
        QueueRow(interaction_id=31, campaign_name="Support", client_email="late@example.net",
                 queued_at=ago(16)),
        QueueRow(interaction_id=32, campaign_name="Support", client_email="slow@example.net",
                 queued_at=ago(6)),
        QueueRow(interaction_id=40, campaign_name="Billing", client_email="new@example.org",
                 queued_at=ago(1)),
    ]  # fmt: skip
    campaigns = [
        _campaign(
            2, "Billing", 1, 1,
            agents={"free": 0, "busy": 0, "free_on_break": 0, "busy_on_break": 0,
                    "paused": 0, "offline": 1},
            answered=3, sl_within=3, sl_counted=3, sl_percent=100.0,
            avg_first_response_seconds=95.0, completed_in=2,
        ),
        _campaign(
            1, "Support", 2, 16,
            agents={"free": 1, "busy": 1, "free_on_break": 0, "busy_on_break": 1,
                    "paused": 0, "offline": 0},
            active=4, answered=18, sl_within=15, sl_counted=20, sl_percent=75.0,
            sl_level="critical", avg_first_response_seconds=1510.0, completed_in=13,
            completed_out=3, rating_count=9, rating_average=4.33,
        ),
    ]  # fmt: skip
    now = datetime.now(UTC)
    stats = StatsOut(since=now, until=now, at=now, campaigns=campaigns)
    # Billing is out of its schedule and holds two over its queue limit.
    states = [
        CampaignState(name="Billing", in_schedule=False, overflow=2),
        CampaignState(name="Support"),
    ]
    return MonitorSnapshot(agents=agents, queue=queue, queue_total=3, campaigns=states, stats=stats)


class FakeSupervisorEngine(FakeEngine):
    """The calls the supervisor's monitor makes."""

    async def me(self) -> Me:
        return Me(
            username="sam",
            display_name="Sam Supervisor",
            roles=["supervisor"],
            status="offline",
            status_reason="",
            status_since=ago(3),
            campaigns=[],
        )

    async def monitor(self) -> MonitorSnapshot:
        return monitor_snapshot()

    async def mailboxes(self) -> list[MailboxHealth]:
        return [
            MailboxHealth(campaign_id=1, campaign_name="Support", state="connected", since=SENT)
        ]

    async def events(self, *, resume: bool = False) -> AsyncIterator[Event]:
        yield Hello(username="sam")
        await asyncio.Event().wait()


def supervisor_app() -> PostdeskApp:
    return PostdeskApp(lambda _user: FakeSupervisorEngine(), mode="supervisor")  # type: ignore[arg-type,return-value]


# ---- the recordings search (console/screens/search.py) ----
_CLIENTS = ["Ana Pérez", "Bob Stone", "Carla Conti", "Dan Buyer", "Eve Adams", "Frank Olsen"]
_TOPICS = ["Order {n} missing", "Refund for order {n}", "Invoice INV-{n}", "Damaged parcel {n}"]
_AGENTS = ["agent1", "agent2", "carla", "dimitri"]
_CAMPAIGNS = ["Support", "Billing", "Returns"]


def recordings_store(count: int = 1234) -> list[InteractionSummary]:
    """`count` interactions with fixed dates, one per 97 minutes back from SENT."""
    rows = []
    for n in range(1, count + 1):
        rows.append(
            InteractionSummary(
                id=1000 + n,
                campaign_id=1 + n % len(_CAMPAIGNS),
                campaign_name=_CAMPAIGNS[n % len(_CAMPAIGNS)],
                client_email=f"client{n}@example.net",
                client_name=_CLIENTS[n % len(_CLIENTS)],
                subject=_TOPICS[n % len(_TOPICS)].format(n=40_000 + n),
                state="closed" if n % 5 else "assigned",
                agent=_AGENTS[n % len(_AGENTS)],
                unread=False,
                # Every third was closed and reopened: queued again later than it began.
                queued_at=SENT - timedelta(minutes=97 * n - (20 if n % 3 == 0 else 0)),
                assigned_at=SENT - timedelta(minutes=97 * n),
                closed_at=None,
                last_message_at=SENT - timedelta(minutes=97 * n - 30),
                message_count=2,
                created_at=SENT - timedelta(minutes=97 * n),
            )
        )
    return rows


class FakeRecordings:
    """The search's two calls over `recordings_store()`; `asked` keeps every query."""

    def __init__(self) -> None:
        self.store = recordings_store()
        self.asked: list[RecordingQuery] = []

    async def recordings(self, query: RecordingQuery) -> RecordingPage:
        self.asked.append(query)
        rows = [
            r
            for r in self.store
            if query.any.lower() in (r.subject + " " + r.client_email + r.client_name).lower()
            and (not query.campaign or r.campaign_name == query.campaign)
            and (not query.agent or r.agent == query.agent)
            and (not query.state or (r.state == "closed") == (query.state == "closed"))
        ]
        keys = {
            "last": lambda r: (r.last_message_at, r.id),
            "created": lambda r: (r.created_at, r.id),
            "client": lambda r: (r.client_email, r.id),
            "subject": lambda r: (r.subject, r.id),
        }
        rows.sort(key=keys[query.sort], reverse=query.descending)  # type: ignore[arg-type]
        start = (query.page - 1) * query.page_size
        return RecordingPage(
            total=len(rows),
            page=query.page,
            page_size=query.page_size,
            items=rows[start : start + query.page_size],
        )

    async def recording_choices(self) -> RecordingChoices:
        return RecordingChoices(campaigns=sorted(_CAMPAIGNS), agents=sorted(_AGENTS))


class FakeSupervisorSearching(FakeRecordings, FakeSupervisorEngine):
    """A supervisor's console whose engine also answers the recordings search."""

    def __init__(self) -> None:
        FakeRecordings.__init__(self)


def searching_supervisor_app() -> tuple[PostdeskApp, FakeSupervisorSearching]:
    fake = FakeSupervisorSearching()
    app = PostdeskApp(lambda _user: fake, mode="supervisor")  # type: ignore[arg-type,return-value]
    return app, fake
