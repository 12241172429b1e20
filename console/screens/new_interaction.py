"""`c` new interaction (and `s`, starting one from a message of the thread).

The agent picks one of their campaigns, the recipients and a subject; the engine sends the
first message from the campaign's address and the interaction lands in the agent's inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label

from engine.api.schemas import InteractionDetail, NewInteractionIn
from engine.client.client import EngineClient

from ..widgets.form import FormField
from ..widgets.pick_list import PickList
from .compose_base import ComposeScreen
from .compose_drafts import Kept


class NewInteractionScreen(ComposeScreen):
    BODY_ID = "new-body"
    BODY_PLACEHOLDER = "Write the first message."

    def __init__(
        self,
        api: EngineClient,
        *,
        campaigns: Sequence[str],
        campaign: str | None = None,
        to: str = "",
        subject: str = "",
        body: str = "",
        max_attachment_bytes: int | None = None,
        kept: Kept | None = None,
    ) -> None:
        super().__init__(api, draft=body, max_attachment_bytes=max_attachment_bytes, kept=kept)
        self.campaigns = list(campaigns)
        self.campaign = campaign if campaign in self.campaigns else None
        if self.campaign is None and len(self.campaigns) == 1:
            self.campaign = self.campaigns[0]
        self.to = to
        self.subject = subject

    def title_text(self) -> Text:
        return Text("New interaction", style="bold")

    def compose_fields(self) -> Iterable[Widget]:
        campaign = PickList[str](
            [(name, name) for name in self.campaigns],
            prompt="Choose a campaign",
            value=self.campaign if self.campaign is not None else PickList.NULL,
            allow_blank=self.campaign is None,
            id="new-campaign",
            compact=True,
        )
        yield Horizontal(Label("Campaign", markup=False), campaign, id="new-campaign-row")
        yield FormField("To", input_id="new-to", value=self.to)
        yield FormField("CC", input_id="new-cc")
        yield FormField("BCC", input_id="new-bcc")
        yield FormField("Subject", input_id="new-subject", value=self.subject)

    def initial_focus(self) -> Widget:
        if self.campaign is None:
            return self.query_one("#new-campaign")
        return self.query_one("#new-to") if not self.to else self.body_area

    def value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}-field", FormField).input.value.strip()

    @property
    def chosen_campaign(self) -> str | None:
        value = self.query_one("#new-campaign", PickList).value
        return value if isinstance(value, str) else None

    def problem(self) -> str | None:
        if self.chosen_campaign is None:
            return "Choose the campaign to write from."
        for input_id, what in (("new-to", "a recipient"), ("new-subject", "a subject")):
            if not self.value(input_id):
                self.query_one(f"#{input_id}-field", FormField).show_error(f"Add {what}.")
                return f"Add {what}."
        return None

    async def submit(self) -> InteractionDetail:
        campaign = self.chosen_campaign
        assert campaign is not None
        return await self.api.new_interaction(
            NewInteractionIn(
                campaign=campaign,
                to=self.value("new-to"),
                cc=self.value("new-cc"),
                bcc=self.value("new-bcc"),
                subject=self.value("new-subject"),
                body=self.draft,
                uploads=self.uploads.tokens,
            )
        )
