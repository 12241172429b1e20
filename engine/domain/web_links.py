"""The customer's side of our mail: the links to the public web service and how they look.

Pure functions: a token's shape, the URLs built from the public base URL, and the rating
block a reply carries (the campaign's motivation text above links 1-5, as HTML and as plain
text) and its tracking image. The service that mints tokens and records what customers do is
`engine/services/customer/`; the web server is `engine/web/`.

A token is 16 random bytes in URL-safe base64 (22 characters), stored with the message it
belongs to (`message_links`): it is not derived from the message, the address or a counter,
so it tells nothing and no token says anything about another.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from html import escape

SCORES = (1, 2, 3, 4, 5)
TOKEN_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
# Words under the numbers, so the scale reads the same in every client.
SCORE_WORDS = {1: "Very poor", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}


def new_tokens(count: int) -> list[str]:
    """`count` fresh random tokens at once (as `secrets.token_urlsafe(TOKEN_BYTES)` makes
    each: URL-safe base64 of TOKEN_BYTES random bytes, no padding), one read of randomness."""
    random = os.urandom(TOKEN_BYTES * count)
    return [
        base64.urlsafe_b64encode(random[at : at + TOKEN_BYTES]).rstrip(b"=").decode("ascii")
        for at in range(0, TOKEN_BYTES * count, TOKEN_BYTES)
    ]


def is_token(text: str) -> bool:
    """True for something shaped like a token we make (anything else is not looked up)."""
    return bool(_TOKEN.fullmatch(text))


def parse_score(text: str) -> int | None:
    """A score 1-5 from a URL or form field ("3"), else None: never raises."""
    return int(text) if text in {str(s) for s in SCORES} else None


@dataclass(frozen=True)
class Links:
    """Every public URL of one outgoing message."""

    base: str  # the public base URL, no trailing slash
    token: str

    def rating(self, score: int) -> str:
        return f"{self.base}/r/{self.token}/{score}"

    @property
    def thanks(self) -> str:
        return f"{self.base}/r/{self.token}/thanks"

    @property
    def pixel(self) -> str:
        return f"{self.base}/p/{self.token}.gif"

    @property
    def unsubscribe(self) -> str:
        return f"{self.base}/u/{self.token}"


def rating_text(motivation: str, links: Links) -> str:
    """The plain-text part's rating block: the motivation, then one link per score."""
    lines = [motivation.strip() or "How did we do? Rate this answer:"]
    lines += [f"  {s} - {SCORE_WORDS[s]}: {links.rating(s)}" for s in SCORES]
    return "\n".join(lines) + "\n"


def rating_html(motivation: str, links: Links) -> str:
    """The HTML part's rating block: the motivation above five score links. Tables and
    inline styles because mail clients drop stylesheets; nothing here runs script."""
    text = escape(motivation.strip() or "How did we do? Rate this answer:")
    cells = "".join(
        '<td style="padding:4px">'
        f'<a href="{escape(links.rating(s))}" title="{SCORE_WORDS[s]}" '
        'style="display:inline-block;min-width:2.2em;padding:8px 10px;border:1px solid #888;'
        'border-radius:6px;text-align:center;text-decoration:none;color:#000;font-size:18px">'
        f"{s}&nbsp;&#9733;</a></td>"
        for s in SCORES
    )
    return (
        '<div class="postdesk-rating" style="margin-top:16px">'
        f'<p style="margin:0 0 6px 0">{text}</p>'
        f'<table role="presentation" cellspacing="0" cellpadding="0"><tr>{cells}</tr></table>'
        '<p style="margin:4px 0 0 0;font-size:12px;color:#555">'
        "1 = very poor, 5 = excellent</p></div>"
    )


def pixel_html(links: Links) -> str:
    """The tracking image: one transparent pixel, no alt text to show when images are off."""
    return (
        f'<img src="{escape(links.pixel)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )


# A 1x1 transparent GIF, the tracking image's whole body.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
