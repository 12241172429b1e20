"""HTTP/JSON + WebSocket client over the engine's Unix socket.

Errors come back as one small hierarchy so callers can tell "engine not running" from "you may
not do that" from "bad input" without looking at HTTP status codes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, TypeAdapter

from engine.api.schemas import (
    EVENT_ADAPTER,
    BlacklistOut,
    BreakReasonList,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CcBccIn,
    ConnectionReport,
    DraftIn,
    Event,
    ForwardIn,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    Me,
    MemberIn,
    MonitorSnapshot,
    NewInteractionIn,
    QuarantineDetail,
    QuarantineOut,
    RenderIn,
    RenderOut,
    ReplyIn,
    RetryOut,
    StatusIn,
    TemplateIn,
    TemplateOut,
    UploadOut,
    UserIn,
    UserOut,
)

T = TypeVar("T")
ACT_AS_HEADER = "X-Postdesk-User"


class EngineError(Exception):
    """Root of every error the client raises."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EngineUnavailable(EngineError, ConnectionError):
    pass


class Forbidden(EngineError, PermissionError):
    pass


class NotFound(EngineError, LookupError):
    pass


class Invalid(EngineError, ValueError):
    pass


_BY_STATUS: dict[int, type[EngineError]] = {
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    400: Invalid,
    409: Invalid,
    422: Invalid,
}


