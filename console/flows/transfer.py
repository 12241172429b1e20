"""T: hand the highlighted interaction to a colleague of its campaign or to a queue, with an
internal note (docs/transfer.md); n: add an internal note to it.

The engine lists where it may go (`transfer_targets`), the modal returns the choice, and the
transfer's answer comes back as an `InteractionTransferred` message: the interaction leaves
the inbox. The engine's `moved` event may arrive first and does the same (one toast either
way). A refusal (a colleague went offline meanwhile) is the worker's error, a notification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..messages import InteractionTransferred, ThreadLoaded
from ..screens.note_input import NoteInput
from ..screens.transfer import TransferChoice, TransferScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def transfer(agent: AgentScreen, detail: InteractionDetail) -> None:
    agent.run_worker(_choose(agent, detail), group="transfer", exclusive=True, exit_on_error=False)


async def _choose(agent: AgentScreen, detail: InteractionDetail) -> None:
    targets = await agent.client.transfer_targets(detail.id)

    def chosen(choice: TransferChoice | None) -> None:
        if choice is not None:
            agent.run_worker(
                _send(agent, detail.id, choice), group="transfer-send", exit_on_error=False
            )

    agent.app.push_screen(TransferScreen(detail, targets), chosen)


async def _send(agent: AgentScreen, interaction_id: int, choice: TransferChoice) -> None:
    summary = await agent.client.transfer(
        interaction_id, to_agent=choice.to_agent, to_campaign=choice.to_campaign, note=choice.note
    )
    agent.post_message(InteractionTransferred(summary, choice.words))


def add_note(agent: AgentScreen, detail: InteractionDetail) -> None:
    def written(text: str | None) -> None:
        if text:
            agent.run_worker(_note(agent, detail.id, text), group="note", exit_on_error=False)

    agent.app.push_screen(NoteInput(detail.subject), written)


async def _note(agent: AgentScreen, interaction_id: int, text: str) -> None:
    thread = agent.thread
    detail = await agent.client.add_note(interaction_id, text)
    agent.post_message(ThreadLoaded(thread, detail))
