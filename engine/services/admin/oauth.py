"""OAuth2 for campaign mailboxes, the HTTP side: device flow, token refresh, grant state.

An admin authorises a campaign from a terminal with the device authorization grant (RFC
8628): `authorize` asks the provider for a user code, shows it, and polls the token endpoint
in the background until the admin has signed in (or refused, or let the code expire). The
refresh token is stored encrypted like the passwords; access tokens stay in memory and are
refreshed before they expire (engine/domain/oauth.py `refresh_due`) and once more when a
server refuses one (`Bearer.token(refused)`). When the provider refuses a refresh for good the
grant is marked "revoked" and every later login fails at once, without a request to anyone,
until someone authorises again: the mailbox's backoff then costs a database read, not the
provider's or the mail server's patience.

No token ever leaves this module except as the argument of a login: not in a log line, an
error, an event or an `OAuthStatus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import select

from data.db import Database
from data.models import Campaign, CampaignOAuth
from data.secrets import SecretBox, SecretError
from engine.api.schemas import OAuthSettingsIn, OAuthStatus
from engine.config import Settings
from engine.domain.oauth import (
    DEFAULT_INTERVAL,
    DEVICE_GRANT,
    PRESETS,
    SLOW_DOWN_STEP,
    Bearer,
    Endpoints,
    GrantRevoked,
    OAuthConfigError,
    OAuthError,
    Provider,
    device_poll_outcome,
    endpoints,
    redact,
    refresh_due,
    refresh_refused_for_good,
)
from engine.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 20.0
_MAX_DETAIL = 300


def _reauthorize(name: str, again: str = " again") -> str:
    where = f"ctrl+o in the campaign form, or postdesk ctl campaign authorize {name!r}"
    return f"Authorize{again} ({where})"


@dataclass
class _Access:
    token: str = field(repr=False)
    issued_at: float
    expires_at: float


# The states a campaign's row may show before a grant is stored.
_BEFORE_GRANT = frozenset({"not-authorized", "waiting", "denied", "expired", "failed"})


@dataclass
class _Flow:
    """A running device flow (in memory: the device code is a secret, and short-lived)."""

    state: str  # waiting | authorized | denied | expired | failed
    user_code: str = ""
    verification_uri: str = ""
    expires_at: float = 0.0
    detail: str = ""
    authorized_at: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class OAuthService:
    def __init__(
        self,
        db: Database,
        secrets: SecretBox,
        settings: Settings,
        on_authorized: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.secrets = secrets
        self.settings = settings
        self.on_authorized = on_authorized  # the engine restarts the campaign's mailbox
        self.clock: Callable[[], float] = time.time  # tests move it past an expiry
        self._access: dict[int, _Access] = {}
        self._flows: dict[int, _Flow] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.refreshes = 0  # access tokens fetched with a refresh token (for tests and stats)

    # -- settings --------------------------------------------------------------------------

    def client(self, provider: str) -> tuple[str, str]:
        """(client id, client secret) registered for `provider` in this installation."""
        s = self.settings
        pairs = {
            "google": (s.oauth_google_client_id, s.oauth_google_client_secret),
            "microsoft": (s.oauth_microsoft_client_id, s.oauth_microsoft_client_secret),
            "custom": (s.oauth_custom_client_id, s.oauth_custom_client_secret),
        }
        return pairs.get(provider, ("", ""))

    async def _campaign(self, name: str) -> tuple[Campaign, CampaignOAuth | None]:
        async with self.db.session() as session:
            campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
            if campaign is None:
                raise NotFound(f"no campaign {name!r}")
            row = await session.get(CampaignOAuth, campaign.id)
            return campaign, row

    async def settings_of(self, campaign_id: int) -> CampaignOAuth | None:
        """The campaign's OAuth row when it logs in with OAuth2, else None (passwords)."""
        async with self.db.session() as session:
            row = await session.get(CampaignOAuth, campaign_id)
        return row if row is not None and row.enabled else None

    def _status(self, campaign: Campaign, row: CampaignOAuth | None) -> OAuthStatus:
        if row is None:
            return OAuthStatus(campaign=campaign.name, auth="password")
        flow = self._flows.get(campaign.id)
        state, detail = row.state, row.detail
        authorized_at = row.authorized_at
        user_code = uri = ""
        code_expires: datetime | None = None
        if flow is not None and flow.state == "authorized":
            if row.state in _BEFORE_GRANT:
                # The row was read a moment before the grant was stored: the flow knows.
                state, detail = "authorized", ""
                authorized_at = flow.authorized_at
            else:
                self._flows.pop(campaign.id, None)  # the row has caught up and speaks now
        elif flow is not None:
            state, detail = flow.state, flow.detail
            if state != "waiting" and row.state == "authorized":
                detail += " (the earlier sign-in still works)"
            if flow.state == "waiting":
                user_code, uri = flow.user_code, flow.verification_uri
                code_expires = datetime.fromtimestamp(flow.expires_at, UTC)
        return OAuthStatus(
            campaign=campaign.name,
            auth="oauth2" if row.enabled else "password",
            provider=row.provider,  # type: ignore[arg-type]
            tenant=row.tenant,
            device_url=row.device_url,
            token_url=row.token_url,
            scope=row.scope,
            mechanism=row.mechanism,  # type: ignore[arg-type]
            client_configured=bool(self.client(row.provider)[0]),
            state=state,  # type: ignore[arg-type]
            detail=detail,
            verification_uri=uri,
            user_code=user_code,
            code_expires_at=code_expires,
            authorized_at=authorized_at,
        )

    async def status(self, name: str, *, wait: float = 0) -> OAuthStatus:
        """Where the campaign's sign-in stands; with `wait`, a sign-in still waiting is
        answered when it ends or after `wait` seconds, whichever comes first."""
        campaign, row = await self._campaign(name)
        flow = self._flows.get(campaign.id)
        if wait > 0 and flow is not None and flow.state == "waiting" and flow.task is not None:
            # shield: a console that goes away must not cancel the sign-in itself.
            await asyncio.wait([asyncio.shield(flow.task)], timeout=wait)
            campaign, row = await self._campaign(name)
        return self._status(campaign, row)

    async def configure(self, name: str, data: OAuthSettingsIn) -> OAuthStatus:
        """Save how the campaign logs in. Changing the provider or its endpoints drops the
        grant (it belongs to the old ones); switching to passwords keeps it for a way back."""
        if data.auth == "oauth2":
            try:
                endpoints(
                    data.provider,
                    tenant=data.tenant,
                    device_url=data.device_url,
                    token_url=data.token_url,
                    scope=data.scope,
                )
            except OAuthConfigError as exc:
                raise Invalid(f"{exc.field}: {exc}", field=exc.field) from exc
        async with self.db.session() as session, session.begin():
            campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
            if campaign is None:
                raise NotFound(f"no campaign {name!r}")
            row = await session.get(CampaignOAuth, campaign.id)
            if row is None:
                row = CampaignOAuth(campaign_id=campaign.id, refresh_token_enc=None)
                session.add(row)
            where = (data.provider, data.tenant, data.device_url, data.token_url)
            moved = (row.provider, row.tenant, row.device_url, row.token_url) != where
            if moved:
                row.refresh_token_enc = None
                row.state, row.detail, row.authorized_at = "not-authorized", "", None
            row.enabled = data.auth == "oauth2"
            row.provider, row.tenant = data.provider, data.tenant
            row.device_url, row.token_url = data.device_url, data.token_url
            row.scope, row.mechanism = data.scope, data.mechanism
            row.changed_at = datetime.now(UTC)
            campaign_id = campaign.id
        self._access.pop(campaign_id, None)
        flow = self._flows.get(campaign_id)
        if (moved or data.auth == "password") and flow is not None:
            # A sign-in still waiting belongs to the old provider: its grant must not land.
            self._flows.pop(campaign_id, None)
            if flow.task is not None:
                flow.task.cancel()
        if self.on_authorized is not None:
            await self.on_authorized(campaign_id)  # the mailbox logs in the new way
        return await self.status(name)

    # -- device flow -------------------------------------------------------------------------

    async def authorize(self, name: str) -> OAuthStatus:
        """Start a device flow; the answer carries the URL and the code to show the admin."""
        campaign, row = await self._campaign(name)
        if row is None or not row.enabled:
            raise Conflict(
                f"campaign {name!r} logs in with passwords: choose an OAuth2 provider first "
                f"(postdesk ctl campaign oauth {name!r} --provider google|microsoft|custom)"
            )
        client_id, client_secret = self.client(row.provider)
        if not client_id:
            variable = f"POSTDESK_OAUTH_{row.provider.upper()}_CLIENT_ID"
            raise Conflict(
                f"no {PRESETS[row.provider].label} application is configured for this "  # type: ignore[index]
                f"installation: set {variable} (and the secret if it has one) for the engine; "
                "see docs/oauth.md"
            )
        where = self._endpoints(row)
        old = self._flows.pop(campaign.id, None)
        if old is not None and old.task is not None:
            old.task.cancel()
        status, body = await self._post(
            where.device_url, {"client_id": client_id, "scope": where.scope}
        )
        device_code = str(body.get("device_code", ""))
        user_code = str(body.get("user_code", ""))
        uri = str(body.get("verification_uri") or body.get("verification_url") or "")
        if status != 200 or not device_code or not user_code or not uri:
            raise Conflict(
                f"the provider did not start the sign-in ({self._describe(status, body)}); "
                "check the client id and the provider's settings"
            )
        interval = _number(body.get("interval"), DEFAULT_INTERVAL)
        flow = _Flow(
            state="waiting",
            user_code=_one_line(user_code, 40),
            verification_uri=_one_line(uri, 300),
            expires_at=self.clock() + _number(body.get("expires_in"), 900),
            detail="open the address, sign in as the mailbox's account and enter the code",
        )
        self._flows[campaign.id] = flow
        flow.task = asyncio.create_task(
            self._poll(
                campaign.id, name, flow, where, device_code, client_id, client_secret, interval
            ),
            name=f"oauth-device:{campaign.id}",
        )
        return self._status(campaign, row)

    async def cancel(self, name: str) -> OAuthStatus:
        campaign, row = await self._campaign(name)
        flow = self._flows.pop(campaign.id, None)
        if flow is not None and flow.task is not None:
            flow.task.cancel()
        return self._status(campaign, row)

    async def stop(self) -> None:
        for flow in self._flows.values():
            if flow.task is not None:
                flow.task.cancel()
        for flow in self._flows.values():
            if flow.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await flow.task

    async def _poll(
        self,
        campaign_id: int,
        name: str,
        flow: _Flow,
        where: Endpoints,
        device_code: str,
        client_id: str,
        client_secret: str,
        interval: float,
    ) -> None:
        form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
        if client_secret:
            form["client_secret"] = client_secret
        while True:
            await asyncio.sleep(interval)
            if self.clock() > flow.expires_at:
                flow.state, flow.detail = "expired", "the code expired before anyone used it"
                return
            try:
                status, body = await self._post(where.token_url, form)
            except OAuthError as exc:
                log.warning("campaign %s: device flow poll failed: %s", name, exc)
                continue  # a network blip; the code is still good
            if status == 200 and body.get("access_token"):
                try:
                    await self._authorized(campaign_id, name, body)
                except OAuthError as exc:
                    flow.state, flow.detail = "failed", str(exc)
                    return
                flow.state, flow.detail = "authorized", ""
                flow.authorized_at = datetime.now(UTC)  # kept until a status read sees the row
                if self.on_authorized is not None:
                    await self.on_authorized(campaign_id)
                return
            outcome = device_poll_outcome(str(body.get("error", "")))
            if outcome == "pending":
                continue
            if outcome == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if outcome == "denied":
                flow.state = "denied"
                flow.detail = "the sign-in was refused at the provider; authorise again"
            elif outcome == "expired":
                flow.state, flow.detail = "expired", "the code expired; authorise again"
            else:
                flow.state = "failed"
                flow.detail = f"the provider refused: {self._describe(status, body)}"
            log.warning("campaign %s: device flow ended: %s", name, flow.state)
            return

    async def _authorized(self, campaign_id: int, name: str, body: dict[str, Any]) -> None:
        refresh = str(body.get("refresh_token", ""))
        if not refresh:
            raise OAuthError("the provider gave no refresh token (is offline_access in the scope?)")
        self._remember(campaign_id, body)
        async with self.db.session() as session, session.begin():
            row = await session.get_one(CampaignOAuth, campaign_id)
            row.refresh_token_enc = self.secrets.encrypt(refresh)
            row.state, row.detail = "authorized", ""
            row.authorized_at = datetime.now(UTC)
        log.info("campaign %s: OAuth2 grant stored", name)

    # -- tokens for logins -------------------------------------------------------------------

    async def bearer_for(self, campaign_id: int) -> Bearer | None:
        """The token source of a campaign that logs in with OAuth2; None: it uses passwords."""
        row = await self.settings_of(campaign_id)
        return None if row is None else self.bearer(campaign_id, row.mechanism)

    def bearer(self, campaign_id: int, mechanism: str) -> Bearer:
        async def token(refused: str) -> str:
            return await self.access_token(campaign_id, refused=refused)

        return Bearer(
            mechanism="oauthbearer" if mechanism == "oauthbearer" else "xoauth2", token=token
        )

    async def access_token(self, campaign_id: int, *, refused: str = "") -> str:
        lock = self._locks.setdefault(campaign_id, asyncio.Lock())
        async with lock:  # IMAP and SMTP of one campaign share one refresh
            cached = self._access.get(campaign_id)
            now = self.clock()
            if cached is not None and refused and cached.token != refused:
                return cached.token  # the other protocol has just replaced the refused one
            if (
                cached is not None
                and not refused
                and not refresh_due(cached.issued_at, cached.expires_at, now)
            ):
                return cached.token
            return await self._refresh(campaign_id)

    async def _refresh(self, campaign_id: int) -> str:
        async with self.db.session() as session:
            row = await session.get(CampaignOAuth, campaign_id)
            campaign = await session.get_one(Campaign, campaign_id)
        name = campaign.name
        if row is None or not row.enabled:
            raise OAuthError(f"campaign {name!r} does not log in with OAuth2")
        if row.state == "revoked":
            # The action first: a mailbox list shows the start of this line only.
            raise GrantRevoked(f"OAuth2 revoked: {_reauthorize(name)}; {row.detail}")
        try:
            refresh = self.secrets.decrypt(row.refresh_token_enc)
        except SecretError as exc:
            raise OAuthError(str(exc)) from exc
        if not refresh:
            raise OAuthError(f"OAuth2 not authorised yet: {_reauthorize(name, '')}")
        client_id, client_secret = self.client(row.provider)
        if not client_id:
            raise OAuthError(
                f"POSTDESK_OAUTH_{row.provider.upper()}_CLIENT_ID is not set for the engine"
            )
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id}
        if client_secret:
            form["client_secret"] = client_secret
        status, body = await self._post(self._endpoints(row).token_url, form)
        self.refreshes += 1
        token = str(body.get("access_token", ""))
        if status == 200 and token:
            self._remember(campaign_id, body)
            rotated = str(body.get("refresh_token", ""))
            if rotated and rotated != refresh:
                async with self.db.session() as session, session.begin():
                    stored = await session.get_one(CampaignOAuth, campaign_id)
                    stored.refresh_token_enc = self.secrets.encrypt(rotated)
            return token
        self._access.pop(campaign_id, None)
        error = str(body.get("error", ""))
        described = self._describe(status, body)
        if refresh_refused_for_good(status, error):
            async with self.db.session() as session, session.begin():
                stored = await session.get_one(CampaignOAuth, campaign_id)
                stored.state = "revoked"
                stored.detail = _one_line(f"the provider refused to refresh: {described}", 200)
            log.warning("campaign %s: OAuth2 grant refused for good (%s)", name, described)
            raise GrantRevoked(
                f"OAuth2 revoked: {_reauthorize(name)}; "
                f"the provider refused to refresh: {described}"
            )
        raise OAuthError(f"token refresh failed: {described}")

    def _remember(self, campaign_id: int, body: dict[str, Any]) -> None:
        now = self.clock()
        self._access[campaign_id] = _Access(
            token=str(body["access_token"]),
            issued_at=now,
            expires_at=now + _number(body.get("expires_in"), 3600),
        )

    # -- HTTP --------------------------------------------------------------------------------

    def _endpoints(self, row: CampaignOAuth) -> Endpoints:
        provider: Provider = row.provider  # type: ignore[assignment]
        try:
            return endpoints(
                provider,
                tenant=row.tenant,
                device_url=row.device_url,
                token_url=row.token_url,
                scope=row.scope,
            )
        except OAuthConfigError as exc:
            raise OAuthError(f"{exc.field}: {exc}") from exc

    async def _post(self, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST a form, answer (status, JSON object). Errors carry no part of `form`."""
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, data=form, headers={"Accept": "application/json"}) as response,
            ):
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = {}
                return response.status, body if isinstance(body, dict) else {}
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            host = url.split("/")[2] if url.count("/") >= 2 else url
            raise OAuthError(
                f"cannot reach the provider at {host}: {exc.__class__.__name__}"
            ) from None

    def _describe(self, status: int, body: dict[str, Any]) -> str:
        error = _one_line(str(body.get("error", "")), 60) or f"HTTP {status}"
        text = _one_line(str(body.get("error_description", "")), 160)
        secrets = [a.token for a in self._access.values()]
        return redact(f"{error}: {text}" if text else error, secrets)


def _number(value: object, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 10**7:
        return float(value)
    if isinstance(value, str) and value.isdigit():
        return float(value)
    return default


def _one_line(text: str, limit: int) -> str:
    """Provider text (untrusted) as one short printable line."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(cleaned.split())[:limit]
