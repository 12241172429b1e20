"""The engine's control API as typed methods: wire structs in, wire structs out.

Requests are JSON over HTTP/1.1 and events come as one long response of JSON lines, both on
the engine's Unix socket (`transport`). Errors come back as one small hierarchy (`errors`) so
callers can tell "engine not running" from "you may not do that" from "bad input" without
looking at HTTP status codes.

Over ~500 lines (about 730) because it is one method per engine route (about a hundred, most
of them three lines), grouped under comments in the order of the server's route modules; one
class is what every console screen and `postdesk ctl` hold, and a method is found by the
route's name. Cutting it in pieces would need mixins or several clients per caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote, urlencode

from engine.api.schemas import (
    AgentInfo,
    AgentRatings,
    AgentRow,
    AuditRow,
    BlacklistIn,
    BlacklistOut,
    BlacklistRemove,
    BreakReasonList,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignRatings,
    CampaignRemoved,
    CampaignRemoveIn,
    CcBccIn,
    ChatIn,
    ChatLine,
    ChatReadIn,
    ChatSupervisor,
    CloseIn,
    ConnectionReport,
    DialerAttachmentOut,
    DialerBoardRow,
    DialerIn,
    DialerListOut,
    DialerOut,
    DialerPatch,
    DialerRecordPage,
    DialerRecordQuery,
    DialerStatus,
    DispositionStats,
    DispositionTree,
    DraftIn,
    Event,
    ForwardIn,
    FrameAck,
    HandIn,
    Hello,
    ImportReport,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    MailboxHealth,
    Me,
    MemberChanges,
    MemberIn,
    MemberPatch,
    MembersChanged,
    MonitorSnapshot,
    NewInteractionIn,
    NoteIn,
    OAuthSettingsIn,
    OAuthStatus,
    PickQueue,
    QuarantineDetail,
    QuarantineOut,
    RatingOut,
    ReassignIn,
    ReassignOut,
    RecordingChoices,
    RecordingMails,
    RecordingPage,
    RecordingQuery,
    RemovalPlan,
    RenderIn,
    RenderOut,
    ReplyIn,
    RetryOut,
    Schema,
    ScreenFrame,
    StatsOut,
    StatusIn,
    TemplateIn,
    TemplateOut,
    TransferIn,
    TransferTargets,
    UploadOut,
    UserIn,
    UserOut,
    UserPatch,
    WatchIn,
    WatchOut,
    decode,
    decode_event,
    encode,
    to_builtins,
)
from engine.client.errors import (
    EngineError,
    EngineUnavailable,
    Forbidden,
    Invalid,
    NotFound,
    error_for,
)
from engine.client.transport import Response, UnixTransport

__all__ = [
    "ACT_AS_HEADER",
    "EngineClient",
    "EngineError",
    "EngineUnavailable",
    "Forbidden",
    "Invalid",
    "NotFound",
]

T = TypeVar("T")
ACT_AS_HEADER = "X-Postdesk-User"
TIMEOUT = 30.0  # seconds, per call
FILE_TIMEOUT = 600.0  # a recording's PDF or mails, made when asked (issue 15)
UPLOAD_TIMEOUT = 1800.0  # a dialer list of millions of rows is checked and stored meanwhile


class EngineClient:
    def __init__(self, socket_path: Path, *, act_as: str | None = None) -> None:
        self.socket_path = socket_path
        self.act_as = act_as
        headers = [(ACT_AS_HEADER, act_as)] if act_as else []
        self._transport = UnixTransport(socket_path, headers, timeout=TIMEOUT)

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Hang up calls and event streams in flight; the client may still be used after."""
        await self._transport.close()

    async def _send(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Response:
        resp = await self._transport.request(method, f"/api/v1{path}", body, content_type)
        if resp.status >= 400:
            raise error_for(resp.status, resp.body)
        return resp

    async def _call(self, method: str, path: str, answer: type[T], body: Schema | None = None) -> T:
        data = encode(body) if body is not None else None
        resp = await self._send(method, path, data, "application/json" if data else None)
        return decode(resp.body, answer)

    async def _do(self, method: str, path: str, body: Schema | None = None) -> None:
        """A call whose answer carries nothing the caller needs."""
        data = encode(body) if body is not None else None
        await self._send(method, path, data, "application/json" if data else None)

    # ---- identity and status ----
    async def me(self) -> Me:
        return await self._call("GET", "/me", Me)

    async def set_status(self, status: str, reason: str = "") -> Me:
        body = StatusIn(status=status, reason=reason)  # type: ignore[arg-type]  # checked by the engine
        return await self._call("POST", "/me/status", Me, body)

    # ---- interactions ----
    async def interactions(
        self, *, scope: str = "mine", state: str | None = None, agent: str | None = None
    ) -> list[InteractionSummary]:
        """`agent`: with scope "all", only that agent's (supervisors)."""
        query = {"scope": scope} | ({"state": state} if state else {})
        query |= {"agent": agent} if agent else {}
        return await self._call(
            "GET", f"/interactions?{urlencode(query, quote_via=quote)}", list[InteractionSummary]
        )

    async def interaction(
        self, interaction_id: int, *, mark_read: bool = True
    ) -> InteractionDetail:
        """The thread; for its agent it also marks the interaction read unless told not to."""
        query = "" if mark_read else "?read=0"
        return await self._call("GET", f"/interactions/{interaction_id}{query}", InteractionDetail)

    async def reply(
        self,
        interaction_id: int,
        body: str,
        *,
        with_history: bool = False,
        uploads: list[str] | None = None,
    ) -> InteractionDetail:
        payload = ReplyIn(body=body, with_history=with_history, uploads=uploads or [])
        return await self._call(
            "POST", f"/interactions/{interaction_id}/reply", InteractionDetail, payload
        )

    async def set_cc_bcc(self, interaction_id: int, cc: str, bcc: str) -> InteractionDetail:
        """Invalid addresses raise Invalid naming the bad entry."""
        return await self._call(
            "PUT", f"/interactions/{interaction_id}/cc", InteractionDetail, CcBccIn(cc=cc, bcc=bcc)
        )

    async def forward(self, interaction_id: int, forward: ForwardIn) -> InteractionDetail:
        return await self._call(
            "POST", f"/interactions/{interaction_id}/forward", InteractionDetail, forward
        )

    async def new_interaction(self, new: NewInteractionIn) -> InteractionDetail:
        return await self._call("POST", "/interactions", InteractionDetail, new)

    async def save_draft(self, interaction_id: int, text: str) -> None:
        await self._do("PUT", f"/interactions/{interaction_id}/draft", DraftIn(text=text))

    async def upload(self, filename: str, data: bytes, content_type: str = "") -> UploadOut:
        """Send a file for a later reply, forward or new interaction; returns its token."""
        query = urlencode({"filename": filename, "content_type": content_type}, quote_via=quote)
        resp = await self._send("POST", f"/uploads?{query}", data, "application/octet-stream")
        return decode(resp.body, UploadOut)

    async def attachment(self, attachment_id: int) -> bytes:
        """The attachment's bytes (the engine also names the file, in X-Filename)."""
        return (await self._send("GET", f"/attachments/{attachment_id}")).body

    async def render_template(
        self, template_id: int, interaction_id: int | None = None
    ) -> RenderOut:
        body = RenderIn(template_id=template_id, interaction_id=interaction_id)
        return await self._call("POST", "/templates/render", RenderOut, body)

    async def limits(self) -> LimitsOut:
        return await self._call("GET", "/limits", LimitsOut)

    async def break_reasons(self) -> list[str]:
        """The reasons an agent may give for a break, in the admin's order."""
        return (await self._call("GET", "/break-reasons", BreakReasonList)).reasons

    async def set_break_reasons(self, reasons: list[str]) -> list[str]:
        """Replace the whole list (admin); the engine names the first bad entry."""
        body = BreakReasonList(reasons=reasons)
        return (await self._call("PUT", "/break-reasons", BreakReasonList, body)).reasons

    async def close_interaction(
        self, interaction_id: int, *, disposition: str = "", note: str = ""
    ) -> InteractionSummary:
        """Close with a wrap-up: a path of the campaign's codes and an internal note."""
        body = CloseIn(disposition=disposition, note=note)
        return await self._call(
            "POST", f"/interactions/{interaction_id}/close", InteractionSummary, body
        )

    async def pick_queue(self) -> PickQueue:
        """What waits in my pick-mode campaigns (none: `campaigns` is empty)."""
        return await self._call("GET", "/pick", PickQueue)

    async def take(self, interaction_id: int) -> InteractionSummary:
        """Take a waiting interaction of a pick-mode campaign; `Conflict` when another agent
        took it first (or I am at the campaign's limit)."""
        return await self._call("POST", f"/interactions/{interaction_id}/take", InteractionSummary)

    # ---- supervision ----
    async def monitor(self) -> MonitorSnapshot:
        return await self._call("GET", "/monitor", MonitorSnapshot)

    async def stats(self, since: datetime | None = None, until: datetime | None = None) -> StatsOut:
        """Campaign statistics over [since, until) (default: today, UTC day)."""
        query = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
        tail = f"?{urlencode(query, quote_via=quote)}" if query else ""
        return await self._call("GET", f"/stats{tail}", StatsOut)

    async def agent_info(self, username: str) -> AgentInfo:
        """The manual's "Info" about an agent (supervisors and admins)."""
        return await self._call("GET", f"/agents/{quote(username, safe='')}/info", AgentInfo)

    async def mailboxes(self) -> list[MailboxHealth]:
        """Whether each campaign's mailbox is being read (supervisors and admins)."""
        return await self._call("GET", "/mailboxes", list[MailboxHealth])

    async def pause_agent(self, username: str) -> AgentRow:
        """No new interactions for the agent until resumed (supervisors)."""
        return await self._call("POST", f"/agents/{quote(username, safe='')}/pause", AgentRow)

    async def resume_agent(self, username: str) -> AgentRow:
        return await self._call("POST", f"/agents/{quote(username, safe='')}/resume", AgentRow)

    async def chat(self, username: str) -> list[ChatLine]:
        """The last lines between me and `username` (a supervisor and an agent), oldest first."""
        query = urlencode({"with": username}, quote_via=quote)
        return await self._call("GET", f"/chat?{query}", list[ChatLine])

    async def say(self, username: str, text: str) -> ChatLine:
        return await self._call("POST", "/chat", ChatLine, ChatIn(to=username, text=text))

    async def unread_chat(self) -> list[ChatLine]:
        """Lines sent to me that no open chat has shown me (e.g. while I was away)."""
        return await self._call("GET", "/chat/unread", list[ChatLine])

    async def chat_read(self, username: str) -> None:
        await self._do("POST", "/chat/read", ChatReadIn(peer=username))

    async def chat_supervisors(self) -> list[ChatSupervisor]:
        """The supervisors I may raise a hand to, and whether each is on duty."""
        return await self._call("GET", "/chat/supervisors", list[ChatSupervisor])

    async def raise_hand(self, text: str) -> list[ChatLine]:
        """A line to every supervisor of my campaigns on duty (one ChatLine each)."""
        return await self._call("POST", "/chat/hand", list[ChatLine], HandIn(text=text))

    async def log_out_agent(self, username: str) -> AgentRow:
        """The agent's consoles leave; the agent is Offline (supervisors)."""
        return await self._call("POST", f"/agents/{quote(username, safe='')}/logout", AgentRow)

    # ---- administration ----
    async def users(self) -> list[UserOut]:
        return await self._call("GET", "/users", list[UserOut])

    async def add_user(self, user: UserIn) -> UserOut:
        return await self._call("POST", "/users", UserOut, user)

    async def update_user(self, username: str, patch: UserPatch) -> UserOut:
        return await self._call("PATCH", f"/users/{quote(username, safe='')}", UserOut, patch)

    async def campaigns(self) -> list[CampaignOut]:
        return await self._call("GET", "/campaigns", list[CampaignOut])

    async def add_campaign(self, campaign: CampaignIn) -> CampaignOut:
        return await self._call("POST", "/campaigns", CampaignOut, campaign)

    async def update_campaign(self, name: str, patch: CampaignPatch) -> CampaignOut:
        return await self._call("PATCH", f"/campaigns/{quote(name, safe='')}", CampaignOut, patch)

    async def test_campaign(self, name: str) -> ConnectionReport:
        """Log in to the campaign's IMAP and SMTP servers; says which step failed."""
        return await self._call("POST", f"/campaigns/{quote(name, safe='')}/test", ConnectionReport)

    async def templates(self) -> list[TemplateOut]:
        return await self._call("GET", "/templates", list[TemplateOut])

    async def add_template(self, template: TemplateIn) -> TemplateOut:
        return await self._call("POST", "/templates", TemplateOut, template)

    async def replace_template(self, template_id: int, template: TemplateIn) -> TemplateOut:
        return await self._call("PUT", f"/templates/{template_id}", TemplateOut, template)

    async def delete_template(self, template_id: int) -> None:
        """Refused (Conflict) while a campaign signs or confirms with it."""
        await self._do("DELETE", f"/templates/{template_id}")

    async def add_member(self, campaign: str, username: str) -> CampaignOut:
        body = MemberIn(campaign=campaign, username=username)
        return await self._call("POST", "/members", CampaignOut, body)

    async def set_member(
        self,
        campaign: str,
        username: str,
        *,
        penalty: int | None = None,
        position: int | None = None,
    ) -> CampaignOut:
        """A member's penalty (0-100) and place in the campaign's order."""
        body = MemberPatch(campaign=campaign, username=username, penalty=penalty, position=position)
        return await self._call("PATCH", "/members", CampaignOut, body)

    async def remove_member(self, campaign: str, username: str) -> CampaignOut:
        """No new interactions of the campaign for the user; assigned ones stay theirs."""
        body = MemberIn(campaign=campaign, username=username)
        return await self._call("DELETE", "/members", CampaignOut, body)

    async def blacklist(self, search: str = "") -> list[BlacklistOut]:
        tail = f"?{urlencode({'search': search}, quote_via=quote)}" if search else ""
        return await self._call("GET", "/blacklist" + tail, list[BlacklistOut])

    async def add_to_blacklist(
        self, email: str, *, campaign: str | None = None, reason: str = ""
    ) -> BlacklistOut:
        """No more mail to `email` from `campaign` (None: from any campaign)."""
        body = BlacklistIn(email=email, campaign=campaign, reason=reason)
        return await self._call("POST", "/blacklist", BlacklistOut, body)

    async def remove_from_blacklist(self, email: str, *, campaign: str | None = None) -> None:
        await self._do("DELETE", "/blacklist", BlacklistRemove(email=email, campaign=campaign))

    # ---- campaign removal and members in bulk ----
    async def removal_plan(self, name: str) -> RemovalPlan:
        """The campaign's open interactions, and where they may be moved when it is removed."""
        return await self._call("GET", f"/campaigns/{quote(name, safe='')}/removal", RemovalPlan)

    async def remove_campaign(self, name: str, *, move_to: str | None = None) -> CampaignRemoved:
        """Removed softly: its recordings stay searchable; open interactions go to `move_to`
        (refused without one while it has any)."""
        body = CampaignRemoveIn(move_to=move_to)
        path = f"/campaigns/{quote(name, safe='')}/remove"
        return await self._call("POST", path, CampaignRemoved, body)

    async def change_members(
        self,
        *,
        add: Iterable[tuple[str, str]] = (),
        remove: Iterable[tuple[str, str]] = (),
    ) -> MembersChanged:
        """(campaign, username) pairs added and removed in one transaction, or none."""
        body = MemberChanges(
            add=[MemberIn(campaign=c, username=u) for c, u in add],
            remove=[MemberIn(campaign=c, username=u) for c, u in remove],
        )
        return await self._call("POST", "/members/changes", MembersChanged, body)

    # ---- ratings (customers' scores of replies, from the public web service) ----
    async def ratings(
        self, *, campaign: str = "", since: str = "", until: str = ""
    ) -> list[RatingOut]:
        """Ratings, oldest first; `since`/`until` are ISO dates or times (UTC)."""
        return await self._call(
            "GET", "/ratings" + _ratings_query(campaign, since, until), list[RatingOut]
        )

    async def campaign_ratings(
        self, *, campaign: str = "", since: str = "", until: str = ""
    ) -> list[CampaignRatings]:
        """Count and average of each campaign's ratings in the period."""
        return await self._call(
            "GET",
            "/ratings/campaigns" + _ratings_query(campaign, since, until),
            list[CampaignRatings],
        )

    async def agent_ratings(
        self, *, campaign: str = "", since: str = "", until: str = ""
    ) -> list[AgentRatings]:
        """Count and average of each agent's rated replies."""
        return await self._call(
            "GET", "/ratings/agents" + _ratings_query(campaign, since, until), list[AgentRatings]
        )

    # ---- quarantine ----
    async def quarantine(self) -> list[QuarantineOut]:
        return await self._call("GET", "/quarantine", list[QuarantineOut])

    async def quarantined(self, quarantine_id: int) -> QuarantineDetail:
        return await self._call("GET", f"/quarantine/{quarantine_id}", QuarantineDetail)

    async def retry_quarantined(self, quarantine_id: int) -> RetryOut:
        return await self._call("POST", f"/quarantine/{quarantine_id}/retry", RetryOut)

    # ---- wrap-up codes (docs/wrapup.md) ----
    async def close_choices(self, interaction_id: int) -> DispositionTree:
        """The active codes the agent closing `interaction_id` chooses from."""
        return await self._call(
            "GET", f"/interactions/{interaction_id}/dispositions", DispositionTree
        )

    async def dispositions(self, campaign: str) -> DispositionTree:
        """A campaign's whole tree of codes, inactive ones too (admins, supervisors)."""
        path = f"/campaigns/{quote(campaign, safe='')}/dispositions"
        return await self._call("GET", path, DispositionTree)

    async def set_dispositions(self, campaign: str, tree: DispositionTree) -> DispositionTree:
        """Save a campaign's whole tree (admin): codes without an id are new ones, codes left
        out are removed."""
        path = f"/campaigns/{quote(campaign, safe='')}/dispositions"
        return await self._call("PUT", path, DispositionTree, tree)

    async def disposition_stats(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> DispositionStats:
        """Closes per campaign and code over [since, until) (default: today, UTC day)."""
        query = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
        tail = f"?{urlencode(query, quote_via=quote)}" if query else ""
        return await self._call("GET", f"/stats/dispositions{tail}", DispositionStats)

    # ---- the email dialer (issue 13): dialers, lists, attachments ----
    async def dialers(self) -> list[DialerOut]:
        return await self._call("GET", "/dialers", list[DialerOut])

    async def add_dialer(self, dialer: DialerIn) -> DialerOut:
        return await self._call("POST", "/dialers", DialerOut, dialer)

    async def update_dialer(self, name: str, patch: DialerPatch) -> DialerOut:
        return await self._call("PATCH", f"/dialers/{quote(name, safe='')}", DialerOut, patch)

    async def remove_dialer(self, name: str) -> None:
        await self._do("DELETE", f"/dialers/{quote(name, safe='')}")

    async def dialer_records(self, dialer: str, query: DialerRecordQuery) -> DialerRecordPage:
        """One page of a dialer's records, by list, state and text (the drill-down)."""
        given = {k: v for k, v in to_builtins(query).items() if v not in ("", None)}
        path = f"/dialers/{quote(dialer, safe='')}/records"
        if given:
            path += "?" + urlencode(given, quote_via=quote)
        return await self._call("GET", path, DialerRecordPage)

    async def dialer_lists(self, dialer: str) -> list[DialerListOut]:
        return await self._call(
            "GET", f"/dialers/{quote(dialer, safe='')}/lists", list[DialerListOut]
        )

    async def upload_list(
        self,
        dialer: str,
        data: bytes,
        *,
        name: str,
        subject: str = "",
        append: bool = False,
        encoding: str = "",
    ) -> ImportReport:
        """Import a CSV into a new list of the dialer (or append to one); the report tells
        what was imported and every refused line with its reason. A large list takes a while
        to check and store, hence its own, longer timeout."""
        query = urlencode(
            {"name": name, "subject": subject, "mode": "append" if append else "new"}
            | ({"encoding": encoding} if encoding else {}),
            quote_via=quote,
        )
        path = f"/api/v1/dialers/{quote(dialer, safe='')}/lists?{query}"
        return await self._long_upload(path, data, ImportReport)

    async def remove_dialer_list(self, list_id: int) -> None:
        await self._do("DELETE", f"/dialer-lists/{list_id}")

    async def dialer_example_csv(self, campaign: str = "") -> str:
        query = f"?campaign={quote(campaign, safe='')}" if campaign else ""
        return (await self._send("GET", f"/dialer-example.csv{query}")).body.decode("utf-8")

    async def attach_dialer_file(
        self, filename: str, data: bytes, content_type: str = ""
    ) -> DialerAttachmentOut:
        query = urlencode({"filename": filename, "content_type": content_type}, quote_via=quote)
        return await self._long_upload(
            f"/api/v1/dialer-attachments?{query}", data, DialerAttachmentOut
        )

    async def dialer_attachments(self) -> list[DialerAttachmentOut]:
        return await self._call("GET", "/dialer-attachments", list[DialerAttachmentOut])

    async def remove_dialer_attachment(self, token: str) -> None:
        await self._do("DELETE", f"/dialer-attachments/{quote(token, safe='')}")

    # ---- the dialer sends (issue 13): play, stop, status ----
    async def play_dialer(self, name: str) -> DialerStatus:
        return await self._call("POST", f"/dialers/{quote(name, safe='')}/play", DialerStatus)

    async def stop_dialer(self, name: str) -> DialerStatus:
        """Returns once the batch in flight is sent and recorded."""
        return await self._call("POST", f"/dialers/{quote(name, safe='')}/stop", DialerStatus)

    async def dialer_status(self, name: str) -> DialerStatus:
        return await self._call("GET", f"/dialers/{quote(name, safe='')}/status", DialerStatus)

    # ---- the supervisor's dialer dashboard (issue 14) ----
    async def dialer_board(self) -> list[DialerBoardRow]:
        """Every dialer with its campaign and its lists' counts (supervisors and admins)."""
        return await self._call("GET", "/dialer-board", list[DialerBoardRow])

    async def _long_upload(self, target: str, data: bytes, answer: type[T]) -> T:
        transport = UnixTransport(self.socket_path, self._transport.headers, timeout=UPLOAD_TIMEOUT)
        try:
            resp = await transport.request("POST", target, data, "application/octet-stream")
        finally:
            await transport.close()
        if resp.status >= 400:
            raise error_for(resp.status, resp.body)
        return decode(resp.body, answer)

    # ---- recordings search ----
    async def recordings(self, query: RecordingQuery) -> RecordingPage:
        """One page of the recordings matching `query` (an agent's: their own only)."""
        given = {
            k: ("1" if v else "0") if isinstance(v, bool) else v
            for k, v in to_builtins(query).items()
            if v not in ("", None)
        }
        return await self._call(
            "GET", "/recordings?" + urlencode(given, quote_via=quote), RecordingPage
        )

    async def recording_choices(self) -> RecordingChoices:
        """The campaigns and agents the caller may pick in the search's lists."""
        return await self._call("GET", "/recordings/choices", RecordingChoices)

    # ---- events ----
    # ---- moving work between people (docs/transfer.md) ----
    async def transfer_targets(self, interaction_id: int) -> TransferTargets:
        """Where my interaction may go: members of its campaign at a console, other
        campaigns that receive mail."""
        return await self._call("GET", f"/interactions/{interaction_id}/targets", TransferTargets)

    async def transfer(
        self, interaction_id: int, *, to_agent: str = "", to_campaign: str = "", note: str = ""
    ) -> InteractionSummary:
        """Hand it to `to_agent`, to `to_campaign`'s queue, or (neither) back to its own
        campaign's queue, with an internal note for whoever takes it next."""
        body = TransferIn(to_agent=to_agent, to_campaign=to_campaign, note=note)
        return await self._call(
            "POST", f"/interactions/{interaction_id}/transfer", InteractionSummary, body
        )

    async def add_note(self, interaction_id: int, text: str) -> InteractionDetail:
        """An internal note in the thread (never sent in mail)."""
        return await self._call(
            "POST", f"/interactions/{interaction_id}/notes", InteractionDetail, NoteIn(text=text)
        )

    async def reassign(
        self,
        username: str,
        *,
        to_agent: str = "",
        interaction_id: int | None = None,
        note: str = "",
    ) -> ReassignOut:
        """A supervisor moves a paused or absent agent's open work (one, or all) to another
        agent or (no `to_agent`) back to each interaction's campaign queue."""
        body = ReassignIn(to_agent=to_agent, interaction_id=interaction_id, note=note)
        return await self._call(
            "POST", f"/agents/{quote(username, safe='')}/reassign", ReassignOut, body
        )

    async def events(self, *, resume: bool = False) -> AsyncIterator[Event]:
        """Yield engine events until the connection drops (then EngineUnavailable).
        `resume`: the same console reconnecting (an agent logged out meanwhile is told)."""
        path = "/api/v1/events?resume=1" if resume else "/api/v1/events"
        heartbeat = 0.0  # until the hello says how often the engine writes on a quiet stream
        async with aclosing(self._transport.messages(path, lambda: heartbeat)) as messages:
            async for message in messages:
                event = decode_event(message)
                if isinstance(event, Hello):
                    heartbeat = event.heartbeat
                yield event

    # ---- OAuth2 mailboxes (issue 17) ----
    async def oauth_status(self, campaign: str, *, wait: float = 0) -> OAuthStatus:
        """How the campaign logs in, and where its OAuth2 grant or device flow stands; with
        `wait` (seconds, at most 25), a sign-in still waiting answers when it ends."""
        path = f"/campaigns/{quote(campaign, safe='')}/oauth"
        if wait > 0:
            path += f"?wait={min(wait, 25):g}"
        return await self._call("GET", path, OAuthStatus)

    async def set_oauth(self, campaign: str, settings: OAuthSettingsIn) -> OAuthStatus:
        path = f"/campaigns/{quote(campaign, safe='')}/oauth"
        return await self._call("PUT", path, OAuthStatus, settings)

    async def authorize(self, campaign: str) -> OAuthStatus:
        """Start a device flow: the answer holds the address and the code to show."""
        path = f"/campaigns/{quote(campaign, safe='')}/oauth/authorize"
        return await self._call("POST", path, OAuthStatus)

    async def cancel_authorize(self, campaign: str) -> OAuthStatus:
        path = f"/campaigns/{quote(campaign, safe='')}/oauth/authorize"
        return await self._call("DELETE", path, OAuthStatus)

    # ---- recordings: printing and export (issue 15) ----
    async def recording_pdf(self, interaction_id: int) -> tuple[str, bytes]:
        """The interaction as a PDF, and the file name the engine suggests."""
        resp = await self._long_get(f"/api/v1/recordings/{interaction_id}/pdf")
        return unquote(resp.headers.get("x-filename", "")), resp.body

    async def recording_mbox(self, interaction_id: int) -> tuple[str, bytes]:
        """The interaction's messages as one mbox (mboxrd), and a file name."""
        resp = await self._long_get(f"/api/v1/recordings/{interaction_id}/mbox")
        return unquote(resp.headers.get("x-filename", "")), resp.body

    async def recording_mails(self, interaction_id: int) -> RecordingMails:
        """The interaction's messages as stored (`.eml` bytes), oldest first."""
        resp = await self._long_get(f"/api/v1/recordings/{interaction_id}/mails")
        return decode(resp.body, RecordingMails)

    async def _long_get(self, target: str) -> Response:
        """A file the engine makes on demand: a PDF of thousands of messages takes longer
        than the 30 s an ordinary call may."""
        transport = UnixTransport(self.socket_path, self._transport.headers, timeout=FILE_TIMEOUT)
        try:
            resp = await transport.request("GET", target, None, None)
        finally:
            await transport.close()
        if resp.status >= 400:
            raise error_for(resp.status, resp.body)
        return resp

    # ---- watching agents: screen views, spies, the audit log (issue 15) ----
    async def watch(
        self,
        kind: str,
        agent: str,
        *,
        interaction_id: int | None = None,
        resume: int | None = None,
    ) -> WatchOut:
        """Start watching `agent` (`kind` "screen" or "spy" with `interaction_id`); `resume`:
        the watch this console held before it reconnected."""
        body = WatchIn(
            kind=kind,  # type: ignore[arg-type]  # checked by the engine
            agent=agent,
            interaction_id=interaction_id,
            resume=resume,
        )
        return await self._call("POST", "/watches", WatchOut, body)

    async def end_watch(self, watch_id: int) -> None:
        await self._do("DELETE", f"/watches/{watch_id}")

    async def send_screen(self, frame: ScreenFrame) -> FrameAck:
        """One frame of this agent's screen, for whoever watches it."""
        return await self._call("POST", "/me/screen", FrameAck, frame)

    async def audit(self, *, since: str = "", limit: int = 1000) -> list[AuditRow]:
        given = {"since": since, "limit": str(limit)}
        query = urlencode({k: v for k, v in given.items() if v}, quote_via=quote)
        return await self._call("GET", f"/audit?{query}", list[AuditRow])


def _ratings_query(campaign: str, since: str, until: str) -> str:
    given = {"campaign": campaign, "since": since, "until": until}
    query = urlencode({k: v for k, v in given.items() if v}, quote_via=quote)
    return f"?{query}" if query else ""
