"""An SMTP account's cap on simultaneous connections holds across engine nodes: two dialers of
one account, each run by another node, never have more connections open at once than the
account allows, and both get their turn, in turns of bounded length whatever the batch. A
node waiting for a slot of an account whose cap is removed stops waiting.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from itertools import groupby
from pathlib import Path

import pytest

from engine.api.schemas import DialerIn, DialerPatch, SmtpCaps
from engine.client import EngineClient
from engine.engine import Engine
from engine.services.dialer.shared_slots import RENEW, TTL, TURN, ConnectionSlots
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
            # Small batches: turns are taken where a connection's part of a batch ends as
            # well as inside it (test_..._take_turns_within_a_batch).
            node.dialer_runner.batch = 10
        async with EngineClient(a.socket_path) as op:
            await _two_dialers(op, server.host, server.port, RECORDS, CAP)
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


async def _two_dialers(op: EngineClient, host: str, port: int, records: int, cap: int) -> None:
    """Dialers One and Two of the Support campaign's account (capped at `cap` connections),
    `records` records each."""
    await dialer_campaign(op, host, port)
    for name in ("One", "Two"):
        await op.add_dialer(
            DialerIn(
                name=name,
                campaign="Support",
                template="T",
                seconds_between_messages=0,
                caps=SmtpCaps(connections=cap),
            )
        )
        rows = "".join(f"Support;{name}{n}@example.com;;;name=R{n}\n" for n in range(records))
        await op.upload_list(name, rows.encode(), name="L", subject="Hello ${name}")


def _slots(node: Engine) -> ConnectionSlots:
    assert node.smtp_slots is not None
    return node.smtp_slots


def _who(smtp_sink: SmtpSink) -> list[str]:
    """Whose dialer sent each message the server took, in the order it took them."""
    return [m.rcpt_tos[0][:3].lower() for m in smtp_sink.messages]


def _once_each(smtp_sink: SmtpSink) -> bool:
    return max(Counter(m.rcpt_tos[0] for m in smtp_sink.messages).values()) == 1


async def _watch(smtp_sink: SmtpSink, seen: list[tuple[float, Counter[str]]]) -> None:
    """What each node has sent, every 20 ms."""
    while True:
        seen.append((time.monotonic(), Counter(_who(smtp_sink))))
        await asyncio.sleep(0.02)


def _longest_wait(seen: list[tuple[float, Counter[str]]], who: str, records: int) -> float:
    """The longest time `who` sent nothing, from its first send until it was done."""
    longest, last, count = 0.0, None, 0
    for at, sent in seen:
        if sent[who] > count:
            if last is not None:
                longest = max(longest, at - last)
            last, count = at, sent[who]
        if count >= records:
            break
    return longest


@pytest.mark.parametrize(
    ("records", "delay", "renew", "turn"),
    [(150, 0.02, 0.2, 0.3), (200, 0.03, RENEW, TURN)],
    ids=["short-turns", "production-turns"],
)
async def test_nodes_sharing_a_one_connection_account_take_turns_within_a_batch(
    tmp_path: Path,
    smtp_sink: SmtpSink,
    postgres: PostgresServer,
    records: int,
    delay: float,
    renew: float,
    turn: float,
) -> None:
    # One connection, and batches (1,000) far bigger than the lists: without turns inside
    # a batch, node A would send all of its records before node B sends one.
    smtp_sink.data_delay = delay  # 3 s, then 6 s, of sending per node
    seen: list[tuple[float, Counter[str]]] = []
    async with (
        ConnectionCounter(smtp_sink.host, smtp_sink.port) as server,
        nodes(tmp_path, postgres.new_database(), 2) as (a, b),
    ):
        for node in (a, b):
            _slots(node).renew_every = renew  # how soon a holder hears of a waiter
            _slots(node).turn = turn
        async with EngineClient(a.socket_path) as op:
            await _two_dialers(op, server.host, server.port, records, cap=1)
            await op.play_dialer("One")
        await _wait("node A sending", lambda: len(smtp_sink.messages) >= 3)
        watcher = asyncio.create_task(_watch(smtp_sink, seen))
        async with EngineClient(b.socket_path) as op:
            await op.play_dialer("Two")
        played, before = time.monotonic(), len(smtp_sink.messages)
        try:
            await _wait("every record sent", lambda: len(smtp_sink.messages) >= 2 * records)
            took = time.monotonic() - played
            await asyncio.sleep(0.5)  # nothing more comes (a record sent twice would)
        finally:
            watcher.cancel()
        who = _who(smtp_sink)
        assert _once_each(smtp_sink)
        assert Counter(who) == {"one": records, "two": records}
        # Interleaved: B sent before A finished, and A sent again before B finished.
        first_two, last_two = who.index("two"), len(who) - 1 - who[::-1].index("two")
        assert first_two < len(who) - 1 - who[::-1].index("one"), who
        assert "one" in who[first_two:last_two], who
        turns = 1 + sum(x != y for x, y in zip(who, who[1:], strict=False))
        assert turns >= 4, who
        assert server.peak == 1, server.peak  # never two connections at once
        first = next(at for at, sent in seen if sent["two"]) - played
        longest = max(_longest_wait(seen, "one", records), _longest_wait(seen, "two", records))
        # A turn is `turn` long, and the holder hears of the waiter at its next renewal (the
        # first one after a node's start: RENEW, whatever `renew` was set to since; B's
        # first send also waits for B's claim of its batch). In messages, which a loaded
        # machine does not stretch: a turn and a renewal at the server's pace, and a few
        # more (the message on its way when the turn ends), never a node's whole batch.
        both = who[first_two : min(last_two, len(who) - 1 - who[::-1].index("one")) + 1]
        run = max(len(list(sends)) for _, sends in groupby(both))  # while both had mail
        assert run <= (turn + renew) / delay + 10, (run, who)
        # In seconds: the same, and ~20 messages' time at this run's own pace (a CI machine
        # starved of CPU once stretched a 0.5 s wait to 4.7 s, every step slower alike).
        pace = took / (2 * records - before)
        assert longest < turn + renew + 1.5 + 20 * pace, (longest, pace)
        assert first < turn + RENEW + 1.5 + 20 * pace, (first, pace)
        print(
            f"\ntwo nodes, one connection, {records} records each in one batch each, turns of"
            f" {turn} s, renewals every {renew} s: {turns} turns, {server.total} connections"
            f" opened; B's first send {first:.1f} s after its play, longest wait between a"
            f" node's sends {longest:.1f} s; {2 * records - before} messages in {took:.1f} s"
            f" ({(2 * records - before) / took:.0f}/s; the server's delay alone allows"
            f" {1 / delay:.0f}/s)"
        )


@pytest.mark.parametrize("how", ["deleted", "zero"])
async def test_a_wait_for_a_slot_ends_when_the_accounts_cap_is_removed(
    tmp_path: Path,
    smtp_sink: SmtpSink,
    postgres: PostgresServer,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = 200
    smtp_sink.data_delay = 0.03  # node A's one batch takes ~6 s on the account's connection
    caplog.set_level(logging.INFO, logger="engine.services.dialer.shared_slots")
    async with (
        ConnectionCounter(smtp_sink.host, smtp_sink.port) as server,
        nodes(tmp_path, postgres.new_database(), 2) as (a, b),
    ):
        _slots(a).turn = 3600.0  # A keeps its slot to the end of its batch: B can only wait
        async with EngineClient(a.socket_path) as op:
            await _two_dialers(op, server.host, server.port, records, cap=1)
            await op.play_dialer("One")
        await _wait("node A sending", lambda: len(smtp_sink.messages) >= 3)
        async with EngineClient(b.socket_path) as op:
            await op.play_dialer("Two")
        waits = "SELECT node FROM smtp_slot_waits"
        await _wait("node B waiting", lambda: db_probe.rows(a.settings, waits) == [("node-b",)])
        assert _who(smtp_sink).count("two") == 0
        if how == "deleted":
            db_probe.execute(a.settings, "DELETE FROM smtp_limits")
        else:  # the dialer's caps edited: connections 0, each node's own default
            async with EngineClient(a.socket_path) as op:
                await op.update_dialer("Two", DialerPatch(caps=SmtpCaps(connections=0)))
        # B's wait ends: its records are claimed again, under no cap across nodes, and go
        # while A still sends its batch.
        await _wait("node B sending", lambda: _who(smtp_sink).count("two") == records)
        assert _who(smtp_sink).count("one") < records
        await _wait("every record sent", lambda: len(smtp_sink.messages) >= 2 * records)
        await asyncio.sleep(0.5)
        assert _once_each(smtp_sink)
        assert Counter(_who(smtp_sink)) == {"one": records, "two": records}
        assert db_probe.rows(a.settings, waits) == []
        left = "SELECT count(*) FROM dialer_records WHERE state <> 'sent'"
        assert db_probe.rows(a.settings, left) == [(0,)]
        stopped = [r.getMessage() for r in caplog.records if "no longer caps" in r.getMessage()]
        assert stopped, "node B did not say why it stopped waiting"


async def test_a_lowered_cap_counts_from_the_next_turn_inside_a_batch(
    tmp_path: Path, smtp_sink: SmtpSink, postgres: PostgresServer
) -> None:
    records = 120  # one batch each: only the slots' claims can see the new cap
    smtp_sink.data_delay = 0.02
    async with (
        ConnectionCounter(smtp_sink.host, smtp_sink.port) as server,
        nodes(tmp_path, postgres.new_database(), 2) as (a, b),
    ):
        for node in (a, b):
            _slots(node).renew_every = 0.2
            _slots(node).turn = 0.5
        async with EngineClient(a.socket_path) as op:
            await _two_dialers(op, server.host, server.port, records, cap=2)
            await op.play_dialer("One")
        await _wait("node A sending", lambda: len(smtp_sink.messages) >= 3)
        async with EngineClient(b.socket_path) as op:
            await op.play_dialer("Two")
        await _wait("node B sending", lambda: _who(smtp_sink).count("two") >= 3)
        async with EngineClient(a.socket_path) as op:
            await op.update_dialer("One", DialerPatch(caps=SmtpCaps(connections=1)))
        above = "SELECT count(*) FROM smtp_slots WHERE slot >= 1 AND node IS NOT NULL"
        await _wait("slot 1 given back", lambda: db_probe.rows(a.settings, above) == [(0,)])
        changed = Counter(_who(smtp_sink))
        server.peak = server.open  # from here on: one connection at a time
        await _wait("every record sent", lambda: len(smtp_sink.messages) >= 2 * records)
        await asyncio.sleep(0.5)
        assert _once_each(smtp_sink)
        assert Counter(_who(smtp_sink)) == {"one": records, "two": records}
        assert server.peak <= 1, server.peak
        assert db_probe.rows(a.settings, above) == [(0,)]
        print(
            f"\ncap lowered from 2 to 1 with {2 * records - changed.total()} messages to go:"
            f" at most {server.peak} connection open after"
        )
