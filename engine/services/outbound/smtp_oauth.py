"""SMTP AUTH with OAuth2 bearer tokens: XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628).

aiosmtplib speaks XOAUTH2 (`auth_xoauth2`) but not OAUTHBEARER, and neither retries: a token
the server refuses is tried once more, fresh from the provider, before the login counts as
failed (the token may have been revoked and re-granted, or expired early at the server).
"""

from __future__ import annotations

import aiosmtplib

from engine.domain.oauth import Bearer, redact, sasl_b64

_AUTH_CONTINUE = 334
_AUTH_OK = 235


async def bearer_login(smtp: aiosmtplib.SMTP, user: str, bearer: Bearer) -> None:
    """Log in on a connected `smtp` (STARTTLS done); raise SMTPAuthenticationError if the
    server refuses a fresh token too. The error text never holds the token."""
    await smtp.ehlo()
    code, message = 0, ""
    token = ""
    for _attempt in range(2):
        token = await bearer.token(token)  # the second time: a fresh one for the refused one
        if bearer.mechanism == "xoauth2":
            try:
                await smtp.auth_xoauth2(user, token)
                return
            except aiosmtplib.SMTPAuthenticationError as exc:
                code, message = exc.code, redact(exc.message, [token])
                continue
        initial = sasl_b64("oauthbearer", user, token, smtp.hostname or "", smtp.port or 0)
        response = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", initial.encode())
        if response.code == _AUTH_CONTINUE:  # the error challenge; "%x01" ends the exchange
            response = await smtp.execute_command(b"AQ==")
        if response.code == _AUTH_OK:
            return
        code, message = response.code, redact(response.message, [token])
    raise aiosmtplib.SMTPAuthenticationError(
        code, f"the server did not accept the OAuth2 token for {user}: {message}"
    )
