"""r on the supervisor's monitor: move the open work of the selected agent (paused, logged
out or absent) to the queue or to a colleague (docs/transfer.md). The engine refuses an
agent at work (Free): the refusal is the worker's error, a notification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import AgentRow
from engine.text.sanitize import one_line

from ..screens.reassign import ReassignChoice, ReassignScreen

if TYPE_CHECKING:
    from ..screens.supervisor import SupervisorScreen


def reassign(screen: SupervisorScreen, agent: AgentRow, others: list[AgentRow]) -> None:
    screen.run_worker(
        _choose(screen, agent, others), group="reassign", exclusive=True, exit_on_error=False
    )


async def _choose(screen: SupervisorScreen, agent: AgentRow, others: list[AgentRow]) -> None:
    name = one_line(agent.display_name or agent.username, 30)
    if agent.status == "free":
        screen.notify(
            f"{name} is at work: they transfer their own mail, or pause them (p) first.",
            markup=False,
        )
        return
    theirs = await screen.client.interactions(scope="all", state="assigned", agent=agent.username)
    if not theirs:
        screen.notify(f"{name} has no open interaction.", markup=False)
        return

    def chosen(choice: ReassignChoice | None) -> None:
        if choice is not None:
            screen.run_worker(
                _send(screen, agent, choice), group="reassign-send", exit_on_error=False
            )

    screen.app.push_screen(ReassignScreen(agent, theirs, others), chosen)


async def _send(screen: SupervisorScreen, agent: AgentRow, choice: ReassignChoice) -> None:
    moved = await screen.client.reassign(
        agent.username,
        to_agent=choice.to_agent,
        interaction_id=choice.interaction_id,
        note=choice.note,
    )
    count = len(moved.moved)
    noun = "interaction" if count == 1 else "interactions"
    name = one_line(agent.display_name or agent.username, 30)
    screen.notify(f"{count} {noun} of {name} moved to {choice.words}", markup=False)
