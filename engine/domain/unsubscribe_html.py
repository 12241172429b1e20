"""The unsubscribe block of a dialer's mail: admin-written HTML that must hold the link
the sender fills in, `<a id="unsubscribe_link">Text to show</a>` (the manual's rule).

Read with `html.parser` (what a browser would take as that element), never a regex: an id
in a comment, in another attribute's value or on another element does not count, and the
link needs text a person can click. Exactly one: the sender fills one address in. Pure."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["DEFAULT_UNSUBSCRIBE_HTML", "UNSUBSCRIBE_ID", "unsubscribe_problem"]

UNSUBSCRIBE_ID = "unsubscribe_link"
DEFAULT_UNSUBSCRIBE_HTML = (
    '<p style="font-size:small">You receive this because you are on our list. '
    f'<a id="{UNSUBSCRIBE_ID}">Unsubscribe</a></p>'
)


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links = 0  # complete links with text
        self.starts = 0  # links opened (with text or not)
        self._depth = 0  # inside the link: nested <a> count
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        if self._depth:
            self._depth += 1
        elif any(k == "id" and (v or "").strip() == UNSUBSCRIBE_ID for k, v in attrs):
            self.starts += 1
            self._depth = 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._depth:
            self._depth -= 1
            if not self._depth and "".join(self._text).strip():
                self.links += 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def unsubscribe_problem(html: str) -> str:
    """Why the HTML cannot be the unsubscribe block ("" when it can)."""
    finder = _LinkFinder()
    finder.feed(html)
    finder.close()
    if finder.links == 1 and finder.starts == 1:
        return ""
    if finder.starts > 1:
        return (
            f'unsubscribe_html: {finder.starts} links with id="{UNSUBSCRIBE_ID}"; keep exactly'
            " one (the dialer fills it with each recipient's unsubscribe address)"
        )
    return (
        f'unsubscribe_html: must hold a link <a id="{UNSUBSCRIBE_ID}">Text to show</a>'
        " (with text, closed by </a>); the dialer puts each recipient's unsubscribe address in it"
    )
