"""Dialers as records (admin only, checked by the API): add, change, list, remove.

A dialer sends one email campaign's bulk mail: through that campaign's SMTP account and From,
at most one message per `seconds_between_messages`, inside its schedule (weekly windows as
campaign schedules have them, between two dates, in its time zone), with a dialer template
and the unsubscribe block. The caps a provider imposes belong to the SMTP account (host,
port, login), not to a dialer: setting them on one dialer sets them for every dialer that
sends through that account. Sending itself is not here (a later part of issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from msgspec.structs import asdict
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import (
    Campaign,
    Dialer,
    DialerList,
    Schedule,
    SmtpLimit,
    Template,
    TemplateKind,
)
from engine.api.schemas import (
    DialerIn,
    DialerOut,
    DialerPatch,
    ScheduleWindow,
    SmtpCaps,
)
from engine.domain.dialer_schedule import check_range, on_schedule
from engine.domain.schedule import ScheduleError, WeeklySchedule, Window, parse_hhmm
from engine.domain.unsubscribe import DEFAULT_UNSUBSCRIBE_HTML, unsubscribe_problem
from engine.errors import Conflict, Invalid, NotFound
from engine.services.admin.schedule_edit import check_time_zone, windows_out
from engine.services.dialer.event import apply_event, event_out
from engine.services.dialer.smtp_pool import account_of

__all__ = ["Dialers", "find_dialer", "smtp_limit"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def find_dialer(session: AsyncSession, name: str) -> Dialer:
    dialer = await session.scalar(select(Dialer).where(Dialer.name == name))
    if dialer is None:
        raise NotFound(f"no dialer {name!r}")
    return dialer


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"{field}: not a date (YYYY-MM-DD): {text!r}", field=field) from exc


async def smtp_limit(session: AsyncSession, campaign: Campaign) -> SmtpLimit | None:
    """The caps row of the campaign's SMTP account (shared by every dialer on it), if any."""
    host, port, username = account_of(campaign)
    return await session.scalar(
        select(SmtpLimit).where(
            SmtpLimit.smtp_host == host,
            SmtpLimit.smtp_port == port,
            SmtpLimit.smtp_username == username,
        )
    )


