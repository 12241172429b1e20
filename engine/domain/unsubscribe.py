"""How a recipient of dialer mail unsubscribes, in each of the three ways mail offers.

- The headers mailbox providers read (RFC 2369 `List-Unsubscribe` with an https and a mailto
  address, RFC 8058 `List-Unsubscribe-Post: List-Unsubscribe=One-Click`): Gmail and Yahoo
  require them of bulk senders and show their own "Unsubscribe" button.
- The link in the body: the dialer's unsubscribe HTML must hold `<a id="unsubscribe_link">`
  (as the manual specifies); its href is filled with the message's own link.
- A mail to the mailto address: the campaign's own address with the subject
  `unsubscribe <token>`; ingest recognises it (`token_of_request`) and it never reaches an
  agent.

Pure functions: the token is minted and looked up by `engine/services/customer/`.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote

from engine.domain.web_links import Links, is_token

LINK_ID = "unsubscribe_link"
SUBJECT_WORD = "unsubscribe"
_REQUEST = re.compile(r"\s*unsubscribe\s+([A-Za-z0-9_-]{22})\s*", re.IGNORECASE)


class UnsubscribeHtmlError(ValueError):
    """The dialer's unsubscribe HTML has no (or more than one) `<a id="unsubscribe_link">`."""


def mailto(address: str, token: str) -> str:
    """`mailto:` URL of the unsubscribe mail: to the campaign's address, the token in the
    subject (a mailbox provider sends it as is, with no body needed)."""
    return f"mailto:{quote(address, safe='@')}?subject={quote(f'{SUBJECT_WORD} {token}')}"


def headers(links: Links, address: str) -> dict[str, str]:
    """`List-Unsubscribe` (https first: providers prefer it) and the one-click marker."""
    return {
        "List-Unsubscribe": f"<{links.unsubscribe}>, <{mailto(address, links.token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def token_of_request(subject: str) -> str | None:
    """The token of an unsubscribe mail's subject (`unsubscribe <token>`, any case; what a
    client adds in front, like `Re:`, is not ours), else None."""
    found = _REQUEST.fullmatch(subject)
    if found is None or not is_token(found.group(1)):
        return None
    return found.group(1)


class _Links(HTMLParser):
    """Every `<a id="unsubscribe_link">` of the HTML: where its start tag is (line, column,
    the tag's text, its attributes) and whether it holds text a person can click. One parser
    for the form's check and for filling the link, so both see the same link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[int, int, str, list[tuple[str, str | None]]]] = []
        self.with_text = 0  # complete links with text
        self._depth = 0  # inside the link: nested <a> count
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        if self._depth:
            self._depth += 1
        elif any(k == "id" and (v or "").strip() == LINK_ID for k, v in attrs):
            line, column = self.getpos()
            self.starts.append((line, column, self.get_starttag_text() or "", attrs))
            self._depth = 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._depth:
            self._depth -= 1
            if not self._depth and "".join(self._text).strip():
                self.with_text += 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def _links(html: str) -> _Links:
    links = _Links()
    links.feed(html)
    links.close()
    return links


def check_html(html: str) -> None:
    """Refuse unsubscribe HTML without exactly one link to fill (the dialer's form)."""
    if problem := unsubscribe_problem(html):
        raise UnsubscribeHtmlError(problem)


def fill_link(html: str, url: str) -> str:
    """The unsubscribe HTML with its link's href set to `url` (any href it had is replaced;
    its other attributes are kept, escaped again)."""
    links = _links(html)
    if problem := _problem(links):
        raise UnsubscribeHtmlError(problem)
    line, column, tag, attrs = links.starts[0]
    lines = html.splitlines(keepends=True)
    offset = sum(len(text) for text in lines[: line - 1]) + column
    kept = [(name, value) for name, value in attrs if name != "href"]
    rebuilt = "<a" + "".join(
        f' {name}="{escape(value, quote=True)}"' if value is not None else f" {name}"
        for name, value in kept
    )
    rebuilt += f' href="{escape(url, quote=True)}">'
    return html[:offset] + rebuilt + html[offset + len(tag) :]


# ---- the dialer form's check: one link, with text a person can click ----

UNSUBSCRIBE_ID = LINK_ID
DEFAULT_UNSUBSCRIBE_HTML = (
    '<p style="font-size:small">You receive this because you are on our list. '
    f'<a id="{UNSUBSCRIBE_ID}">Unsubscribe</a></p>'
)


def unsubscribe_problem(html: str) -> str:
    """Why the HTML cannot be the unsubscribe block ("" when it can)."""
    return _problem(_links(html))


def _problem(links: _Links) -> str:
    if links.with_text == 1 and len(links.starts) == 1:
        return ""
    if len(links.starts) > 1:
        return (
            f'unsubscribe_html: {len(links.starts)} links with id="{UNSUBSCRIBE_ID}"; keep'
            " exactly one (the dialer fills it with each recipient's unsubscribe address)"
        )
    return (
        f'unsubscribe_html: must hold a link <a id="{UNSUBSCRIBE_ID}">Text to show</a>'
        " (with text, closed by </a>); the dialer puts each recipient's unsubscribe address in it"
    )
