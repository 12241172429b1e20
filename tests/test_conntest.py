"""The campaign connection test reports the step that failed, against real servers.

TLS failures use servers whose certificates are from an untrusted CA or for another host
name (the certificates of tests/test_tls.py): the report stops at the tls step, says why, and
shows that resolving and connecting worked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from engine.api.schemas import CampaignIn, ConnectionCheck, convert
from engine.client import EngineClient
from tests.servers import (
    CertAuthority,
    DovecotServer,
    SmtpSink,
    TlsFiles,
    free_port,
    start_dovecot,
    start_smtp_sink,
)

TEST_CA = "Postdesk Test CA"


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
        # Saved unchecked: the connection test is for a saved campaign whose servers fail
        # (they changed, or it was provisioned with --no-check); the check on save is
        # tests/test_campaign_admin.py's.
        "check": False,
    }
    fields.update(kw)
    return convert(fields, CampaignIn)


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


@dataclass(frozen=True)
class Pki:
    rogue: TlsFiles  # localhost + 127.0.0.1, issued by a CA nobody trusts
    wrong_host: TlsFiles  # issued by the trusted test CA, but only for mail.example.org


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    return Pki(
        rogue=CertAuthority("Rogue CA").issue(base, name="rogue"),
        wrong_host=CertAuthority(TEST_CA).issue(
            base, dns_names=("mail.example.org",), ip_addresses=(), name="wrong-host"
        ),
    )


@pytest.fixture(scope="module")
def tls_dovecots(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki
) -> Iterator[dict[str, DovecotServer]]:
    with (
        start_dovecot(tmp_path_factory.mktemp("dovecot-rogue"), tls=pki.rogue) as rogue,
        start_dovecot(tmp_path_factory.mktemp("dovecot-host"), tls=pki.wrong_host) as wrong,
    ):
        yield {"rogue-ca": rogue, "wrong-host": wrong}


@pytest.fixture
def trust_test_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine trusts the test CA only (its TLS contexts read SSL_CERT_FILE on each use),
    so the wrong-host certificate fails on its name alone; the rogue CA is trusted by nobody."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.wrong_host.ca_cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


# (how the certificate is wrong, the reason the report gives, OpenSSL's own words)
REFUSALS = {
    "rogue-ca": (
        "issued by a certificate authority this engine does not trust",
        "unable to get local issuer certificate",
    ),
    "wrong-host": ("issued for another host name", "IP address mismatch"),
}


def assert_tls_failed(check: ConnectionCheck, service: str, port: int, cert: str) -> None:
    """The check stopped at the TLS step, after the connection itself worked, and says why."""
    assert (check.service, check.ok, check.step) == (service, False, "tls"), check
    assert check.passed == ["resolve", "connect"], check
    reason, openssl_words = REFUSALS[cert]
    assert check.detail.startswith(f"TLS failed: the certificate of 127.0.0.1:{port} was refused")
    assert reason in check.detail and openssl_words in check.detail, check.detail
    assert "\n" not in check.detail and "_ssl.c" not in check.detail, check.detail


@pytest.mark.parametrize(("security", "cert"), [("tls", "rogue-ca"), ("starttls", "wrong-host")])
async def test_connection_test_reports_a_refused_imap_certificate_at_the_tls_step(
    trust_test_ca: None,
    operator: EngineClient,
    tls_dovecots: dict[str, DovecotServer],
    smtp_sink: SmtpSink,
    security: str,
    cert: str,
) -> None:
    dovecot = tls_dovecots[cert]
    assert dovecot.imaps_port is not None
    box = dovecot.new_mailbox("tls")
    port = dovecot.imaps_port if security == "tls" else dovecot.port
    await operator.add_campaign(
        campaign(
            "Imaps",
            box.user,
            box.password,
            dovecot,
            imap_port=port,
            imap_security=security,
            tls_verify=True,
            smtp_host=smtp_sink.host,
            smtp_port=smtp_sink.port,
        )
    )
    report = await operator.test_campaign("Imaps")
    assert not report.ok
    imap_check, smtp_check = report.checks
    assert_tls_failed(imap_check, "imap", port, cert)
    assert (smtp_check.ok, smtp_check.step, smtp_check.passed) == (
        True,
        "done",
        ["resolve", "connect"],
    )
    # The password never went to the impostor: the only login is the test helper's own.
    logins = [line for line in dovecot.log_path.read_text().splitlines() if box.user in line]
    assert not [line for line in logins if "Login:" in line and ", TLS" in line], logins


@pytest.mark.parametrize(
    ("implicit_tls", "cert"), [(False, "rogue-ca"), (True, "wrong-host")], ids=["starttls", "tls"]
)
async def test_connection_test_reports_a_refused_smtp_certificate_at_the_tls_step(
    trust_test_ca: None,
    operator: EngineClient,
    dovecot: DovecotServer,
    pki: Pki,
    implicit_tls: bool,
    cert: str,
) -> None:
    box = dovecot.new_mailbox("smtp-tls")
    files = pki.rogue if cert == "rogue-ca" else pki.wrong_host
    with start_smtp_sink(tls=files, implicit_tls=implicit_tls) as sink:
        await operator.add_campaign(
            campaign(
                "Smtps",
                box.user,
                box.password,
                dovecot,
                smtp_host=sink.host,
                smtp_port=sink.port,
                smtp_security=sink.security,
                smtp_username="support",
                smtp_password="secret",
                tls_verify=True,
            )
        )
        report = await operator.test_campaign("Smtps")
        assert sink.messages == []
    assert not report.ok
    imap_check, smtp_check = report.checks
    assert (imap_check.ok, imap_check.step) == (True, "done")
    assert imap_check.passed == ["resolve", "connect", "login", "mailbox"]
    assert_tls_failed(smtp_check, "smtp", sink.port, cert)


async def test_connection_test_reports_tls_against_servers_that_do_not_speak_it(
    operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """Implicit TLS on a plaintext IMAP port, STARTTLS to an SMTP server that lacks it."""
    box = dovecot.new_mailbox("no-tls")
    await operator.add_campaign(
        campaign(
            "NoTls",
            box.user,
            box.password,
            dovecot,
            imap_security="tls",
            smtp_host=smtp_sink.host,
            smtp_port=smtp_sink.port,
            smtp_security="starttls",
        )
    )
    imap_check, smtp_check = (await operator.test_campaign("NoTls")).checks
    assert (imap_check.step, imap_check.ok, imap_check.passed) == (
        "tls",
        False,
        ["resolve", "connect"],
    )
    assert "does not speak TLS there" in imap_check.detail, imap_check.detail
    assert (smtp_check.step, smtp_check.ok, smtp_check.passed) == (
        "tls",
        False,
        ["resolve", "connect"],
    )
    assert "STARTTLS" in smtp_check.detail, smtp_check.detail
    assert smtp_sink.messages == []