class Dialers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self.db = db
        self.clock = clock  # the schedules' clock: tests move it instead of waiting

    async def all(self) -> list[DialerOut]:
        async with self.db.session() as session:
            dialers = (await session.scalars(select(Dialer).order_by(Dialer.name))).all()
            return [await self._out(session, d) for d in dialers]

    async def get(self, name: str) -> DialerOut:
        async with self.db.session() as session:
            return await self._out(session, await find_dialer(session, name))

    async def add(self, data: DialerIn) -> DialerOut:
        async with self.db.session() as session:
            try:
                async with session.begin():
                    campaign = await self._campaign(session, data.campaign)
                    dialer = Dialer(
                        name=data.name,
                        campaign_id=campaign.id,
                        seconds_between_messages=data.seconds_between_messages,
                        time_zone=check_time_zone(data.time_zone),
                        starts_on=_day(data.starts_on, "starts_on"),
                        ends_on=_day(data.ends_on, "ends_on"),
                        unsubscribe_html=self._unsubscribe(data.unsubscribe_html),
                    )
                    self._check_range(dialer)
                    apply_event(dialer, data.event)
                    dialer.template_id = await self._template_id(session, campaign, data.template)
                    session.add(dialer)
                    await session.flush()
                    await self._set_windows(session, dialer.id, data.schedule)
                    if data.caps is not None:
                        await self._set_caps(session, campaign, data.caps)
            except IntegrityError as exc:
                raise Conflict(f"dialer {data.name!r} already exists", field="name") from exc
        return await self.get(data.name)

    async def patch(self, name: str, patch: DialerPatch) -> DialerOut:
        if not any(v is not None for v in asdict(patch).values()):
            raise Invalid("nothing to change")
        new_name = patch.name or name
        async with self.db.session() as session:
            try:
                async with session.begin():
                    dialer = await find_dialer(session, name)
                    await self._apply(session, dialer, patch)
            except IntegrityError as exc:
                raise Conflict(f"dialer {new_name!r} already exists", field="name") from exc
        return await self.get(new_name)

    async def _apply(self, session: AsyncSession, dialer: Dialer, patch: DialerPatch) -> None:
        if patch.campaign is not None:
            if dialer.running:
                raise Conflict(
                    f"campaign: dialer {dialer.name!r} is running; stop it before moving it to"
                    " another campaign",
                    field="campaign",
                )
            if await self._list_count(session, dialer.id):
                raise Conflict(
                    f"campaign: dialer {dialer.name!r} has lists whose rows name its campaign;"
                    " remove them first",
                    field="campaign",
                )
            dialer.campaign_id = (await self._campaign(session, patch.campaign)).id
        campaign = await session.get_one(Campaign, dialer.campaign_id)
        if patch.name is not None:
            dialer.name = patch.name
        if patch.seconds_between_messages is not None:
            dialer.seconds_between_messages = patch.seconds_between_messages
        if patch.time_zone is not None:
            dialer.time_zone = check_time_zone(patch.time_zone)
        if patch.starts_on is not None:
            dialer.starts_on = _day(patch.starts_on, "starts_on")
        if patch.ends_on is not None:
            dialer.ends_on = _day(patch.ends_on, "ends_on")
        self._check_range(dialer)
        if patch.unsubscribe_html is not None:
            dialer.unsubscribe_html = self._unsubscribe(patch.unsubscribe_html)
        if patch.template is not None:
            dialer.template_id = await self._template_id(session, campaign, patch.template)
        elif patch.campaign is not None and dialer.template_id is not None:
            template = await session.get_one(Template, dialer.template_id)
            if template.campaign_id not in (None, campaign.id):
                dialer.template_id = None  # another campaign's template does not follow
        if patch.schedule is not None:
            await self._set_windows(session, dialer.id, patch.schedule)
        if patch.event is not None:
            apply_event(dialer, patch.event)
        if patch.caps is not None:
            await self._set_caps(session, campaign, patch.caps)

    async def remove(self, name: str) -> None:
        async with self.db.session() as session, session.begin():
            dialer = await find_dialer(session, name)
            if dialer.running:
                raise Conflict(f"dialer {name!r} is running: stop it before removing it")
            lists = await self._list_count(session, dialer.id)
            if lists:
                raise Conflict(
                    f"dialer {name!r} has {lists} list{'s' if lists != 1 else ''}: remove"
                    " them first (`ctl dialer list-remove`), so no record goes unnoticed"
                )
            await session.execute(delete(Schedule).where(Schedule.dialer_id == dialer.id))
            await session.delete(dialer)

    # ---- pieces ----
    @staticmethod
    def _unsubscribe(html: str) -> str:
        if not html.strip():
            return DEFAULT_UNSUBSCRIBE_HTML
        problem = unsubscribe_problem(html)
        if problem:
            raise Invalid(problem, field="unsubscribe_html")
        return html

    @staticmethod
    def _check_range(dialer: Dialer) -> None:
        problem = check_range(dialer.starts_on, dialer.ends_on)
        if problem:
            raise Invalid(problem, field="ends_on")

    @staticmethod
    async def _list_count(session: AsyncSession, dialer_id: int) -> int:
        count = await session.scalar(
            select(func.count()).select_from(DialerList).where(DialerList.dialer_id == dialer_id)
        )
        return int(count or 0)

    @staticmethod
    async def _campaign(session: AsyncSession, name: str) -> Campaign:
        campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
        if campaign is None:
            raise NotFound(f"campaign: no campaign {name!r}", field="campaign")
        return campaign

    @staticmethod
    async def _template_id(session: AsyncSession, campaign: Campaign, name: str) -> int | None:
        """A dialer template of the campaign, else a global one; "" is none."""
        if not name:
            return None
        rows = (
            await session.scalars(
                select(Template).where(
                    Template.name == name,
                    (Template.campaign_id == campaign.id) | Template.campaign_id.is_(None),
                )
            )
        ).all()
        if not rows:
            raise NotFound(
                f"template: no template {name!r} for campaign {campaign.name!r}", field="template"
            )
        dialer_kind = [t for t in rows if t.kind == TemplateKind.DIALER]
        if not dialer_kind:
            raise Invalid(
                f"template: {name!r} is a {rows[0].kind.value} template; a dialer sends dialer"
                " templates (`ctl template add --kind dialer`)",
                field="template",
            )
        return sorted(dialer_kind, key=lambda t: t.campaign_id is None)[0].id

    @staticmethod
    async def _set_windows(
        session: AsyncSession, dialer_id: int, windows: list[ScheduleWindow]
    ) -> None:
        rows: dict[tuple[int, time, time], Schedule] = {}
        for n, window in enumerate(windows):
            try:
                start = parse_hhmm(window.start, field=f"schedule.{n}.start")
                end = parse_hhmm(window.end, field=f"schedule.{n}.end")
            except ScheduleError as exc:
                raise Invalid(str(exc), field=exc.field) from exc
            for day in window.days:
                weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(day)
                rows[(weekday, start, end)] = Schedule(
                    dialer_id=dialer_id, weekday=weekday, start=start, end=end
                )
        await session.execute(delete(Schedule).where(Schedule.dialer_id == dialer_id))
        session.add_all(rows[key] for key in sorted(rows))

    @staticmethod
    async def _set_caps(session: AsyncSession, campaign: Campaign, caps: SmtpCaps) -> None:
        if not campaign.smtp_host:
            raise Invalid(
                f"caps: campaign {campaign.name!r} has no SMTP server whose caps these would be",
                field="caps",
            )
        row = await smtp_limit(session, campaign)
        if row is None:
            host, port, username = account_of(campaign)
            row = SmtpLimit(smtp_host=host, smtp_port=port, smtp_username=username)
            session.add(row)
        row.per_minute, row.per_hour = caps.per_minute, caps.per_hour
        row.per_day, row.connections = caps.per_day, caps.connections

    async def _out(self, session: AsyncSession, dialer: Dialer) -> DialerOut:
        campaign = await session.get_one(Campaign, dialer.campaign_id)
        host, port, username = account_of(campaign)
        limit = await smtp_limit(session, campaign)
        caps = (
            SmtpCaps(
                per_minute=limit.per_minute,
                per_hour=limit.per_hour,
                per_day=limit.per_day,
                connections=limit.connections,
            )
            if limit is not None
            else SmtpCaps()
        )
        rows = (
            await session.scalars(
                select(Schedule)
                .where(Schedule.dialer_id == dialer.id)
                .order_by(Schedule.weekday, Schedule.start)
            )
        ).all()
        weekly = WeeklySchedule(
            dialer.time_zone, tuple(Window(r.weekday, r.start, r.end) for r in rows)
        )
        template = await session.get(Template, dialer.template_id) if dialer.template_id else None
        return DialerOut(
            id=dialer.id,
            name=dialer.name,
            campaign=campaign.name,
            seconds_between_messages=dialer.seconds_between_messages,
            time_zone=dialer.time_zone,
            schedule=windows_out(list(rows)),
            starts_on=dialer.starts_on.isoformat() if dialer.starts_on else "",
            ends_on=dialer.ends_on.isoformat() if dialer.ends_on else "",
            template=template.name if template else "",
            unsubscribe_html=dialer.unsubscribe_html,
            smtp_account=f"{username or '-'}@{host or '-'}:{port}",
            caps=caps,
            running=dialer.running,
            on_schedule=on_schedule(weekly, dialer.starts_on, dialer.ends_on, self.clock()),
            lists=await self._list_count(session, dialer.id),
            event=event_out(dialer),
        )
