"""OAuth2 mailboxes against real servers: a loopback identity provider (tests/oauth_idp.py),
Dovecot with its `oauth2` passdb introspecting the tokens, and an SMTP sink that takes
XOAUTH2/OAUTHBEARER after the same check.

What an admin would notice: the device flow hands out a code and ends "authorized" once
someone signs in (or "denied", "expired"); mail is then read and sent with tokens; an expired
token is refreshed without anyone noticing; a revoked grant shows on the mailbox and in the
connection test with what to do, and nobody hammers the provider meanwhile; no token is ever
in the engine's log, its answers, or `ctl` output.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest

from engine.api.schemas import CampaignPatch, OAuthSettingsIn, OAuthStatus, UserIn
from engine.client import EngineClient, EngineError
from engine.client.errors import Forbidden, Invalid
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import World, enable_confirmation, engine_settings, eventually
from tests.mail_factory import customer_mail
from tests.oauth_idp import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.servers import (
    DovecotServer,
    SmtpSink,
    make_test_pki,
    start_dovecot,
    start_smtp_sink,
)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider(interval=1) as provider:
        yield provider


@pytest.fixture(scope="module")
def oauth_dovecot(
    tmp_path_factory: pytest.TempPathFactory, idp: IdentityProvider
) -> Iterator[DovecotServer]:
    server = start_dovecot(
        tmp_path_factory.mktemp("dovecot-oauth"), oauth_introspection_url=idp.introspection_url
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oauth_sink(idp: IdentityProvider) -> Iterator[SmtpSink]:
    sink = start_smtp_sink(oauth_check=idp.check)
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
async def oauth_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = engine_settings(
        tmp_path / "home",
        oauth_custom_client_id=CLIENT_ID,
        oauth_custom_client_secret=CLIENT_SECRET,
    )
    eng = Engine(settings)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


@pytest.fixture
async def oauth_world(
    oauth_engine: Engine,
    oauth_dovecot: DovecotServer,
    oauth_sink: SmtpSink,
    idp: IdentityProvider,
) -> AsyncIterator[World]:
    async with EngineClient(oauth_engine.socket_path) as operator:
        mailbox = oauth_dovecot.new_mailbox("oauth")
        fields = mailbox.campaign(
            "Support",
            smtp_host=oauth_sink.host,
            smtp_port=oauth_sink.port,
            smtp_username=mailbox.user,
        )
        # No passwords at all: every login below is with a token. Saved before it is
        # authorized, so there is nothing to try the logins with yet (check=False).
        campaign = await operator.add_campaign(
            msgspec.structs.replace(fields, imap_password="", check=False)
        )
        yield World(oauth_engine, operator, mailbox, oauth_dovecot, oauth_sink, campaign)


def custom(idp: IdentityProvider, mechanism: str = "xoauth2") -> OAuthSettingsIn:
    return OAuthSettingsIn(
        auth="oauth2",
        provider="custom",
        device_url=idp.device_url,
        token_url=idp.token_url,
        scope="mail offline_access",
        mechanism=mechanism,  # type: ignore[arg-type]
    )


async def authorized(world: World, idp: IdentityProvider, mechanism: str = "xoauth2") -> None:
    """Choose the test provider and run the device flow to its end, as the admin would."""
    await world.operator.set_oauth("Support", custom(idp, mechanism))
    started = await world.operator.authorize("Support")
    assert started.state == "waiting"
    assert started.verification_uri == idp.verification_uri and started.user_code
    idp.approve(started.user_code, world.mailbox.user)
    await eventually(
        lambda: world.operator.oauth_status("Support"),
        lambda s: s.state == "authorized",
        what="the grant",
    )


async def mailbox_state(world: World) -> tuple[str, str]:
    rows = await world.operator.mailboxes()
    [row] = [r for r in rows if r.campaign_name == "Support"]
    return row.state, row.error


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
async def test_device_flow_then_mail_is_read_and_sent_with_tokens(
    oauth_world: World, idp: IdentityProvider, mechanism: str
) -> None:
    world = oauth_world
    before = await world.operator.oauth_status("Support")
    assert before.auth == "password"
    await authorized(world, idp, mechanism)
    status = await world.operator.oauth_status("Support")
    assert status.auth == "oauth2" and status.client_configured and status.authorized_at
    assert status.user_code == ""  # the flow is over: no code left on show

    await eventually(lambda: mailbox_state(world), lambda s: s[0] == "connected", what="IMAP")
    await enable_confirmation(world)
    await asyncio.to_thread(
        world.dovecot.append, world.mailbox, customer_mail("Invoice", "The total is wrong.")
    )
    [received] = await world.sink.await_count(1)
    assert received.message["Subject"] == "Re: Invoice [#1]"
    assert received.auth_user == world.mailbox.user  # sent after a bearer login
    assert (mechanism.upper(), True) in world.sink.auth_attempts
    log = world.dovecot.log_path.read_text()
    assert f"user=<{world.mailbox.user}>, method={mechanism.upper()}" in log

    report = await world.operator.test_campaign("Support")
    assert report.ok, report
    imap, smtp = report.checks
    assert imap.passed == ["resolve", "token", "connect", "login", "mailbox"] and imap.ok
    assert smtp.passed == ["resolve", "token", "connect", "login"]


async def test_expiring_token_is_refreshed_before_use_and_after_a_refusal(
    oauth_world: World, idp: IdentityProvider
) -> None:
    world, oauth = oauth_world, oauth_world.engine.oauth
    await authorized(world, idp)
    await eventually(lambda: mailbox_state(world), lambda s: s[0] == "connected", what="IMAP")
    campaign_id = world.campaign.id
    first = await oauth.access_token(campaign_id)
    refreshes = oauth.refreshes
    # Still valid: the cached token is used.
    assert await oauth.access_token(campaign_id) == first and oauth.refreshes == refreshes

    # 56 minutes later (the provider's tokens live an hour): refreshed before it is used.
    now = oauth.clock()
    oauth.clock = lambda: now + 56 * 60
    second = await oauth.access_token(campaign_id)
    assert second != first and oauth.refreshes == refreshes + 1

    # The server stops taking the token before its time: the login fetches a fresh one once.
    idp.expire_access_tokens()
    oauth.clock = lambda: now + 57 * 60  # still "valid" by the engine's reckoning
    report = await world.operator.test_campaign("Support")
    assert report.ok, report
    assert oauth.refreshes == refreshes + 2  # one fresh token, shared by IMAP and SMTP


async def test_revoked_grant_shows_what_to_do_and_nobody_hammers(
    oauth_world: World, idp: IdentityProvider
) -> None:
    world = oauth_world
    await authorized(world, idp)
    await eventually(lambda: mailbox_state(world), lambda s: s[0] == "connected", what="IMAP")
    idp.revoke(world.mailbox.user)
    idp.expire_access_tokens()
    # The next login (the connection test) finds out; the grant is marked revoked.
    report = await world.operator.test_campaign("Support")
    assert not report.ok
    imap, smtp = report.checks
    assert imap.step == "token" and smtp.step == "token"
    assert "revoked" in imap.detail and "ctl campaign authorize" in imap.detail
    status = await world.operator.oauth_status("Support")
    assert status.state == "revoked" and "invalid_grant" in status.detail

    # The mailbox, restarted, shows it too, and asks the provider nothing more.
    await world.engine.campaign_changed(world.campaign.id)
    state = await eventually(
        lambda: mailbox_state(world), lambda s: s[0] == "failing", what="failing mailbox"
    )
    assert "revoked" in state[1] and "authorize" in state[1]
    asked = idp.requests["refresh_token"]
    logins = world.dovecot.log_path.read_text().count("imap-login:")
    await world.operator.test_campaign("Support")
    await asyncio.sleep(2.5)  # the mailbox retries with backoff meanwhile (1 s, then 2 s)
    assert idp.requests["refresh_token"] == asked  # the provider is not asked again
    assert world.dovecot.log_path.read_text().count("imap-login:") == logins  # nor Dovecot

    # Authorising again brings the mailbox back.
    await authorized(world, idp)
    await eventually(lambda: mailbox_state(world), lambda s: s[0] == "connected", what="IMAP")


async def test_denied_slow_down_and_expired_device_flows(
    oauth_world: World, idp: IdentityProvider
) -> None:
    world = oauth_world
    await world.operator.set_oauth("Support", custom(idp))
    started = await world.operator.authorize("Support")
    idp.deny(started.user_code)
    denied = await eventually(
        lambda: world.operator.oauth_status("Support"),
        lambda s: s.state != "waiting",
        what="the refusal",
    )
    assert denied.state == "denied" and "refused" in denied.detail

    # slow_down: the engine polls 5 s less often from then on (RFC 8628 3.5), and goes on.
    idp.slow_down(1)
    started = await world.operator.authorize("Support")
    polls = idp.requests["urn:ietf:params:oauth:grant-type:device_code"]
    await eventually(
        lambda: asyncio.sleep(0, idp.requests["urn:ietf:params:oauth:grant-type:device_code"]),
        lambda n: n > polls,
        what="the first poll",
    )
    await asyncio.sleep(3)
    assert idp.requests["urn:ietf:params:oauth:grant-type:device_code"] == polls + 1
    idp.approve(started.user_code, world.mailbox.user)
    done = await eventually(
        lambda: world.operator.oauth_status("Support"),
        lambda s: s.state != "waiting",
        timeout=30,
        what="the grant after slow_down",
    )
    assert done.state == "authorized"

    # A code nobody uses expires.
    oauth = world.engine.oauth
    started = await world.operator.authorize("Support")
    now = oauth.clock()
    oauth.clock = lambda: now + 3600
    expired: OAuthStatus = await eventually(
        lambda: world.operator.oauth_status("Support"),
        lambda s: s.state != "waiting",
        what="the expiry",
    )
    assert expired.state == "expired" and "expired" in expired.detail


async def test_no_token_in_the_log_the_answers_or_the_status(
    oauth_world: World, idp: IdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    world = oauth_world
    caplog.set_level(logging.DEBUG)
    await authorized(world, idp)
    await eventually(lambda: mailbox_state(world), lambda s: s[0] == "connected", what="IMAP")
    await world.operator.test_campaign("Support")
    idp.revoke(world.mailbox.user)
    idp.expire_access_tokens()
    report = await world.operator.test_campaign("Support")
    status = await world.operator.oauth_status("Support")
    mailboxes = await world.operator.mailboxes()
    seen = "\n".join(
        [caplog.text, repr(report), repr(status), repr(mailboxes), repr(world.engine.oauth)]
    )
    issued = idp.issued_secrets()
    assert len(issued) >= 3
    for secret in issued:
        assert secret not in seen
    db = db_probe.everything(world.engine.settings)
    for secret in issued:
        assert secret.encode() not in db  # the refresh token is stored encrypted


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_bearer_logins_over_starttls_and_implicit_tls(
    oauth_engine: Engine,
    idp: IdentityProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    """The token goes only inside TLS: after STARTTLS, or on an implicit-TLS port."""
    pki = make_test_pki(tmp_path / "pki")
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_cert))  # the engine trusts the test CA
    implicit = security == "tls"
    with (
        start_dovecot(
            tmp_path / "dc", tls=pki, oauth_introspection_url=idp.introspection_url
        ) as dovecot,
        start_smtp_sink(tls=pki, implicit_tls=implicit, oauth_check=idp.check) as sink,
    ):
        box = dovecot.new_mailbox("tls")
        imap_port = dovecot.imaps_port if implicit else dovecot.port
        assert imap_port is not None
        fields = box.campaign("Support", smtp_host=sink.host, smtp_port=sink.port)
        campaign = msgspec.structs.replace(
            fields,
            imap_password="",
            imap_port=imap_port,
            imap_security=security,
            smtp_security=security,
            smtp_username=box.user,
            receive_emails=False,  # only the connection test logs in here
            check=False,  # saved before it is authorized: nothing to log in with yet
        )
        async with EngineClient(oauth_engine.socket_path) as operator:
            added = await operator.add_campaign(campaign)
            world = World(oauth_engine, operator, box, dovecot, sink, added)
            await authorized(world, idp, "oauthbearer")
            await operator.update_campaign("Support", CampaignPatch(receive_emails=True))
            report = await operator.test_campaign("Support")
            assert report.ok, report
            assert [c.passed for c in report.checks] == [
                ["resolve", "token", "connect", "tls", "login", "mailbox"],
                ["resolve", "token", "connect", "tls", "login"],
            ]
        log = dovecot.log_path.read_text()
        assert f"user=<{box.user}>, method=OAUTHBEARER" in log and "TLS" in log


async def test_a_rotated_refresh_token_is_kept(oauth_world: World, idp: IdentityProvider) -> None:
    """Microsoft hands out a new refresh token with each refresh and the old one stops
    working: each refresh must use the one before's."""
    world, oauth = oauth_world, oauth_world.engine.oauth
    idp.rotate_refresh = True
    try:
        await authorized(world, idp)
        now = oauth.clock()
        for hours in (1, 2, 3):
            oauth.clock = lambda hours=hours: now + hours * 3600
            await oauth.access_token(world.campaign.id)
        status = await world.operator.oauth_status("Support")
        assert status.state == "authorized"
        assert (await world.operator.test_campaign("Support")).ok
    finally:
        idp.rotate_refresh = False


async def test_only_admins_see_or_start_a_sign_in(
    oauth_world: World, idp: IdentityProvider
) -> None:
    world = oauth_world
    await world.operator.add_user(UserIn(username="sam", display_name="Sam", roles=["supervisor"]))
    async with world.client("sam") as sam:
        with pytest.raises(Forbidden):
            await sam.oauth_status("Support")
        with pytest.raises(Forbidden):
            await sam.authorize("Support")
        with pytest.raises(Forbidden):
            await sam.set_oauth("Support", custom(idp))
    # An endpoint that is no URL is refused under its field; a password campaign cannot start.
    with pytest.raises(Invalid) as caught:
        await world.operator.set_oauth(
            "Support", msgspec.structs.replace(custom(idp), token_url="ftp:/x")
        )
    assert caught.value.field == "token_url"
    with pytest.raises(EngineError) as refused:
        await world.operator.authorize("Support")
    assert "choose an OAuth2 provider first" in refused.value.message
