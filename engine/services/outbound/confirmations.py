"""The campaign's confirmation auto-reply ("Confirmation message" in the manual).

Sent only for a new customer interaction: the ingestor never calls this for auto-replies,
bounces, lists or our own mail. Blacklisted addresses and our own addresses get nothing, and no
sender gets more than `limit` confirmations in `window`, so two auto-responders can never ping
each other for long. The answer carries `Auto-Submitted: auto-replied` (RFC 3834).

Anyone can put any address in From, so an automatic answer is a way to aim our mail at a
stranger: it goes to the sender alone (never to the CCs of the mail it answers), and a
campaign sends at most `campaign_limit` of them per `window` however many senders there are.
Whatever is copied from the customer's mail into it (name, subject) is cleaned of controls
and bidi overrides first. One confirmation that cannot be built is logged and skipped; it
never stops the others or the mailbox that received the mail.

The same guards cover the other automatic answers of a campaign, one per new interaction:
out of schedule, its out-of-hours template (`out_of_hours`) answers instead of the
confirmation; over the queue limit, its "we are busy" template (`busy`). The caps count every
kind together, so a sender gets at most `limit` automatic answers per window, whatever kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.db_blobs import Blobs
from data.models import Campaign, Interaction, Message, Template
from engine.domain.header_values import untrusted_text
from engine.domain.templates import render
from engine.services.customer import blacklist
from engine.services.notify import Notifier
from engine.services.outbound.outgoing import Outgoing, queue_reply
from engine.services.work.schedules import Schedules

log = logging.getLogger(__name__)

# Message kinds of automatic answers; the caps count them together.
AUTOMATIC_KINDS = ("confirmation", "out_of_hours", "busy")


class Confirmations:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        notifier: Notifier,
        wake_outbox: Callable[[], None],
        *,
        limit: int = 3,
        campaign_limit: int = 200,
        window: timedelta = timedelta(minutes=10),
        schedules: Schedules | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.limit = limit
        self.campaign_limit = campaign_limit
        self.window = window
        self.schedules = schedules or Schedules(db)

    async def for_new_interactions(
        self, campaign_id: int, interaction_ids: list[int], overflowed: set[int] | None = None
    ) -> None:
        """Answer each new customer interaction of a campaign as the campaign wants: out of
        hours, busy (it overflowed the queue limit) or the confirmation; at most one each."""
        overflowed = overflowed or set()
        async with self.db.session() as session:
            campaign = await session.get_one(Campaign, campaign_id)
            confirm = campaign.confirmation_template_id if campaign.confirmation_enabled else None
            out_of_hours = campaign.out_of_hours_template_id
            busy = campaign.busy_template_id
        if not (confirm or out_of_hours or busy):
            return
        closed = bool(out_of_hours) and not await self.schedules.is_open(campaign_id)
        for interaction_id in interaction_ids:
            if closed:
                kind, template_id = "out_of_hours", out_of_hours
            elif busy and interaction_id in overflowed:
                kind, template_id = "busy", busy
            else:
                kind, template_id = "confirmation", confirm
            if template_id is None:
                continue
            try:
                await self.maybe_send(
                    interaction_id, kind=kind, template_id=template_id, campaign_id=campaign_id
                )
            except Exception as exc:  # one bad answer must not stop the others
                log.warning(
                    "%s answer for interaction %s not sent: %s: %s",
                    kind,
                    interaction_id,
                    exc.__class__.__name__,
                    exc,
                )

    async def maybe_send(
        self,
        interaction_id: int,
        *,
        kind: str = "confirmation",
        template_id: int | None = None,
        campaign_id: int | None = None,
    ) -> int | None:
        """Queue an automatic answer to this new interaction if it is due; its message id.

        By default the confirmation of the interaction's campaign; `campaign_id` is the
        campaign that answers (it sends from its address) when the interaction overflowed
        to another one."""
        async with self.db.session() as session, session.begin():
            interaction = await session.get_one(Interaction, interaction_id)
            campaign = await session.get_one(Campaign, campaign_id or interaction.campaign_id)
            if template_id is None:
                if not campaign.confirmation_enabled:
                    return None
                template_id = campaign.confirmation_template_id
            if template_id is None:
                return None
            address = interaction.client_email.lower()
            ours = set((await session.execute(select(Campaign.email_address))).scalars())
            if not address or address in {a.lower() for a in ours}:
                return None
            if await blacklist.is_blocked(session, address, campaign.id):
                return None
            since = datetime.now(UTC) - self.window
            recent = await _confirmations_since(session, since, Interaction.client_email == address)
            if recent >= self.limit:
                log.info(
                    "confirmation to %s skipped: %s sent in the last %s",
                    address,
                    recent,
                    self.window,
                )
                return None
            campaign_recent = await _confirmations_since(
                session, since, Interaction.campaign_id == campaign.id
            )
            if campaign_recent >= self.campaign_limit:
                log.warning(
                    "confirmation to %s skipped: campaign %s sent %s in the last %s",
                    address,
                    campaign.name,
                    campaign_recent,
                    self.window,
                )
                return None
            template = await session.get(Template, template_id)
            if template is None:
                return None
            parent = await session.scalar(
                select(Message)
                .where(Message.interaction_id == interaction_id)
                .order_by(Message.id)
                .limit(1)
            )
            name = untrusted_text(interaction.client_name)
            text = render(
                template.body_text,
                {
                    "name": name or untrusted_text(address),
                    "email": untrusted_text(address),
                    "campaign": campaign.name,
                    "subject": untrusted_text(interaction.subject),
                },
            ).text
            message = await queue_reply(
                session,
                self.blobs,
                campaign,
                interaction,
                parent,
                Outgoing(
                    text=text,
                    kind=kind,
                    extra_headers={
                        "Auto-Submitted": "auto-replied",
                        "X-Auto-Response-Suppress": "All",
                    },
                ),
                copies=False,
            )
            await session.flush()
            new_id = message.id
        self.notifier.message_added(interaction_id, new_id)
        self.wake_outbox()
        return new_id


async def _confirmations_since(session: AsyncSession, since: datetime, *where: Any) -> int:
    """How many automatic answers went out since `since` to the interactions `where` picks."""
    count = await session.scalar(
        select(func.count(Message.id))
        .join(Interaction)
        .where(Message.kind.in_(AUTOMATIC_KINDS), Message.created_at >= since, *where)
    )
    return count or 0
