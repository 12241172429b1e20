"""What one engine node tells the others it changed: ids and flags, never the rebuilt events.

Nodes sharing a PostgreSQL database hear each other's changes through one NOTIFY channel
(`engine/services/node_events.py`). A notification names what changed (interactions,
messages, agents, whether the queue moved, whether statistics count again) and each node
rebuilds its events from a fresh read, as it does for its own changes; only the few events
complete in themselves (a chat line, a log-out) travel whole. PostgreSQL refuses a payload
over 8,000 bytes, so a large batch is cut into several.

Pure: JSON in and out, no database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["PAYLOAD_LIMIT", "Changes", "decode", "encode"]

PAYLOAD_LIMIT = 7_500  # bytes; PostgreSQL's is 8,000 (NAMEDATALEN-sized margin kept)


@dataclass
class Changes:
    interactions: set[int] = field(default_factory=set)
    queue_interactions: set[int] = field(default_factory=set)  # those that entered or left it
    messages: set[int] = field(default_factory=set)
    agents: set[int] = field(default_factory=set)
    queue: bool = False
    stats: bool = False
    events: list[str] = field(default_factory=list)  # complete events, JSON of the wire
    dialers: set[int] = field(default_factory=set)  # whose records changed (progress)
    # The sending node's router routes what it queued: the others need not run a pass for it.
    routed: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.interactions
            or self.messages
            or self.agents
            or self.queue
            or self.stats
            or self.events
            or self.dialers
        )


def _payload(node: str, changes: Changes) -> str:
    body: dict[str, object] = {"n": node}
    if changes.interactions:
        body["i"] = sorted(changes.interactions)
    if changes.queue_interactions:
        body["iq"] = sorted(changes.queue_interactions)
    if changes.messages:
        body["m"] = sorted(changes.messages)
    if changes.agents:
        body["a"] = sorted(changes.agents)
    if changes.queue:
        body["q"] = 1
    if changes.stats:
        body["s"] = 1
    if changes.events:
        body["e"] = changes.events
    if changes.dialers:
        body["d"] = sorted(changes.dialers)
    if changes.routed:
        body["r"] = 1
    return json.dumps(body, separators=(",", ":"))


def encode(node: str, changes: Changes) -> list[str]:
    """The payloads telling `changes` (each under PAYLOAD_LIMIT bytes); an event too large
    to travel is left out (its node's own consoles still hear it)."""
    whole = _payload(node, changes)
    if len(whole.encode()) <= PAYLOAD_LIMIT:
        return [whole]
    out: list[str] = []
    # Ids cost at most 12 bytes each: a few hundred per payload.
    per = (PAYLOAD_LIMIT - 200) // 12
    for name in ("interactions", "queue_interactions", "messages", "agents", "dialers"):
        ids = sorted(getattr(changes, name))
        for start in range(0, len(ids), per):
            part = Changes(**{name: set(ids[start : start + per])})  # type: ignore[arg-type]
            part.routed = changes.routed
            out.append(_payload(node, part))
    for event in changes.events:
        piece = _payload(node, Changes(events=[event]))
        if len(piece.encode()) <= PAYLOAD_LIMIT:
            out.append(piece)
    out.append(
        _payload(node, Changes(queue=changes.queue, stats=changes.stats, routed=changes.routed))
    )
    return out


def decode(payload: str) -> tuple[str, Changes]:
    """(the sending node, what it changed); a payload that is not ours raises ValueError."""
    try:
        body = json.loads(payload)
        node = str(body["n"])
        changes = Changes(
            interactions={int(i) for i in body.get("i", ())},
            queue_interactions={int(i) for i in body.get("iq", ())},
            messages={int(i) for i in body.get("m", ())},
            agents={int(i) for i in body.get("a", ())},
            queue=bool(body.get("q")),
            stats=bool(body.get("s")),
            events=[str(e) for e in body.get("e", ())],
            dialers={int(i) for i in body.get("d", ())},
            routed=bool(body.get("r")),
        )
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a change notification: {payload[:80]!r}") from exc
    return node, changes
