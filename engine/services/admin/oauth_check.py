"""The connection test of a campaign that logs in with OAuth2: the same steps as with
passwords (connection_test.py), plus "token" (getting an access token from the provider with
the stored grant) before the connection, and "login" done with XOAUTH2/OAUTHBEARER.

A revoked grant stops at "token" and says how to authorise again; a token the server refuses
(even a fresh one) stops at "login". Nothing is fetched or sent, and no token is reported.
"""

from __future__ import annotations

import asyncio

import aioimaplib
import aiosmtplib

from data.models import Campaign, InboundTransport, Security
from engine.api.schemas import ConnectionCheck, ConnectionReport
from engine.domain.oauth import Bearer, OAuthError
from engine.services.admin.connection_test import TIMEOUT, _check, _resolve, _tls_problem
from engine.services.inbound.imap_protocol import ImapAccount, ImapError, connect
from engine.services.outbound.outbox import tls_context
from engine.services.outbound.smtp_oauth import bearer_login


def _steps(security: Security, *, mailbox: bool = False) -> list[str]:
    steps = ["resolve", "token", "connect"]
    if security != Security.PLAIN:
        steps.append("tls")
    steps.append("login")
    if mailbox:
        steps.append("mailbox")
    return steps


async def _token(bearer: Bearer) -> str | None:
    """Why no access token could be had, or None when one is in hand."""
    try:
        await bearer.token("")
    except OAuthError as exc:
        return str(exc)
    return None


async def check_imap_oauth(campaign: Campaign, bearer: Bearer) -> ConnectionCheck:
    if not campaign.receive_emails or campaign.inbound != InboundTransport.IMAP:
        return ConnectionCheck(service="imap", ok=True, step="skipped", detail="not receiving")
    host, port = campaign.imap_host, campaign.imap_port
    steps = _steps(campaign.imap_security, mailbox=True)
    if problem := await _resolve(host, port):
        return _check("imap", steps, "resolve", problem)
    if problem := await _token(bearer):
        return _check("imap", steps, "token", problem)
    account = ImapAccount(
        host=host,
        port=port,
        security=campaign.imap_security,
        username=campaign.imap_username or campaign.email_address,
        password="",
        folder=campaign.imap_folder or "INBOX",
        tls_verify=campaign.tls_verify,
        bearer=bearer,
    )
    try:
        client = await asyncio.wait_for(connect(account, timeout=TIMEOUT), TIMEOUT * 2)
    except OAuthError as exc:  # the refresh after a refused token failed
        return _check("imap", steps, "token", str(exc))
    except (ImapError, OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        if tls := _tls_problem(exc, host, port):
            return _check("imap", steps, "tls", tls)
        text = str(exc) or exc.__class__.__name__
        if "STARTTLS refused" in text:
            return _check("imap", steps, "tls", f"TLS failed: {text}")
        return _check("imap", steps, "login" if "login refused" in text else "connect", text)
    try:
        response = await client.select(account.folder)
        if response.result != "OK":
            detail = f"folder {account.folder!r} is missing or not selectable"
            return _check("imap", steps, "mailbox", detail)
        return _check("imap", steps, "done", "logged in with OAuth2")
    finally:
        try:
            await asyncio.wait_for(client.logout(), 5)
        except (aioimaplib.AioImapException, OSError, TimeoutError):
            pass


async def check_smtp_oauth(campaign: Campaign, bearer: Bearer) -> ConnectionCheck:
    host, port = campaign.smtp_host, campaign.smtp_port
    steps = _steps(campaign.smtp_security)
    if problem := await _resolve(host, port):
        return _check("smtp", steps, "resolve", problem)
    if problem := await _token(bearer):
        return _check("smtp", steps, "token", problem)
    smtp = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=campaign.smtp_security == Security.TLS,
        start_tls=campaign.smtp_security == Security.STARTTLS,
        tls_context=tls_context(campaign.tls_verify)
        if campaign.smtp_security != Security.PLAIN
        else None,
        timeout=TIMEOUT,
    )
    try:
        await smtp.connect()
    except OAuthError as exc:
        return _check("smtp", steps, "token", str(exc))
    except (aiosmtplib.SMTPException, OSError) as exc:
        if tls := _tls_problem(exc, host, port):
            return _check("smtp", steps, "tls", tls)
        if "STARTTLS" in str(exc):
            return _check("smtp", steps, "tls", f"TLS failed: {exc}")
        return _check("smtp", steps, "connect", str(exc))
    try:
        try:
            await bearer_login(smtp, campaign.smtp_username or campaign.email_address, bearer)
        except OAuthError as exc:
            return _check("smtp", steps, "token", str(exc))
        except aiosmtplib.SMTPException as exc:
            return _check("smtp", steps, "login", str(exc))
        return _check("smtp", steps, "done", "ready to send (OAuth2)")
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


async def check_campaign_oauth(campaign: Campaign, bearer: Bearer) -> ConnectionReport:
    imap, smtp = await asyncio.gather(
        check_imap_oauth(campaign, bearer), check_smtp_oauth(campaign, bearer)
    )
    return ConnectionReport(campaign=campaign.name, ok=imap.ok and smtp.ok, checks=[imap, smtp])
