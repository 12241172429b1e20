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
    AttachmentOut,
    ChatLine,
    Event,
    Hello,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    Me,
    MessageOut,
    PickQueue,
    RenderOut,
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
            campaigns=["Support"],
        )

    async def interactions(self, **_: object) -> list[InteractionSummary]:
        return inbox()

    async def interaction(self, interaction_id: int, **_: object) -> InteractionDetail:
        return structs.replace(THREAD, **structs.asdict(inbox()[interaction_id - 1]))

    async def limits(self) -> LimitsOut:
        return LimitsOut(max_attachment_bytes=10_000_000, break_reasons=["Lunch", "Training"])

    async def pick_queue(self) -> PickQueue:
        return PickQueue(campaigns=[], waiting=[], total=0)  # no pick-mode campaign

    async def templates(self) -> list[TemplateOut]:
        return TEMPLATES

    async def render_template(self, template_id: int, interaction_id: int | None) -> RenderOut:
        text = TEMPLATES[template_id - 1].body_text.replace("${name}", "Carol")
        return RenderOut(text=text, unknown=re.findall(r"\$\{(\w+)\}", text))

    async def save_draft(self, interaction_id: int, text: str) -> None:
        pass

    async def unread_chat(self) -> list[ChatLine]:
        return []

    async def events(self, *, resume: bool = False) -> AsyncIterator[Event]:
        yield Hello(username="agent1")
        await asyncio.Event().wait()


def agent_app() -> PostdeskApp:
    return PostdeskApp(lambda _user: FakeEngine(), mode="agent")  # type: ignore[arg-type,return-value]
