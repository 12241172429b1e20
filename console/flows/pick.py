"""t: the waiting queue of the agent's pick-mode campaigns, to take one from (nobody is
pushed mail there). The queue modal returns the interaction to take; the screen's `take`
worker asks the engine and posts `InteractionTaken`; a refusal (a colleague took it first,
or the agent is at the campaign's limit) is the worker's error, shown as a notification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..screens.pick import PickScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def pick(agent: AgentScreen) -> None:
    queue = agent.pick_queue
    if queue is None or not queue.campaigns:
        agent.notify(
            "None of your campaigns lets agents take mail from its queue: it comes to you.",
            markup=False,
        )
        return

    def chosen(interaction_id: int | None) -> None:
        if interaction_id is not None:
            agent.take(interaction_id)

    agent.app.push_screen(PickScreen(queue), chosen)
