"""Mail over TLS with certificate verification on, against real Dovecot and aiosmtpd servers.

The servers present certificates from a throwaway CA. The engine builds its contexts with
``ssl.create_default_context()`` (``engine.services.outbound.outbox.tls_context``), which reads the
``SSL_CERT_FILE`` variable every time it is called, so pointing that variable at the test CA
makes the engine trust exactly that CA: nothing in the engine is switched off or patched.

* Implicit TLS and STARTTLS both work, for IMAP in and SMTP out (the full round trip).
* A certificate from another CA, or for another host name, is refused: nothing is ingested or
  sent, the IMAP password never reaches the server, the failure is recorded and retried, and
  the engine keeps serving its API.
"""

# The fixtures of tests/tls_fixtures.py are imported by name, and tests name them again as
# arguments: F811 is how pytest fixtures look to ruff.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import pytest

from engine.api.schemas import CampaignIn, CampaignOut, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import eventually
from tests.mail_factory import customer_mail
from tests.servers import (
    DovecotServer,
    Mailbox,
    SmtpSink,
    start_dovecot,
    start_smtp_sink,
)
from tests.tls_fixtures import Pki, engine, pki, trust_test_ca  # noqa: F401 - fixtures

VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"
ImapSecurity = Literal["tls", "starttls"]


