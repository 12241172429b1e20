"""The automatic confirmation cannot be aimed at strangers, stopped by one odd sender, or
made to carry a stranger's control characters (issue 9, items 4, 6 and 7).

Real engine, Dovecot and SMTP sink: the mail goes in through IMAP and what the sink receives
is what a recipient would get.
"""

from __future__ import annotations

import pytest

from engine.api.schemas import CampaignPatch
from engine.client import Invalid
from engine.engine import RAN_WELL_SECONDS, restart_wait
from tests.engine_fixtures import World, enable_confirmation, eventually
from tests.servers import start_smtp_sink


def mail(from_: str, subject: str = "Question", *, cc: str | None = None, n: int = 0) -> bytes:
    lines = [
        f"From: {from_}",
        "To: support@postdesk.test",
        *([f"Cc: {cc}"] if cc else []),
        f"Subject: {subject}",
        f"Message-ID: <m{n}.{abs(hash((from_, subject)))}@example.net>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Hello",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


async def test_a_confirmation_goes_to_the_sender_alone(world: World) -> None:
    await enable_confirmation(world)
    world.dovecot.append(
        world.mailbox,
        mail("Carol <carol@example.net>", cc="Victim <victim@bank.example>, x@example.org"),
    )
    [confirmation] = await world.sink.await_count(1)
    assert confirmation.rcpt_tos == ["carol@example.net"]
    assert confirmation.message["Cc"] is None
    assert b"victim@bank.example" not in confirmation.raw
    # The agent's reply still goes to the CCs: only automatic mail is restricted.
    [row] = await eventually(
        lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 1
    )
    assert (await world.operator.interaction(row.id)).cc == ["victim@bank.example", "x@example.org"]


async def test_a_campaign_sends_a_bounded_number_of_confirmations(world: World) -> None:
    """Forged senders are free: each is under its own cap, the campaign's cap still holds."""
    world.engine.confirmations.campaign_limit = 3
    await enable_confirmation(world)
    for n in range(6):
        world.dovecot.append(world.mailbox, mail(f"Forged {n} <f{n}@example.org>", n=n))
    await eventually(lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 6)
    await world.sink.await_count(3)
    # One more mail after the six: its confirmation (if any) would be queued by now.
    world.dovecot.append(world.mailbox, mail("Late <late@example.org>", n=99))
    await eventually(lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 7)
    await world.engine.outbox.send_due()
    assert len(world.sink.messages) == 3


async def test_odd_but_valid_senders_are_confirmed_and_one_failure_stops_nothing(
    world: World,
) -> None:
    """Quoted and internationalised local parts are valid addresses and are answered (with
    SMTPUTF8, which the sink offers); a sender whose address cannot be answered at all (a
    domain literal) is skipped alone: the rest of the batch is confirmed and the mailbox
    keeps reading."""
    await enable_confirmation(world)
    senders = [
        '"system administrator"@example.com',
        "Jörg <jörg@example.org>",
        "Literal <user@[192.0.2.1]>",
        "Dana <dana@example.net>",
    ]
    for n, sender in enumerate(senders):
        world.dovecot.append(world.mailbox, mail(sender, n=n))
    received = await world.sink.await_count(3)
    assert sorted(r for m in received for r in m.rcpt_tos) == [
        '"system administrator"@example.com',
        "dana@example.net",
        "jörg@example.org",
    ]
    utf8 = next(m for m in received if m.rcpt_tos == ["jörg@example.org"])
    assert "jörg@example.org" in utf8.raw.decode("utf-8")
    # The mailbox was not restarted: a later mail is read and confirmed too.
    world.dovecot.append(world.mailbox, mail("Eve <eve@example.net>", n=9))
    later = await world.sink.await_count(4)
    assert later[-1].rcpt_tos == ["eve@example.net"]
    assert not any(name.startswith("mailbox") for name in world.engine.service_errors)


async def test_a_from_name_with_a_line_break_is_refused(world: World) -> None:
    for name in ("Desk\r\nBcc: victim@bank.example", "Desk\nX: y", "Desk\x0bX", "Desk\u2028"):
        with pytest.raises(Invalid) as refused:
            await world.operator.update_campaign("Support", CampaignPatch(from_name=name))
        assert refused.value.message.startswith("from_name")
    [campaign] = [c for c in await world.operator.campaigns() if c.name == "Support"]
    assert campaign.from_name == "Postdesk Support"


async def test_a_strangers_controls_and_bidi_never_reach_our_mail(world: World) -> None:
    await enable_confirmation(world)
    subject = "Invoice \x1b[31mred\x1b[0m\x07 \u202etxt.exe\u202c done"
    world.dovecot.append(world.mailbox, mail("Ca\u202erol <carol@example.net>", subject))
    [confirmation] = await world.sink.await_count(1)
    text = confirmation.raw.decode("utf-8", "replace")
    body = confirmation.message.get_body(("plain",)).get_content()
    for bad in ("\x1b", "\x07", "\u202e", "\u202c"):
        assert bad not in body
        assert bad not in str(confirmation.message["Subject"])
        assert bad not in str(confirmation.message["To"])
        assert bad not in text
    assert "Invoice red txt.exe done" in body
    async with world.client("agent1") as agent:
        # An upload named with a bidi override ("report<RLO>fdp.exe" reads "reportexe.pdf")
        # is refused with the reason, or at least never keeps the override.
        try:
            upload = await agent.upload("report\u202efdp.exe", b"x", "application/octet-stream")
        except Invalid as refused:
            assert "filename" in refused.message
        else:
            assert "\u202e" not in upload.filename


def test_a_service_that_ran_well_starts_its_backoff_afresh() -> None:
    assert restart_wait(32.0, ran_for=RAN_WELL_SECONDS + 1) == 1.0
    assert restart_wait(32.0, ran_for=0.5) == 32.0


async def test_a_server_without_smtputf8_fails_an_international_address_once_with_the_reason(
    world: World,
) -> None:
    """The campaign's server does not offer SMTPUTF8: the reply to jörg@ is not retried
    forever as if the server were busy; it fails at once, saying what was missing."""
    plain = start_smtp_sink(smtputf8=False)
    try:
        await world.operator.update_campaign(
            "Support", CampaignPatch(smtp_host=plain.host, smtp_port=plain.port)
        )
        async with world.client("agent1") as agent:
            world.dovecot.append(world.mailbox, mail("Jörg <jörg@example.org>"))
            await agent.set_status("free")
            [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
            await agent.reply(row.id, "Hallo")
            detail = await eventually(
                lambda: agent.interaction(row.id),
                lambda d: d.messages[-1].state == "failed",
                what="the reply failed",
            )
        assert "SMTPUTF8" in detail.messages[-1].error
        assert "jörg@example.org" in detail.messages[-1].error
        assert plain.messages == []
    finally:
        plain.stop()