class EngineClient:
    def __init__(self, socket_path: Path, *, act_as: str | None = None) -> None:
        self.socket_path = socket_path
        self.act_as = act_as
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {ACT_AS_HEADER: self.act_as} if self.act_as else {}
            self._session = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(self.socket_path)),
                base_url="http://postdesk",
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        data = body.model_dump_json(exclude_unset=True) if body is not None else None
        try:
            async with self._http().request(
                method,
                f"/api/v1{path}",
                data=data,
                headers={"Content-Type": "application/json"} if data else None,
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    try:
                        message = json.loads(text).get("error", text)
                    except ValueError:
                        message = text
                    raise _BY_STATUS.get(resp.status, EngineError)(message, resp.status)
                return json.loads(text) if text else None
        except (aiohttp.ClientConnectionError, FileNotFoundError) as exc:
            raise EngineUnavailable(
                f"the Postdesk engine is not reachable at {self.socket_path}: {exc}"
            ) from exc

    async def _get(self, path: str, adapter: TypeAdapter[T]) -> T:
        return adapter.validate_python(await self._call("GET", path))

    # ---- identity and status ----
    async def me(self) -> Me:
        return Me.model_validate(await self._call("GET", "/me"))

    async def set_status(self, status: str, reason: str = "") -> Me:
        body = StatusIn.model_validate({"status": status, "reason": reason})
        return Me.model_validate(await self._call("POST", "/me/status", body))

    # ---- interactions ----
    async def interactions(
        self, *, scope: str = "mine", state: str | None = None
    ) -> list[InteractionSummary]:
        query = f"?scope={scope}" + (f"&state={state}" if state else "")
        return await self._get(f"/interactions{query}", TypeAdapter(list[InteractionSummary]))

    async def interaction(self, interaction_id: int) -> InteractionDetail:
        return InteractionDetail.model_validate(
            await self._call("GET", f"/interactions/{interaction_id}")
        )

    async def reply(
        self,
        interaction_id: int,
        body: str,
        *,
        with_history: bool = False,
        uploads: list[str] | None = None,
    ) -> InteractionDetail:
        payload = ReplyIn(body=body, with_history=with_history, uploads=uploads or [])
        return InteractionDetail.model_validate(
            await self._call("POST", f"/interactions/{interaction_id}/reply", payload)
        )

    async def set_cc_bcc(self, interaction_id: int, cc: str, bcc: str) -> InteractionDetail:
        """Invalid addresses raise Invalid naming the bad entry."""
        return InteractionDetail.model_validate(
            await self._call("PUT", f"/interactions/{interaction_id}/cc", CcBccIn(cc=cc, bcc=bcc))
        )

    async def forward(self, interaction_id: int, forward: ForwardIn) -> InteractionDetail:
        return InteractionDetail.model_validate(
            await self._call("POST", f"/interactions/{interaction_id}/forward", forward)
        )

    async def new_interaction(self, new: NewInteractionIn) -> InteractionDetail:
        return InteractionDetail.model_validate(await self._call("POST", "/interactions", new))

    async def save_draft(self, interaction_id: int, text: str) -> None:
        await self._call("PUT", f"/interactions/{interaction_id}/draft", DraftIn(text=text))

    async def search(self, query: str, *, scope: str = "mine") -> list[InteractionSummary]:
        """Campaign name, client email, subject or client name containing `query`."""
        return await self._get(
            f"/search?scope={scope}&q={quote(query, safe='')}",
            TypeAdapter(list[InteractionSummary]),
        )

    async def upload(self, filename: str, data: bytes, content_type: str = "") -> UploadOut:
        """Send a file for a later reply, forward or new interaction; returns its token."""
        try:
            async with self._http().post(
                "/api/v1/uploads",
                data=data,
                params={"filename": filename, "content_type": content_type},
                headers={"Content-Type": "application/octet-stream"},
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise _BY_STATUS.get(resp.status, EngineError)(
                        json.loads(text).get("error", text), resp.status
                    )
                return UploadOut.model_validate_json(text)
        except (aiohttp.ClientConnectionError, FileNotFoundError) as exc:
            raise EngineUnavailable(f"the Postdesk engine is not reachable: {exc}") from exc

    async def attachment(self, attachment_id: int) -> bytes:
        try:
            async with self._http().get(f"/api/v1/attachments/{attachment_id}") as resp:
                if resp.status >= 400:
                    text = await resp.text()
                    raise _BY_STATUS.get(resp.status, EngineError)(
                        json.loads(text).get("error", text), resp.status
                    )
                return await resp.read()
        except (aiohttp.ClientConnectionError, FileNotFoundError) as exc:
            raise EngineUnavailable(f"the Postdesk engine is not reachable: {exc}") from exc

    async def render_template(
        self, template_id: int, interaction_id: int | None = None
    ) -> RenderOut:
        body = RenderIn(template_id=template_id, interaction_id=interaction_id)
        return RenderOut.model_validate(await self._call("POST", "/templates/render", body))

    async def limits(self) -> LimitsOut:
        return LimitsOut.model_validate(await self._call("GET", "/limits"))

    async def break_reasons(self) -> list[str]:
        """The reasons an agent may give for a break, in the admin's order."""
        return BreakReasonList.model_validate(await self._call("GET", "/break-reasons")).reasons

    async def set_break_reasons(self, reasons: list[str]) -> list[str]:
        """Replace the whole list (admin); the engine names the first bad entry."""
        body = BreakReasonList(reasons=reasons)
        return BreakReasonList.model_validate(
            await self._call("PUT", "/break-reasons", body)
        ).reasons

    async def close_interaction(self, interaction_id: int) -> InteractionSummary:
        return InteractionSummary.model_validate(
            await self._call("POST", f"/interactions/{interaction_id}/close")
        )

    # ---- supervision ----
    async def monitor(self) -> MonitorSnapshot:
        return MonitorSnapshot.model_validate(await self._call("GET", "/monitor"))

    # ---- administration ----
    async def users(self) -> list[UserOut]:
        return await self._get("/users", TypeAdapter(list[UserOut]))

    async def add_user(self, user: UserIn) -> UserOut:
        return UserOut.model_validate(await self._call("POST", "/users", user))

    async def campaigns(self) -> list[CampaignOut]:
        return await self._get("/campaigns", TypeAdapter(list[CampaignOut]))

    async def add_campaign(self, campaign: CampaignIn) -> CampaignOut:
        return CampaignOut.model_validate(await self._call("POST", "/campaigns", campaign))

    async def update_campaign(self, name: str, patch: CampaignPatch) -> CampaignOut:
        return CampaignOut.model_validate(
            await self._call("PATCH", f"/campaigns/{quote(name, safe='')}", patch)
        )

    async def test_campaign(self, name: str) -> ConnectionReport:
        """Log in to the campaign's IMAP and SMTP servers; says which step failed."""
        return ConnectionReport.model_validate(
            await self._call("POST", f"/campaigns/{quote(name, safe='')}/test")
        )

    async def templates(self) -> list[TemplateOut]:
        return await self._get("/templates", TypeAdapter(list[TemplateOut]))

    async def add_template(self, template: TemplateIn) -> TemplateOut:
        return TemplateOut.model_validate(await self._call("POST", "/templates", template))

    async def add_member(self, campaign: str, username: str) -> CampaignOut:
        body = MemberIn(campaign=campaign, username=username)
        return CampaignOut.model_validate(await self._call("POST", "/members", body))

    async def blacklist(self) -> list[BlacklistOut]:
        return await self._get("/blacklist", TypeAdapter(list[BlacklistOut]))

    # ---- quarantine ----
    async def quarantine(self) -> list[QuarantineOut]:
        return await self._get("/quarantine", TypeAdapter(list[QuarantineOut]))

    async def quarantined(self, quarantine_id: int) -> QuarantineDetail:
        return QuarantineDetail.model_validate(
            await self._call("GET", f"/quarantine/{quarantine_id}")
        )

    async def retry_quarantined(self, quarantine_id: int) -> RetryOut:
        return RetryOut.model_validate(
            await self._call("POST", f"/quarantine/{quarantine_id}/retry")
        )

    # ---- events ----
    async def events(self) -> AsyncIterator[Event]:
        """Yield engine events until the connection drops (then EngineUnavailable)."""
        try:
            async with self._http().ws_connect("/api/v1/events", heartbeat=20) as ws:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        yield EVENT_ADAPTER.validate_json(msg.data)
                    elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                        break
        except (aiohttp.ClientConnectionError, FileNotFoundError) as exc:
            raise EngineUnavailable(f"event stream lost: {exc}") from exc
        except aiohttp.WSServerHandshakeError as exc:
            raise _BY_STATUS.get(exc.status, EngineError)(exc.message, exc.status) from exc
        raise EngineUnavailable("event stream closed by the engine")
