"""Tokens for outgoing mail: minted when a message is built, stored with it when it is queued.

Random stored ids rather than HMACs of the message id: a token must be looked up anyway (a
rating records the message's interaction, agent and campaign), so storing it costs one indexed
row per message and buys what an HMAC cannot: no key that, once leaked or rotated, forges or
breaks every link ever sent; a token that is plainly invalid when its message is deleted; and
nothing shared but the database between the engine and any number of web processes.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from data.models import Campaign, Message, MessageLink
from engine.domain.web_links import TOKEN_BYTES, Links, pixel_html, rating_html, rating_text
from engine.services.outbound.outgoing import Footer


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def reply_footer(campaign: Campaign, base_url: str) -> tuple[str, Footer] | None:
    """The token and the block under a reply of this campaign: the rating links when
    qualification is on, the tracking image when the campaign tracks replies; None when it
    does neither (the reply gets no token)."""
    if not (campaign.qualification_enabled or campaign.track_replies):
        return None
    links = Links(base_url, new_token())
    text = html = ""
    if campaign.qualification_enabled:
        text = rating_text(campaign.qualification_motivation, links)
        html = rating_html(campaign.qualification_motivation, links)
    if campaign.track_replies:
        html += pixel_html(links)
    return links.token, Footer(text, html)


def keep_token(session: AsyncSession, message: Message, token: str) -> None:
    """Store `token` as `message`'s, in the transaction that queues the message."""
    session.add(MessageLink(message=message, token=token))
