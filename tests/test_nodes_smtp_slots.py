"""An SMTP account's cap on simultaneous connections holds across engine nodes: two dialers of
one account, each run by another node, never have more connections open at once than the
account allows, and both get their turn.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from engine.api.schemas import DialerIn, SmtpCaps
from engine.client import EngineClient
from engine.services.dialer.shared_slots import TTL
from tests import db_probe
from tests.engine_nodes import Nodes
from tests.nodes import dialer_campaign, nodes
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer
from tests.servers import SmtpSink
from tests.tcp_count import ConnectionCounter

CAP = 2
RECORDS = 120


async def _wait(what: str, check: object, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_an_accounts_connection_cap_holds_across_nodes(
    tmp_path: Path, smtp_sink: SmtpSink, postgres: PostgresServer
) -> None:
    smtp_sink.data_delay = 0.05  # transactions overlap: connections stay open a while
    async with (
        ConnectionCounter(smtp_sink.host, smtp_sink.port) as server,
        nodes(tmp_path, postgres.new_database(), 2) as (a, b),
    ):
        for node in (a, b):
            # Turns are taken where a connection's part of a batch ends: small batches here
            # (200 in production, spread over the connections).
            node.dialer_runner.batch = 10
        async with EngineClient(a.socket_path) as op:
            await dialer_campaign(op, server.host, server.port)
            for name in ("One", "Two"):
                await op.add_dialer(
                    DialerIn(
                        name=name,
                        campaign="Support",
                        template="T",
                        seconds_between_messages=0,
                        caps=SmtpCaps(connections=CAP),
                    )
                )
                rows = "".join(
                    f"Support;{name}{n}@example.com;;;name=R{n}\n" for n in range(RECORDS)
                )
                await op.upload_list(name, rows.encode(), name="L", subject="Hello ${name}")
            await op.play_dialer("One")
        await _wait("node A runs One", lambda: len(a.dialer_runner.turns) == 1)
        await _wait("node A sending", lambda: len(smtp_sink.messages) >= 3)
        async with EngineClient(b.socket_path) as op:
            await op.play_dialer("Two")
        await _wait("node B runs Two", lambda: len(b.dialer_runner.turns) == 1)
        assert a.dialer_runner.turns != b.dialer_runner.turns  # one each

        # Both get their turn: node B sends while node A still has mail to send.
        def sent() -> Counter[str]:
            return Counter(m.rcpt_tos[0][:3].lower() for m in smtp_sink.messages)

        await _wait("node B sending", lambda: sent()["two"] >= 3)
        assert sent()["one"] < RECORDS, sent()
        await _wait("every record sent", lambda: sum(sent().values()) == 2 * RECORDS)
        assert sent() == {"one": RECORDS, "two": RECORDS}
        # Never more connections at once than the account allows (each node alone: 2 + 2).
        assert server.peak <= CAP, server.peak
        assert server.peak == CAP  # and the cap is used
        settings = a.settings
        held = db_probe.rows(settings, "SELECT count(*) FROM smtp_slots WHERE node IS NOT NULL")
        print(
            f"\ntwo nodes, one account capped at {CAP} connections: at most {server.peak} open"
            f" at once, {server.total} opened for {2 * RECORDS} messages;"
            f" slots held at the end: {held[0][0]}"
        )


async def test_a_node_killed_holding_slots_frees_them_within_their_expiry(
    tmp_path: Path, smtp_sink: SmtpSink, postgres: PostgresServer
) -> None:
    group = Nodes(tmp_path / "nodes", postgres.new_database())
    smtp_sink.data_delay = 0.05
    try:
        async with ConnectionCounter(smtp_sink.host, smtp_sink.port) as server:
            (a,) = await group.start_all("a")
            async with a.client() as op:
                await dialer_campaign(op, server.host, server.port, "Hi ${name}.")
                await op.add_dialer(
                    DialerIn(
                        name="One",
                        campaign="Support",
                        template="T",
                        seconds_between_messages=0,
                        caps=SmtpCaps(connections=CAP),
                    )
                )
                rows = "".join(f"Support;one{n}@example.com;;;name=R{n}\n" for n in range(400))
                await op.upload_list("One", rows.encode(), name="L", subject="Hello ${name}")
                await op.play_dialer("One")
            await _wait("node A sending", lambda: len(smtp_sink.messages) >= 5)

            def held() -> list[tuple[str, bool]]:
                return [
                    (str(node), bool(live))
                    for node, live in group.rows(
                        "SELECT node, expires_at > clock_timestamp() FROM smtp_slots"
                        " WHERE node IS NOT NULL"
                    )
                ]

            assert held() == [("a", True)] * CAP
            (b,) = await group.start_all("b")
            group.kill(a)
            killed, count = time.monotonic(), len(smtp_sink.messages)
            # Node B takes the dialer over, and waits for A's slots to expire (no process
            # gives them back): then it sends.
            await _wait("node B sending", lambda: len(smtp_sink.messages) > count + 5)
            waited = time.monotonic() - killed
            assert waited < TTL + 3.0, waited
            assert {node for node, _ in held()} == {"b"}
            assert server.peak <= CAP, server.peak
            assert b.alive()
            print(
                f"\nnode A killed holding {CAP} slots: node B sent {waited:.1f} s after"
                f" (TTL {TTL} s)"
            )
    finally:
        group.stop_all()
