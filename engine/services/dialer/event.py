"""A dialer's attach schedule (the iCalendar invitation) as the API gives and takes it.

The dialer row keeps the event in columns (`event_title`, `event_organizer`, a fixed
`event_start`/`event_end` or a parametrised `event_start_var`/`event_end_var`); the wire
has one `DialerEvent` whose start and end are either a date and time or one `${variable}`.
What can be checked before any list row is checked here with the sender's own rules
(`engine/domain/invitation.py`): a fixed date in the right format, an end after the start,
an organizer that is an address when it holds no variable. Each refusal names its field
(`event.start`), so a form shows it under that field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from data.models import Dialer
from engine.api.schemas import DialerEvent
from engine.domain.invitation import DATE_EXAMPLE, DATE_FORMAT, EventSpec, InvitationError, check
from engine.errors import Invalid

__all__ = ["apply_event", "event_out"]

_ONE_VARIABLE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_.-]*\}\Z")


def _moment(text: str, field: str, zone: str) -> tuple[datetime | None, str]:
    """(fixed moment, "") or (None, "${variable}"); a fixed date is read in the dialer's
    zone and kept as the moment it names (the column is UTC)."""
    if "${" in text:
        if not _ONE_VARIABLE.match(text):
            raise Invalid(
                f"{field}: either a date like {DATE_EXAMPLE} or one ${{variable}} holding one",
                field=field,
            )
        return None, text
    try:
        local = datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        raise Invalid(
            f"{field}: {text!r} is not a date and time like {DATE_EXAMPLE}", field=field
        ) from None
    try:
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), ""
    except (ValueError, ZoneInfoNotFoundError):
        raise Invalid(f"time_zone: unknown time zone {zone!r}", field="time_zone") from None


def _organizer(text: str) -> str:
    """The organizer as given; "" is the campaign's own address (the sender puts it in)."""
    if text and "${" not in text:
        local, at, domain = text.rpartition("@")
        if not at or not local or "." not in domain or any(c in text for c in " <>,;:\"'"):
            raise Invalid(f"event.organizer: {text!r} is not an address", field="event.organizer")
    return text


def apply_event(dialer: Dialer, event: DialerEvent | None) -> None:
    """Store `event` on the dialer (None or attach=False: no invitation), or refuse it."""
    if event is None or not event.attach:
        dialer.attach_event = False
        return
    title, organizer = event.title.strip(), _organizer(event.organizer.strip())
    for field, text in (("event.start", event.start), ("event.end", event.end)):
        if not text.strip():
            raise Invalid(f"{field}: required (like {DATE_EXAMPLE}, or ${{variable}})", field=field)
    start, start_var = _moment(event.start.strip(), "event.start", dialer.time_zone)
    end, end_var = _moment(event.end.strip(), "event.end", dialer.time_zone)
    try:
        check(
            EventSpec(
                title=title,
                organizer=organizer,
                start=event.start.strip(),
                end=event.end.strip(),
                time_zone=dialer.time_zone,
            )
        )
    except InvitationError as exc:
        field = "time_zone" if exc.field == "time_zone" else f"event.{exc.field}"
        raise Invalid(f"{field}: {str(exc).removeprefix(exc.field + ': ')}", field=field) from exc
    dialer.attach_event = True
    dialer.event_title, dialer.event_organizer = title, organizer
    dialer.event_start, dialer.event_start_var = start, start_var
    dialer.event_end, dialer.event_end_var = end, end_var


def event_out(dialer: Dialer) -> DialerEvent | None:
    if not dialer.attach_event:
        return None

    def moment(fixed: datetime | None, var: str) -> str:
        if var or fixed is None:
            return var
        return fixed.astimezone(ZoneInfo(dialer.time_zone)).strftime(DATE_FORMAT)

    return DialerEvent(
        title=dialer.event_title,
        organizer=dialer.event_organizer,
        start=moment(dialer.event_start, dialer.event_start_var),
        end=moment(dialer.event_end, dialer.event_end_var),
    )
