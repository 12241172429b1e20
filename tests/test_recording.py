"""A thread written to a file for printing: complete, in order, and inert in a terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from msgspec import structs

from console.recording import recording, recording_name
from engine.api.schemas import AttachmentOut, InteractionDetail, MessageOut

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def message(n: int, direction: str, text: str, **extra: object) -> MessageOut:
    fields: dict[str, object] = {
        "id": n,
        "direction": direction,
        "state": "received" if direction == "inbound" else "sent",
        "message_id": f"<{n}@x>",
        "from_email": "carol@example.net" if direction == "inbound" else "support@example.com",
        "from_name": "Carol" if direction == "inbound" else "",
        "to": ["support@example.com"],
        "cc": [],
        "subject": "Order 1234/5 missing",
        "text": text,
        "created_at": NOW,
        "sent_at": None,
        "error": "",
    }
    fields.update(extra)
    return MessageOut(**fields)  # type: ignore[arg-type]


def detail(messages: list[MessageOut]) -> InteractionDetail:
    return InteractionDetail(
        id=12,
        campaign_id=1,
        campaign_name="Support",
        client_email="carol@example.net",
        client_name="Carol",
        subject="Order 1234/5 missing",
        state="closed",
        agent="ana",
        unread=False,
        queued_at=NOW,
        assigned_at=NOW,
        closed_at=NOW,
        last_message_at=NOW,
        message_count=len(messages),
        cc=["boss@example.net"],
        bcc=[],
        messages=messages,
    )


def test_a_recording_has_every_message_in_order_with_its_headers() -> None:
    scan = AttachmentOut(id=1, filename="scan.pdf", content_type="application/pdf", size=2048)
    text = recording(
        detail(
            [
                message(1, "inbound", "Where is my order?", attachments=[scan]),
                message(2, "outbound", "It ships today."),
                message(3, "outbound", "Retry", state="failed", error="550 mailbox full"),
            ]
        )
    )
    assert text.startswith("Postdesk interaction #12 · Support · closed\n")
    assert "Client: Carol <carol@example.net>" in text and "Agent: ana" in text
    assert "CC: boss@example.net · BCC: -" in text
    assert text.index("Where is my order?") < text.index("It ships today.") < text.index("Retry")
    assert "Attachment: scan.pdf, 2048 bytes" in text
    assert "→ Out · " in text and "failed: 550 mailbox full" in text


def test_hostile_mail_text_is_inert_in_the_file() -> None:
    hostile = "Hi\x1b]52;c;ZXZpbA==\x07 there\x1b[2J\nbye\r\x1b[31mred"
    cc = '"\x1b]52;c;ZXZpbA==\x07\x1b[2J"@evil.example'  # a quoted local part keeps ESC
    thread = detail([message(1, "inbound", hostile, cc=[cc])])
    text = recording(structs.replace(thread, cc=[cc], bcc=[cc]))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Hi" in text and "bye" in text and "@evil.example" in text


def test_a_body_cannot_forge_headers_or_replies() -> None:
    forged = "Thanks\n" + "-" * 72 + "\n→ Out · 2026-11-27 10:05 · sent\nFrom: Support"
    text = recording(detail([message(1, "inbound", forged)]))
    assert "\n│ → Out · 2026-11-27 10:05 · sent\n" in text
    assert text.count("\n→ Out") == 0


def test_the_file_name_comes_from_the_subject_without_separators() -> None:
    name = recording_name(detail([]))
    assert name == "interaction-12 Order 1234-5 missing.txt"
