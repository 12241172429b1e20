"""The login check on save: a campaign whose mail servers refuse it is not saved.

The manual says of the campaign's password: "If it is written incorrectly, it will not be
possible to create the new campaign, the user will be warned". So a new campaign, or a change
to how a campaign logs in, is tried first with the connection test (`connection_test.py`), the
way the engine will use it; a failing step refuses the save with the form field to fix in
`field` (the host for a name that does not resolve or a server that does not answer, the
security for TLS, the password for a refused login, the folder for a missing mailbox).

Only the side that changed is tried, and IMAP only when the campaign receives over IMAP (the
test itself skips it otherwise). `check=False` on the request skips it all, for provisioning
before the servers exist (`postdesk ctl campaign add|set --no-check`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Literal

from data.models import Campaign
from data.secrets import SecretBox
from engine.api.schemas import ConnectionCheck
from engine.errors import Invalid
from engine.services.admin.connection_test import check_imap, check_smtp

CHECK_SECONDS = 20.0

# A change to one of these is a change to how the campaign logs in to that server.
IMAP_LOGIN_FIELDS = frozenset(
    {
        "receive_emails",
        "inbound",
        "email_address",  # the IMAP user when none is given
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_username",
        "imap_password",
        "imap_folder",
        "tls_verify",
    }
)
SMTP_LOGIN_FIELDS = frozenset(
    {"smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password", "tls_verify"}
)

# The form field that fixes each failing step.
_FIELD_OF_STEP = {
    "resolve": "host",
    "connect": "host",
    "tls": "security",
    "login": "password",
    "mailbox": "folder",
}
_SERVICE_NAME = {"imap": "IMAP", "smtp": "SMTP"}


class LoginRefused(Invalid):
    """The campaign's IMAP or SMTP server refused it at `checks[0].step`; nothing was saved."""

    def __init__(self, checks: list[ConnectionCheck]) -> None:
        first = checks[0]
        field = f"{first.service}_{_FIELD_OF_STEP.get(first.step, 'host')}"
        said = "; ".join(_said(check) for check in checks)
        super().__init__(f"{field}: {said}; the campaign is not saved", field=field)
        self.checks = checks


def _said(check: ConnectionCheck) -> str:
    service = _SERVICE_NAME[check.service]
    passed = f" ({', '.join(check.passed)} passed)" if check.passed else ""
    return f"{service} {check.step} failed{passed}: {check.detail}"


def sides_changed(fields: Iterable[str]) -> tuple[bool, bool]:
    """(IMAP, SMTP): whether a patch of these fields changes how the campaign logs in."""
    given = set(fields)
    return bool(given & IMAP_LOGIN_FIELDS), bool(given & SMTP_LOGIN_FIELDS)


async def require_login(
    campaign: Campaign, secrets: SecretBox, *, imap: bool = True, smtp: bool = True
) -> None:
    """Raise LoginRefused unless the servers asked for take the campaign's login."""
    tries: dict[Literal["imap", "smtp"], asyncio.Future[ConnectionCheck]] = {}
    if imap:
        tries["imap"] = asyncio.ensure_future(check_imap(campaign, secrets))
    if smtp:
        tries["smtp"] = asyncio.ensure_future(check_smtp(campaign, secrets))
    if not tries:
        return
    # Within the client's 30 s per call, so the refusal reaches the form rather than a timeout.
    await asyncio.wait(tries.values(), timeout=CHECK_SECONDS)
    checks = []
    for service, task in tries.items():
        if task.done():
            checks.append(task.result())
            continue
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        checks.append(
            ConnectionCheck(
                service=service,
                ok=False,
                step="connect",
                detail=f"no answer within {CHECK_SECONDS:g} s",
                passed=[],
            )
        )
    failed = [check for check in checks if not check.ok]
    if failed:
        raise LoginRefused(failed)


def login_probe(stored: Campaign) -> Campaign:
    """A detached copy of what a campaign's login reads (and the cross-field rules), to try a
    patch on before saving."""
    return Campaign(
        name=stored.name,
        email_address=stored.email_address,
        from_name=stored.from_name,
        maildir_path=stored.maildir_path,
        enabled=stored.enabled,
        receive_emails=stored.receive_emails,
        inbound=stored.inbound,
        imap_host=stored.imap_host,
        imap_port=stored.imap_port,
        imap_security=stored.imap_security,
        imap_username=stored.imap_username,
        imap_password_enc=stored.imap_password_enc,
        imap_folder=stored.imap_folder,
        smtp_host=stored.smtp_host,
        smtp_port=stored.smtp_port,
        smtp_security=stored.smtp_security,
        smtp_username=stored.smtp_username,
        smtp_password_enc=stored.smtp_password_enc,
        tls_verify=stored.tls_verify,
    )