@pytest.fixture(scope="module")
def tls_dovecot(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[DovecotServer]:
    """STARTTLS on ``port``, implicit TLS on ``imaps_port``, with the trusted certificate."""
    with start_dovecot(tmp_path_factory.mktemp("dovecot-tls"), tls=pki.trusted) as server:
        yield server


@pytest.fixture(scope="module")
def untrusted_dovecots(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki
) -> Iterator[dict[str, DovecotServer]]:
    with (
        start_dovecot(tmp_path_factory.mktemp("dovecot-rogue"), tls=pki.rogue) as rogue,
        start_dovecot(tmp_path_factory.mktemp("dovecot-host"), tls=pki.wrong_host) as wrong,
    ):
        yield {"rogue-ca": rogue, "wrong-host": wrong}


async def add_campaign(
    operator: EngineClient,
    *,
    mailbox: Mailbox,
    imap_port: int,
    imap_security: ImapSecurity,
    sink: SmtpSink,
    host: str = "127.0.0.1",
) -> CampaignOut:
    """A verifying campaign (``tls_verify`` on) with one member agent, ``agent1``."""
    await operator.add_user(UserIn(username="agent1", display_name="Agent One", roles=["agent"]))
    await operator.add_campaign(
        CampaignIn(
            name="Support",
            email_address="support@postdesk.test",
            from_name="Postdesk Support",
            inbound="imap",
            imap_host=host,
            imap_port=imap_port,
            imap_security=imap_security,
            imap_username=mailbox.user,
            imap_password=mailbox.password,
            smtp_host=host,
            smtp_port=sink.port,
            smtp_security=sink.security,
            tls_verify=True,
            # Saved unchecked: what the mailbox and the outbox do with a refused
            # certificate is what these tests are about.
            check=False,
        )
    )
    return await operator.add_member("Support", "agent1")


def engine_logins(dovecot: DovecotServer, mailbox: Mailbox) -> list[str]:
    """Dovecot's login lines for the account; they end in ``TLS`` when the login was encrypted
    (plaintext logins over loopback, like the test helpers' APPENDs, say ``secured``)."""
    marker = f"Login: user=<{mailbox.user}>"
    return [line for line in dovecot.log_path.read_text().splitlines() if marker in line]


async def service_error(engine: Engine, key: str) -> str:
    return engine.service_errors.get(key, "")


async def assert_round_trip(
    engine: Engine,
    dovecot: DovecotServer,
    mailbox: Mailbox,
    campaign: CampaignOut,
    sink: SmtpSink,
) -> None:
    """Customer mail in over IMAP, assigned to agent1, the reply out over SMTP, both over TLS."""
    dovecot.append(mailbox, customer_mail("Secure question", "Is this channel encrypted?"))
    async with EngineClient(engine.socket_path, act_as="agent1") as agent:
        await agent.set_status("free")
        inbox = await eventually(
            agent.interactions, lambda rows: len(rows) == 1, what="ingest over TLS + assignment"
        )
        assert inbox[0].subject == "Secure question"
        assert inbox[0].client_email == "carol@example.net"
        detail = await agent.reply(inbox[0].id, "Yes, both ways.")
        assert [m.direction for m in detail.messages] == ["inbound", "outbound"]
        received = (await sink.await_count(1))[0]
        await eventually(
            lambda: agent.interaction(inbox[0].id),
            lambda d: d.messages[1].state == "sent",
            what="the outbox to mark the reply sent",
        )
    assert received.tls_version is not None and received.tls_version.startswith("TLSv1.")
    assert received.message["Subject"] == f"Re: Secure question [#{inbox[0].id}]"
    assert received.rcpt_tos == ["carol@example.net"]
    assert "Yes, both ways." in received.message.get_body(("plain",)).get_content()
    assert f"mailbox:{campaign.id}" not in engine.service_errors, engine.service_errors
    # The test helpers APPEND in plaintext; a TLS login for this account is the engine's.
    logins = engine_logins(dovecot, mailbox)
    assert any(", TLS, " in line for line in logins), logins


async def test_imap_implicit_tls_in_smtp_starttls_out(
    engine: Engine, operator: EngineClient, tls_dovecot: DovecotServer, pki: Pki
) -> None:
    assert tls_dovecot.imaps_port is not None
    mailbox = tls_dovecot.new_mailbox("imaps")
    with start_smtp_sink(tls=pki.trusted) as sink:
        assert sink.security == "starttls"  # and it answers 530 to MAIL before STARTTLS
        campaign = await add_campaign(
            operator,
            mailbox=mailbox,
            imap_port=tls_dovecot.imaps_port,
            imap_security="tls",
            sink=sink,
        )
        await assert_round_trip(engine, tls_dovecot, mailbox, campaign, sink)


async def test_imap_starttls_in_smtp_implicit_tls_out(
    engine: Engine, operator: EngineClient, tls_dovecot: DovecotServer, pki: Pki
) -> None:
    mailbox = tls_dovecot.new_mailbox("starttls")
    with start_smtp_sink(tls=pki.trusted, implicit_tls=True) as sink:
        # By host name this time: the certificate's DNS name is checked, not its IP address.
        campaign = await add_campaign(
            operator,
            mailbox=mailbox,
            imap_port=tls_dovecot.port,
            imap_security="starttls",
            sink=sink,
            host="localhost",
        )
        await assert_round_trip(engine, tls_dovecot, mailbox, campaign, sink)


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("cert", ["rogue-ca", "wrong-host"])
async def test_imap_refuses_an_untrusted_certificate(
    engine: Engine,
    operator: EngineClient,
    untrusted_dovecots: dict[str, DovecotServer],
    smtp_sink: SmtpSink,
    cert: str,
    security: ImapSecurity,
) -> None:
    dovecot = untrusted_dovecots[cert]
    assert dovecot.imaps_port is not None
    mailbox = dovecot.new_mailbox("untrusted")
    dovecot.append(mailbox, customer_mail("Hello?", "Anybody there?"))
    campaign = await add_campaign(
        operator,
        mailbox=mailbox,
        imap_port=dovecot.imaps_port if security == "tls" else dovecot.port,
        imap_security=security,
        sink=smtp_sink,
    )
    key = f"mailbox:{campaign.id}"
    error = await eventually(
        lambda: service_error(engine, key),
        lambda text: text != "",
        timeout=10,
        what="the mailbox to record its failure",
    )
    assert VERIFY_FAILED in error, error
    expected = "unable to get local issuer certificate" if cert == "rogue-ca" else "mismatch"
    assert expected in error, error
    # The engine retries (after 1 s) and keeps failing; meanwhile nothing gets in and the API
    # keeps answering.
    await asyncio.sleep(1.5)
    assert VERIFY_FAILED in engine.service_errors[key]
    assert await operator.interactions(scope="all") == []
    assert [c.name for c in await operator.campaigns()] == ["Support"]
    async with EngineClient(engine.socket_path, act_as="agent1") as agent:
        assert (await agent.set_status("free")).status == "free"
    # The password never went to the impostor: the only login is the test's own APPEND.
    logins = engine_logins(dovecot, mailbox)
    assert len(logins) == 1 and ", TLS, " not in logins[0], logins


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "tls"])
async def test_smtp_refuses_an_untrusted_certificate(
    engine: Engine,
    operator: EngineClient,
    tls_dovecot: DovecotServer,
    pki: Pki,
    implicit_tls: bool,
) -> None:
    assert tls_dovecot.imaps_port is not None
    mailbox = tls_dovecot.new_mailbox("smtp-rogue")
    with start_smtp_sink(tls=pki.rogue, implicit_tls=implicit_tls) as sink:
        await add_campaign(
            operator,
            mailbox=mailbox,
            imap_port=tls_dovecot.imaps_port,
            imap_security="tls",
            sink=sink,
        )
        tls_dovecot.append(mailbox, customer_mail("Refund", "Where is my refund?"))
        async with EngineClient(engine.socket_path, act_as="agent1") as agent:
            await agent.set_status("free")
            inbox = await eventually(
                agent.interactions, lambda rows: len(rows) == 1, what="assignment"
            )
            await agent.reply(inbox[0].id, "On its way.")
            detail = await eventually(
                lambda: agent.interaction(inbox[0].id),
                lambda d: d.messages[1].error != "",
                what="the reply's send attempt to fail",
            )
            assert VERIFY_FAILED in detail.messages[1].error, detail.messages[1].error
            # Deferred and retried (retry base 0.2 s in tests), never sent nor given up.
            await asyncio.sleep(1.0)
            reply = (await agent.interaction(inbox[0].id)).messages[1]
            assert reply.state in ("queued", "sending"), reply
            assert reply.sent_at is None
            assert VERIFY_FAILED in reply.error, reply.error
        assert sink.messages == []
        assert engine.service_errors.get("outbox") is None, engine.service_errors
