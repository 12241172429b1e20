"""The pure parts of OAuth2 mailboxes (engine/domain/oauth.py): presets, SASL strings, when a
token is refreshed, what a token endpoint's answers mean."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.oauth import (
    OAuthConfigError,
    device_poll_outcome,
    endpoints,
    redact,
    refresh_due,
    refresh_refused_for_good,
    sasl_b64,
    sasl_initial_response,
)


def test_google_preset() -> None:
    got = endpoints("google")
    assert got.device_url == "https://oauth2.googleapis.com/device/code"
    assert got.token_url == "https://oauth2.googleapis.com/token"
    assert got.scope == "https://mail.google.com/"


def test_microsoft_preset_puts_the_tenant_in_the_urls() -> None:
    default = endpoints("microsoft")
    assert "/organizations/oauth2/v2.0/devicecode" in default.device_url
    assert "offline_access" in default.scope and "IMAP.AccessAsUser.All" in default.scope
    assert "SMTP.Send" in default.scope
    mine = endpoints("microsoft", tenant="contoso.onmicrosoft.com")
    assert mine.token_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    with pytest.raises(OAuthConfigError) as caught:
        endpoints("microsoft", tenant="evil/../x")
    assert caught.value.field == "tenant"


def test_custom_provider_needs_its_endpoints_and_scope() -> None:
    with pytest.raises(OAuthConfigError) as caught:
        endpoints("custom", token_url="https://idp.example/token", scope="mail")
    assert caught.value.field == "device_url"
    with pytest.raises(OAuthConfigError) as caught:
        endpoints("custom", device_url="https://i/d", token_url="https://i/t")
    assert caught.value.field == "scope"
    got = endpoints("custom", device_url="https://i/d", token_url="https://i/t", scope=" a  b ")
    assert got.scope == "a b"


def test_xoauth2_string() -> None:
    raw = sasl_initial_response(
        "xoauth2", "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
    )
    # The example of Google's XOAUTH2 documentation.
    assert raw == (
        b"user=someuser@example.com\x01auth=Bearer "
        b"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    )


def test_oauthbearer_string_escapes_the_user_and_names_the_server() -> None:
    raw = sasl_initial_response("oauthbearer", "a,b=c@example.com", "tok", "imap.example", 993)
    assert (
        raw
        == b"n,a=a=2Cb=3Dc@example.com,\x01host=imap.example\x01port=993\x01auth=Bearer tok\x01\x01"
    )
    assert base64.b64decode(sasl_b64("oauthbearer", "u", "t")) == b"n,a=u,\x01auth=Bearer t\x01\x01"


@given(st.text(), st.text())
def test_sasl_never_carries_a_control_character_it_was_given(user: str, token: str) -> None:
    try:
        raw = sasl_initial_response("xoauth2", user, token)
    except ValueError:
        return
    assert raw.count(b"\x01") == 3 and b"\r" not in raw and b"\n" not in raw


def test_refresh_rule() -> None:
    # An hour's token: refreshed in its last 5 minutes (not later, not much earlier).
    assert not refresh_due(0, 3600, 3299)
    assert refresh_due(0, 3600, 3300)
    # A short one keeps a tenth of its life in hand.
    assert not refresh_due(0, 100, 89)
    assert refresh_due(0, 100, 90)
    assert refresh_due(0, 0, 0)  # no lifetime given: always fetch


def test_device_poll_answers() -> None:
    assert device_poll_outcome("authorization_pending") == "pending"
    assert device_poll_outcome("slow_down") == "slow_down"
    assert device_poll_outcome("access_denied") == "denied"
    assert device_poll_outcome("expired_token") == "expired"
    assert device_poll_outcome("server_error") == "failed"


def test_refresh_refusals() -> None:
    assert refresh_refused_for_good(400, "invalid_grant")
    assert not refresh_refused_for_good(500, "server_error")
    assert not refresh_refused_for_good(429, "")


def test_redact() -> None:
    assert redact("bad token abcdefghij here", ["abcdefghij"]) == "bad token [token] here"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to be a token
