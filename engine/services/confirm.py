"""The campaign's confirmation auto-reply ("Confirmation message" in the manual).

Sent only for a new customer interaction: the ingestor never calls this for auto-replies,
bounces, lists or our own mail. Blacklisted addresses and our own addresses get nothing, and no
sender gets more than `limit` confirmations in `window`, so two auto-responders can never ping
each other for long. The answer carries `Auto-Submitted: auto-replied` (RFC 3834).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from data.blobs import BlobStore
from data.db import Database
from data.models import BlacklistEntry, Campaign, Interaction, Message, Template
from engine.domain.templates import render
from engine.services.notify import Notifier
from engine.services.outgoing import Outgoing, queue_reply

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
        window: timedelta = timedelta(minutes=10),
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.limit = limit
        self.window = window

    async def for_new_interactions(self, campaign_id: int, interaction_ids: list[int]) -> None:
        """Confirm each new customer interaction of a campaign, when the campaign wants it."""
        async with self.db.session() as session:
            campaign = await session.get_one(Campaign, campaign_id)
            wanted = campaign.confirmation_enabled and campaign.confirmation_template_id
        if not wanted:
            return
        for interaction_id in interaction_ids:
            await self.maybe_send(interaction_id)

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
            recent = await session.scalar(
                select(func.count(Message.id))
                .join(Interaction)
                .where(
                    Message.kind == "confirmation",
                    Interaction.client_email == address,
                    Message.created_at >= since,
                )
            )
            if (recent or 0) >= self.limit:
                log.info(
                    "confirmation to %s skipped: %s sent in the last %s",
                    address,
                    recent,
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
            text = render(
                template.body_text,
                {
                    "name": interaction.client_name or address,
                    "email": address,
                    "campaign": campaign.name,
                    "subject": interaction.subject,
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
            )
            await session.flush()
            new_id = message.id
        self.notifier.message_added(interaction_id, new_id)
        self.wake_outbox()
        return new_id
