"""Abuse complaints: RFC 5965 feedback reports, and Hotmail-style complaints sent as plain
mail with the reported message attached.
"""

from __future__ import annotations

from email.message import Message

from engine.domain.classify.kinds import Complaint
from engine.domain.classify.parts import (
    LazyTree,
    all_parts,
    field_value,
    original_headers,
    part_fields,
)
from engine.domain.classify.patterns import (
    COMPLAINT_TYPES,
    COMPLAINT_WORDING,
    HOTMAIL_RECIPIENT,
    MAX_DIAGNOSTIC,
    MAX_SCAN,
    WHITESPACE,
)
from engine.domain.classify.values import (
    first_address,
    first_token,
    quoted,
    read_address,
    read_message_id,
    squashed_subject,
)
from engine.domain.mime import ParsedMessage
from engine.domain.mime_parts import content_type


def read_mixed_complaint(
    parsed: ParsedMessage, text: str, raw: bytes, tree: LazyTree
) -> tuple[Complaint, str] | None:
    """An abuse complaint sent as plain mail with the original attached (Hotmail's JMRP).

    Needs the wording of a complaint and the reported message enclosed; the sender is
    already known to look like a machine.
    """
    if b"rfc822" not in raw[: MAX_SCAN * 10]:
        return None
    found = COMPLAINT_WORDING.search(squashed_subject(parsed)) or COMPLAINT_WORDING.search(
        WHITESPACE.sub(" ", text[: MAX_DIAGNOSTIC * 4]).casefold()
    )
    if found is None:
        return None
    original = original_headers(all_parts(tree.get()))
    if original is None:
        return None
    complaint = Complaint(
        feedback_type="abuse",
        original_recipient=read_address(field_value(original, HOTMAIL_RECIPIENT))
        or first_address(field_value(original, "to")),
        original_message_id=read_message_id(field_value(original, "message-id")),
        arf=False,
    )
    return complaint, f"abuse complaint without a feedback report: {quoted(found.group(0))}"


def read_complaint(parts: list[Message]) -> tuple[Complaint | None, str]:
    fields: list[tuple[str, str]] = []
    for part in parts:
        if content_type(part) == "message/feedback-report":
            for block in part_fields(part):
                fields.extend(block)
    feedback_type = first_token(field_value(fields, "feedback-type") or "")
    if not feedback_type:
        return None, "feedback report without Feedback-Type"
    if feedback_type not in COMPLAINT_TYPES:
        return None, f"feedback report: {quoted(feedback_type)} (not a complaint)"
    original = original_headers(parts) or []
    complaint = Complaint(
        feedback_type=feedback_type,
        original_recipient=read_address(field_value(fields, "original-rcpt-to"))
        or first_address(field_value(original, "to")),
        # The reported message's headers; failing them, the Original-Message-ID field some
        # reporters put in the report itself (not in RFC 5965, common all the same).
        original_message_id=read_message_id(field_value(original, "message-id"))
        or read_message_id(field_value(fields, "original-message-id")),
    )
    return complaint, f"feedback report (RFC 5965): {feedback_type}"
