"""/: search earlier interactions. One still in my inbox opens in place (the search closes);
any other opens read only (`ThreadScreen`) over the search, which Esc comes back to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionSummary

from ..screens.search import SearchScreen
from ..screens.thread_screen import ThreadScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def search(agent: AgentScreen) -> None:
    def viewer(item: InteractionSummary) -> ThreadScreen | None:
        if item.id in agent.inbox.order:
            return None  # the search closes with it: `done` opens it in place
        return ThreadScreen(agent.client, item.id)

    def done(item: InteractionSummary | None) -> None:
        if item is None:
            return
        if item.id in agent.inbox.order:
            agent.inbox.move_cursor(row=agent.inbox.order.index(item.id))
            agent.open_thread(item.id)
        else:  # it left the inbox meanwhile (transferred, closed elsewhere)
            agent.app.push_screen(ThreadScreen(agent.client, item.id))

    agent.app.push_screen(SearchScreen(agent.client, viewer=viewer), done)
