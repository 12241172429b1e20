"""The admin console's OAuth2 sign-in (console/screens/oauth_screen.py) at 80x24, against a
real engine, the loopback identity provider and Dovecot's oauth2 passdb.

From the campaign form (ctrl+o) the admin picks the provider, presses Authorize, reads the
address and the code on screen, signs in elsewhere, and sees the state turn "authorised"
without touching anything; a typed-in endpoint that is no URL is refused under its field.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
from textual.widgets import Input, Select

from console.screens.admin import AdminScreen
from console.screens.campaign_form import CampaignForm
from console.screens.oauth_screen import OAuthScreen
from engine.api.schemas import OAuthSettingsIn, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.console_helpers import console_for, screen_text, settle, until
from tests.engine_fixtures import engine_settings
from tests.oauth_idp import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.servers import DovecotServer, start_dovecot


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider(interval=1) as provider:
        yield provider


@pytest.fixture
def oauth_dovecot(tmp_path: Path, idp: IdentityProvider) -> Iterator[DovecotServer]:
    server = start_dovecot(tmp_path / "dc", oauth_introspection_url=idp.introspection_url)
    try:
        yield server
    finally:
        server.stop()


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


def snapshot_png(app: object, path: Path) -> None:
    """SVG of the screen, as a PNG beside it (to look at what the admin sees)."""
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    path.with_suffix(".svg").write_text(svg)
    subprocess.run(["rsvg-convert", "-o", str(path), str(path.with_suffix(".svg"))], check=False)


async def test_admin_authorizes_a_campaign_from_the_form(
    oauth_engine: Engine, oauth_dovecot: DovecotServer, idp: IdentityProvider, tmp_path: Path
) -> None:
    box = oauth_dovecot.new_mailbox("console")
    async with EngineClient(oauth_engine.socket_path) as operator:
        await operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
        fields = box.campaign("Support", smtp_username=box.user)
        # Saved before it is authorized: nothing to try the logins with yet.
        await operator.add_campaign(msgspec.structs.replace(fields, imap_password="", check=False))
        app = console_for(oauth_engine, "ada", "admin")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
            await until(pilot, lambda: "Support" in screen_text(app), what="the campaign")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, OAuthScreen), what="sign-in")
            screen = app.screen
            assert isinstance(screen, OAuthScreen)
            await until(pilot, lambda: screen.status is not None, what="the status")
            assert "logs in with the campaign's passwords" in screen_text(app)

            screen.query_one("#oauth-provider", Select).value = "custom"
            await settle(pilot)
            screen.query_one("#oauth-device_url", Input).value = "not a url"
            screen.query_one("#oauth-token_url", Input).value = idp.token_url
            screen.query_one("#oauth-scope", Input).value = "mail offline_access"
            await pilot.press("ctrl+s")
            field = screen.query_one("#oauth-device_url-field")
            await until(pilot, lambda: field.has_error, what="the refusal")  # type: ignore[attr-defined]
            assert "device authorization endpoint" in screen_text(app)

            screen.query_one("#oauth-device_url", Input).value = idp.device_url
            await pilot.press("ctrl+o")
            await until(pilot, lambda: "Code" in screen_text(app), what="the code")
            code = idp.wait_for_user_code()
            text = screen_text(app)
            assert code in text and idp.verification_uri in text
            assert "waiting for the sign-in" in text
            snapshot_png(app, tmp_path / "oauth-waiting.png")

            idp.approve(code, box.user)
            await until(pilot, lambda: "State: authorised" in screen_text(app), what="done")
            assert code not in screen_text(app)
            snapshot_png(app, tmp_path / "oauth-authorized.png")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="back")
            status = await operator.oauth_status("Support")
            assert status.state == "authorized"

            # The grant is withdrawn at the provider: the campaign list says what to do.
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="the list")
            idp.revoke(box.user)
            idp.expire_access_tokens()
            assert not (await operator.test_campaign("Support")).ok  # finds out: revoked
            await oauth_engine.campaign_changed((await operator.campaigns())[0].id)
            await until(
                pilot,
                lambda: "OAuth2 revoked: Authorize" in screen_text(app),
                what="the revoked grant in the list",
            )
            snapshot_png(app, tmp_path / "oauth-revoked-list.png")


async def test_a_new_campaign_is_saved_and_signed_in_from_the_form(
    oauth_engine: Engine, oauth_dovecot: DovecotServer, idp: IdentityProvider
) -> None:
    """A new campaign has no password to try: ctrl+o saves it without the login check and
    opens the sign-in; the engine then proves its logins with a token."""
    box = oauth_dovecot.new_mailbox("fresh")
    async with EngineClient(oauth_engine.socket_path) as operator:
        await operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
        fields = box.campaign("Fresh", smtp_username=box.user)
        app = console_for(oauth_engine, "ada", "admin")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, CampaignForm), what="the form")
            form = app.screen
            for key in ("name", "email_address", "imap_host", "smtp_host", "smtp_username"):
                form.query_one(f"#cf-{key}", Input).value = str(getattr(fields, key))
            form.query_one("#cf-imap_port", Input).value = str(fields.imap_port)
            form.query_one("#cf-smtp_port", Input).value = str(fields.smtp_port)
            form.query_one("#cf-imap_security", Select).value = fields.imap_security
            form.query_one("#cf-smtp_security", Select).value = fields.smtp_security
            form.query_one("#cf-imap_username", Input).value = box.user
            await settle(pilot)

            # Save without a password: the login check refuses, as for any campaign.
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Not saved" in screen_text(app), what="the refusal")
            assert [c.name for c in await operator.campaigns()] == []

            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, OAuthScreen), what="sign-in")
            assert [c.name for c in await operator.campaigns()] == ["Fresh"]
            screen = app.screen
            assert isinstance(screen, OAuthScreen)
            await until(pilot, lambda: screen.status is not None, what="the status")
            screen.query_one("#oauth-provider", Select).value = "custom"
            await settle(pilot)
            screen.query_one("#oauth-device_url", Input).value = idp.device_url
            screen.query_one("#oauth-token_url", Input).value = idp.token_url
            screen.query_one("#oauth-scope", Input).value = "mail offline_access"
            await pilot.press("ctrl+o")
            idp.approve(idp.wait_for_user_code(), box.user)
            await until(pilot, lambda: "State: authorised" in screen_text(app), what="done")
            assert (await operator.oauth_status("Fresh")).state == "authorized"

            # Back in the form, which now edits the saved campaign: Save changes it, never
            # adds it a second time.
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is form, what="back in the form")
            form.query_one("#cf-from_name", Input).value = "Fresh Support"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
            saved = await operator.campaigns()
            assert [(c.name, c.from_name) for c in saved] == [("Fresh", "Fresh Support")]


async def test_a_waiting_sign_in_is_answered_when_it_ends_not_polled(
    oauth_engine: Engine, oauth_dovecot: DovecotServer, idp: IdentityProvider
) -> None:
    """`oauth_status(wait=...)` holds while the sign-in waits and answers once it ends: the
    console and `ctl campaign authorize` learn "authorized" without asking every second."""
    box = oauth_dovecot.new_mailbox("long")
    async with EngineClient(oauth_engine.socket_path) as operator:
        fields = box.campaign("Long", smtp_username=box.user)
        await operator.add_campaign(msgspec.structs.replace(fields, imap_password="", check=False))
        await operator.set_oauth(
            "Long",
            OAuthSettingsIn(
                auth="oauth2",
                provider="custom",
                device_url=idp.device_url,
                token_url=idp.token_url,
                scope="mail offline_access",
            ),
        )
        assert (await operator.authorize("Long")).state == "waiting"
        code = idp.wait_for_user_code()

        started = time.monotonic()
        pending = asyncio.ensure_future(operator.oauth_status("Long", wait=20))
        await asyncio.sleep(1.5)
        assert not pending.done()  # nothing to say yet: no answer every second
        idp.approve(code, box.user)
        status = await asyncio.wait_for(pending, 10)
        waited = time.monotonic() - started
        # Held while waiting, answered with the sign-in's end (not at the 20 s the wait allows).
        assert status.state == "authorized" and 1.5 <= waited < 20

        # Nothing waiting: answered at once, whatever `wait` says.
        started = time.monotonic()
        assert (await operator.oauth_status("Long", wait=20)).state == "authorized"
        assert time.monotonic() - started < 15  # not held for the 20 s
