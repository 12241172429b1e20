"""What agents do to their work: open, reply, copies, drafts, close. Role checks happen in the
server; status changes are `people.presence`'s.

Each action commits, then announces itself through the notifier; replies are built in full
(headers, threading, body) here and stored in the outbox before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    Campaign,
    Direction,
    Interaction,
    InteractionState,
    Message,
)
from engine.api.schemas import InteractionDetail
from engine.domain.compose import quote_history
from engine.domain.statistics import elapsed_seconds
from engine.errors import Conflict, Forbidden
from engine.services.customer.links import keep_token, reply_footer
from engine.services.notify import Notifier
from engine.services.outbound.outgoing import (
    compose_body,
    parse_addresses,
    queue_reply,
    uploaded_files,
)
from engine.services.queries import Queries
from engine.services.work.wrapups import record_close


class Work:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        notifier: Notifier,
        wake_outbox: Callable[[], None],
        *,
        web_url: str = "",
    ) -> None:
        self.db = db
        # The public web service's base URL: rating and tracking links in replies start so.
        self.web_url = web_url
        self.blobs = blobs
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.queries = Queries(db)

    async def _own_interaction(self, user_id: int, interaction_id: int) -> Interaction:
        async with self.db.session() as session:
            interaction = await session.get(Interaction, interaction_id)
        if interaction is None or interaction.agent_id != user_id:
            raise Forbidden(f"interaction {interaction_id} is not assigned to you")
        return interaction

    async def open(
        self, viewer_id: int | None, interaction_id: int, *, sees_all: bool, read: bool = True
    ) -> InteractionDetail:
        """The thread as a console shows it. An agent opening their own interaction has read
        it, unless `read` is False: a preview they did not ask for (a pane following a new
        assignment) leaves it unread."""
        owner = await self.queries.check_visible(interaction_id, viewer_id, sees_all=sees_all)
        if read and viewer_id is not None and owner == viewer_id:
            await self.mark_read(viewer_id, interaction_id)
        return await self.queries.detail(interaction_id)

    async def mark_read(self, user_id: int, interaction_id: int) -> None:
        interaction = await self._own_interaction(user_id, interaction_id)
        if not interaction.unread:
            return
        async with self.db.session() as session, session.begin():
            row = await session.get_one(Interaction, interaction_id)
            row.unread = False
        self.notifier.interaction_changed(interaction_id, queue=False)

    async def reply(
        self,
        user_id: int,
        interaction_id: int,
        body: str,
        *,
        with_history: bool,
        uploads: list[str] | None = None,
    ) -> int:
        interaction = await self._own_interaction(user_id, interaction_id)
        if interaction.state != InteractionState.ASSIGNED:
            raise Conflict(f"interaction {interaction_id} is {interaction.state.value}")
        now = datetime.now(UTC)
        async with self.db.session() as session, session.begin():
            interaction = await session.get_one(Interaction, interaction_id)
            campaign = await session.get_one(Campaign, interaction.campaign_id)
            thread = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.interaction_id == interaction_id)
                        .order_by(Message.id)
                    )
                )
                .scalars()
                .all()
            )
            parent = next(
                (m for m in reversed(thread) if m.direction == Direction.INBOUND), None
            ) or (thread[-1] if thread else None)
            history = ""
            if with_history:
                history = "".join(
                    quote_history(
                        old.text, author=old.from_name or old.from_email, date=old.created_at
                    )
                    + "\n"
                    for old in reversed(thread)
                )
            # A reply of a campaign that asks for ratings (or tracks replies) carries a token
            # of its own; forwards, new interactions and confirmations never do.
            feedback = reply_footer(campaign, self.web_url) if self.web_url else None
            composed = await compose_body(
                session,
                campaign,
                body,
                interaction=interaction,
                agent_id=user_id,
                after=history,
                footer=feedback[1] if feedback else None,
            )
            message = await queue_reply(
                session,
                self.blobs,
                campaign,
                interaction,
                parent,
                composed.outgoing(
                    "reply",
                    user_id,
                    await uploaded_files(session, uploads or [], uploader_id=user_id),
                ),
            )
            if feedback is not None:
                keep_token(session, message, feedback[0])
            interaction.last_message_at = now
            interaction.unread = False
            interaction.draft = ""
            if interaction.first_response_at is None and interaction.service_due_at is not None:
                interaction.first_response_at = now  # the customer's first answer
                interaction.first_response_seconds = elapsed_seconds(interaction.created_at, now)
            await session.flush()
            new_id = message.id
        self.notifier.message_added(interaction_id, new_id)
        self.wake_outbox()
        return new_id

    async def set_cc_bcc(self, user_id: int, interaction_id: int, cc: str, bcc: str) -> None:
        """The CC/BCC form: replies use these from now on (until the next received mail)."""
        await self._own_interaction(user_id, interaction_id)
        cc_list = [a.email.lower() for a in parse_addresses("cc", cc)]
        bcc_list = [a.email.lower() for a in parse_addresses("bcc", bcc)]
        async with self.db.session() as session, session.begin():
            row = await session.get_one(Interaction, interaction_id)
            row.cc, row.bcc = cc_list, bcc_list
        self.notifier.interaction_changed(interaction_id, queue=False)

    async def save_draft(self, user_id: int, interaction_id: int, text: str) -> None:
        await self._own_interaction(user_id, interaction_id)
        async with self.db.session() as session, session.begin():
            row = await session.get_one(Interaction, interaction_id)
            row.draft = text

    async def close(
        self, user_id: int, interaction_id: int, *, disposition: str = "", note: str = ""
    ) -> None:
        """Close with a wrap-up (docs/wrapup.md): the campaign's code the agent chose (refused
        when it asks for one and none is given, or the code is not one of its active ones)
        and an internal note. Closing a closed interaction again changes nothing."""
        interaction = await self._own_interaction(user_id, interaction_id)
        if interaction.state == InteractionState.CLOSED:
            return
        async with self.db.session() as session, session.begin():
            row = await session.get_one(Interaction, interaction_id)
            row.state = InteractionState.CLOSED
            row.closed_at = datetime.now(UTC)
            await record_close(session, row, user_id, disposition, note, row.closed_at)
            # Summed over every assignment: a reopened interaction adds its second handling.
            row.handling_seconds += elapsed_seconds(row.assigned_at, row.closed_at)
            row.unread = False
        self.notifier.interaction_changed(interaction_id, agents=(user_id,))
