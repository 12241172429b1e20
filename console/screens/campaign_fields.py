"""The campaign form's fields: their wire names, labels and kinds, in the order shown, and
what each shows first. Apart from the screen (`campaign_form.py`) so the screen is about
editing and saving, and the list of fields reads as the manual's campaign data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.api.schemas import Availability, CampaignIn, CampaignOut, Delivery, OnLogout

Kind = Literal["text", "number", "password", "check", "choice", "rows"]
NO_TEMPLATE = ""
HOLD = ""  # overflow_campaign: held in the campaign's own queue


@dataclass(frozen=True)
class Spec:
    """One field of the form: its wire name, its label and how it is edited."""

    key: str
    label: str
    kind: Kind = "text"
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    section: str = ""  # "imap" / "maildir": shown only for that inbound transport


SECTIONS: list[tuple[str, list[Spec]]] = [
    (
        "Campaign",
        [
            Spec("name", "Name"),
            Spec("email_address", "Address", placeholder="support@example.com"),
            Spec("from_name", "From name", placeholder="shown to clients, e.g. Acme Support"),
            Spec("enabled", "Enabled", "check"),
        ],
    ),
    (
        "Receiving",
        [
            Spec("receive_emails", "Receive mail", "check"),
            Spec("inbound", "From", "choice", ("imap", "maildir", "none")),
            Spec("imap_host", "IMAP host", placeholder="imap.example.com", section="imap"),
            Spec("imap_port", "IMAP port", "number", section="imap"),
            Spec(
                "imap_security", "IMAP security", "choice", ("tls", "starttls", "plain"), "", "imap"
            ),
            Spec("imap_username", "IMAP user", placeholder="default: the address", section="imap"),
            Spec("imap_password", "IMAP password", "password", section="imap"),
            Spec("imap_folder", "IMAP folder", section="imap"),
            Spec("imap_sent_folder", "Sent folder", placeholder="none: no copy", section="imap"),
            Spec("maildir_path", "Maildir", placeholder="/var/mail/support", section="maildir"),
        ],
    ),
    (
        "Sending",
        [
            Spec("smtp_host", "SMTP host", placeholder="smtp.example.com"),
            Spec("smtp_port", "SMTP port", "number"),
            Spec("smtp_security", "SMTP security", "choice", ("tls", "starttls", "plain")),
            Spec("smtp_username", "SMTP user", placeholder="none: no login"),
            Spec("smtp_password", "SMTP password", "password"),
            Spec("tls_verify", "Verify TLS", "check"),
        ],
    ),
    (
        "Routing",
        [
            Spec("availability", "Who receives", "choice", get_args(Availability)),
            Spec("delivery", "Order", "choice", get_args(Delivery)),
            Spec("max_interactions_per_agent", "Max per agent", "number"),
            Spec("max_interactions_in_queue", "Max in queue", "number", placeholder="0: no limit"),
            Spec("overflow_campaign", "Over the limit", "choice"),
            Spec("busy_template", "Busy answer", "choice"),
            Spec("service_level_seconds", "SLA (seconds)", "number"),
            # A logged-out agent's open work (docs/transfer.md): kept, or requeued after N min.
            Spec("on_logout", "On log-out", "choice", get_args(OnLogout)),
            Spec("requeue_after", "Requeue after", "number", placeholder="minutes"),
        ],
    ),
    (
        "Schedule",
        [
            Spec("time_zone", "Time zone", placeholder="e.g. Europe/Madrid"),
            Spec("schedule", "Weekly hours", "rows"),
            Spec("schedule_exceptions", "Exceptions", "rows"),
            Spec("out_of_hours_template", "Out-of-hours", "choice"),
        ],
    ),
    (
        "Replies",
        [
            Spec("signature_template", "Signature", "choice"),
            Spec("confirmation_enabled", "Auto-confirm", "check"),
            Spec("confirmation_template", "Confirmation", "choice"),
        ],
    ),
    (
        # The manual's "Enable qualification", "Motivation to qualify", "Thanks for rating".
        "Rating",
        [
            Spec("qualification_enabled", "Ask for rating", "check"),
            Spec("qualification_motivation", "Motivation", placeholder="How did we do?"),
            Spec("qualification_thanks", "Thanks text", placeholder="shown after rating"),
            Spec("track_replies", "Seen image", "check"),
        ],
    ),
]
SPECS = {spec.key: spec for _title, specs in SECTIONS for spec in specs}
TEMPLATE_KINDS = {
    "signature_template": "signature",
    "confirmation_template": "confirmation",
    # The out-of-hours and busy answers are automatic answers, as the confirmation is.
    "out_of_hours_template": "confirmation",
    "busy_template": "confirmation",
}
# Only when adding: a campaign keeps its name (the inbox, the recordings and scripts use it).
NEW_ONLY = {"name"}
# A campaign's settings that name other records (templates, another campaign): not part of
# creating one (CampaignIn has no such fields), set right after it exists.
AFTER_CREATE = (*TEMPLATE_KINDS, "confirmation_enabled", "overflow_campaign")
REQUIRED = ("name", "email_address", "smtp_host")


def initial_values(campaign: CampaignOut | None) -> dict[str, Any]:
    """What each field shows first: the campaign as saved, or the defaults of a new one."""
    source: Any = campaign if campaign is not None else CampaignIn(name="", email_address="")
    values = {key: getattr(source, key, None) for key in SPECS}
    for key, value in values.items():
        if isinstance(value, str) and SPECS[key].kind == "text":
            values[key] = value.strip()  # as the form reads them back
    values["imap_password"] = values["smtp_password"] = ""
    for key in TEMPLATE_KINDS:
        values[key] = values[key] or NO_TEMPLATE
    values["overflow_campaign"] = values["overflow_campaign"] or HOLD
    for key in ("confirmation_enabled", "qualification_enabled", "track_replies"):
        values[key] = bool(values[key])
    return values


def time_zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone the engine accepts, or None. The same test as the
    engine's (an IANA name from the same zone database), said while typing."""
    if not name:
        return "required (UTC, Europe/Madrid, America/Montevideo)"
    if name != name.strip() or ".." in name or name.startswith("/"):
        return f"not a time zone name: {name!r}"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (e.g. Europe/Madrid, America/Montevideo)"
    return None
