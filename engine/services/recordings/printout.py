"""An interaction as a PDF: what a supervisor prints or files (the manual's printer icon in
the "Email recording viewer").

fpdf2 (pure Python, maintained, embeds TrueType subsets) with the DejaVu Sans fonts bundled
in `fonts/` (the files of Debian's fonts-dejavu-core 2.37), so a recording prints the same on
every machine: accented Latin, Greek, Cyrillic, Hebrew, Arabic letters, box drawing, arrows.
What DejaVu Sans has no glyph for (CJK, Thai, the Indic scripts, most emoji) prints as its
code point, `[U+4E2D]`: the reader sees that something was there and what, never a blank
or a wrong letter.

Lines are broken here, not by fpdf2's `multi_cell`: its line breaker re-measures the line
for every character (8-10x slower than all of this module, bench/pdf.py); ours measures each
character once per style and size, and fpdf2 only places ready lines with `text` (`cell`
lays each line out again as styled fragments: half the time of a long thread).

Mail text is untrusted. It is printed as text only (no markdown, no HTML), after the same
sanitiser as the screen (controls, ESC sequences and bidi overrides removed: an RLO would
reverse what a reader sees on paper as well), and body lines sit behind a bar so a customer
cannot forge a header or another message on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import TTFFont

from engine.api.schemas import InteractionDetail, MessageOut, NoteOut, WrapupOut
from engine.text.sanitize import one_line, sanitize

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
BODY_PT = 9.5
SMALL_PT = 8.5
LINE_MM = 4.4
MARGIN_MM = 15
BAR = "│ "
# Break opportunities: spaces, and around each `[U+XXXX]` that stands for a missing glyph
# (a CJK sentence has no spaces, and a code point cut in two reads as nonsense).
WORDS = re.compile(r"\[U\+[0-9A-F]{4,6}\]|[^\s\[]+|\[|\s+")


def stamp(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _address(name: str, email: str) -> str:
    return f"{name} <{email}>" if name.strip() else email


class _Page(FPDF):
    """A4 pages with the interaction on every footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM)
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(footer)
        self.set_creator("Postdesk")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(110)
        self.cell(0, 4, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _cmap(pdf: FPDF, key: str) -> frozenset[int]:
    font = pdf.fonts[key]
    assert isinstance(font, TTFFont)  # added from a .ttf file above
    return frozenset(font.cmap)


class _Writer:
    """Lines into the PDF: measured once per character, wrapped to the page's width."""

    def __init__(self, pdf: _Page) -> None:
        self.pdf = pdf
        self.width = pdf.epw
        self.covered = {style: _cmap(pdf, FAMILY.lower() + style) for style in ("", "B")}
        self._tables: dict[tuple[str, float], dict[str, float]] = {}
        self.font()

    def font(self, style: str = "", size: float = BODY_PT) -> None:
        self.style, self.size = style, size
        self.pdf.set_font(FAMILY, style, size)
        # One table per style and size, in the document's unit (mm): each character's width,
        # and each short word's (mail repeats its words: measured once, looked up after).
        self.widths = self._tables.setdefault((style, size), {})

    def printable(self, text: str) -> str:
        """`text` with every character the font lacks written as its code point."""
        if text.isascii():
            return text
        covered = self.covered[self.style]
        if all(ord(ch) in covered for ch in set(text)):
            return text
        return "".join(ch if ord(ch) in covered else f"[U+{ord(ch):04X}]" for ch in text)

    def measure(self, text: str) -> float:
        widths = self.widths
        known = widths.get(text)
        if known is not None:
            return known
        try:
            total = sum(map(widths.__getitem__, text))
        except KeyError:  # a character not measured yet in this style and size
            for ch in set(text).difference(widths):
                widths[ch] = self.pdf.get_string_width(ch)
            total = sum(map(widths.__getitem__, text))
        if len(text) <= 24:
            widths[text] = total
        return total

    def wrap(self, text: str, width: float) -> Iterator[str]:
        """Greedy word wrap; a word longer than the line is cut where it fills it. Spaces
        are kept as they were (the text exactly), only those at a break are dropped."""
        line, used = "", 0.0
        for token in WORDS.findall(text):
            w = self.measure(token)
            if used + w <= width:
                line, used = line + token, used + w
                continue
            if token.isspace():
                yield line
                line, used = "", 0.0
                continue
            if line:
                yield line
                line, used = "", 0.0
            while w > width:  # a long word (a URL, a base64 run): cut it
                cut, cut_w = "", 0.0
                for ch in token:
                    cw = self.measure(ch)
                    if cut and cut_w + cw > width:
                        break
                    cut, cut_w = cut + ch, cut_w + cw
                yield cut
                token = token[len(cut) :]
                w = self.measure(token)
            line, used = token, w
        yield line

    def _room(self, height: float) -> None:
        """A new page when a line of `height` would cross the bottom margin."""
        pdf = self.pdf
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            pdf.set_font(FAMILY, self.style, self.size)

    def _put(self, x: float, height: float, text: str) -> None:
        """`text` on the current line at `x`, the baseline where `cell` would put it.
        `FPDF.text` places a ready string: none of `cell`'s per-fragment layout."""
        if text:
            pdf = self.pdf
            pdf.text(pdf.l_margin + x, pdf.get_y() + 0.5 * height + 0.3 * pdf.font_size, text)

    def lines(self, text: str, *, indent: str = "", style: str = "", size: float = BODY_PT) -> None:
        """Write `text` (already sanitised), each of its lines wrapped, `indent` before each."""
        self.font(style, size)
        pdf = self.pdf
        lead = self.measure(indent)
        height = LINE_MM * size / BODY_PT
        for paragraph in text.split("\n"):
            printable = self.printable(paragraph.expandtabs(8))
            for piece in self.wrap(printable, self.width - lead):
                self._room(height)
                self._put(0, height, indent + piece)
                pdf.set_y(pdf.get_y() + height)

    def labelled(self, label: str, value: str) -> None:
        """`Label   value` with the value wrapped under itself."""
        pdf = self.pdf
        label_w = 24.0
        self.font("", SMALL_PT)
        pieces = list(self.wrap(self.printable(value), self.width - label_w)) or [""]
        for n, piece in enumerate(pieces):
            self._room(LINE_MM)
            if n == 0:
                self.font("B", SMALL_PT)
                self._put(0, LINE_MM, self.printable(label))
                self.font("", SMALL_PT)
            self._put(label_w, LINE_MM, piece)
            pdf.set_y(pdf.get_y() + LINE_MM)

    def rule(self, *, heavy: bool = False) -> None:
        pdf = self.pdf
        self._room(4)
        pdf.set_y(pdf.get_y() + 1.5)
        pdf.set_line_width(0.4 if heavy else 0.15)
        pdf.set_draw_color(60 if heavy else 150)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + self.width, pdf.get_y())
        pdf.set_y(pdf.get_y() + 2)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"


