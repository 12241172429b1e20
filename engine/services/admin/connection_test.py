"""The campaign connection test (the manual's green/red status), step by step.

Each of IMAP and SMTP is tried the way the engine will use it, and the report says exactly which
step failed (name resolution, connect, TLS, login, or the mailbox folder), why, in words an
admin can act on, and which steps passed before it. Nothing is fetched or sent.

A campaign that logs in with OAuth2 takes the same steps with one more, "token" (an access
token from the provider with the stored grant) before the connection, and its login is
XOAUTH2/OAUTHBEARER: a revoked grant stops at "token" and says how to authorise again, a
token the server refuses (even a fresh one) stops at "login". No token is reported.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Literal

import aioimaplib
import aiosmtplib

from data.models import Campaign, InboundTransport, Security
from data.secrets import SecretBox, SecretError
from engine.api.schemas import ConnectionCheck, ConnectionReport
from engine.domain.oauth import Bearer, OAuthError
from engine.services.inbound.imap_protocol import ImapAccount, ImapError, connect
from engine.services.outbound.outbox import tls_context
from engine.services.outbound.smtp_oauth import bearer_login

TIMEOUT = 15.0


# Why a certificate was refused, in the admin's terms, by OpenSSL verify code.
_UNTRUSTED_ISSUER = "it was issued by a certificate authority this engine does not trust"
_VERIFY_REASONS = {
    2: _UNTRUSTED_ISSUER,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    18: "it is self-signed",  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: _UNTRUSTED_ISSUER,  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: _UNTRUSTED_ISSUER,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: _UNTRUSTED_ISSUER,  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    9: "it is not valid yet",  # X509_V_ERR_CERT_NOT_YET_VALID
    10: "it has expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    62: "it was issued for another host name",  # X509_V_ERR_HOSTNAME_MISMATCH
    64: "it was issued for another host name",  # X509_V_ERR_IP_ADDRESS_MISMATCH
}


def _steps(
    security: Security, *, token: bool = False, login: bool = True, mailbox: bool = False
) -> list[str]:
    """The steps of one check, in the order they are tried; `token`: an OAuth2 campaign's
    access token is fetched first (its login is proven by it)."""
    steps = ["resolve", "token", "connect"] if token else ["resolve", "connect"]
    if security != Security.PLAIN:
        steps.append("tls")
    if login:
        steps.append("login")
    if mailbox:
        steps.append("mailbox")
    return steps


async def _token_problem(bearer: Bearer) -> str | None:
    """Why no access token could be had (a revoked grant says what to do), or None."""
    try:
        await bearer.token("")
    except OAuthError as exc:
        return str(exc)
    return None


def _check(
    service: Literal["imap", "smtp"], steps: list[str], step: str, detail: str
) -> ConnectionCheck:
    """The result of a check that stopped at `step` ("done": every step passed)."""
    if step == "done":
        return ConnectionCheck(service=service, ok=True, step=step, detail=detail, passed=steps)
    passed = steps[: steps.index(step)] if step in steps else []
    return ConnectionCheck(service=service, ok=False, step=step, detail=detail, passed=passed)


async def _resolve(host: str, port: int) -> str | None:
    try:
        await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror or exc}"
    return None


def _tls_problem(exc: BaseException, host: str, port: int) -> str | None:
    """A readable reason when `exc` (or what caused it) is a TLS failure."""
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, ssl.SSLCertVerificationError):
            technical = (chain.verify_message or chain.reason or str(chain)).rstrip(".")
            why = _VERIFY_REASONS.get(chain.verify_code)
            because = f"{why} ({technical})" if why else technical
            return f"TLS failed: the certificate of {host}:{port} was refused: {because}"
        if isinstance(chain, ssl.SSLError):
            technical = chain.reason or chain.strerror or str(chain)
            if technical == "WRONG_VERSION_NUMBER":
                technical = "the server does not speak TLS there (check the port and security)"
            return f"TLS failed: no secure connection with {host}:{port}: {technical}"
        chain = chain.__cause__ or chain.__context__
    return None


async def check_imap(
    campaign: Campaign, secrets: SecretBox, bearer: Bearer | None = None
) -> ConnectionCheck:
    """IMAP as the mailbox reader uses it: with the password, or with `bearer`'s tokens."""
    if not campaign.receive_emails or campaign.inbound != InboundTransport.IMAP:
        return ConnectionCheck(service="imap", ok=True, step="skipped", detail="not receiving")
    host, port = campaign.imap_host, campaign.imap_port
    steps = _steps(campaign.imap_security, token=bearer is not None, mailbox=True)
    if problem := await _resolve(host, port):
        return _check("imap", steps, "resolve", problem)
    password = ""
    if bearer is not None:
        if problem := await _token_problem(bearer):
            return _check("imap", steps, "token", problem)
    else:
        try:
            password = secrets.decrypt(campaign.imap_password_enc)
        except SecretError as exc:
            return _check("imap", steps, "login", str(exc))
    account = ImapAccount(
        host=host,
        port=port,
        security=campaign.imap_security,
        username=campaign.imap_username or campaign.email_address,
        password=password,
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
        return _check("imap", steps, "done", "logged in" + (" with OAuth2" if bearer else ""))
    finally:
        try:
            await asyncio.wait_for(client.logout(), 5)
        except (aioimaplib.AioImapException, OSError, TimeoutError):
            pass


async def check_smtp(
    campaign: Campaign, secrets: SecretBox, bearer: Bearer | None = None
) -> ConnectionCheck:
    """SMTP as the outbox uses it: with the password (when a user is set), or `bearer`'s
    tokens (always a login)."""
    host, port = campaign.smtp_host, campaign.smtp_port
    logs_in = bearer is not None or bool(campaign.smtp_username)
    steps = _steps(campaign.smtp_security, token=bearer is not None, login=logs_in)
    if problem := await _resolve(host, port):
        return _check("smtp", steps, "resolve", problem)
    password = ""
    if bearer is not None:
        if problem := await _token_problem(bearer):
            return _check("smtp", steps, "token", problem)
    else:
        try:
            password = secrets.decrypt(campaign.smtp_password_enc)
        except SecretError as exc:
            return _check("smtp", steps, "login", str(exc))
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
    except (aiosmtplib.SMTPException, OSError) as exc:
        if tls := _tls_problem(exc, host, port):
            return _check("smtp", steps, "tls", tls)
        if "STARTTLS" in str(exc):  # the server does not offer it
            return _check("smtp", steps, "tls", f"TLS failed: {exc}")
        return _check("smtp", steps, "connect", str(exc))
    try:
        try:
            if bearer is not None:
                user = campaign.smtp_username or campaign.email_address
                await bearer_login(smtp, user, bearer)
            elif campaign.smtp_username:
                await smtp.login(campaign.smtp_username, password)
        except OAuthError as exc:
            return _check("smtp", steps, "token", str(exc))
        except aiosmtplib.SMTPException as exc:
            return _check("smtp", steps, "login", str(exc))
        return _check("smtp", steps, "done", "ready to send" + (" (OAuth2)" if bearer else ""))
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


async def check_campaign(
    campaign: Campaign,
    secrets: SecretBox,
    bearer_for: Callable[[int], Awaitable[Bearer | None]] | None = None,
) -> ConnectionReport:
    # An OAuth2 campaign (issue 17) is tried with tokens: a "token" step comes first.
    bearer = await bearer_for(campaign.id) if bearer_for is not None else None
    imap, smtp = await asyncio.gather(
        check_imap(campaign, secrets, bearer), check_smtp(campaign, secrets, bearer)
    )
    return ConnectionReport(campaign=campaign.name, ok=imap.ok and smtp.ok, checks=[imap, smtp])
