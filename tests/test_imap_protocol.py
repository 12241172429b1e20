"""The engine's IMAP response reader makes the same calls as aioimaplib's, however data arrives.

`engine.services.inbound.imap_protocol.ResponseReader` replaces aioimaplib's line splitting (which
copied the rest of every received chunk per line) with an offset. Both readers are fed the same
server responses, cut into chunks at arbitrary places, and must leave the same responses
behind. The real-server tests (ingest, reconnect, UIDVALIDITY, TLS) run on it too.
"""

from __future__ import annotations

import asyncio

import aioimaplib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.services.inbound import imap_protocol

# Message bodies that look like protocol to a careless reader: literal markers at line ends,
# tagged OK lines, unbalanced parentheses, bare CR and LF, an empty body.
BODIES = [
    b"From: a@example.net\r\nSubject: one\r\n\r\nHello.\r\n",
    b"Subject: {12}\r\n\r\nthe next line is not a literal {5}\r\nA1 OK not the end\r\n",
    b"Subject: (unbalanced\r\n\r\n)) * 3 FETCH (UID 9 BODY[] {3}\r\nabc\r\n",
    b"bare\rcarriage\nreturns\r\n",
    b"",
    b"x" * 5000 + b"\r\n",
]


def fetch_response(tag: str, bodies: list[bytes]) -> bytes:
    out = bytearray()
    for n, body in enumerate(bodies, start=1):
        out += b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (n, 100 + n, len(body))
        out += body + b")\r\n"
    out += b"* 7 EXISTS\r\n"  # an untagged update in the middle of nothing in particular
    out += f"{tag} OK Fetch completed (0.001 + 0.000 secs).\r\n".encode()
    return bytes(out)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False


async def run_fetch(
    protocol: aioimaplib.IMAP4ClientProtocol, response: bytes, cuts: list[int]
) -> tuple[str, list[tuple[str, bytes]]]:
    protocol.connection_made(_Transport())
    protocol.state = aioimaplib.SELECTED
    command = imap_protocol.BulkFetch(
        "A1", "1:*", "(UID BODY.PEEK[])", loop=asyncio.get_running_loop(), timeout=None
    )
    task = asyncio.ensure_future(protocol.execute(command))
    await asyncio.sleep(0)  # the command is sent and waiting for its response
    start = 0
    for cut in sorted({c % (len(response) + 1) for c in cuts}) + [len(response)]:
        protocol.data_received(response[start:cut])
        start = cut
    result = await asyncio.wait_for(task, 5)
    # Literal data is told apart by its type (imap._fetch relies on it).
    return result.result, [(type(line).__name__, bytes(line)) for line in result.lines]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(st.sampled_from(BODIES), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=40),
)
def test_responses_read_in_any_chunks_equal_aioimaplibs(
    bodies: list[bytes], cuts: list[int]
) -> None:
    response = fetch_response("A1", bodies)

    async def both() -> None:
        loop = asyncio.get_running_loop()
        ours = await run_fetch(imap_protocol.ResponseReader(loop, None), response, cuts)
        theirs = await run_fetch(aioimaplib.IMAP4ClientProtocol(loop, None), response, cuts)
        assert ours == theirs
        assert ours[0] == "OK"
        assert [data for kind, data in ours[1] if kind == "bytearray"] == bodies

    asyncio.run(both())
