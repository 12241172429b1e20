"""Provisioning: users, campaigns and memberships (admin-only; checked by the API).

Campaign passwords are encrypted with the secret box before they touch the database; changes to
a campaign restart its mailbox service through the `on_campaign_change` hook.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from msgspec.structs import asdict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from data.db import Database
from data.models import (
    Availability,
    Campaign,
    Delivery,
    InboundTransport,
    Membership,
    Security,
    Template,
    TemplateKind,
    User,
)
from data.secrets import SecretBox
from engine.api.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    ConnectionReport,
    TemplateIn,
    TemplateOut,
    UserIn,
    UserOut,
    UserPatch,
)
from engine.errors import Conflict, Invalid, NotFound
from engine.services import queries
from engine.services.admin.campaign_rules import (
    CAMPAIGN_DETAIL,
    MAILBOX_FIELDS,
    ROUTING_FIELDS,
    campaign_out,
    named,
    template_out,
    user_out,
    validate_campaign,
)
from engine.services.admin.connection_test import check_campaign
from engine.services.admin.login_check import (
    IMAP_LOGIN_FIELDS,
    SMTP_LOGIN_FIELDS,
    login_probe,
    require_login,
    sides_changed,
)
from engine.services.admin.members import MemberRecords
from engine.services.admin.oauth import OAuthService
from engine.services.admin.schedule_edit import (
    check_time_zone,
    set_exceptions,
    set_windows,
)

LOGIN_FIELDS = IMAP_LOGIN_FIELDS | SMTP_LOGIN_FIELDS
ENUM_FIELDS = {"inbound": InboundTransport, "imap_security": Security, "smtp_security": Security}


class Admin(MemberRecords):
    def __init__(
        self,
        db: Database,
        secrets: SecretBox,
        on_campaign_change: Callable[[int], Awaitable[None]],
        on_member_added: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.secrets = secrets
        self.on_campaign_change = on_campaign_change
        self.on_member_added = on_member_added  # the router's kick: queued mail may go to them
        self.oauth: OAuthService | None = None  # set by the engine: OAuth2 connection tests

    async def users(self) -> list[UserOut]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(User)
                .options(selectinload(User.memberships).selectinload(Membership.campaign))
                .order_by(User.username)
            )
            return [user_out(u) for u in rows.scalars()]

    async def add_user(self, data: UserIn) -> UserOut:
        async with self.db.session() as session:
            try:
                async with session.begin():
                    user = User(
                        username=data.username,
                        display_name=data.display_name or data.username,
                        roles=sorted(set(data.roles)),
                        screen_monitoring_allowed=data.screen_monitoring_allowed,
                    )
                    session.add(user)
            except IntegrityError as exc:
                raise Conflict(f"user {data.username!r} already exists", field="username") from exc
        return await self.user(data.username)

    async def patch_user(self, username: str, patch: UserPatch) -> UserOut:
        """Roles take effect on the user's next call: the engine checks them on every one."""
        async with self.db.session() as session, session.begin():
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user {username!r}")
            if patch.display_name is not None:
                user.display_name = patch.display_name.strip() or user.username
            if patch.roles is not None:
                user.roles = sorted(set(patch.roles))
            if patch.screen_monitoring_allowed is not None:
                user.screen_monitoring_allowed = patch.screen_monitoring_allowed
        return await self.user(username)

    async def user(self, username: str) -> UserOut:
        async with self.db.session() as session:
            user = await session.scalar(
                select(User)
                .where(User.username == username)
                .options(selectinload(User.memberships).selectinload(Membership.campaign))
            )
            if user is None:
                raise NotFound(f"no user {username!r}")
            return user_out(user)

    async def campaigns(self) -> list[CampaignOut]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(Campaign)
                .where(Campaign.removed_at.is_(None))
                .options(*CAMPAIGN_DETAIL)
                .order_by(Campaign.name)
            )
            return [campaign_out(c) for c in rows.scalars()]

    async def campaign(self, name: str) -> CampaignOut:
        async with self.db.session() as session:
            campaign = await session.scalar(
                select(Campaign)
                .where(named(name))
                .options(*CAMPAIGN_DETAIL)
                .execution_options(populate_existing=True)
            )
            if campaign is None:
                raise NotFound(f"no campaign {name!r}")
            return campaign_out(campaign)

    async def add_campaign(self, data: CampaignIn) -> CampaignOut:
        validate_campaign(data)
        async with self.db.session() as session:
            if await session.scalar(select(Campaign.id).where(named(data.name))) is not None:
                raise Conflict(f"campaign {data.name!r} already exists", field="name")
        campaign = self._new_campaign(data)
        if data.check:
            await require_login(campaign, self.secrets)  # before anything is saved
        async with self.db.session() as session:
            try:
                async with session.begin():
                    session.add(campaign)
                    await session.flush()
                    campaign_id = campaign.id
            except IntegrityError as exc:
                raise Conflict(f"campaign {data.name!r} already exists", field="name") from exc
        await self.on_campaign_change(campaign_id)
        return await self.campaign(data.name)

    def _new_campaign(self, data: CampaignIn) -> Campaign:
        campaign = Campaign(
            name=data.name,
            email_address=data.email_address.lower(),
            from_name=data.from_name,
            enabled=data.enabled,
            receive_emails=data.receive_emails,
            inbound=InboundTransport(data.inbound),
            imap_host=data.imap_host,
            imap_port=data.imap_port,
            imap_security=Security(data.imap_security),
            imap_username=data.imap_username or data.email_address,
            imap_password_enc=self.secrets.encrypt(data.imap_password)
            if data.imap_password
            else None,
            imap_folder=data.imap_folder,
            imap_sent_folder=data.imap_sent_folder,
            maildir_path=data.maildir_path,
            smtp_host=data.smtp_host,
            smtp_port=data.smtp_port,
            smtp_security=Security(data.smtp_security),
            smtp_username=data.smtp_username,
            smtp_password_enc=self.secrets.encrypt(data.smtp_password)
            if data.smtp_password
            else None,
            tls_verify=data.tls_verify,
            max_interactions_per_agent=data.max_interactions_per_agent,
            max_interactions_in_queue=data.max_interactions_in_queue,
            service_level_seconds=data.service_level_seconds,
            time_zone=check_time_zone(data.time_zone),
            schedules=[],
            schedule_exceptions=[],
            availability=Availability(data.availability),
            delivery=Delivery(data.delivery),
            qualification_enabled=data.qualification_enabled,
            qualification_motivation=data.qualification_motivation,
            qualification_thanks=data.qualification_thanks,
            track_replies=data.track_replies,
            on_logout=data.on_logout,
            requeue_after_minutes=data.requeue_after,
        )
        set_windows(campaign, data.schedule)
        set_exceptions(campaign, data.schedule_exceptions)
        return campaign

    async def patch_campaign(self, name: str, patch: CampaignPatch) -> CampaignOut:
        changes = {k: v for k, v in asdict(patch).items() if v is not None}
        check = changes.pop("check", True)
        given = set(changes)
        imap, smtp = sides_changed(given)
        if check and (imap or smtp):
            await self._try_login(name, changes, imap=imap, smtp=smtp)
        async with self.db.session() as session, session.begin():
            campaign = await session.scalar(
                select(Campaign)
                .where(named(name))
                .options(
                    selectinload(Campaign.schedules), selectinload(Campaign.schedule_exceptions)
                )
            )
            if campaign is None:
                raise NotFound(f"no campaign {name!r}")
            await self._apply_schedule_and_limit(session, campaign, changes)
            for field in ("signature_template", "confirmation_template"):
                if field in changes:
                    template_name = changes.pop(field)
                    template = (
                        await self._template_for(session, campaign, template_name)
                        if template_name
                        else None
                    )
                    setattr(campaign, f"{field}_id", template.id if template else None)
            for field in ("imap_password", "smtp_password"):
                if field in changes:
                    password = changes.pop(field)
                    encrypted = self.secrets.encrypt(password) if password else None
                    setattr(campaign, f"{field}_enc", encrypted)
            if "email_address" in changes:
                changes["email_address"] = changes["email_address"].lower()
            if "inbound" in changes:
                changes["inbound"] = InboundTransport(changes["inbound"])
            for field in ("imap_security", "smtp_security"):
                if field in changes:
                    changes[field] = Security(changes[field])
            if "availability" in changes:
                changes["availability"] = Availability(changes["availability"])
            if "delivery" in changes:
                changes["delivery"] = Delivery(changes["delivery"])
            if "requeue_after" in changes:  # minutes, as the form and ctl say it
                changes["requeue_after_minutes"] = changes.pop("requeue_after")
            for field, value in changes.items():
                setattr(campaign, field, value)
            validate_campaign(campaign)
            if campaign.confirmation_enabled and campaign.confirmation_template_id is None:
                raise Invalid("confirmation_template: required when auto-confirmation is on")
            campaign_id = campaign.id
        if MAILBOX_FIELDS & given:
            await self.on_campaign_change(campaign_id)  # reconnect with the new settings
        if ROUTING_FIELDS & given:
            self.on_member_added()  # the router looks again at what waits
        return await self.campaign(name)

    async def _try_login(
        self, name: str, changes: dict[str, Any], *, imap: bool, smtp: bool
    ) -> None:
        """The patch's login fields on a copy of the campaign, tried before any is saved (not
        in the transaction: a server may take seconds to answer)."""
        async with self.db.session() as session:
            stored = await session.scalar(select(Campaign).where(named(name)))
        if stored is None:
            raise NotFound(f"no campaign {name!r}")
        if self.oauth is not None and await self.oauth.settings_of(stored.id) is not None:
            # It signs in with OAuth2: its logins are proven by the authorization and tried
            # with a token by the connection test; there is no password to try here.
            return
        probe = login_probe(stored)
        for field in (LOGIN_FIELDS | {"from_name", "maildir_path"}) & set(changes):
            value = changes[field]
            if field.endswith("_password"):
                setattr(probe, f"{field}_enc", self.secrets.encrypt(value) if value else None)
            elif field in ENUM_FIELDS:
                setattr(probe, field, ENUM_FIELDS[field](value))
            else:
                setattr(probe, field, value)
        validate_campaign(probe)  # a missing host is said as such, not as a failed login
        await require_login(probe, self.secrets, imap=imap, smtp=smtp)

    async def _apply_schedule_and_limit(
        self, session: AsyncSession, campaign: Campaign, changes: dict[str, Any]
    ) -> None:
        """Take the schedule and queue-limit fields out of `changes` and apply them."""
        if "time_zone" in changes:
            campaign.time_zone = check_time_zone(changes.pop("time_zone"))
        if "schedule" in changes:
            set_windows(campaign, changes.pop("schedule"))
        if "schedule_exceptions" in changes:
            set_exceptions(campaign, changes.pop("schedule_exceptions"))
        for field in ("out_of_hours_template", "busy_template"):
            if field in changes:
                template_name = changes.pop(field)
                template = None
                if template_name:
                    try:
                        template = await self._template_for(session, campaign, template_name)
                    except NotFound as exc:
                        raise NotFound(str(exc), field=field) from exc
                setattr(campaign, f"{field}_id", template.id if template else None)
        if "overflow_campaign" in changes:
            target_name = changes.pop("overflow_campaign")
            target_id = None
            if target_name:
                target_id = await session.scalar(select(Campaign.id).where(named(target_name)))
                if target_id is None:
                    raise NotFound(f"no campaign {target_name!r}", field="overflow_campaign")
                if target_id == campaign.id:
                    raise Invalid(
                        "overflow_campaign: a campaign cannot overflow into itself; leave it"
                        " empty to hold the overflow in its own queue",
                        field="overflow_campaign",
                    )
            campaign.overflow_campaign_id = target_id

    async def _template_for(self, session: AsyncSession, campaign: Campaign, name: str) -> Template:
        """The campaign's own template of that name, else the global one."""
        rows = (
            (
                await session.execute(
                    select(Template).where(
                        Template.name == name,
                        (Template.campaign_id == campaign.id) | Template.campaign_id.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            raise NotFound(f"no template {name!r} for campaign {campaign.name!r}")
        return sorted(rows, key=lambda t: t.campaign_id is None)[0]

    async def templates(self, campaign_ids: list[int] | None = None) -> list[TemplateOut]:
        """All templates, or those of these campaigns plus the global ones."""
        async with self.db.session() as session:
            query = (
                select(Template, Campaign.name)
                .outerjoin(Campaign, Template.campaign_id == Campaign.id)
                .order_by(Template.name, Template.id)
            )
            # A removed campaign's own templates went with it (they stay in the database).
            query = query.where(Template.campaign_id.is_(None) | Campaign.removed_at.is_(None))
            if campaign_ids is not None:
                query = query.where(
                    Template.campaign_id.in_(campaign_ids) | Template.campaign_id.is_(None)
                )
            rows = await session.execute(query)
            return [template_out(t, name) for t, name in rows]

    async def templates_for(self, user_id: int | None, *, sees_all: bool) -> list[TemplateOut]:
        """Supervisors and admins see every template; an agent those of the campaigns they
        work in, and the global ones."""
        if sees_all or user_id is None:
            return await self.templates()
        async with self.db.session() as session:
            mine = await queries.working_campaigns(session, user_id)
        return await self.templates(sorted(mine))

    async def test_campaign(self, name: str) -> ConnectionReport:
        """Log in to the campaign's mail servers as the engine would, step by step."""
        async with self.db.session() as session:
            campaign = await session.scalar(select(Campaign).where(named(name)))
        if campaign is None:
            raise NotFound(f"no campaign {name!r}")
        bearer_for = self.oauth.bearer_for if self.oauth is not None else None
        return await check_campaign(campaign, self.secrets, bearer_for)

    async def add_template(self, data: TemplateIn) -> TemplateOut:
        async with self.db.session() as session, session.begin():
            template = Template()
            await self._fill_template(session, template, data)
            session.add(template)
            await session.flush()
            return template_out(template, data.campaign)

    async def replace_template(self, template_id: int, data: TemplateIn) -> TemplateOut:
        """The whole template anew (name, campaign, kind, body); campaigns using it as their
        signature or confirmation keep using it, as edited."""
        async with self.db.session() as session, session.begin():
            template = await session.get(Template, template_id)
            if template is None:
                raise NotFound(f"no template {template_id}")
            await self._fill_template(session, template, data)
            await session.flush()
            return template_out(template, data.campaign)

    async def delete_template(self, template_id: int) -> None:
        """Refused while a campaign uses it as its signature or confirmation: the campaign
        would silently stop signing or confirming."""
        async with self.db.session() as session, session.begin():
            template = await session.get(Template, template_id)
            if template is None:
                raise NotFound(f"no template {template_id}")
            if in_use := await _campaigns_using(session, template_id):
                raise Conflict(
                    f"template {template.name!r} is the signature or confirmation of "
                    f"{in_use}: choose another there first"
                )
            await session.delete(template)

    async def _fill_template(
        self, session: AsyncSession, template: Template, data: TemplateIn
    ) -> None:
        campaign_id = None
        if data.campaign:
            campaign = await session.scalar(select(Campaign).where(named(data.campaign)))
            if campaign is None:
                raise NotFound(f"campaign: no campaign {data.campaign!r}")
            campaign_id = campaign.id
        same_place = (
            Template.campaign_id.is_(None)
            if campaign_id is None
            else Template.campaign_id == campaign_id
        )
        query = select(Template.id).where(Template.name == data.name, same_place)
        if template.id is not None:
            query = query.where(Template.id != template.id)
        if await session.scalar(query) is not None:
            raise Conflict(f"name: template {data.name!r} already exists there")
        moved = template.id is not None and (
            template.campaign_id != campaign_id or template.kind != TemplateKind(data.kind)
        )
        if moved and (in_use := await _campaigns_using(session, template.id)):
            # A campaign signs only with its own or a global signature template.
            raise Conflict(
                f"campaign: template {template.name!r} is the signature or confirmation of "
                f"{in_use}; its campaign and kind stay while it is"
            )
        template.name = data.name
        template.campaign_id = campaign_id
        template.kind = TemplateKind(data.kind)
        template.body_text = data.body_text
        template.body_html = data.body_html


async def _campaigns_using(session: AsyncSession, template_id: int) -> str:
    """The campaigns signing or confirming with the template, as `'A', 'B'` ("" for none)."""
    names = (
        await session.execute(
            select(Campaign.name).where(
                (Campaign.signature_template_id == template_id)
                | (Campaign.confirmation_template_id == template_id),
                Campaign.removed_at.is_(None),
            )
        )
    ).scalars()
    return ", ".join(repr(name) for name in sorted(names))
