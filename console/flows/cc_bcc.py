"""C: the interaction's CC and BCC, which every reply carries from then on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..screens.ccbcc import CcBccScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def cc_bcc(agent: AgentScreen, detail: InteractionDetail) -> None:
    def done(result: InteractionDetail | None) -> None:
        if result is not None:
            agent.show_detail(result)
            agent.notify("CC/BCC saved")

    agent.app.push_screen(CcBccScreen(agent.client, detail), done)
