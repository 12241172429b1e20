"""The dialer form's fields: wire names, labels, what each shows first, and the one check the
form makes before the engine does (the unsubscribe link).

Apart from the screen (`dialer_form.py`) so the screen is about editing and saving. Every
field's key is its wire name in `DialerIn`/`DialerPatch` (nested ones with a dot:
`event.start`, `caps.per_day`), the name the engine's refusals give in `field`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from engine.api.schemas import DialerEvent, DialerOut, SmtpCaps

LINK_ID = "unsubscribe_link"
DATE_EXAMPLE = "2027-03-14 15:30"  # the engine's format for an invitation's fixed dates
NO_TEMPLATE = ""


@dataclass(frozen=True)
class Spec:
    key: str  # the wire name
    label: str
    placeholder: str = ""
    number: bool = False


DIALER = [
    Spec("name", "Name"),
    Spec("seconds_between_messages", "Seconds between", "0: as fast as the caps allow"),
]
WHEN = [
    Spec("time_zone", "Time zone", "e.g. Europe/Madrid"),
    Spec("starts_on", "From day", "YYYY-MM-DD; empty: no bound"),
    Spec("ends_on", "Until day", "YYYY-MM-DD, included; empty: no bound"),
]
EVENT = [
    Spec("event.title", "Title", "e.g. Visit for ${name}"),
    Spec("event.organizer", "Organizer", "an address, ${variables} allowed; empty: the campaign's"),
    Spec("event.start", "Starts", f"{DATE_EXAMPLE} or ${{date}}"),
    Spec("event.end", "Ends", f"{DATE_EXAMPLE} or ${{end}}"),
]
CAPS = [
    Spec("caps.per_minute", "Per minute", "messages", number=True),
    Spec("caps.per_hour", "Per hour", "messages", number=True),
    Spec("caps.per_day", "Per day", "messages", number=True),
    Spec("caps.connections", "Connections", "at once", number=True),
]
TEXT_FIELDS = [*DIALER, *WHEN, *EVENT, *CAPS]


def field_id(key: str) -> str:
    """The input's id for a wire name: `event.start` -> `dlf-event_start`."""
    return "dlf-" + key.replace(".", "_")


def initial_values(dialer: DialerOut | None) -> dict[str, Any]:
    """What each field shows first: the dialer as saved, or the defaults of a new one."""
    caps = dialer.caps if dialer is not None else SmtpCaps()
    event = dialer.event if dialer is not None and dialer.event is not None else None
    shown = event or DialerEvent(attach=False)
    return {
        "name": dialer.name if dialer else "",
        "campaign": dialer.campaign if dialer else "",
        "seconds_between_messages": f"{dialer.seconds_between_messages:g}" if dialer else "1",
        "time_zone": dialer.time_zone if dialer else "UTC",
        "schedule": list(dialer.schedule) if dialer else [],
        "starts_on": dialer.starts_on if dialer else "",
        "ends_on": dialer.ends_on if dialer else "",
        "template": dialer.template if dialer else NO_TEMPLATE,
        "unsubscribe_html": dialer.unsubscribe_html if dialer else "",
        "event.attach": event is not None,
        "event.title": shown.title,
        "event.organizer": shown.organizer,
        "event.start": shown.start,
        "event.end": shown.end,
        "caps.per_minute": str(caps.per_minute),
        "caps.per_hour": str(caps.per_hour),
        "caps.per_day": str(caps.per_day),
        "caps.connections": str(caps.connections),
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and (LINK_ID in (v for k, v in attrs if k == "id")):
            self.found += 1


def unsubscribe_warning(html: str) -> str:
    """What the form points out under the unsubscribe HTML before saving ("" when nothing).
    Empty HTML is fine: the engine puts its default block in. The engine checks again and
    its refusal is the final word."""
    if not html.strip():
        return ""
    parser = _Links()
    parser.feed(html)
    parser.close()
    if parser.found == 0:
        return f'needs <a id="{LINK_ID}">…</a>: the link to unsubscribe'
    if parser.found > 1:
        return f'more than one <a id="{LINK_ID}">: keep one'
    return ""


def wire_values(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values in the shape of `DialerIn` (numbers left as typed text: the
    engine's schema says what is wrong with one)."""

    def number(text: str) -> Any:
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text

    data: dict[str, Any] = {
        key: values[key]
        for key in ("name", "campaign", "time_zone", "schedule", "starts_on", "ends_on")
    }
    data["template"] = values["template"]
    data["unsubscribe_html"] = values["unsubscribe_html"]
    data["seconds_between_messages"] = number(values["seconds_between_messages"])
    data["caps"] = {spec.key[5:]: number(values[spec.key]) for spec in CAPS}
    data["event"] = (
        {
            key[6:]: values[key]
            for key in ("event.title", "event.organizer", "event.start", "event.end")
        }
        if values["event.attach"]
        else {"attach": False}
    )
    return data