def _direction(message: MessageOut) -> str:
    if message.direction == "inbound":
        return "← Received"
    kinds = {"forward": "→ Forwarded", "confirmation": "→ Automatic answer", "new": "→ Sent (new)"}
    return kinds.get(message.kind, "→ Sent")


def _message(out: _Writer, message: MessageOut, number: int, total: int) -> None:
    inbound = message.direction == "inbound"
    moment = message.created_at if inbound else (message.sent_at or message.created_at)
    state = "" if inbound else f" · {message.state}"
    out.lines(
        f"{number}/{total} {_direction(message)} · {stamp(moment)}{state}",
        style="B",
    )
    out.labelled("From", one_line(_address(message.from_name, message.from_email)))
    for label, addresses in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if addresses:
            out.labelled(label, one_line(", ".join(addresses)))
    out.labelled("Subject", one_line(message.subject) or "(no subject)")
    if message.error and message.state != "sent" and not inbound:
        out.labelled("Error", one_line(message.error, 300))
    for attachment in message.attachments:
        kept = " (too large: only in the original mail)" if attachment.over_limit else ""
        out.labelled(
            "Attached",
            f"{one_line(attachment.filename)} · {one_line(attachment.content_type)} · "
            f"{attachment.size:,} bytes{kept}",
        )
    out.pdf.set_y(out.pdf.get_y() + 1.5)
    body = sanitize(message.text).rstrip()
    if body.strip():
        out.lines(body, indent=BAR)
    else:
        out.lines("(no text)", indent=BAR)


