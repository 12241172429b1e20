"""OAuth 2.0 for mailboxes, the parts without I/O: provider presets, SASL strings, timing rules.

Gmail and Microsoft 365 take IMAP and SMTP logins as bearer tokens (XOAUTH2, or OAUTHBEARER of
RFC 7628) obtained with the device authorization grant (RFC 8628), so an admin at a terminal
can authorise a mailbox from any browser. The HTTP side lives in engine/services/admin/oauth.py;
what is decided here is tested without a network: which endpoints and scopes a provider
uses, how the SASL initial responses are built, when an access token is due for refresh, and
what each answer of a token endpoint means.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Provider = Literal["google", "microsoft", "custom"]
Mechanism = Literal["xoauth2", "oauthbearer"]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# The longest an access token is used before it is refreshed ahead of its expiry, and the
# share of its lifetime kept in hand (a 1-hour Google token is refreshed after 55 minutes).
REFRESH_MARGIN_MAX = 300.0
REFRESH_MARGIN_SHARE = 0.1
# RFC 8628 3.5: "slow_down" adds 5 seconds to the polling interval, for good.
SLOW_DOWN_STEP = 5
DEFAULT_INTERVAL = 5


class OAuthError(ConnectionError):
    """A bearer token could not be had; the message says why and what to do (no secrets)."""


class GrantRevoked(OAuthError):
    """The provider refused the stored grant for good: someone must authorise again."""


class OAuthConfigError(ValueError):
    """A provider setting that cannot work; `field` names the form field it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Preset:
    """What Postdesk knows of a provider: its endpoints, scopes and mail servers."""

    label: str
    device_url: str  # may contain {tenant}
    token_url: str
    scope: str
    imap_host: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    default_tenant: str = ""


PRESETS: dict[Provider, Preset] = {
    "google": Preset(
        label="Google (Gmail, Google Workspace)",
        device_url="https://oauth2.googleapis.com/device/code",
        token_url="https://oauth2.googleapis.com/token",
        scope="https://mail.google.com/",
        imap_host="imap.gmail.com",
        smtp_host="smtp.gmail.com",
    ),
    "microsoft": Preset(
        label="Microsoft 365 (Exchange Online)",
        device_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
        token_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        scope=(
            "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send offline_access"
        ),
        imap_host="outlook.office365.com",
        smtp_host="smtp.office365.com",
        default_tenant="organizations",
    ),
    "custom": Preset(
        label="Other provider (endpoints typed in)", device_url="", token_url="", scope=""
    ),
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    device_url: str
    token_url: str
    scope: str


@dataclass(frozen=True)
class Bearer:
    """What a login needs: the SASL mechanism and a source of access tokens for one mailbox.

    `token("")` returns a token that is not about to expire; `token(refused)`, after a server
    refused the token `refused`, returns a new one from the provider whatever that one's
    expiry (or the one another login already fetched in its place)."""

    mechanism: Mechanism
    token: Callable[[str], Awaitable[str]] = field(repr=False)


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://")) and " " not in value and len(value) > 8


def endpoints(
    provider: Provider,
    *,
    tenant: str = "",
    device_url: str = "",
    token_url: str = "",
    scope: str = "",
) -> Endpoints:
    """The endpoints and scope a campaign's settings resolve to.

    Presets fill what is left empty (a typed-in scope still wins, e.g. to add a scope);
    Microsoft's tenant (a domain or directory id; "organizations" by default) goes in the URL.
    """
    preset = PRESETS[provider]
    if provider == "microsoft":
        tenant = tenant.strip() or preset.default_tenant
        if not tenant.replace("-", "").replace(".", "").isalnum():
            raise OAuthConfigError(
                f"{tenant!r} is not a tenant: give the directory (tenant) id or the domain",
                "tenant",
            )
    device = device_url.strip() or preset.device_url.format(tenant=tenant)
    token = token_url.strip() or preset.token_url.format(tenant=tenant)
    chosen_scope = " ".join(scope.split()) or preset.scope
    for value, name in ((device, "device_url"), (token, "token_url")):
        if not _is_url(value):
            what = "device authorization" if name == "device_url" else "token"
            raise OAuthConfigError(f"give the provider's {what} endpoint (an https:// URL)", name)
    if not chosen_scope:
        raise OAuthConfigError("give the scopes the provider needs for IMAP and SMTP", "scope")
    return Endpoints(device, token, chosen_scope)


def _saslname(user: str) -> str:
    """RFC 5801 saslname: "," and "=" escaped."""
    return user.replace("=", "=3D").replace(",", "=2C")


def sasl_initial_response(
    mechanism: Mechanism, user: str, token: str, host: str = "", port: int = 0
) -> bytes:
    """The raw (not yet base64) initial client response for XOAUTH2 or OAUTHBEARER."""
    if any(c in user for c in "\x00\x01\r\n") or any(c in token for c in "\x00\x01\r\n "):
        raise ValueError("user name or token holds a control character")
    if mechanism == "xoauth2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    extra = (f"host={host}\x01" if host else "") + (f"port={port}\x01" if port else "")
    return f"n,a={_saslname(user)},\x01{extra}auth=Bearer {token}\x01\x01".encode()


def sasl_b64(mechanism: Mechanism, user: str, token: str, host: str = "", port: int = 0) -> str:
    return base64.b64encode(sasl_initial_response(mechanism, user, token, host, port)).decode()


def refresh_due(issued_at: float, expires_at: float, now: float) -> bool:
    """Whether an access token obtained at `issued_at`, valid until `expires_at`, should be
    replaced before use at `now` (so no login ever presents a token about to expire)."""
    lifetime = max(0.0, expires_at - issued_at)
    margin = min(REFRESH_MARGIN_MAX, lifetime * REFRESH_MARGIN_SHARE)
    return now >= expires_at - margin


PollOutcome = Literal["pending", "slow_down", "denied", "expired", "failed"]


def device_poll_outcome(error: str) -> PollOutcome:
    """What a token endpoint's error answer to a device-code poll means (RFC 8628 3.5)."""
    return {
        "authorization_pending": "pending",
        "slow_down": "slow_down",
        "access_denied": "denied",
        "expired_token": "expired",
    }.get(error, "failed")  # type: ignore[return-value]


def refresh_refused_for_good(status: int, error: str) -> bool:
    """A refresh answer that no retry will change: the grant is gone (revoked, expired,
    password changed, consent withdrawn), so the admin must authorise again."""
    return error in ("invalid_grant", "unauthorized_client") or (
        status == 400 and error == "invalid_request"
    )


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret (token) in it replaced, for messages shown or logged."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[token]")
    return text
