"""The demo's simulated mail world, run inside a standalone engine on a throwaway data dir.

Customers write in through a local Maildir, replies leave through a local SMTP sink (aiosmtpd),
some customers answer back (threaded by In-Reply-To), and two simulated agents work their share
of the queue, so the agent inbox and the supervisor grid are alive within seconds. Customers
also open replies (the tracking image) and rate some of them on the public web service, the
real one (`postdesk demo` runs it beside the engine): the page's GET, then its button's POST.
Who is in it and what they write is in `engine.demo_cast`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from data.models import (
    AgentStatus,
    Campaign,
    Interaction,
    InteractionState,
    Template,
    TemplateKind,
    User,
)
from engine.api.schemas import (
    CampaignIn,
    CampaignPatch,
    DialerIn,
    DialerListQuery,
    ScheduleWindow,
    UserIn,
    Weekday,
)
from engine.demo_cast import (
    BOT_NOTES,
    BOTS,
    CUSTOMERS,
    DEMO_CODES,
    DIALER_RECIPIENTS,
    HUMANS,
    NIGHT,
    NIGHT_ADDRESS,
    SUBJECTS,
    codes_of,
    leaf_paths,
)
from engine.demo_smtp import ClosingController
from engine.domain.mime import parse_message
from engine.engine import Engine
from engine.services.inbound.maildir import ensure_maildir

log = logging.getLogger(__name__)


RATING_LINK = re.compile(r"(https?://[^\s\"'<>]+/r/[A-Za-z0-9_-]{22})/([1-5])")
PIXEL = re.compile(r'<img src="(https?://[^"]+/p/[A-Za-z0-9_-]{22}\.gif)"')
# How the simulated customers rate: mostly content, sometimes not.
SCORE_WEIGHTS = {1: 1, 2: 1, 3: 2, 4: 4, 5: 5}

# Mail the desk must see through (see DemoWorld.stranger_writes).
STRANGERS = ["away", "bounce", "tricky"]
NIGHT_CYCLE = 40.0  # the night desk (`NIGHT`): seconds open, then as long closed
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink:
    """aiosmtpd handler: remembers what our engine sent, for customers to answer."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.to_rate: asyncio.Queue[bytes] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = bytes(envelope.content)
        self.loop.call_soon_threadsafe(self.received.put_nowait, content)
        self.loop.call_soon_threadsafe(self.to_rate.put_nowait, content)
        return "250 OK"


