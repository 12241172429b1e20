"""The live view of an agent's screen across engine nodes: watch changes and frames.

A supervisor on node B may watch an agent whose console is on node A. The watches themselves
are shared already: each is an open row of the audit log, which every node reads
(`engine/services/people/monitoring.py` asks it who watches an agent). What crosses here:

- `watchers`: an agent's watchers changed (a watch began or ended on the sending node): every
  node reads that agent's open screen watches again and tells the agent's consoles it has;
- `frame`: a frame of an agent's screen, sent by the agent's node when someone on another node
  watches; each node hands it to the watchers at its consoles.

On their own NOTIFY channel (`postdesk_screens`), heard on the node's listening connection
(`node_events.py`). A payload may not exceed 8,000 bytes and a full frame of a large terminal
is bigger, so a frame is cut into pieces (base64 of its JSON, under `PIECE` bytes each),
all notified in one transaction: PostgreSQL delivers them together, in order, at its commit,
so a frame arrives whole or not at all and no table is written or read for it. The rate is the
agent console's (at most 4 frames a second, 8 accepted: `MAX_FRAMES`), and frames cross only
while someone on another node watches; a diff frame is usually one piece.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text

from data.db import Database

log = logging.getLogger(__name__)

CHANNEL = "postdesk_screens"
PIECE = 7_000  # characters of base64 per notification (PostgreSQL's limit: 8,000 bytes)


@dataclass
class _Partial:
    count: int
    pieces: list[str]


class ScreenRelay:
    def __init__(self, db: Database, token: str) -> None:
        self.db = db
        self.token = token  # this process's (NodeEvents.token): its own notifications
        self.on_watchers: Callable[[str], Awaitable[None]] | None = None
        self.on_frame: Callable[[str, bytes], None] | None = None
        self._partial: dict[str, _Partial] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- telling ----
    async def watchers_changed(self, agent: str) -> None:
        await self._notify([{"n": self.token, "k": "w", "a": agent}])

    async def frame(self, agent: str, frame: bytes) -> None:
        """`frame`: the ScreenFrame's JSON, as the agent's console sent it (checked)."""
        data = base64.b64encode(frame).decode("ascii")
        pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)] or [""]
        frame_id = secrets.token_hex(6)
        await self._notify(
            [
                {"n": self.token, "k": "f", "a": agent, "f": frame_id, "i": i, "c": len(pieces)}
                | {"d": piece}
                for i, piece in enumerate(pieces)
            ]
        )

    async def _notify(self, bodies: list[dict[str, object]]) -> None:
        async with self.db.engine.connect() as conn:
            for body in bodies:
                await conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": json.dumps(body, separators=(",", ":"))},
                )
            await conn.commit()  # all the pieces are delivered together, here

    # ---- hearing ----
    def heard(self, payload: str) -> None:
        try:
            body = json.loads(payload)
            if body["n"] == self.token:
                return
            kind, agent = str(body["k"]), str(body["a"])
            if kind == "w":
                if self.on_watchers is not None:
                    task = asyncio.ensure_future(self.on_watchers(agent))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                return
            frame_id, index, count = str(body["f"]), int(body["i"]), int(body["c"])
            piece = str(body["d"])
        except (TypeError, KeyError, ValueError) as exc:
            log.warning("not a screen notification (%s): %.80r", exc, payload)
            return
        partial = self._partial.get(frame_id)
        if index == 0:
            partial = self._partial[frame_id] = _Partial(count, [])
            if len(self._partial) > 64:  # pieces of frames whose rest never came
                self._partial.pop(next(iter(self._partial)))
        if partial is None or len(partial.pieces) != index:
            return  # its start was missed (the connection was down): the next full one shows
        partial.pieces.append(piece)
        if len(partial.pieces) < partial.count:
            return
        del self._partial[frame_id]
        if self.on_frame is not None:
            self.on_frame(agent, base64.b64decode("".join(partial.pieces)))