def _note(out: _Writer, note: NoteOut) -> None:
    what = {"transfer": "Transferred", "reassign": "Reassigned"}.get(note.kind, "Internal note")
    target = f" to {one_line(note.target)}" if note.target else ""
    out.lines(
        f"{what}{target} · {one_line(note.author_name)} · {stamp(note.created_at)} "
        "(internal, never sent)",
        style="B",
        size=SMALL_PT,
    )
    if note.text.strip():
        out.lines(sanitize(note.text).rstrip(), indent=BAR, size=SMALL_PT)


def _wrapup(out: _Writer, wrapup: WrapupOut) -> None:
    out.lines(
        f"Closed · {one_line(wrapup.agent_name)} · {stamp(wrapup.closed_at)} (wrap-up, internal)",
        style="B",
        size=SMALL_PT,
    )
    out.labelled("Disposition", one_line(wrapup.disposition) or "(none)")
    if wrapup.note.strip():
        out.lines(sanitize(wrapup.note).rstrip(), indent=BAR, size=SMALL_PT)


def _header(out: _Writer, detail: InteractionDetail, printed: datetime) -> None:
    out.lines(
        f"Interaction #{detail.id} · {one_line(detail.subject) or '(no subject)'}",
        style="B",
        size=13,
    )
    out.pdf.set_y(out.pdf.get_y() + 1)
    out.labelled("Campaign", one_line(detail.campaign_name))
    out.labelled("Client", one_line(_address(detail.client_name, detail.client_email)))
    out.labelled("Subject", one_line(detail.subject) or "(no subject)")
    out.labelled("Agent", one_line(detail.agent or "(none)"))
    out.labelled("State", str(detail.state))
    out.labelled("Arrived", stamp(detail.arrived_at))
    if detail.assigned_at is not None:
        out.labelled("Assigned", stamp(detail.assigned_at))
    if detail.closed_at is not None:
        out.labelled("Closed", stamp(detail.closed_at))
    if detail.disposition:
        out.labelled("Disposition", one_line(detail.disposition))
    for label, addresses in (("CC", detail.cc), ("BCC", detail.bcc)):
        if addresses:
            out.labelled(label, one_line(", ".join(addresses)))
    attachments = sum(len(m.attachments) for m in detail.messages)
    out.labelled(
        "Messages",
        f"{_count(len(detail.messages), 'message')} · {_count(attachments, 'attachment')}"
        f" · printed {stamp(printed)}",
    )
    out.rule(heavy=True)


def thread_pdf(detail: InteractionDetail, *, printed: datetime | None = None) -> bytes:
    """The whole interaction as PDF bytes: its headers, then every message oldest first
    with the internal notes and closes where they happened."""
    printed = printed or datetime.now(UTC)
    pdf = _Page(f"Postdesk interaction #{detail.id}")
    pdf.set_creation_date(printed)
    pdf.add_page()
    out = _Writer(pdf)
    _header(out, detail, printed)
    # Notes and closes among the messages by time, each before the first message after it.
    extras: list[tuple[datetime, int, NoteOut | WrapupOut]] = [
        (note.created_at, 0, note) for note in detail.notes
    ] + [(w.closed_at, 1, w) for w in detail.wrapups]
    extras.sort(key=lambda e: (e[0], e[1]))
    total = len(detail.messages)
    for number, message in enumerate(detail.messages, start=1):
        while extras and extras[0][0] < message.created_at:
            _extra(out, extras.pop(0)[2])
        _message(out, message, number, total)
        out.rule()
    for _, _, extra in extras:
        _extra(out, extra)
    return bytes(pdf.output())


def _extra(out: _Writer, extra: NoteOut | WrapupOut) -> None:
    if isinstance(extra, NoteOut):
        _note(out, extra)
    else:
        _wrapup(out, extra)
    out.rule()


def pdf_name(detail: InteractionDetail) -> str:
    """`interaction-12 Order 1234 missing.pdf` (a saver still cleans and uniquifies it)."""
    subject = one_line(detail.subject, 60).replace("/", "-").replace("\\", "-").strip()
    return f"interaction-{detail.id} {subject or 'no subject'}.pdf"
