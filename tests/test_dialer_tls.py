"""The dialer's own SMTP client logs in and encrypts like the outbox: STARTTLS and implicit
TLS with the certificate checked, AUTH PLAIN with the campaign's password."""

from __future__ import annotations

import pytest

from engine.api.schemas import CampaignIn, DialerIn, TemplateIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.servers import start_smtp_sink
from tests.tls_fixtures import Pki, engine, pki, trust_test_ca  # noqa: F401 - fixtures


@pytest.mark.parametrize("implicit", [False, True])
async def test_dialer_sends_over_tls_with_a_login(
    engine: Engine,  # noqa: F811
    operator: EngineClient,
    pki: Pki,  # noqa: F811
    implicit: bool,
) -> None:
    with start_smtp_sink(tls=pki.trusted, implicit_tls=implicit, login=("news", "s3cret")) as sink:
        await operator.add_campaign(
            CampaignIn(
                name="Support",
                email_address="news@postdesk.test",
                inbound="none",
                smtp_host="localhost",
                smtp_port=sink.port,
                smtp_security=sink.security,
                smtp_username="news",
                smtp_password="s3cret",
                tls_verify=True,
                check=False,
            )
        )
        await operator.add_template(TemplateIn(name="T", kind="dialer", body_text="Hi ${name}"))
        await operator.add_dialer(
            DialerIn(name="News", campaign="Support", template="T", seconds_between_messages=0)
        )
        rows = "Support;a@example.com;;;name=A\nSupport;b@example.com;;;name=B\n"
        await operator.upload_list("News", rows.encode(), name="L", subject="S")
        await operator.play_dialer("News")
        mails = await sink.await_count(2)
        assert {m.rcpt_tos[0] for m in mails} == {"a@example.com", "b@example.com"}
        assert all(m.tls_version is not None for m in mails)
        await operator.stop_dialer("News")  # and its connections close
