"""What an admin's records look like on the wire (users, campaigns, templates), which campaign
fields reach the router or the mailbox when changed, and the rules across a campaign's fields
that hold before anything is saved."""

from __future__ import annotations

from os.path import isabs

from sqlalchemy import ColumnElement
from sqlalchemy.orm import selectinload

from data.models import (
    Campaign,
    Membership,
    Template,
    User,
)
from engine.api.schemas import (
    CampaignIn,
    CampaignOut,
    MemberOut,
    TemplateOut,
    UserOut,
    as_roles,
)
from engine.domain.compose import AddressError, parse_address_list
from engine.domain.header_values import HeaderInjectionError, check_header_value
from engine.errors import Invalid
from engine.services.admin.schedule_edit import (
    exceptions_out,
    windows_out,
)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=as_roles(user.roles),
        status=user.status.value,
        status_reason=user.status_reason,
        status_since=user.status_since,
        campaigns=sorted(m.campaign.name for m in user.memberships),
        screen_monitoring_allowed=user.screen_monitoring_allowed,
    )


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        email_address=campaign.email_address,
        from_name=campaign.from_name,
        enabled=campaign.enabled,
        receive_emails=campaign.receive_emails,
        inbound=campaign.inbound.value,
        imap_host=campaign.imap_host,
        imap_port=campaign.imap_port,
        imap_security=campaign.imap_security.value,
        imap_username=campaign.imap_username,
        imap_folder=campaign.imap_folder,
        imap_sent_folder=campaign.imap_sent_folder,
        maildir_path=campaign.maildir_path,
        smtp_host=campaign.smtp_host,
        smtp_port=campaign.smtp_port,
        smtp_security=campaign.smtp_security.value,
        smtp_username=campaign.smtp_username,
        tls_verify=campaign.tls_verify,
        imap_password_set=campaign.imap_password_enc is not None,
        smtp_password_set=campaign.smtp_password_enc is not None,
        max_interactions_per_agent=campaign.max_interactions_per_agent,
        max_interactions_in_queue=campaign.max_interactions_in_queue,
        service_level_seconds=campaign.service_level_seconds,
        signature_template=campaign.signature_template.name
        if campaign.signature_template
        else None,
        confirmation_enabled=campaign.confirmation_enabled,
        confirmation_template=campaign.confirmation_template.name
        if campaign.confirmation_template
        else None,
        members=sorted(m.user.username for m in campaign.memberships),
        time_zone=campaign.time_zone,
        schedule=windows_out(campaign.schedules),
        schedule_exceptions=exceptions_out(campaign.schedule_exceptions),
        out_of_hours_template=campaign.out_of_hours_template.name
        if campaign.out_of_hours_template
        else None,
        overflow_campaign=campaign.overflow_campaign.name if campaign.overflow_campaign else None,
        busy_template=campaign.busy_template.name if campaign.busy_template else None,
        availability=campaign.availability.value,
        delivery=campaign.delivery.value,
        member_settings=[
            MemberOut(username=m.user.username, position=m.position, penalty=m.penalty)
            for m in sorted(campaign.memberships, key=lambda m: (m.position, m.user_id))
        ],
        qualification_enabled=campaign.qualification_enabled,
        qualification_motivation=campaign.qualification_motivation,
        qualification_thanks=campaign.qualification_thanks,
        track_replies=campaign.track_replies,
        on_logout="requeue" if campaign.on_logout == "requeue" else "keep",
        requeue_after=campaign.requeue_after_minutes,
    )


def named(name: str) -> ColumnElement[bool]:
    """The live campaign of that name: a removed one keeps its name for its recordings, and a
    new campaign may take it (`admin/campaign_removal.py`)."""
    return (Campaign.name == name) & Campaign.removed_at.is_(None)


# What campaign_out reads beyond the campaign row.
CAMPAIGN_DETAIL = (
    selectinload(Campaign.memberships).selectinload(Membership.user),
    selectinload(Campaign.schedules),
    selectinload(Campaign.schedule_exceptions),
    selectinload(Campaign.overflow_campaign),
    selectinload(Campaign.out_of_hours_template),
    selectinload(Campaign.busy_template),
)


# What the router reads: a change may open a campaign, make room in its queue, or let
# waiting mail go under a new strategy (or stop it being pushed).
ROUTING_FIELDS = {
    "time_zone",
    "schedule",
    "schedule_exceptions",
    "max_interactions_in_queue",
    "max_interactions_per_agent",
    "availability",
    "delivery",
    "enabled",
}

# What the campaign's mailbox task reads when it starts: changing one of these reconnects it.
MAILBOX_FIELDS = {
    "enabled",
    "receive_emails",
    "inbound",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_folder",
    "maildir_path",
    "tls_verify",
}


def template_out(template: Template, campaign: str | None) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        name=template.name,
        campaign=campaign,
        kind=template.kind.value,
        body_text=template.body_text,
        body_html=template.body_html,
    )


def validate_campaign(data: CampaignIn | Campaign) -> None:
    """Rules across fields, for a new campaign and for one after a patch (nothing is saved
    when they fail). Each message starts with the field to fix, for the admin's form."""
    try:
        addresses = parse_address_list(data.email_address)
    except AddressError as exc:
        raise Invalid(f"email_address: {exc}") from exc
    # The campaign's own mailbox: one bare address (the name shown to clients is from_name).
    if len(addresses) != 1 or addresses[0].email.lower() != data.email_address.strip().lower():
        raise Invalid(
            f"email_address: one address like support@example.com, not {data.email_address!r}"
        )
    try:
        check_header_value("from_name", data.from_name or "")
    except HeaderInjectionError as exc:
        raise Invalid(f"from_name: {exc}; a name is one line of text") from exc
    if data.receive_emails and data.inbound == "imap" and not data.imap_host:
        raise Invalid("imap_host: required when the campaign receives mail over IMAP")
    if data.receive_emails and data.inbound == "maildir" and not data.maildir_path:
        raise Invalid("maildir_path: required when the campaign receives mail from a Maildir")
    if data.receive_emails and data.inbound == "maildir" and not isabs(data.maildir_path):
        # A relative one would be read from wherever the engine happened to start.
        raise Invalid("maildir_path: a full path, from / (like /var/mail/support/Maildir)")
    if not data.smtp_host:
        raise Invalid("smtp_host: required, a campaign must be able to send")
