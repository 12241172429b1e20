"""A small OAuth 2.0 identity provider on loopback, the stand-in for Google and Microsoft.

Postdesk's OAuth code talks HTTP to an authorization server (device authorization, token and
refresh) and the mail servers check the bearer tokens it presents (Dovecot's ``oauth2`` passdb
through token introspection, the SMTP sink through the same endpoint). Against mocks none of
that would be tried for real, so this serves, in a background thread with its own event loop:

* ``POST /device`` (RFC 8628 3.1): device_code, user_code, verification_uri, interval;
* ``POST /token``: ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` (with the RFC
  8628 3.5 answers authorization_pending, slow_down, access_denied, expired_token) and
  ``grant_type=refresh_token`` (``invalid_grant`` once the grant was revoked);
* ``POST /introspect`` (RFC 7662): ``{"active": true, "username": ...}`` for a live token.

The test plays the person at the browser: ``approve(user_code, username)`` or ``deny(...)``;
``revoke(username)`` withdraws a grant (its tokens stop working at once); access tokens expire
after ``access_ttl`` seconds, or at once with ``expire_access_tokens()``. Everything it issued
is kept in ``issued_secrets()`` so tests can look for those strings where they must not be.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web

from tests.servers import LOOPBACK, free_port

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_ID = "postdesk-test-client"
CLIENT_SECRET = "postdesk-test-secret"


@dataclass
class _Grant:
    username: str
    refresh_token: str
    revoked: bool = False


@dataclass
class _DeviceCode:
    device_code: str
    user_code: str
    expires_at: float
    scope: str
    state: str = "pending"  # pending | approved | denied | used
    username: str = ""
    last_poll: float = 0.0


@dataclass
class _Access:
    grant: _Grant
    expires_at: float


@dataclass
class IdentityProvider:
    """See the module docstring. Use as a context manager or call ``start``/``stop``."""

    access_ttl: float = 3600.0
    device_ttl: float = 600.0
    interval: int = 1
    rotate_refresh: bool = False  # Microsoft hands out a new refresh token with each refresh
    host: str = LOOPBACK
    port: int = field(default_factory=free_port)
    requests: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _devices: dict[str, _DeviceCode] = field(default_factory=dict)
    _grants: list[_Grant] = field(default_factory=list)
    _access: dict[str, _Access] = field(default_factory=dict)
    _slow_down: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    # -- addresses ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def device_url(self) -> str:
        return f"{self.base_url}/device"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def verification_uri(self) -> str:
        return f"{self.base_url}/activate"

    # -- the person at the browser, and the admin of the provider ------------------------------

    def wait_for_user_code(self, timeout: float = 30.0) -> str:
        """The user code of the newest pending device authorization (waits for one)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(d.state == "pending" for d in self._devices.values()), timeout
            )
            if not ok:
                raise TimeoutError("nobody asked the identity provider for a device code")
            pending = [d for d in self._devices.values() if d.state == "pending"]
            return pending[-1].user_code

    def approve(self, user_code: str, username: str) -> None:
        with self._lock:
            device = self._by_user_code(user_code)
            device.state, device.username = "approved", username

    def deny(self, user_code: str) -> None:
        with self._lock:
            self._by_user_code(user_code).state = "denied"

    def slow_down(self, times: int = 1) -> None:
        """Answer ``slow_down`` to the next ``times`` device-code polls."""
        with self._lock:
            self._slow_down += times

    def revoke(self, username: str) -> None:
        """Withdraw every grant of ``username``: its refresh and access tokens stop working."""
        with self._lock:
            for grant in self._grants:
                if grant.username == username:
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        with self._lock:
            for access in self._access.values():
                access.expires_at = 0.0

    def issued_secrets(self) -> list[str]:
        """Every access token, refresh token and device code handed out so far."""
        with self._lock:
            return [
                *self._access,
                *(g.refresh_token for g in self._grants),
                *(d.device_code for d in self._devices.values()),
            ]

    def live_access_tokens(self, username: str) -> list[str]:
        now = time.time()
        with self._lock:
            return [
                token
                for token, access in self._access.items()
                if access.grant.username == username
                and not access.grant.revoked
                and access.expires_at > now
            ]

    def _by_user_code(self, user_code: str) -> _DeviceCode:
        for device in self._devices.values():
            if device.user_code == user_code:
                return device
        raise KeyError(f"no device authorization with user code {user_code!r}")

    # -- HTTP --------------------------------------------------------------------------------

    async def _device(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests["device"] += 1
        if form.get("client_id") != CLIENT_ID:
            return web.json_response({"error": "invalid_client"}, status=401)
        device = _DeviceCode(
            device_code=secrets.token_urlsafe(24),
            user_code=f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}",
            expires_at=time.time() + self.device_ttl,
            scope=str(form.get("scope", "")),
        )
        with self._cond:
            self._devices[device.device_code] = device
            self._cond.notify_all()
        return web.json_response(
            {
                "device_code": device.device_code,
                "user_code": device.user_code,
                "verification_uri": self.verification_uri,
                "expires_in": int(self.device_ttl),
                "interval": self.interval,
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = str(form.get("grant_type", ""))
        self.requests[grant_type] += 1
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return web.json_response({"error": "invalid_client"}, status=401)
        with self._lock:
            if grant_type == DEVICE_GRANT:
                answer = self._device_poll(str(form.get("device_code", "")))
            elif grant_type == "refresh_token":
                answer = self._refresh(str(form.get("refresh_token", "")))
            else:
                answer = {"error": "unsupported_grant_type"}
        return web.json_response(answer, status=400 if "error" in answer else 200)

    def _device_poll(self, device_code: str) -> dict[str, object]:
        device = self._devices.get(device_code)
        if device is None or device.state == "used":
            return {"error": "invalid_grant"}
        if time.time() > device.expires_at:
            return {"error": "expired_token"}
        if self._slow_down:
            self._slow_down -= 1
            return {"error": "slow_down"}
        if device.state == "denied":
            return {"error": "access_denied"}
        if device.state == "pending":
            return {"error": "authorization_pending"}
        device.state = "used"
        grant = _Grant(device.username, secrets.token_urlsafe(32))
        self._grants.append(grant)
        return {**self._issue(grant), "refresh_token": grant.refresh_token}

    def _refresh(self, refresh_token: str) -> dict[str, object]:
        for grant in self._grants:
            if grant.refresh_token == refresh_token and not grant.revoked:
                answer = self._issue(grant)
                if self.rotate_refresh:
                    grant.refresh_token = secrets.token_urlsafe(32)
                    answer["refresh_token"] = grant.refresh_token
                return answer
        return {"error": "invalid_grant", "error_description": "the grant was revoked"}

    def _issue(self, grant: _Grant) -> dict[str, object]:
        token = secrets.token_urlsafe(32)
        self._access[token] = _Access(grant, time.time() + self.access_ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.access_ttl)}

    async def _introspect(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests["introspect"] += 1
        with self._lock:
            access = self._access.get(str(form.get("token", "")))
            live = access is not None and not access.grant.revoked
            if access is None or not live or access.expires_at <= time.time():
                return web.json_response({"active": False})
            return web.json_response(
                {"active": True, "username": access.grant.username, "exp": int(access.expires_at)}
            )

    def check(self, token: str) -> str | None:
        """The user a live access token belongs to (the introspection rule, for the SMTP sink)."""
        with self._lock:
            access = self._access.get(token)
            if access is None or access.grant.revoked or access.expires_at <= time.time():
                return None
            return access.grant.username

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/device", self._device)
            app.router.add_post("/token", self._token)
            app.router.add_post("/introspect", self._introspect)
            self._runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, self.host, self.port)
                loop.run_until_complete(site.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="oauth-idp", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise RuntimeError(f"identity provider did not start: {failure[0]}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
