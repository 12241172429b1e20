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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.blobs import BlobStore
from data.db import Database
from data.models import BlacklistEntry, Campaign, Interaction, Message, Template
from engine.domain.header_values import untrusted_text
from engine.domain.templates import render
from engine.services.notify import Notifier
from engine.services.outbound.outgoing import Outgoing, queue_reply

log = logging.getLogger(__name__)


class Confirmations:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        notifier: Notifier,
        wake_outbox: Callable[[], None],
        *,
        limit: int = 3,
        campaign_limit: int = 200,
        window: timedelta = timedelta(minutes=10),
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.limit = limit
        self.campaign_limit = campaign_limit
        self.window = window

    async def for_new_interactions(self, campaign_id: int, interaction_ids: list[int]) -> None:
        """Confirm each new customer interaction of a campaign, when the campaign wants it."""
        async with self.db.session() as session:
            campaign = await session.get_one(Campaign, campaign_id)
            wanted = campaign.confirmation_enabled and campaign.confirmation_template_id
        if not wanted:
            return
        for interaction_id in interaction_ids:
            try:
                await self.maybe_send(interaction_id)
            except Exception as exc:  # one bad confirmation must not stop the others
                log.warning(
                    "confirmation for interaction %s not sent: %s: %s",
                    interaction_id,
                    exc.__class__.__name__,
                    exc,
                )

    async def maybe_send(self, interaction_id: int) -> int | None:
        """Queue the confirmation for this new interaction if it is due; its message id."""
        async with self.db.session() as session, session.begin():
            interaction = await session.get_one(Interaction, interaction_id)
            campaign = await session.get_one(Campaign, interaction.campaign_id)
            if not campaign.confirmation_enabled or campaign.confirmation_template_id is None:
                return None
            address = interaction.client_email.lower()
            ours = set((await session.execute(select(Campaign.email_address))).scalars())
            if not address or address in {a.lower() for a in ours}:
                return None
            if await session.scalar(
                select(BlacklistEntry.id).where(BlacklistEntry.email == address)
            ):
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
            template = await session.get(Template, campaign.confirmation_template_id)
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
            message = queue_reply(
                session,
                self.blobs,
                campaign,
                interaction,
                parent,
                Outgoing(
                    text=text,
                    kind="confirmation",
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
    """How many confirmations went out since `since` to the interactions `where` picks."""
    count = await session.scalar(
        select(func.count(Message.id))
        .join(Interaction)
        .where(Message.kind == "confirmation", Message.created_at >= since, *where)
    )
    return count or 0
