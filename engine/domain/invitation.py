"""The dialer's "attach schedule": an iCalendar invitation that mail clients show as an event.

A dialer may attach one event to every message: its title and organizer may hold `${variables}`
from the list's row, and its start and end are either fixed or a `${variable}` whose value is a
date and time in `DATE_FORMAT`, in the event's time zone. Each recipient gets an invitation of
their own (RFC 5545 `METHOD:REQUEST`, with `UID`, `DTSTAMP`, `ORGANIZER` and the recipient as
`ATTENDEE`), which Gmail and Outlook show with Yes / No / Maybe. Built with the `icalendar`
package, never by string pasting: a value from a CSV cannot end a line or start a property.

A row whose variables cannot make a valid event (unknown variable, a date in another format,
an end before the start, a line break or control character: the header values' rule) fails
with `InvitationError`, which names the field: that record fails with the reason, and nothing
half-made is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from engine.domain.header_values import HeaderInjectionError, check_header_value
from engine.domain.schedule import ScheduleError, zone
from engine.domain.templates import render

# How a parametrised date is written in the list (and a fixed one in the dialer's form).
DATE_FORMAT = "%Y-%m-%d %H:%M"
DATE_EXAMPLE = "2027-03-14 15:30"
FIRST_YEAR, LAST_YEAR = 1900, 2999
PRODID = "-//Postdesk//Email dialer//EN"
MAX_DURATION = timedelta(days=31)


class InvitationError(ValueError):
    """Why a row cannot make the event; `field` is the event's field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class EventSpec:
    """The event as the dialer is configured: text that may hold `${variables}`."""

    title: str
    organizer: str  # an address
    start: str  # DATE_FORMAT, or a `${variable}` holding one
    end: str
    time_zone: str = "UTC"
    location: str = ""
    description: str = ""


def _fill(field: str, text: str, variables: Mapping[str, str]) -> str:
    rendered = render(text, variables)
    if rendered.unknown:
        names = ", ".join(f"${{{name}}}" for name in rendered.unknown)
        raise InvitationError(field, f"the row does not define {names}")
    return _one_line(field, rendered.text).strip()


def _one_line(field: str, value: str) -> str:
    # The header values' rule, one definition: RFC 5545 allows no control but TAB in a
    # value, and a reader that splits lines like `str.splitlines` (U+2028, NEL, VT, FF...)
    # would read what follows one as a property of the row's choice.
    try:
        return check_header_value(field, value)
    except HeaderInjectionError:
        raise InvitationError(
            field, "a line break or control character is not allowed here"
        ) from None


def _moment(field: str, text: str, variables: Mapping[str, str], tz: ZoneInfo) -> datetime:
    value = _fill(field, text, variables)
    try:
        naive = datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        raise InvitationError(
            field, f"{value!r} is not a date and time like {DATE_EXAMPLE}"
        ) from None
    if not FIRST_YEAR <= naive.year <= LAST_YEAR:
        # Python's dates end at year 9999 and calendars' time zone rules long before: a
        # date near either end cannot be written with its zone (and is a typo anyway).
        raise InvitationError(
            field, f"{value!r} is not between the years {FIRST_YEAR} and {LAST_YEAR}"
        )
    return naive.replace(tzinfo=tz)


def _address(field: str, text: str, variables: Mapping[str, str]) -> str:
    value = _fill(field, text, variables)
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " <>,;:\"'"):
        raise InvitationError(field, f"{value!r} is not an address")
    return value


def check(spec: EventSpec) -> None:
    """What can be checked before any row: the time zone, and fixed dates."""
    try:
        tz = zone(spec.time_zone)
    except ScheduleError as exc:
        raise InvitationError("time_zone", str(exc).removeprefix("time_zone: ")) from None
    fixed = {}
    for field in ("start", "end"):
        text = getattr(spec, field)
        if "${" not in text:
            fixed[field] = _moment(field, text, {}, tz)
    if len(fixed) == 2 and fixed["end"] <= fixed["start"]:
        raise InvitationError("end", "the event ends before it starts")


def invitation(
    spec: EventSpec,
    variables: Mapping[str, str],
    *,
    attendee: str,
    attendee_name: str = "",
    uid: str,
    now: datetime,
) -> bytes:
    """The `.ics` for one recipient: a VCALENDAR with METHOD:REQUEST and one VEVENT."""
    try:
        tz = zone(spec.time_zone)
    except ScheduleError as exc:
        raise InvitationError("time_zone", str(exc).removeprefix("time_zone: ")) from None
    start = _moment("start", spec.start, variables, tz)
    end = _moment("end", spec.end, variables, tz)
    if end <= start:
        raise InvitationError("end", "the event ends before it starts")
    if end - start > MAX_DURATION:
        raise InvitationError("end", "the event lasts more than 31 days")
    title = _fill("title", spec.title, variables) or "(no title)"
    organizer = _address("organizer", spec.organizer, variables)
    _one_line("attendee", attendee + attendee_name)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", vText(title))
    if spec.location:
        event.add("location", vText(_fill("location", spec.location, variables)))
    if spec.description:
        event.add("description", vText(_fill("description", spec.description, variables)))
    who = vCalAddress(f"mailto:{organizer}")
    event.add("organizer", who)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["PARTSTAT"] = "NEEDS-ACTION"
    guest.params["RSVP"] = "TRUE"
    if attendee_name:
        guest.params["CN"] = attendee_name
    event.add("attendee", guest)
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    # The zone's rules around the event only: a compact VTIMEZONE that also works past 2038.
    calendar.add_missing_timezones(
        first_date=(start - timedelta(days=366)).date(),
        last_date=(end + timedelta(days=366)).date(),
    )
    return bytes(calendar.to_ical())
