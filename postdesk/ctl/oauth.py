"""`postdesk ctl campaign oauth|authorize`: OAuth2 mailboxes from the terminal (docs/oauth.md).

`campaign oauth NAME --provider ...` says how the campaign logs in; `campaign authorize NAME`
starts the device flow, prints the address and the code at once (the admin signs in on any
device), then waits, showing each change of state, until the grant is stored, refused or the
code expires. Ctrl-C stops the flow at the engine too. Nothing printed ever holds a token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from engine.api.schemas import OAuthSettingsIn, OAuthStatus, convert, to_builtins
from engine.client import EngineClient
from engine.text.sanitize import one_line

# States a device flow ends in, and whether the command then succeeded.
_ENDED = {"authorized": True, "denied": False, "expired": False, "failed": False}
_WAIT = 20.0  # seconds one status call may wait for the sign-in to end


def add_parsers(campaign: Any) -> None:
    """The two subcommands, under `ctl campaign`."""
    coauth = campaign.add_parser(
        "oauth", help="log in to the mailbox with OAuth2 (Google, Microsoft 365, other), or not"
    )
    coauth.add_argument("name")
    coauth.add_argument("--provider", choices=["google", "microsoft", "custom"], default=None)
    coauth.add_argument("--tenant", default=None, help="Microsoft: tenant domain or id")
    coauth.add_argument("--device-url", dest="device_url", default=None, help="custom provider")
    coauth.add_argument("--token-url", dest="token_url", default=None, help="custom provider")
    coauth.add_argument("--scope", default=None, help="scopes (default: the provider's)")
    coauth.add_argument("--mechanism", choices=["xoauth2", "oauthbearer"], default=None)
    coauth.add_argument(
        "--password",
        dest="use_password",
        action="store_true",
        help="log in with the campaign's passwords again (the grant is kept)",
    )
    cauth = campaign.add_parser(
        "authorize", help="sign the mailbox in: prints an address and a code, waits till done"
    )
    cauth.add_argument("name")


async def configure(client: EngineClient, args: argparse.Namespace) -> OAuthStatus:
    given = {
        key: getattr(args, key)
        for key in ("provider", "tenant", "device_url", "token_url", "scope", "mechanism")
        if getattr(args, key) is not None
    }
    if not given and not args.use_password:
        return await client.oauth_status(args.name)
    current = await client.oauth_status(args.name)
    fields: dict[str, Any] = {
        "provider": current.provider,
        "tenant": current.tenant,
        "device_url": current.device_url,
        "token_url": current.token_url,
        "scope": current.scope,
        "mechanism": current.mechanism,
    }
    if "provider" in given and given["provider"] != current.provider:
        fields.update(tenant="", device_url="", token_url="", scope="")  # the old one's
    fields.update(given)
    fields["auth"] = "password" if args.use_password else "oauth2"
    return await client.set_oauth(args.name, convert(fields, OAuthSettingsIn))


async def authorize(client: EngineClient, args: argparse.Namespace) -> OAuthStatus:
    """Start the device flow, show the code, wait for its end (the final status is printed
    by the caller). With --json the waiting status is one JSON line first."""
    status = await client.authorize(args.name)
    if args.json:
        print(json.dumps(to_builtins(status)), flush=True)
    else:
        until = status.code_expires_at.strftime("%H:%M UTC") if status.code_expires_at else "?"
        print(
            f"To authorise campaign {one_line(status.campaign, 60)!r}, open\n\n"
            f"    {one_line(status.verification_uri, 200)}\n\n"
            f"and enter the code  {one_line(status.user_code, 40)}\n\n"
            f"Sign in as the mailbox's account. The code is valid until {until}.\n"
            "Waiting (Ctrl-C stops)...",
            flush=True,
        )
    shown = status.state
    try:
        while status.state == "waiting":
            # A long poll: the engine answers the moment the sign-in ends.
            status = await client.oauth_status(args.name, wait=_WAIT)
            if status.state != shown:
                shown = status.state
                if not args.json:
                    print(f"... {status.state}", flush=True)
    except (asyncio.CancelledError, KeyboardInterrupt):
        await client.cancel_authorize(args.name)
        raise
    return status


def failed(result: object, args: argparse.Namespace) -> bool:
    """Whether `campaign authorize` ended without a grant (the command then exits 1)."""
    return (
        getattr(args, "action", None) == "authorize"
        and isinstance(result, OAuthStatus)
        and not _ENDED.get(result.state, False)
    )


_PROVIDER_WORDS = {"google": "Google", "microsoft": "Microsoft 365", "custom": "custom provider"}


def status_lines(status: OAuthStatus) -> list[str]:
    """`ctl campaign oauth|authorize` for a person: how the campaign signs in, and its state
    with what to do. Every value is shown as one line of plain text (it may come from the
    provider)."""
    name = one_line(status.campaign, 60)
    if status.auth == "password":
        return [f"{name}: signs in with the campaign's passwords"]
    provider = _PROVIDER_WORDS.get(status.provider, status.provider)
    if status.provider == "microsoft":
        provider += f", tenant {one_line(status.tenant or 'organizations', 80)}"
    lines = [f"{name}: signs in with OAuth2 ({provider}, {status.mechanism.upper()})"]
    if status.provider == "custom":
        lines.append(f"  device URL: {one_line(status.device_url, 200)}")
        lines.append(f"  token URL:  {one_line(status.token_url, 200)}")
    if status.scope:
        lines.append(f"  scope: {one_line(status.scope, 200)}")
    state = f"state: {status.state}"
    if status.state == "authorized" and status.authorized_at is not None:
        state += f" since {status.authorized_at:%Y-%m-%d %H:%M} UTC"
    elif status.detail:
        state += f": {one_line(status.detail, 300)}"
    lines.append(state)
    if status.state in ("not-authorized", "revoked", "denied", "expired", "failed"):
        lines.append(f"  sign in: postdesk ctl campaign authorize {status.campaign!r}")
    if not status.client_configured:
        variable = f"POSTDESK_OAUTH_{status.provider.upper()}_CLIENT_ID"
        lines.append(f"  no application configured: set {variable} for the engine")
    return lines
