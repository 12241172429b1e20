"""The email dialer sends (issue 13), against a real engine and the real SMTP sink: order,
the mail of each record (template fallback, variables, attachments, invitation, unsubscribe
block, seen image, headers), skips, SMTP refusals, schedules, pace and caps on a moved clock,
stop/play, and the progress events."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import icalendar
import pytest
from sqlalchemy import select, update

from data.models import DialerRecord, DialerRecordState
from engine.api.schemas import (
    DialerEvent,
    DialerIn,
    DialerPatch,
    DialerProgress,
    ScheduleWindow,
    SmtpCaps,
    TemplateIn,
)
from engine.client import EngineClient, Forbidden, Invalid
from postdesk.cli import build_parser
from postdesk.ctl import run_ctl
from tests.engine_fixtures import World, eventually
from tests.servers import ReceivedMail

UNSUBSCRIBE = '<p>Had enough? <a id="unsubscribe_link" class="u">Unsubscribe</a></p>'
S = DialerRecordState


async def a_dialer(world: World, name: str = "News", body: str = "", **fields: object) -> int:
    tid = await world.operator.add_template(
        TemplateIn(
            name=f"{name} body",
            kind="dialer",
            body_text=body or "Dear ${name}, see you in ${city}.",
        )
    )
    fields.setdefault("seconds_between_messages", 0)
    fields.setdefault("caps", SmtpCaps(connections=1))  # one connection: arrival = send order
    await world.operator.add_dialer(
        DialerIn(
            name=name,
            campaign="Support",
            template=f"{name} body",
            unsubscribe_html=UNSUBSCRIBE,
            **fields,  # type: ignore[arg-type]
        )
    )
    return tid.id


async def records(world: World, list_id: int) -> list[DialerRecord]:
    async with world.engine.db.session() as session:
        rows = await session.scalars(
            select(DialerRecord)
            .where(DialerRecord.list_id == list_id)
            .order_by(DialerRecord.line_number)
        )
        return list(rows.all())


async def states(world: World, list_id: int) -> dict[str, S]:
    return {r.destination: r.state for r in await records(world, list_id)}


async def settled(world: World, list_id: int) -> list[DialerRecord]:
    """The records once none waits or is in flight."""
    return await eventually(
        lambda: records(world, list_id),
        lambda rows: all(r.state not in (S.PENDING, S.SENDING) for r in rows),
        what="every record processed",
    )


def body(mail: ReceivedMail) -> tuple[str, str]:
    msg = mail.message
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


async def test_records_go_in_priority_then_list_order_with_their_mail(world: World) -> None:
    await a_dialer(world)
    csv = (
        "campaign;emailRecipient;message;attachments;variables;priority\n"
        "Support;late@example.com;;;name=Late:city=Rome;\n"  # empty: 9999
        "Support;first@example.com;Hi ${name}, a message of your own.;;name=Ana:city=X;1\n"
        'Support;second@example.com;;;"name":"Bo","city":"Lima; Peru";5\n'
        "Support;third@example.com;;;name=Cy:city=Oslo;5\n"
    )
    report = await world.operator.upload_list(
        "News", csv.encode(), name="December", subject="News for ${name}"
    )
    assert (report.imported, report.failed) == (4, 0)
    status = await world.operator.play_dialer("News")
    assert status.running and status.on_schedule
    mails = await world.sink.await_count(4)
    assert [m.rcpt_tos for m in mails] == [
        ["first@example.com"],
        ["second@example.com"],
        ["third@example.com"],
        ["late@example.com"],
    ]
    first, second = mails[0].message, mails[1].message
    assert first["Subject"] == "News for Ana"
    assert second["Subject"] == "News for Bo"
    assert body(mails[0])[0].startswith("Hi Ana, a message of your own.")  # its own message
    text, html = body(mails[1])
    assert text.startswith("Dear Bo, see you in Lima; Peru.")  # the template
    assert "${" not in text + html

    rows = {r.destination: r for r in await settled(world, report.list_id)}
    assert {r.state for r in rows.values()} == {S.SENT}
    bo = rows["second@example.com"]
    assert second["Message-ID"] == f"<{bo.rfc_message_id}>" and bo.sent_at is not None
    token = bo.link_token
    assert token and len(token) == 22 and len({r.link_token for r in rows.values()}) == 4
    base = world.engine.settings.web_url
    assert f'href="{base}/u/{token}"' in html and 'class="u"' in html  # the block, filled
    assert f'src="{base}/p/{token}.gif"' in html  # the seen image
    assert f"{base}/u/{token}" in text
    assert second["List-Unsubscribe"].startswith(f"<{base}/u/{token}>, <mailto:")
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert second["From"].addresses[0].addr_spec == world.campaign.email_address

    status = await world.operator.dialer_status("News")
    [progress] = status.lists
    assert (progress.records, progress.processed, progress.sent, progress.not_processed) == (
        4,
        4,
        4,
        0,
    )


async def test_no_template_sends_an_empty_message_and_unknown_variable_fails(
    world: World,
) -> None:
    tid = await a_dialer(world, body="Dear ${name}.")
    csv = "Support;a@example.com;;;name=A\nSupport;b@example.com;;;name=B\n"
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="Hi")
    # The template changes after the import: it now needs a variable no row defines.
    await world.operator.replace_template(
        tid, TemplateIn(name="News body", kind="dialer", body_text="Dear ${name} of ${town}.")
    )
    await world.operator.play_dialer("News")
    rows = await settled(world, report.list_id)
    assert {r.state for r in rows} == {S.FAILED}
    assert "does not define ${town}" in rows[0].error
    assert world.sink.messages == []  # a raw ${town} is never sent
    await world.operator.stop_dialer("News")

    await world.operator.update_dialer("News", DialerPatch(template=""))
    csv2 = "Support;c@example.com;;;\n"
    report2 = await world.operator.upload_list("News", csv2.encode(), name="L2", subject="Hi")
    await world.operator.play_dialer("News")
    [mail] = await world.sink.await_count(1)
    text, _ = body(mail)
    assert text.startswith("To stop receiving these messages:")  # nothing but the block
    assert [r.state for r in await settled(world, report2.list_id)] == [S.SENT]


async def test_attachments_by_token(world: World) -> None:
    await a_dialer(world)
    pdf = await world.operator.attach_dialer_file("terms.pdf", b"%PDF-1.4 terms", "application/pdf")
    csv = f"Support;a@example.com;;{pdf.token};name=A:city=B\n"
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="Terms")
    await world.operator.play_dialer("News")
    [mail] = await world.sink.await_count(1)
    [part] = [p for p in mail.message.iter_attachments()]
    assert part.get_filename() == "terms.pdf" and part.get_content() == b"%PDF-1.4 terms"
    assert [r.state for r in await settled(world, report.list_id)] == [S.SENT]


async def test_the_invitation_is_a_calendar_request_and_an_ics(world: World) -> None:
    await a_dialer(world, time_zone="America/Montevideo")
    with pytest.raises(Invalid) as refused:
        await world.operator.update_dialer(
            "News", DialerPatch(event=DialerEvent(title="T", start="tomorrow", end="${x}"))
        )
    assert refused.value.field == "event.start" and "tomorrow" in refused.value.message
    changed = await world.operator.update_dialer(
        "News",
        DialerPatch(
            event=DialerEvent(
                title="Visit of ${name}",
                organizer="events@example.com",
                start="${when}",
                end="2027-03-14 17:00",  # fixed, in the dialer's zone
            )
        ),
    )
    assert changed.event is not None and changed.event.end == "2027-03-14 17:00"
    csv = 'Support;ana@example.com;;;name=Ana:city=X:when="2027-03-14 15:30"\n'
    csv += "Support;bad@example.com;;;name=Bad:city=X:when=tomorrow\n"
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="Invite")
    await world.operator.play_dialer("News")
    rows = {r.destination: r for r in await settled(world, report.list_id)}
    assert rows["bad@example.com"].state == S.FAILED
    assert "start" in rows["bad@example.com"].error and "tomorrow" in rows["bad@example.com"].error
    [mail] = world.sink.messages
    calendars = [p for p in mail.message.walk() if p.get_content_type() == "text/calendar"]
    inline = [p for p in calendars if p.get_content_disposition() != "attachment"]
    attached = [p for p in calendars if p.get_filename() == "invitation.ics"]
    assert len(inline) == 1 and len(attached) == 1
    assert inline[0].get_param("method") == "REQUEST"
    for part in (inline[0], attached[0]):
        raw = part.get_payload(decode=True)
        assert isinstance(raw, bytes)
        cal = icalendar.Calendar.from_ical(raw)
        assert str(cal["METHOD"]) == "REQUEST"
        [event] = cal.walk("VEVENT")
        assert str(event["SUMMARY"]) == "Visit of Ana"
        assert str(event["ORGANIZER"]) == "mailto:events@example.com"
        assert str(event["ATTENDEE"]) == "mailto:ana@example.com"
        assert event["UID"] and event["DTSTAMP"]
        start = event.decoded("DTSTART")
        assert start == datetime(2027, 3, 14, 18, 30, tzinfo=UTC)  # 15:30 at UTC-3
        assert event.decoded("DTEND").astimezone(UTC) == datetime(2027, 3, 14, 20, 0, tzinfo=UTC)


async def test_blacklisted_unsubscribed_and_bouncing_are_skipped_and_counted(
    world: World,
) -> None:
    await a_dialer(world)
    await world.operator.add_to_blacklist("all@example.com")  # every campaign
    await world.operator.add_to_blacklist("unsub@example.com", campaign="Support")
    csv = "".join(
        f"Support;{who}@example.com;;;name=N:city=C\n" for who in ("all", "unsub", "ok", "Bounce")
    )
    from data.models import BouncingAddress

    async with world.engine.db.session() as session, session.begin():
        session.add(BouncingAddress(email="bounce@example.com", reason="550 no such user"))
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    await world.operator.play_dialer("News")
    await settled(world, report.list_id)
    assert await states(world, report.list_id) == {
        "all@example.com": S.SKIPPED,
        "unsub@example.com": S.SKIPPED,
        "ok@example.com": S.SENT,
        "Bounce@example.com": S.SKIPPED,
    }
    assert [m.rcpt_tos for m in world.sink.messages] == [["ok@example.com"]]
    [progress] = (await world.operator.dialer_status("News")).lists
    assert (progress.skipped, progress.sent, progress.processed) == (3, 1, 4)


async def test_4xx_is_retried_and_5xx_fails_with_the_servers_words(world: World) -> None:
    await a_dialer(world)
    world.sink.fail_next(1, "421 4.7.0 too busy, closing", stage="data")
    world.sink.fail_next(1, "450 4.2.1 mailbox busy", stage="rcpt")
    world.sink.fail_next(1, "550 5.1.1 no such user here", stage="rcpt")
    csv = "".join(f"Support;r{i}@example.com;;;name=N:city=C\n" for i in range(3))
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    await world.operator.play_dialer("News")
    rows = await settled(world, report.list_id)
    by_state = {r.destination: r for r in rows}
    failed = [r for r in rows if r.state == S.FAILED]
    assert len(failed) == 1 and "550 5.1.1 no such user here" in failed[0].error
    sent = [r for r in rows if r.state == S.SENT]
    assert len(sent) == 2 and {r.attempts for r in sent} == {2}  # each retried once
    got = sorted(m.rcpt_tos[0] for m in world.sink.messages)
    assert got == sorted(r.destination for r in sent)
    assert len(by_state) == 3


async def test_stop_and_play_resume_where_it_stopped(world: World) -> None:
    await a_dialer(world, seconds_between_messages=0.2)
    csv = "".join(f"Support;r{i:02}@example.com;;;name=N:city=C;{i}\n" for i in range(12))
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    await world.operator.play_dialer("News")
    await world.sink.await_count(3)
    stopped = await world.operator.stop_dialer("News")
    assert not stopped.running and stopped.sending_now == 0
    after_stop = len(world.sink.messages)
    rows = await records(world, report.list_id)
    assert sum(r.state == S.SENT for r in rows) == after_stop  # nothing left in flight
    await asyncio.sleep(0.6)  # three paces: a stopped dialer sends nothing more
    assert len(world.sink.messages) == after_stop
    await world.operator.play_dialer("News")
    mails = await world.sink.await_count(12)
    assert [m.rcpt_tos[0] for m in mails] == [f"r{i:02}@example.com" for i in range(12)]
    assert {r.state for r in await settled(world, report.list_id)} == {S.SENT}


async def test_schedule_pace_and_caps_follow_the_clock(world: World) -> None:
    monday_9 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    world.engine.schedules.clock = lambda: monday_9
    await a_dialer(
        world,
        seconds_between_messages=600,
        schedule=[ScheduleWindow(days=["mon"], start="10:00", end="18:00")],
    )
    csv = "".join(f"Support;r{i}@example.com;;;name=N:city=C\n" for i in range(6))
    await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    status = await world.operator.play_dialer("News")
    assert status.running and not status.on_schedule
    await asyncio.sleep(0.5)
    assert world.sink.messages == []  # off schedule: nothing

    def at(moment: datetime) -> None:
        world.engine.schedules.clock = lambda: moment
        world.engine.dialer_runner.kick()

    at(monday_9 + timedelta(hours=1))
    assert (await world.operator.dialer_status("News")).on_schedule
    await world.sink.await_count(1)
    await asyncio.sleep(0.5)
    assert len(world.sink.messages) == 1  # the pace: 600 s until the next
    at(monday_9 + timedelta(hours=1, seconds=599))
    await asyncio.sleep(0.5)
    assert len(world.sink.messages) == 1
    at(monday_9 + timedelta(hours=1, seconds=600))
    await world.sink.await_count(2)

    # Caps: two a minute for the account, no pace of the dialer's own.
    await world.operator.update_dialer(
        "News", DialerPatch(seconds_between_messages=0, caps=SmtpCaps(per_minute=2))
    )
    at(monday_9 + timedelta(hours=1, minutes=20))
    await world.sink.await_count(4)
    await asyncio.sleep(0.5)
    assert len(world.sink.messages) == 4
    at(monday_9 + timedelta(hours=1, minutes=21, seconds=1))
    await world.sink.await_count(6)
    at(monday_9 + timedelta(hours=18, minutes=1))  # after the window: on_schedule turns
    assert not (await world.operator.dialer_status("News")).on_schedule


async def test_progress_events_reach_supervisors_without_polling(world: World) -> None:
    await a_dialer(world)
    csv = "".join(f"Support;r{i}@example.com;;;name=N:city=C\n" for i in range(30))
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    seen: list[DialerProgress] = []
    agent_saw: list[object] = []

    async def listen(client: EngineClient, into: list[object] | list[DialerProgress]) -> None:
        async for event in client.events():
            if isinstance(event, DialerProgress):
                into.append(event)  # type: ignore[arg-type]

    async with world.client("super1") as sup, world.client("agent1") as agent:
        tasks = [
            asyncio.create_task(listen(sup, seen)),
            asyncio.create_task(listen(agent, agent_saw)),
        ]
        await asyncio.sleep(0.3)
        await sup.play_dialer("News")
        await eventually(
            lambda: asyncio.sleep(0, seen),
            lambda got: any(e.sent == 30 and e.not_processed == 0 for e in got),
            what="a progress event with every record sent",
        )
        for task in tasks:
            task.cancel()
    last = seen[-1]
    assert (last.dialer, last.list_id, last.list_name) == ("News", report.list_id, "L")
    assert last.on_schedule and last.list_active and last.running
    assert len(seen) < 10  # coalesced: not one per record
    assert agent_saw == []  # agents do not see dialers
    async with world.client("agent1") as agent:
        with pytest.raises(Forbidden):
            await agent.play_dialer("News")


async def test_play_without_a_list_is_refused(world: World) -> None:
    await a_dialer(world)
    with pytest.raises(Invalid, match="no list"):
        await world.operator.play_dialer("News")


async def test_an_answer_threads_into_the_campaign_after_the_mail_we_sent(world: World) -> None:
    await a_dialer(world)
    csv = "Support;carol@example.net;;;name=Carol:city=Lima\n"
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="Hi ${name}")
    await world.operator.play_dialer("News")
    [sent] = await world.sink.await_count(1)
    [record] = await settled(world, report.list_id)
    answer = EmailMessage()
    answer["From"] = "Carol <carol@example.net>"
    answer["To"] = world.campaign.email_address
    answer["Subject"] = "Re: Hi Carol"
    answer["Message-ID"] = "<answer.1@example.net>"
    answer["In-Reply-To"] = sent.message["Message-ID"]
    answer["References"] = sent.message["Message-ID"]
    answer.set_content("Yes please, call me tomorrow.")
    world.dovecot.append(world.mailbox, answer.as_bytes())
    async with world.client("super1") as sup:
        [summary] = await eventually(
            lambda: sup.interactions(scope="all"),
            lambda rows: len(rows) == 1,
            what="the answer's interaction",
        )
        detail = await sup.interaction(summary.id, mark_read=False)
    assert summary.client_email == "carol@example.net" and summary.state == "queued"
    first, reply = detail.messages
    assert first.direction == "outbound" and first.subject == "Hi Carol"
    assert first.text.startswith("Dear Carol, see you in Lima.")
    assert reply.direction == "inbound" and "call me tomorrow" in reply.text
    async with world.engine.db.session() as session:
        stored = await session.get_one(DialerRecord, record.id)
        assert stored.outgoing_message_id is not None


async def test_ctl_dialer_play_status_stop(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    await a_dialer(world, seconds_between_messages=3600)  # one now, the next in an hour
    csv = "Support;a@example.com;;;name=A:city=C\nSupport;b@example.com;;;name=B:city=C\n"
    await world.operator.upload_list("News", csv.encode(), name="Dec", subject="S")

    async def ctl(*argv: str) -> tuple[int, str, str]:
        args = build_parser().parse_args(["ctl", "dialer", *argv])
        code = await asyncio.to_thread(run_ctl, world.engine.settings, args)
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = await ctl("play", "News")
    assert code == 0 and out.startswith("dialer News: running, on schedule")
    await world.sink.await_count(1)
    await eventually(
        lambda: ctl("status", "News"),
        lambda got: "2 records, 1 processed, 1 to go; sent 1, failed 0, skipped 0" in got[1],
        what="the status line",
    )
    code, out, _ = await ctl("stop", "News", "--json")
    status = json.loads(out)
    assert code == 0 and status["running"] is False and status["lists"][0]["sent"] == 1
    code, _, err = await ctl("play", "Nope")
    assert code != 0 and "no dialer 'Nope'" in err


async def test_others_say_records_changed_and_the_event_follows(world: World) -> None:
    """What the tracking of seen images, bounces and complaints calls after changing records."""
    await a_dialer(world)
    csv = "Support;a@example.com;;;name=A:city=C\n"
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    [record] = await records(world, report.list_id)
    async with world.engine.db.session() as session, session.begin():
        await session.execute(
            update(DialerRecord).where(DialerRecord.id == record.id).values(state=S.SEEN)
        )
    got: list[DialerProgress] = []
    async with world.client("super1") as sup:

        async def listen() -> None:
            async for event in sup.events():
                if isinstance(event, DialerProgress):
                    got.append(event)

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.3)
        await world.engine.dialer_progress.records_changed([record.id])
        await eventually(lambda: asyncio.sleep(0, got), bool, what="a progress event")
        task.cancel()
    assert (got[0].seen, got[0].sent, got[0].processed) == (1, 1, 1)
