"""RFC 3464 delivery status reports: which recipient failed, why, and which of our messages."""

from __future__ import annotations

from email.message import Message

from engine.domain.classify.kinds import Bounce
from engine.domain.classify.parts import (
    field_value,
    original_message_id,
    part_fields,
)
from engine.domain.classify.patterns import (
    DELIVERY_STATUS_TYPES,
    ENHANCED_FIELD,
    ENHANCED_TEXT,
    NO_RECIPIENT_FIELDS,
)
from engine.domain.classify.plain import failure_section, plain_diagnostic
from engine.domain.classify.values import (
    diagnostic_text,
    enhanced_code,
    first_token,
    is_hard_bounce,
    quoted,
    read_address,
    strip_type,
)
from engine.domain.mime import ParsedMessage
from engine.domain.mime_parts import content_type


def read_dsn(parts: list[Message], parsed: ParsedMessage, text: str) -> tuple[Bounce | None, str]:
    recipients: list[list[tuple[str, str]]] = []
    for part in parts:
        if content_type(part) in DELIVERY_STATUS_TYPES:
            for block in part_fields(part):
                keys = {key for key, _ in block}
                if keys & {"final-recipient", "original-recipient", "action", "status"}:
                    recipients.append(block)
    if not recipients:
        return None, NO_RECIPIENT_FIELDS

    def action_of(block: list[tuple[str, str]]) -> str | None:
        return first_token(field_value(block, "action") or "") or None

    def class_of(block: list[tuple[str, str]]) -> str:
        code = enhanced_code(field_value(block, "status"), ENHANCED_FIELD)
        return code[0] if code else ""

    chosen = (
        next((b for b in recipients if action_of(b) == "failed"), None)
        or next((b for b in recipients if action_of(b) is None and class_of(b) == "5"), None)
        or next((b for b in recipients if action_of(b) == "delayed"), None)
        or next((b for b in recipients if action_of(b) is None and class_of(b) == "4"), None)
    )
    if chosen is None:
        actions = sorted({action_of(b) or "no action" for b in recipients})
        return None, f"delivery report: {quoted(', '.join(actions))} (not a failure)"

    action = action_of(chosen)
    diagnostic = diagnostic_text(strip_type(field_value(chosen, "diagnostic-code") or ""))
    if not diagnostic:
        diagnostic = plain_diagnostic(failure_section(text))
    status = enhanced_code(field_value(chosen, "status"), ENHANCED_FIELD) or enhanced_code(
        diagnostic, ENHANCED_TEXT
    )
    recipient = (
        read_address(field_value(chosen, "final-recipient"))
        or read_address(field_value(chosen, "original-recipient"))
        or next(iter(parsed.failed_recipients), None)
    )
    original_id = original_message_id(parts, text, parsed)
    bounce = Bounce(
        original_message_id=original_id,
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=is_hard_bounce(status, action, diagnostic),
    )
    summary = " ".join(x for x in (action or "", status or "") if x) or "failure"
    return bounce, f"delivery status notification (RFC 3464): {quoted(summary)}"
