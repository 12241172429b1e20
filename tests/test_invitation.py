"""The dialer's iCalendar invitation, parsed back with the `icalendar` package: RFC 5545's
required properties are there (UID, DTSTAMP, ORGANIZER, ATTENDEE), fixed and parametrised
dates land in the event's time zone (DST included), values from a CSV row stay values, and a
row that cannot make an event is refused with the field at fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from engine.domain.invitation import EventSpec, InvitationError, check, invitation

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SPEC = EventSpec(
    title="Visit for ${name}",
    organizer="${seller}@postdesk.test",
    start="${when}",
    end="2027-07-01 11:00",
    time_zone="Europe/Madrid",
)
ROW = {"name": "Ana", "seller": "lucia", "when": "2027-07-01 10:00"}


def parsed(ics: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def make(spec: EventSpec = SPEC, row: dict[str, str] | None = None, **extra: str) -> bytes:
    return invitation(
        spec, ROW if row is None else row, attendee="ana@example.net", uid="u1@pd", now=NOW, **extra
    )


def test_an_invitation_mail_clients_show_as_an_event() -> None:
    calendar, event = parsed(make(attendee_name="Ana Alvarez"))
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "ORGANIZER", "ATTENDEE", "SUMMARY"):
        assert required in event, required
    assert event["UID"] == "u1@pd"
    assert event["SUMMARY"] == "Visit for Ana"
    assert str(event["ORGANIZER"]) == "mailto:lucia@postdesk.test"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:ana@example.net"
    assert attendee.params["RSVP"] == "TRUE" and attendee.params["CN"] == "Ana Alvarez"
    assert event.decoded("DTSTAMP") == NOW
    # Madrid in July is UTC+2: 10:00 there is 08:00 UTC, a parametrised and a fixed date alike.
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.astimezone(UTC) == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=1)
    # The zone travels with the file (VTIMEZONE), so any client places it right.
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Madrid"]


def test_winter_dates_take_the_winter_offset() -> None:
    spec = EventSpec(title="t", organizer="a@b.test", start="2027-01-15 10:00",
                     end="2027-01-15 10:30", time_zone="Europe/Madrid")  # fmt: skip
    _, event = parsed(make(spec, {}))
    assert event.decoded("DTSTART").astimezone(UTC).hour == 9  # UTC+1


@pytest.mark.parametrize(
    "hostile",
    [
        "A;B,C\\D",
        'quoted "name"',
        "ATTENDEE:mailto:evil@example.com",
        "é ü 漢字 🙂",
        "x" * 500,
    ],
)
def test_values_from_the_row_stay_values(hostile: str) -> None:
    _, event = parsed(make(row={**ROW, "name": hostile}))
    assert event["SUMMARY"] == f"Visit for {hostile}"
    assert len(event.walk()) == 1 and str(event["ATTENDEE"]) == "mailto:ana@example.net"


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({**ROW, "name": "Ana\r\nATTENDEE:mailto:x@y"}, "title", "line break"),
        ({k: v for k, v in ROW.items() if k != "when"}, "start", "${when}"),
        ({**ROW, "when": "01/07/2027 10:00"}, "start", "2027-03-14 15:30"),
        ({**ROW, "when": "2027-07-01 12:00"}, "end", "ends before it starts"),
        ({**ROW, "seller": "no one"}, "organizer", "not an address"),
        ({**ROW, "when": "2027-05-01 10:00"}, "end", "more than 31 days"),
        # The calendar's ends: no zone rules can be written around them (an OverflowError once).
        ({**ROW, "when": "9999-12-31 10:00"}, "start", "between the years 1900 and 2999"),
        ({**ROW, "when": "0001-01-01 10:00"}, "start", "between the years 1900 and 2999"),
    ],
)
def test_a_row_that_cannot_make_an_event_names_the_field(
    row: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(InvitationError) as refused:
        make(row=row)
    assert refused.value.field == field and words in str(refused.value)


def test_the_dialers_settings_are_checked_before_any_row() -> None:
    check(SPEC)  # parametrised start: checked per row
    with pytest.raises(InvitationError, match="time_zone"):
        check(EventSpec(title="t", organizer="a@b.test", start="${s}", end="${e}",
                        time_zone="Mars/Olympus"))  # fmt: skip
    with pytest.raises(InvitationError, match="end: the event ends before it starts"):
        check(EventSpec(title="t", organizer="a@b.test", start="2027-01-02 10:00",
                        end="2027-01-01 10:00"))  # fmt: skip


@pytest.mark.parametrize(
    "breaker",
    ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1b]52;c;QUFB\x07", "\x7f"],
)
@pytest.mark.parametrize("field", ["name", "seller"])
def test_a_row_value_that_ends_a_line_or_is_a_control_makes_no_event(
    breaker: str, field: str
) -> None:
    """A list row's value is refused if any reader could take it as a line end (U+2028, NEL,
    VT, FF and the others `str.splitlines` breaks on) or if RFC 5545 forbids it in a value
    (every control but TAB): a new line there would be a property of the sender's choice."""
    row = {**ROW, field: f"Ana{breaker}ATTENDEE:mailto:x@evil.example"}
    with pytest.raises(InvitationError) as refused:
        make(row=row)
    assert refused.value.field == {"name": "title", "seller": "organizer"}[field]
    assert "line break or control character" in str(refused.value)


@pytest.mark.parametrize("breaker", ["\r\n", "\u2028", "\x85", "\x1b[2J"])
def test_an_attendee_name_that_ends_a_line_makes_no_event(breaker: str) -> None:
    with pytest.raises(InvitationError) as refused:
        make(attendee_name=f"Ana{breaker}ATTENDEE:mailto:x@evil.example")
    assert refused.value.field == "attendee"
