"""The demo's world shows the mail-safety rules within its first minute: an out-of-office and
a bounce are filed without an answer or a place in the queue, and a customer whose subject
tries to add a Bcc to our answer is answered with exactly our headers."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from engine.client import EngineClient
from engine.demo import STRANGERS, DemoWorld
from engine.domain.mime import parse_message
from engine.engine import Engine
from tests.engine_fixtures import eventually


async def test_the_demo_strangers_are_seen_through(engine: Engine, tmp_path: Path) -> None:
    world = DemoWorld(engine, tmp_path / "demo", pace=10_000)  # no background customers
    await world.start()
    # Only the first minute's mail: the simulated customers answering our mail would take
    # what the sink received before this test reads it.
    for task in world.tasks:
        task.cancel()
    try:
        operator = EngineClient(engine.socket_path, act_as="root-admin")
        rows = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: any(r.client_email == "tom@example.com" for r in rows),
            what="the tricky customer's interaction",
        )
        # Filed (closed at once), never queued or assigned: no agent ever sees them as work.
        states = {r.client_email.lower(): r.state for r in rows}
        assert states["jane.roe@example.org"] == "closed"  # the out-of-office
        assert states["mailer-daemon@mx.example.net"] == "closed"  # the bounce
        tom = next(r for r in rows if r.client_email == "tom@example.com")
        assert tom.subject == "=?utf-8?q?Refund=0D=0ABcc:_all@example.com?="
        answers: list[bytes] = []
        while not any(b"tom@example.com" in raw for raw in answers):
            answers.append(await world.sink.received.get())
        for raw in answers:
            to = [a.email for a in parse_message(raw).to]
            assert "jane.roe@example.org" not in to and not any("MAILER" in a for a in to)
            headers = {k.lower() for k in message_from_bytes(raw, policy=policy.compat32).keys()}
            assert "bcc" not in headers and b"all@example.com" not in raw.split(b"\r\n\r\n")[0]
        assert len(STRANGERS) == 3
    finally:
        await world.stop()
