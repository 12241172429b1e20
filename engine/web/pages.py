"""The HTML of every public page: small, plain, readable on a phone, no script.

Every value that reaches a page is escaped here (`html.escape`, quotes included); the style
is one inline sheet allowed by its hash in the Content-Security-Policy, which allows nothing
else (no script, no images, no frames, forms only to ourselves).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from engine.domain.web_links import SCORE_WORDS, SCORES

CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f4f4f4;color:#111;line-height:1.4}"
    "main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}"
    "h1{font-size:1.4rem;margin:0 0 .75rem}"
    "p{margin:.5rem 0 1rem}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:10px;padding:1.25rem}"
    "fieldset{border:0;padding:0;margin:0 0 1rem}"
    "legend{font-weight:600;margin-bottom:.5rem}"
    ".scores label{display:flex;align-items:center;gap:.6rem;padding:.7rem .8rem;"
    "margin:.35rem 0;border:1px solid #bbb;border-radius:8px;font-size:1.1rem}"
    ".scores input{width:1.3rem;height:1.3rem}"
    ".scores label:has(input:checked){border-color:#1a5fb4;background:#e8f0fb}"
    "button{width:100%;font-size:1.15rem;padding:.8rem;border:0;border-radius:8px;"
    "background:#1a5fb4;color:#fff}"
    ".muted{color:#555;font-size:.9rem}"
    ".thanks{white-space:pre-wrap}"
)
CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# No script, image, font, frame or connection of any kind; forms post only to us.
CSP = (
    f"default-src 'none'; style-src '{CSS_HASH}'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def page(title: str, body: str) -> str:
    """A whole page; `title` is escaped here, `body` is markup made by this module."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f'<body><main><div class="card">{body}</div></main></body></html>\n'
    )


def rating(action: str, campaign: str, motivation: str, chosen: int | None) -> str:
    """The 1-5 choice (the link's score preselected) and one button that posts it."""
    options = "".join(
        f'<label><input type="radio" name="score" value="{s}"'
        f"{' checked' if s == chosen else ''} required>"
        f"<span><strong>{s}</strong> &middot; {SCORE_WORDS[s]}</span></label>"
        for s in SCORES
    )
    return page(
        f"Rate our answer - {campaign}",
        f"<h1>{escape(campaign)}</h1>"
        f"<p>{escape(motivation or 'How did we do? Rate this answer:')}</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<fieldset class="scores"><legend>Your rating</legend>{options}</fieldset>'
        '<button type="submit" id="send">Send my rating</button></form>'
        '<p class="muted">You can change your rating later from the same link.</p>',
    )


def thanks(campaign: str, text: str, score: int) -> str:
    return page(
        f"Thank you - {campaign}",
        f"<h1>Thank you</h1>"
        f'<p class="thanks" id="thanks">{escape(text or "Thank you for your rating.")}</p>'
        f'<p class="muted">Your rating: {score} of 5 ({SCORE_WORDS[score]}).</p>',
    )


def unsubscribe(action: str, campaign: str) -> str:
    return page(
        f"Unsubscribe - {campaign}",
        f"<h1>Unsubscribe</h1><p>Stop receiving mail from {escape(campaign)}?</p>"
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="confirm" value="1">'
        '<button type="submit" id="send">Unsubscribe</button></form>',
    )


def unsubscribed(campaign: str) -> str:
    return page(
        f"Unsubscribed - {campaign}",
        f"<h1>You are unsubscribed</h1><p>{escape(campaign)} will not send you such mail "
        "again.</p>",
    )


def message(status_title: str, text: str) -> str:
    """The plain page of a refusal (404, 429, ...): says what, and nothing about why."""
    return page(status_title, f"<h1>{escape(status_title)}</h1><p>{escape(text)}</p>")
