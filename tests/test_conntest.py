"""The campaign connection test reports the step that failed, against real servers."""

from __future__ import annotations

from engine.api.schemas import CampaignIn
from engine.client import EngineClient
from tests.servers import DovecotServer, SmtpSink, free_port


def campaign(name: str, mailbox_user: str, password: str, dovecot: DovecotServer, **kw: object):
    fields: dict[str, object] = {
        "name": name,
        "email_address": "support@postdesk.test",
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": "plain",
        "imap_username": mailbox_user,
        "imap_password": password,
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "smtp_security": "plain",
    }
    fields.update(kw)
    return CampaignIn.model_validate(fields)


async def test_connection_test_names_the_failing_step(
    operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("conn")
    sink = {"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port}
    await operator.add_campaign(campaign("Good", box.user, box.password, dovecot, **sink))
    await operator.add_campaign(campaign("BadLogin", box.user, "wrong", dovecot, **sink))
    await operator.add_campaign(
        campaign("NoFolder", box.user, box.password, dovecot, imap_folder="Nope", **sink)
    )
    closed = free_port()
    await operator.add_campaign(
        campaign("NoServer", box.user, box.password, dovecot, imap_port=closed, smtp_port=closed)
    )

    good = await operator.test_campaign("Good")
    assert good.ok and [(c.service, c.step) for c in good.checks] == [
        ("imap", "done"),
        ("smtp", "done"),
    ]
    bad_login = await operator.test_campaign("BadLogin")
    assert not bad_login.ok and bad_login.checks[0].step == "login"
    assert bad_login.checks[1].ok
    no_folder = await operator.test_campaign("NoFolder")
    assert (no_folder.checks[0].step, no_folder.checks[0].ok) == ("mailbox", False)
    assert "Nope" in no_folder.checks[0].detail
    no_server = await operator.test_campaign("NoServer")
    assert [(c.step, c.ok) for c in no_server.checks] == [("connect", False), ("connect", False)]
    assert smtp_sink.messages == []
