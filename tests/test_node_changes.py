"""What one node tells the others (engine/domain/node_changes.py): small payloads whole, large
ones cut under PostgreSQL's 8,000 bytes with nothing lost, foreign payloads refused."""

from __future__ import annotations

import pytest

from engine.domain import node_changes
from engine.domain.node_changes import PAYLOAD_LIMIT, Changes


def test_a_small_change_travels_in_one_payload_and_comes_back_equal() -> None:
    changes = Changes(
        interactions={3, 1},
        queue_interactions={1},
        messages={7},
        agents={2},
        stats=True,
        events=['{"type":"campaigns"}'],
        dialers={4},
    )
    [payload] = node_changes.encode("n1", changes)
    assert node_changes.decode(payload) == ("n1", changes)


def test_a_burst_is_cut_under_the_limit_and_nothing_is_lost() -> None:
    changes = Changes(
        interactions=set(range(1_000_000, 1_003_000)),
        queue_interactions=set(range(1_000_000, 1_001_000)),
        messages=set(range(5_000_000, 5_002_000)),
        agents=set(range(500)),
        queue=True,
        events=['{"type":"logout","username":"ann","by":"Sue"}', "x" * 9000],
    )
    payloads = node_changes.encode("n1", changes)
    assert all(len(p.encode()) <= PAYLOAD_LIMIT for p in payloads)
    back = Changes()
    for payload in payloads:
        node, part = node_changes.decode(payload)
        assert node == "n1"
        back.interactions |= part.interactions
        back.queue_interactions |= part.queue_interactions
        back.messages |= part.messages
        back.agents |= part.agents
        back.queue = back.queue or part.queue
        back.events += part.events
    assert back.interactions == changes.interactions
    assert back.queue_interactions == changes.queue_interactions
    assert back.messages == changes.messages and back.agents == changes.agents
    assert back.queue
    # An event too large for a notification stays on its own node.
    assert back.events == ['{"type":"logout","username":"ann","by":"Sue"}']


@pytest.mark.parametrize("payload", ["", "{}", "[1]", '{"n": "x", "i": ["a"]}', "not json"])
def test_a_payload_that_is_not_ours_is_refused(payload: str) -> None:
    with pytest.raises(ValueError):
        node_changes.decode(payload)
