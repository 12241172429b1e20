"""How long printing a long thread takes: the PDF of a 200-message interaction.

`uv run python -m bench.pdf [--messages N] [--rounds R] [--out FILE]`

Builds a realistic thread (customer mails and replies of 300 to 4,000 characters, quoted
history under most replies, accented Latin, some Greek and Cyrillic, a CJK line now and
then, long URLs, attachments on one message in five, notes and a close) and times
`engine.services.recordings.printout.thread_pdf` on it, best and median of R rounds (the
engine runs it in a worker thread; this is the CPU it costs). Reference, in the same run:
fpdf2's own `multi_cell` laying out the same bodies for the first 20 messages (its line
breaker re-measures the line for every character), scaled to the thread.

Ends with `target pdf-200-messages: N ms (goal <= 2000)` (the median wall time; the CPU time
and the load average are printed above it, since on a crowded machine the wall clock also
counts waiting for a core).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fpdf import FPDF

from engine.api.schemas import AttachmentOut, InteractionDetail, MessageOut, NoteOut, WrapupOut
from engine.services.recordings.printout import FONTS, thread_pdf

WORDS = (
    "order delivery refund invoice kettle package tracking address payment account "
    "the a to and of we you your our is was will be please thank regards hello "
    "commande livrée remboursement facture adresse merci cordialement déjà reçu "
    "Straße Größe Lieferung Rücksendung niño señor atención"
).split()
GREEK = "Καλημέρα, η παραγγελία μου δεν έφτασε ακόμη."
CYRILLIC = "Здравствуйте, мой заказ ещё не пришёл."
CJK = "您好，我的订单还没有到。"


def paragraph(rng: random.Random, words: int) -> str:
    line = " ".join(rng.choice(WORDS) for _ in range(words))
    return line[0].upper() + line[1:] + "."


def body(rng: random.Random, n: int, previous: str) -> str:
    parts = [paragraph(rng, rng.randint(15, 60)) for _ in range(rng.randint(1, 6))]
    if n % 7 == 0:
        parts.append(GREEK)
    if n % 11 == 0:
        parts.append(CYRILLIC)
    if n % 29 == 0:
        parts.append(CJK)
    if n % 5 == 0:
        parts.append(f"https://shop.example.com/track?id={'x' * 120}&n={n}")
    text = "\n\n".join(parts)
    if previous and rng.random() < 0.8:  # quoted history, as most replies carry
        quoted = "\n".join("> " + line for line in previous.splitlines()[:30])
        text += "\n\nOn Monday, someone wrote:\n" + quoted
    return text[:4000]


def thread(messages: int, seed: int = 15) -> InteractionDetail:
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows: list[MessageOut] = []
    previous = ""
    for n in range(messages):
        inbound = n % 2 == 0
        text = body(rng, n, previous)
        previous = text
        rows.append(
            MessageOut(
                id=n + 1,
                direction="inbound" if inbound else "outbound",
                state="received" if inbound else "sent",
                message_id=f"<{n}@bench>",
                from_email="zoe@acme.example" if inbound else "support@postdesk.example",
                from_name="Zoë Quinn" if inbound else "Postdesk Support",
                to=["support@postdesk.example"] if inbound else ["zoe@acme.example"],
                cc=[],
                subject="Commande 1001 cassée" if n == 0 else "Re: Commande 1001 cassée",
                text=text,
                created_at=start + timedelta(hours=n),
                sent_at=None if inbound else start + timedelta(hours=n, minutes=1),
                error="",
                attachments=[
                    AttachmentOut(
                        id=n,
                        filename=f"photo-{n}.jpg",
                        content_type="image/jpeg",
                        size=rng.randint(10_000, 3_000_000),
                    )
                ]
                if n % 5 == 0
                else [],
            )
        )
    end = start + timedelta(hours=messages)
    return InteractionDetail(
        id=1001,
        campaign_id=1,
        campaign_name="Support",
        client_email="zoe@acme.example",
        client_name="Zoë Quinn",
        subject="Commande 1001 cassée",
        state="closed",
        agent="ana",
        unread=False,
        queued_at=start,
        assigned_at=start,
        closed_at=end,
        last_message_at=end,
        message_count=messages,
        cc=[],
        bcc=[],
        messages=rows,
        notes=[
            NoteOut(
                id=1,
                kind="note",
                author="ana",
                author_name="Ana",
                target="",
                text="Called the customer.",
                created_at=start + timedelta(hours=3, minutes=30),
            )
        ],
        wrapups=[
            WrapupOut(
                disposition="Resolved > Replaced",
                note="kettle replaced",
                agent="ana",
                agent_name="Ana",
                closed_at=end,
            )
        ],
    )


def multi_cell_reference(detail: InteractionDetail, count: int) -> float:
    """fpdf2's own layout of the first `count` bodies, for comparison (seconds)."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", size=9.5)
    start = time.perf_counter()
    for message in detail.messages[:count]:
        text = "".join(ch for ch in message.text if ord(ch) < 0x3000)  # no missing glyphs
        pdf.multi_cell(0, 4.4, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="keep one PDF here to look at")
    args = parser.parse_args()
    detail = thread(args.messages)
    chars = sum(len(m.text) for m in detail.messages)
    thread_pdf(detail)  # warm: font files parsed, the sanitiser's table built
    times, cpu = [], []
    data = b""
    for _ in range(args.rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        data = thread_pdf(detail)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if args.out:
        args.out.write_bytes(data)
    median = statistics.median(times) * 1000
    print(f"thread: {args.messages} messages, {chars:,} characters of text")
    print(f"pdf: {len(data):,} bytes, {data.count(b'/Type /Page') - 1} pages")
    print(
        f"thread_pdf: best {min(times) * 1000:.0f} ms, median {median:.0f} ms ({args.rounds} runs)"
    )
    # On a shared machine the wall clock includes waiting for a core: the CPU time is what
    # the work itself costs, and the load average says how crowded the run was.
    load = os.getloadavg()[0]
    print(f"cpu time: median {statistics.median(cpu) * 1000:.0f} ms (load average {load:.1f})")
    sample = min(20, args.messages)
    reference = multi_cell_reference(detail, sample) * args.messages / sample
    print(
        f"fpdf2 multi_cell, first {sample} bodies scaled to {args.messages}: "
        f"{reference * 1000:.0f} ms ({reference * 1000 / median:.0f}x slower)"
    )
    print(f"target pdf-200-messages: {median:.0f} ms (goal <= 2000)")


if __name__ == "__main__":
    main()