class DemoWorld:
    def __init__(self, engine: Engine, root: Path, *, pace: float = 1.0) -> None:
        self.engine = engine
        self.root = root
        self.maildir = root / "maildir"
        self.night_maildir = root / "night-maildir"
        self.pace = pace
        self.rng = random.Random(7)
        self.tasks: list[asyncio.Task[None]] = []
        self._counter = 1000

    async def start(self) -> None:
        ensure_maildir(self.maildir)
        ensure_maildir(self.night_maildir)
        self.sink = _Sink()
        self.smtp_port = free_port()
        self.controller = ClosingController(self.sink, hostname="127.0.0.1", port=self.smtp_port)
        self.controller.start()
        await self.seed()
        # Enough for both simulated agents' caps and a few left waiting for the human.
        for _ in range(11):
            self.customer_writes()
        for kind in STRANGERS:
            self.stranger_writes(kind)
        self.tasks = [
            asyncio.create_task(self._customers()),
            asyncio.create_task(self._answers()),
            asyncio.create_task(self._ratings()),
            asyncio.create_task(self._bots()),
            asyncio.create_task(self._night()),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.controller.stop()

    async def seed(self) -> None:
        admin = self.engine.admin
        # The agents allow their screen to be viewed: Sam can watch Ana's console, and Ben
        # Bot's (headless in the demo: postdesk/demo.py), with `v` on the grid.
        for username, name, roles in HUMANS:
            await admin.add_user(
                UserIn(
                    username=username,
                    display_name=name,
                    roles=roles,
                    screen_monitoring_allowed="agent" in roles,
                )
            )
        for username, name in BOTS:
            await admin.add_user(
                UserIn(
                    username=username,
                    display_name=name,
                    roles=["agent"],
                    screen_monitoring_allowed=True,
                )
            )
        await admin.add_campaign(
            CampaignIn(
                name="Support",
                email_address="support@postdesk.example",
                from_name="Postdesk Support",
                inbound="maildir",
                maildir_path=str(self.maildir),
                smtp_host="127.0.0.1",
                smtp_port=self.smtp_port,
                smtp_security="plain",
                max_interactions_per_agent=4,
                # Mail takes turns between the members in their order (the bots, and Ana
                # when she is Free): the admin's campaign form shows the strategy.
                delivery="round-robin",
                qualification_enabled=True,
                qualification_motivation="How did we do? One click rates this answer:",
                qualification_thanks=(
                    "Thank you for rating our answer.\nEvery rating is read by the Support "
                    "team lead."
                ),
                track_replies=True,
            )
        )
        for username in ["ana", *(b for b, _ in BOTS)]:
            await admin.add_member("Support", username)
        await admin.add_campaign(
            CampaignIn(
                name=NIGHT,
                email_address=NIGHT_ADDRESS,
                from_name="Postdesk Night Desk",
                inbound="maildir",
                maildir_path=str(self.night_maildir),
                smtp_host="127.0.0.1",
                smtp_port=self.smtp_port,
                smtp_security="plain",
                max_interactions_per_agent=4,
                schedule=self._night_hours(open_now=False),
            )
        )
        await admin.add_member(NIGHT, BOTS[1][0])
        # Wrap-up codes (docs/wrapup.md): the bots close with one, so the thread, the search
        # results and `ctl stats --dispositions` show them from the first minutes.
        for name, paths in DEMO_CODES.items():
            await self.engine.wrapups.replace(name, codes_of(paths))
        async with self.engine.db.session() as session, session.begin():
            campaign = await session.scalar(select(Campaign).where(Campaign.name == "Support"))
            assert campaign is not None
            signature = Template(
                name="Support signature",
                campaign_id=campaign.id,
                kind=TemplateKind.SIGNATURE,
                body_text="Postdesk Support team\nhttps://postdesk.example/help",
            )
            session.add(signature)
            session.add(
                Template(
                    name="Thanks, we are on it",
                    body_text=(
                        "Hello ${name},\n\nThanks for writing in. We are looking into it and will "
                        "come back to you today.\n\n${agent}"
                    ),
                )
            )
            confirmation = Template(
                name="We got your message",
                campaign_id=campaign.id,
                kind=TemplateKind.CONFIRMATION,
                body_text=(
                    "Hello ${name},\n\nthanks for writing to ${campaign}. We received your "
                    'message "${subject}" and an agent will answer it shortly.'
                ),
            )
            session.add(confirmation)
            await session.flush()
            campaign.signature_template_id = signature.id
            campaign.confirmation_template_id = confirmation.id
            campaign.confirmation_enabled = True
        await self._dialer()

    async def _dialer(self) -> None:
        """A dialer sending a small list through Support, one mail every few seconds: Sam's
        `ctl dialer status Welcome` (and the dashboard's events) move within a minute, and
        some recipients answer (`_answers`), which lands in the queue as a thread."""
        async with self.engine.db.session() as session, session.begin():
            session.add(
                Template(
                    name="Welcome news",
                    kind=TemplateKind.DIALER,
                    body_text=(
                        "Dear ${name},\n\nour new opening hours in ${city} start on Monday."
                        " Answer this mail if you have a question.\n\nPostdesk Support"
                    ),
                )
            )
        await self.engine.dialers.add(
            DialerIn(
                name="Welcome",
                campaign="Support",
                template="Welcome news",
                seconds_between_messages=4.0 * self.pace,
            )
        )
        cities = ["Montevideo", "Lima", "Rome", "Oslo", "Porto", "Quito"]
        rows = "".join(
            f"Support;{first.lower()}.{last.lower()}@example.net;;;"
            f"name={first}:city={cities[n % len(cities)]};{1 if n < 3 else ''}\n"
            for n, (first, last) in enumerate(DIALER_RECIPIENTS)
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield rows.encode()

        await self.engine.dialer_lists.upload(
            "Welcome", DialerListQuery(name="Opening hours", subject="News for ${name}"), chunks()
        )
        await self.engine.dialer_runner.play("Welcome")

    # ---- customers ----
    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def customer_writes(self) -> None:
        name, address = self.rng.choice(CUSTOMERS)
        subject, body = self.rng.choice(SUBJECTS)
        n = self._next()
        msg = EmailMessage()
        msg["From"] = f"{name} <{address}>"
        msg["To"] = "Postdesk Support <support@postdesk.example>"
        msg["Subject"] = subject.format(n=n)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=address.split("@")[1])
        msg.set_content(body.format(n=n))
        self._deliver(msg)

    def stranger_writes(self, kind: str | None = None) -> None:
        """Mail that must not fool the desk: an out-of-office and a bounce (filed, never in a
        queue, never answered) and a customer whose double-encoded subject tries to add
        headers to our answers (it reads as the literal text, and answers carry only ours)."""
        n = self._next()
        day = format_datetime(datetime.now(UTC))
        kind = kind or self.rng.choice(STRANGERS)
        if kind == "away":
            lines = [
                "From: Jane Roe <jane.roe@example.org>",
                "Subject: Automatic reply: your message",
                "X-Auto-Response-Suppress: All",
                "",
                "I am out of the office until Monday.",
            ]
        elif kind == "bounce":
            lines = [
                "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>",
                "Subject: Mail delivery failed: returning message to sender",
                "",
                "This message was created automatically by mail delivery software.",
                "A message that you sent could not be delivered to one or more of its",
                "recipients. This is a permanent error.",
                "  nobody@example.net: mailbox unavailable",
            ]
        else:
            # =?utf-8?q?Refund=0D=0ABcc:_all@example.com?= encoded once more.
            tricky = "=?utf-8?b?PT91dGYtOD9xP1JlZnVuZD0wRD0wQUJjYzpfYWxsQGV4YW1wbGUuY29tPz0=?="
            lines = [
                "From: Tom Trickster <tom@example.com>",
                f"Subject: {tricky}",
                "",
                "Please refund me. (My subject tries to add a Bcc to your answer.)",
            ]
        head = [
            "To: Postdesk Support <support@postdesk.example>",
            f"Date: {day}",
            f"Message-ID: <stranger.{n}.{time.time_ns()}@example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ]
        self._deliver_bytes(("\r\n".join(lines[:2] + head + lines[2:]) + "\r\n").encode())

    def _deliver(self, msg: EmailMessage, maildir: Path | None = None) -> None:
        self._deliver_bytes(msg.as_bytes(), maildir)

    def _deliver_bytes(self, raw: bytes, maildir: Path | None = None) -> None:
        box = maildir or self.maildir
        name = f"{time.time():.6f}.{self._next()}.demo"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        tmp.rename(box / "new" / name)

    # ---- the night desk: a campaign closing and opening ----
    @staticmethod
    def _night_hours(*, open_now: bool) -> list[ScheduleWindow]:
        """Today's window: around now when open, one that ended an hour ago when closed."""
        now = datetime.now(UTC)
        start, end = (now - timedelta(hours=1), now + timedelta(hours=1))
        if not open_now:
            start, end = now - timedelta(hours=3), now - timedelta(hours=1)
        return [
            ScheduleWindow(
                days=[WEEKDAYS[start.weekday()]],
                start=start.strftime("%H:%M"),
                end=end.strftime("%H:%M"),
            )
        ]

    def night_customer_writes(self) -> None:
        name, address = self.rng.choice(CUSTOMERS)
        n = self._next()
        msg = EmailMessage()
        msg["From"] = f"{name} <{address}>"
        msg["To"] = f"Postdesk Night Desk <{NIGHT_ADDRESS}>"
        msg["Subject"] = f"Urgent after hours #{n}"
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=address.split("@")[1])
        msg.set_content(f"Hello, our shop's card reader stopped working (case {n}).")
        self._deliver(msg, self.night_maildir)

    async def _night(self) -> None:
        """Closed, with mail arriving and waiting; then open, and it is routed."""
        open_now = False
        while True:
            for _ in range(2):
                self.night_customer_writes()
                await asyncio.sleep(NIGHT_CYCLE / 2 * self.pace)
            open_now = not open_now
            hours = self._night_hours(open_now=open_now)
            await self.engine.admin.patch_campaign(NIGHT, CampaignPatch(schedule=hours))

    async def _customers(self) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(6, 14) * self.pace)
            if self.rng.random() < 0.2:
                self.stranger_writes()
            else:
                self.customer_writes()

    async def _answers(self) -> None:
        """Some customers answer our replies, threaded by In-Reply-To and References."""
        while True:
            raw = await self.sink.received.get()
            if self.rng.random() > 0.5:
                continue
            sent = parse_message(raw)
            if not sent.to or not sent.message_id or "auto-submitted" in sent.headers:
                continue  # people do not answer the confirmation auto-reply
            await asyncio.sleep(self.rng.uniform(3, 8) * self.pace)
            answer = EmailMessage()
            customer = sent.to[0]
            answer["From"] = (
                f"{customer.name} <{customer.email}>" if customer.name else customer.email
            )
            answer["To"] = "support@postdesk.example"
            answer["Subject"] = sent.subject
            answer["Date"] = format_datetime(datetime.now(UTC))
            answer["Message-ID"] = make_msgid(domain=customer.email.split("@")[1])
            answer["In-Reply-To"] = f"<{sent.message_id}>"
            answer["References"] = " ".join(f"<{r}>" for r in [*sent.references, sent.message_id])
            answer.set_content(
                self.rng.choice(
                    [
                        "Thank you, that solved it!",
                        "Thanks. One more question: can I get the receipt as PDF?",
                        "It still does not work, I tried again just now.",
                    ]
                )
                + "\n\n"
                + "\n".join("> " + line for line in sent.text.splitlines()[:6])
            )
            self._deliver(answer)

    async def _ratings(self) -> None:
        """Customers open most replies (their mail client fetches the tracking image) and
        rate some: the rating link's page (a GET, which records nothing), then its button."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                raw = await self.sink.to_rate.get()
                mail = message_from_bytes(raw, policy=email_policy.default)
                text = "".join(
                    str(part.get_content())
                    for part in mail.walk()
                    if part.get_content_type() in ("text/plain", "text/html")
                )
                pixel = PIXEL.search(text)
                links = {int(m[2]): m[1] for m in RATING_LINK.finditer(text)}
                if not (pixel or links):
                    continue
                await asyncio.sleep(self.rng.uniform(1, 4) * self.pace)
                try:
                    if pixel and self.rng.random() < 0.8:
                        async with http.get(pixel[1]) as resp:
                            await resp.read()
                    if links and self.rng.random() < 0.7:
                        scores = list(SCORE_WEIGHTS)
                        score = self.rng.choices(scores, [SCORE_WEIGHTS[s] for s in scores])[0]
                        page = links[score]
                        async with http.get(f"{page}/{score}") as resp:
                            await resp.read()
                        async with http.post(page, data={"score": str(score)}) as resp:
                            await resp.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    log.info("demo customer could not reach the web service: %s", exc)

    # ---- simulated agents ----
    async def _wrap_up(self, bot: int, interaction_id: int) -> None:
        """Close as an agent does: one of the campaign's codes, now and then a note."""
        choices = await self.engine.wrapups.choices(bot, interaction_id)
        leaves = leaf_paths(choices.codes)
        code = " > ".join(self.rng.choice(leaves)) if leaves else ""
        note = self.rng.choice(BOT_NOTES) if self.rng.random() < 0.4 else ""
        await self.engine.work.close(bot, interaction_id, disposition=code, note=note)

    async def _bot_ids(self) -> Iterator[int]:
        async with self.engine.db.session() as session:
            rows = await session.execute(
                select(User.id).where(User.username.in_([b for b, _ in BOTS]))
            )
            return iter(rows.scalars().all())

    async def _bots(self) -> None:
        bot_ids = list(await self._bot_ids())
        for bot in bot_ids:
            await self.engine.presence.set_status(bot, AgentStatus.FREE)
        while True:
            await asyncio.sleep(self.rng.uniform(4, 9) * self.pace)
            bot = self.rng.choice(bot_ids)
            async with self.engine.db.session() as session:
                mine = (
                    (
                        await session.execute(
                            select(Interaction.id).where(
                                Interaction.agent_id == bot,
                                Interaction.state == InteractionState.ASSIGNED,
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            if mine:
                interaction_id = self.rng.choice(mine)
                await self.engine.work.mark_read(bot, interaction_id)
                await self.engine.work.reply(
                    bot,
                    interaction_id,
                    "Hello,\n\nthanks for your message. This is sorted out now; "
                    "let us know if anything else comes up.",
                    with_history=False,
                )
                await self._wrap_up(bot, interaction_id)
            elif self.rng.random() < 0.25:
                status = AgentStatus.BREAK if self.rng.random() < 0.5 else AgentStatus.FREE
                await self.engine.presence.set_status(
                    bot, status, "Coffee" if status == "break" else ""
                )
