"""The PDF of a thread and the mbox of its mails, as pure functions (no engine): text that
could break a PDF string or an mbox stays exactly the text it was."""

from __future__ import annotations

import mailbox
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader

from engine.api.schemas import InteractionDetail, MessageOut
from engine.domain.mbox import MboxEntry, mboxrd, quote_body, separator
from engine.services.recordings.printout import thread_pdf
from tests.recording_world import pdf_text

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def detail(*texts: str) -> InteractionDetail:
    messages = [
        MessageOut(
            id=n,
            direction="inbound",
            state="received",
            message_id=f"<{n}@x>",
            from_email="carol@example.net",
            from_name="Carol",
            to=["support@example.com"],
            cc=[],
            subject="Subject",
            text=text,
            created_at=NOW,
            sent_at=None,
            error="",
        )
        for n, text in enumerate(texts, start=1)
    ]
    return InteractionDetail(
        id=9, campaign_id=1, campaign_name="Support", client_email="carol@example.net",
        client_name="Carol", subject="Subject", state="open", agent=None, unread=False,
        queued_at=NOW, assigned_at=None, closed_at=None, last_message_at=NOW,
        message_count=len(messages), cc=[], bcc=[], messages=messages,
    )  # fmt: skip


def test_pdf_syntax_in_a_body_is_printed_as_text() -> None:
    hostile = r"a) Tj ET (b\) \\ %%EOF endobj << /JS (app.alert(1)) >> stream"
    text = pdf_text(thread_pdf(detail(hostile)))
    assert hostile in text
    assert "Agent (none)" in text and "State open" in text


def test_long_words_wrap_and_nothing_is_lost() -> None:
    word = "x" * 400
    tabbed = "col1\tcol2"
    text = pdf_text(thread_pdf(detail(f"{word} end", tabbed)))
    joined = "".join(line.removeprefix("│ ") for line in text.splitlines())
    assert word in joined and "col1    col2" in text


def test_mbox_quotes_from_lines_and_keeps_one_message_each(tmp_path: Path) -> None:
    raw = b"Subject: hi\r\n\r\nFrom here on\r\n>From quoted\r\nbody\r\n"
    assert quote_body(raw) == b"Subject: hi\n\n>From here on\n>>From quoted\nbody\n"
    assert separator("a b\x00@x", NOW) == b"From ab@x Sun Dec  6 09:00:00 2026\n"
    assert separator("", NOW).startswith(b"From MAILER-DAEMON ")
    path = tmp_path / "t.mbox"
    path.write_bytes(mboxrd([MboxEntry("a@x", NOW, raw), MboxEntry("b@x", NOW, raw)]))
    box = mailbox.mbox(path, create=False)
    try:
        assert [m["Subject"] for m in box] == ["hi", "hi"]
    finally:
        box.close()


def test_poppler_renders_every_page_without_a_complaint(tmp_path: Path) -> None:
    """A second reader than pypdf (the one most Linux viewers and CUPS filters use) takes the
    file as it is: no syntax error, no missing font, every page drawn with ink on it."""
    long = "\n".join(f"line {n} Ελληνικά Кириллица 中文" for n in range(150))
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(thread_pdf(detail(long, "short")))
    done = subprocess.run(
        ["pdftoppm", "-r", "20", "-gray", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) == len(PdfReader(pdf).pages) >= 2
    for page in pages:
        pixels = page.read_bytes().split(b"\n", 3)[3]  # P5 header: magic, size, max, data
        assert min(pixels) < 128, f"{page.name} is blank"
