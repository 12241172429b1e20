"""/: search earlier interactions. One still in my inbox opens in place; any other opens
read only (`ThreadScreen`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionSummary

from ..screens.search import SearchScreen
from ..screens.thread_screen import ThreadScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def search(agent: AgentScreen) -> None:
    def done(item: InteractionSummary | None) -> None:
        if item is None:
            return
        if item.id in agent.inbox.order:
            agent.inbox.move_cursor(row=agent.inbox.order.index(item.id))
            agent.open_thread(item.id)
        else:
            agent.app.push_screen(ThreadScreen(agent.client, item.id))

    agent.app.push_screen(SearchScreen(agent.client), done)
