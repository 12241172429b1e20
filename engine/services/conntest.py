"""The campaign connection test (the manual's green/red status), step by step.

Each of IMAP and SMTP is tried the way the engine will use it, and the report says exactly which
step failed: name resolution, connect, TLS, login, or the mailbox folder. Nothing is fetched
or sent.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import aioimaplib
import aiosmtplib

from data.models import Campaign, InboundTransport, Security
from data.secrets import SecretBox
from engine.api.schemas import ConnectionCheck, ConnectionReport
from engine.services.imap import ImapAccount, ImapError, connect
from engine.services.outbox import tls_context

TIMEOUT = 15.0


async def _resolve(host: str, port: int) -> str | None:
    try:
        await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror or exc}"
    return None


def _tls_problem(exc: BaseException) -> str | None:
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, ssl.SSLError | ssl.CertificateError):
            return f"TLS failed: {chain}"
        chain = chain.__cause__ or chain.__context__
    return None


async def check_imap(campaign: Campaign, secrets: SecretBox) -> ConnectionCheck:
    if not campaign.receive_emails or campaign.inbound != InboundTransport.IMAP:
        return ConnectionCheck(service="imap", ok=True, step="skipped", detail="not receiving")
    host, port = campaign.imap_host, campaign.imap_port
    if problem := await _resolve(host, port):
        return ConnectionCheck(service="imap", ok=False, step="resolve", detail=problem)
    account = ImapAccount(
        host=host,
        port=port,
        security=campaign.imap_security,
        username=campaign.imap_username or campaign.email_address,
        password=secrets.decrypt(campaign.imap_password_enc),
        folder=campaign.imap_folder or "INBOX",
        tls_verify=campaign.tls_verify,
    )
    try:
        client = await asyncio.wait_for(connect(account, timeout=TIMEOUT), TIMEOUT * 2)
    except (ImapError, OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        if tls := _tls_problem(exc):
            return ConnectionCheck(service="imap", ok=False, step="tls", detail=tls)
        text = str(exc) or exc.__class__.__name__
        step = "login" if "login refused" in text else "connect"
        return ConnectionCheck(service="imap", ok=False, step=step, detail=text)
    try:
        response = await client.select(account.folder)
        if response.result != "OK":
            return ConnectionCheck(
                service="imap",
                ok=False,
                step="mailbox",
                detail=f"folder {account.folder!r} is missing or not selectable",
            )
        return ConnectionCheck(service="imap", ok=True, step="done", detail="logged in")
    finally:
        try:
            await asyncio.wait_for(client.logout(), 5)
        except (aioimaplib.AioImapException, OSError, TimeoutError):
            pass


async def check_smtp(campaign: Campaign, secrets: SecretBox) -> ConnectionCheck:
    host, port = campaign.smtp_host, campaign.smtp_port
    if problem := await _resolve(host, port):
        return ConnectionCheck(service="smtp", ok=False, step="resolve", detail=problem)
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
        if tls := _tls_problem(exc):
            return ConnectionCheck(service="smtp", ok=False, step="tls", detail=tls)
        return ConnectionCheck(service="smtp", ok=False, step="connect", detail=str(exc))
    try:
        if campaign.smtp_username:
            try:
                await smtp.login(
                    campaign.smtp_username, secrets.decrypt(campaign.smtp_password_enc)
                )
            except aiosmtplib.SMTPException as exc:
                return ConnectionCheck(service="smtp", ok=False, step="login", detail=str(exc))
        return ConnectionCheck(service="smtp", ok=True, step="done", detail="ready to send")
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


async def check_campaign(campaign: Campaign, secrets: SecretBox) -> ConnectionReport:
    imap, smtp = await asyncio.gather(check_imap(campaign, secrets), check_smtp(campaign, secrets))
    return ConnectionReport(campaign=campaign.name, ok=imap.ok and smtp.ok, checks=[imap, smtp])
