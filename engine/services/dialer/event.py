"""A dialer's attached event as the API gives it, and as the `dialers` row keeps it.

A start or end is either fixed (`YYYY-MM-DD HH:MM` in the dialer's time zone, kept in UTC in
`event_start`/`event_end`, so a later change of zone keeps the instant) or a `${variable}`
of the list (kept as text in `event_start_var`/`event_end_var`). The event is checked by the
invitation's own rule (`invitation.check`) when it is saved: a bad date or zone is refused
under its field; a row whose variables do not make a valid event fails when it is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from data.models import Dialer
from engine.api.schemas import DialerEvent
from engine.domain.invitation import DATE_FORMAT, EventSpec, InvitationError, check
from engine.domain.schedule import zone
from engine.errors import Invalid

__all__ = ["event_out", "set_event"]


def set_event(dialer: Dialer, event: DialerEvent) -> None:
    if not event.title.strip():
        dialer.attach_event = False
        return
    # The organizer is read per row (it may hold variables); "" sends the campaign's address.
    spec = EventSpec(event.title, event.organizer, event.start, event.end, dialer.time_zone)
    try:
        check(spec)
    except InvitationError as exc:
        raise Invalid(f"event.{exc}", field=f"event.{exc.field}") from None
    dialer.attach_event = True
    dialer.event_title = event.title
    dialer.event_organizer = event.organizer
    for field in ("start", "end"):
        text = getattr(event, field).strip()
        if "${" in text:
            setattr(dialer, f"event_{field}_var", text)
            setattr(dialer, f"event_{field}", None)
        else:
            local = datetime.strptime(text, DATE_FORMAT).replace(tzinfo=zone(dialer.time_zone))
            setattr(dialer, f"event_{field}", local.astimezone(UTC))
            setattr(dialer, f"event_{field}_var", "")


def event_out(dialer: Dialer) -> DialerEvent | None:
    if not dialer.attach_event:
        return None

    def moment(var: str, fixed: datetime | None) -> str:
        if var:
            return var
        return fixed.astimezone(zone(dialer.time_zone)).strftime(DATE_FORMAT) if fixed else ""

    return DialerEvent(
        title=dialer.event_title,
        organizer=dialer.event_organizer,
        start=moment(dialer.event_start_var, dialer.event_start),
        end=moment(dialer.event_end_var, dialer.event_end),
    )
