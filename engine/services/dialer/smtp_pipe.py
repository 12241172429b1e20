"""A lean SMTP client for bulk sending: ESMTP PIPELINING (RFC 2920), one transaction at a
time per connection.

aiosmtplib, which the outbox uses, sends MAIL, RCPT, DATA and the content one command at a
time and parses each reply through several layers: about half a millisecond of CPU a
message, which caps a dialer far below what a mail server takes. Here a transaction is two
writes: `MAIL FROM`, `RCPT TO` and `DATA` together (when the server offers PIPELINING),
then the content; the replies are read in order by one small protocol object.

Each message's outcome is exact: accepted (250 after the content), refused for now (4xx),
refused for good (5xx, the server's words kept), or the connection was lost before the
content went (never sent) or after (may have been delivered: retried with the same
Message-ID). Connecting does STARTTLS or implicit TLS and AUTH PLAIN like the outbox; OAuth2
accounts keep to aiosmtplib (`smtp_pool.py`).
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from collections import deque
from typing import Any

__all__ = ["PipeConnection", "SmtpReplyError", "Transaction"]

_DOT = re.compile(rb"^\.", re.MULTILINE)
TIMEOUT = 60.0
_HOSTNAME = socket.gethostname() or "localhost"


class SmtpReplyError(Exception):
    """A reply that ends the connection's use (a refused login, 421)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class _Wait:
    """A wait for the next `count` replies: one future for all of them (a pipelined
    message's four replies cost one future and one wake-up, not four)."""

    __slots__ = ("count", "future", "got", "many")

    def __init__(self, future: asyncio.Future[Any], count: int, many: bool) -> None:
        self.future = future
        self.count = count
        self.many = many  # the result is the list of replies (else the one reply)
        self.got: list[tuple[int, str]] = []

    def end(self, lost: Exception) -> None:
        """The connection is gone: a wait for several gets the replies that came (fewer
        than it asked: `lost` says why), a wait for one the exception."""
        if self.future.done():
            return
        if self.many:
            self.future.set_result(self.got)
        else:
            self.future.set_exception(lost)


class _Protocol(asyncio.Protocol):
    """Replies in the order they come, each to the oldest wait. A server silent for
    TIMEOUT seconds while a reply is awaited ends the connection (TimeoutError): one timer
    a connection looking every TIMEOUT/4 s, not a timeout armed and cancelled for every
    message (measured: ~5% of a message's CPU in the dialer)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._lines: list[bytes] = []
        self._replies: deque[tuple[int, str]] = deque()
        self._waiters: deque[_Wait] = deque()
        self.lost: Exception | None = None
        self._heard = 0.0  # when the server last said something, or a wait began
        self._watch: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        loop = asyncio.get_running_loop()
        self._heard = loop.time()
        self._watch = loop.call_later(TIMEOUT / 4, self._look)

    def _look(self) -> None:
        if self.lost is not None:
            return
        loop = asyncio.get_running_loop()
        if self._waiters and loop.time() - self._heard > TIMEOUT:
            self.connection_lost(TimeoutError(f"no answer from the server in {TIMEOUT:.0f} s"))
            return
        self._watch = loop.call_later(TIMEOUT / 4, self._look)

    def data_received(self, data: bytes) -> None:
        if self._waiters:
            self._heard = asyncio.get_running_loop().time()
        *lines, rest = (self._buffer + data if self._buffer else data).split(b"\n")
        if len(rest) > 65536:
            self.connection_lost(ConnectionError("SMTP reply line too long"))
            return
        self._buffer = rest
        for line in lines:
            if line[3:4] == b"-":
                self._lines.append(line)
                continue
            try:
                code = int(line[:3])
            except ValueError:
                self.connection_lost(ConnectionError(f"not an SMTP reply: {line[:80]!r}"))
                return
            if self._lines:
                self._lines.append(line)
                text = " ".join(ln[4:].decode("utf-8", "replace").strip() for ln in self._lines)
                self._lines = []
            else:
                text = line[4:].decode("utf-8", "replace").strip()
            if self._waiters:
                wait = self._waiters[0]
                wait.got.append((code, text))
                if len(wait.got) == wait.count:
                    self._waiters.popleft()
                    if not wait.future.done():
                        wait.future.set_result(wait.got if wait.many else wait.got[0])
            else:
                self._replies.append((code, text))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("the server closed the connection")
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        while self._waiters:
            self._waiters.popleft().end(self.lost)
        if self.transport is not None:
            self.transport.close()

    def reply(self) -> asyncio.Future[tuple[int, str]]:
        """The next reply, in the order commands were written."""
        return self._wait(1, many=False)

    def replies(self, count: int) -> asyncio.Future[list[tuple[int, str]]]:
        """The next `count` replies at once; fewer when the connection was lost meanwhile
        (`lost` says why)."""
        return self._wait(count, many=True)

    def _wait(self, count: int, *, many: bool) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        wait = _Wait(future, count, many)
        while self._replies and len(wait.got) < count:
            wait.got.append(self._replies.popleft())
        if len(wait.got) == count:
            future.set_result(wait.got if many else wait.got[0])
        elif self.lost is not None:
            wait.end(self.lost)
        else:
            if not self._waiters:  # the wait for the server begins
                self._heard = future.get_loop().time()
            self._waiters.append(wait)
        return future


class Transaction:
    """What happened to one message: `sent`; else `code` and `text` of the refusal, or
    `lost` with `maybe_sent` (the connection dropped after the content went)."""

    __slots__ = ("code", "lost", "maybe_sent", "sent", "text")

    def __init__(self) -> None:
        self.sent = False
        self.code = 0
        self.text = ""
        self.lost = False
        self.maybe_sent = False


class PipeConnection:
    def __init__(self, protocol: _Protocol, pipelining: bool, smtputf8: bool) -> None:
        self._p = protocol
        self.pipelining = pipelining
        self.smtputf8 = smtputf8

    @property
    def usable(self) -> bool:
        t = self._p.transport
        return self._p.lost is None and t is not None and not t.is_closing()

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        starttls: bool,
        tls: ssl.SSLContext | None,
        username: str = "",
        password: str = "",
    ) -> PipeConnection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT):
            transport, protocol = await loop.create_connection(
                _Protocol,
                host,
                port,
                ssl=tls if implicit_tls else None,
                server_hostname=host if implicit_tls else None,
            )
            try:
                await _expect(protocol, 220)
                extensions = await _ehlo(protocol)
                if starttls:
                    if "STARTTLS" not in extensions:
                        raise SmtpReplyError(502, "the server does not offer STARTTLS")
                    protocol.transport.write(b"STARTTLS\r\n")  # type: ignore[union-attr]
                    await _expect(protocol, 220)
                    secure = await loop.start_tls(
                        transport,
                        protocol,
                        tls or ssl.create_default_context(),
                        server_hostname=host,
                    )
                    if secure is None:
                        raise ConnectionError("STARTTLS failed")
                    assert isinstance(secure, asyncio.Transport)
                    protocol.transport = secure
                    extensions = await _ehlo(protocol)
                if username:
                    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
                    protocol.transport.write(f"AUTH PLAIN {token}\r\n".encode())  # type: ignore[union-attr]
                    await _expect(protocol, 235)
            except BaseException:
                if protocol.transport is not None:
                    protocol.transport.close()
                raise
        return cls(protocol, "PIPELINING" in extensions, "SMTPUTF8" in extensions)

    async def send(self, sender: str, recipient: str, raw: bytes, *, utf8: bool) -> Transaction:
        """One transaction; never raises for what the server or the network does."""
        early = await self.start(sender, recipient, utf8=utf8)
        return early if early is not None else await self.finish(raw)

    async def start(self, sender: str, recipient: str, *, utf8: bool) -> Transaction | None:
        """The envelope, up to the server's 354: nothing is delivered yet. None: the server
        waits for the content, which `finish` (or `finish_and_start`) sends; else the
        transaction's end (refused, or lost)."""
        result = Transaction()
        p = self._p
        transport = p.transport
        if transport is None or not self.usable:
            result.lost = True
            return result
        envelope = _envelope(sender, recipient, utf8)
        try:
            replies = []
            if self.pipelining:
                transport.write(b"".join(envelope))
                replies = await p.replies(len(envelope))
                if len(replies) < len(envelope):  # lost before all came: nothing was sent
                    return _lost(result, p.lost or ConnectionError(), transport)
            else:
                for command in envelope:
                    transport.write(command)
                    replies.append(await p.reply())
                    if replies[-1][0] >= 400:
                        break
            if await self._refused(replies, result, transport):
                return result
        except (OSError, ConnectionError, TimeoutError) as exc:
            return _lost(result, exc, transport)
        return None

    async def _refused(
        self, replies: list[tuple[int, str]], result: Transaction, transport: asyncio.Transport
    ) -> bool:
        """True when the envelope was refused (`result` says how; the connection is left
        ready for the next transaction, or closed on 421)."""
        refused = next(((c, t) for c, t in replies if c >= 400), None)
        data_code = replies[-1][0] if len(replies) == 3 else 0
        if refused is not None:
            result.code, result.text = refused
            if data_code == 354:  # a server that opened DATA anyway: send nothing
                transport.write(b".\r\n")
                await self._p.reply()
            if refused[0] != 421:
                transport.write(b"RSET\r\n")
                await self._p.reply()
            else:
                transport.close()
            return True
        if data_code != 354:
            result.code, result.text = replies[-1]
            return True
        return False

    async def finish(self, raw: bytes) -> Transaction:
        """The content and final dot of a started transaction: from here the server may
        deliver it."""
        result = Transaction()
        p = self._p
        transport = p.transport
        if transport is None or not self.usable:
            result.lost = True  # the dot never went: nothing was delivered
            return result
        try:
            transport.write(_content(raw) + b".\r\n")
            result.maybe_sent = True
            code, text = await p.reply()
        except (OSError, ConnectionError, TimeoutError) as exc:
            return _lost(result, exc, transport)
        _ended(result, code, text, transport)
        return result

    async def finish_and_start(
        self, raw: bytes, sender: str, recipient: str, *, utf8: bool
    ) -> tuple[Transaction, Transaction | None]:
        """The started transaction's content and final dot, and the next one's envelope, in
        ONE write (RFC 2920: commands may follow the end of the data): one write and one
        round trip a message. (The first's end as `finish` says it; the next one's as
        `start` does.) Only when the server offers PIPELINING."""
        first, result = Transaction(), Transaction()
        p = self._p
        transport = p.transport
        if transport is None or not self.usable or not self.pipelining:
            first.lost = result.lost = True  # no dot went: nothing was delivered
            return first, result
        envelope = _envelope(sender, recipient, utf8)
        count = len(envelope) + 1
        try:
            transport.write(b"".join([_content(raw), b".\r\n", *envelope]))
            first.maybe_sent = True
            replies = await p.replies(count)
            if replies:
                _ended(first, *replies[0], transport)
            else:  # lost before the dot's reply: it may have been delivered
                _lost(first, p.lost or ConnectionError(), transport)
            if len(replies) < count and (first.code != 421 or not replies):
                _lost(result, p.lost or ConnectionError(), transport)  # its content never went
                return first, result
            if not self.usable:  # 421 after the content: the envelope went for nothing
                result.lost = True
                return first, result
            if await self._refused(replies[1:], result, transport):
                return first, result
        except (OSError, ConnectionError, TimeoutError) as exc:
            if not first.sent and not first.code and not first.lost:
                _lost(first, exc, transport)
            _lost(result, exc, transport)  # its content never went: not delivered
            return first, result
        return first, None

    async def close(self) -> None:
        transport = self._p.transport
        if transport is None or transport.is_closing():
            return
        try:
            async with asyncio.timeout(5):
                transport.write(b"QUIT\r\n")
                await self._p.reply()
        except (OSError, ConnectionError, TimeoutError):
            pass
        transport.close()

    def abort(self) -> None:
        if self._p.transport is not None:
            self._p.transport.close()


def _envelope(sender: str, recipient: str, utf8: bool) -> list[bytes]:
    option = " SMTPUTF8" if utf8 else ""
    return [
        f"MAIL FROM:<{sender}>{option}\r\n".encode(),
        f"RCPT TO:<{recipient}>\r\n".encode(),
        b"DATA\r\n",
    ]


def _content(raw: bytes) -> bytes:
    """The content as DATA sends it (dot-stuffed, ending in CRLF), without the final dot."""
    body = _DOT.sub(b"..", raw) if b"\n." in raw or raw[:1] == b"." else raw
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body


def _ended(result: Transaction, code: int, text: str, transport: asyncio.Transport) -> None:
    """The reply to a final dot."""
    if 200 <= code < 300:
        result.sent = True
    else:
        result.code, result.text = code, text
        if code == 421:
            transport.close()


def _lost(result: Transaction, exc: BaseException, transport: asyncio.Transport) -> Transaction:
    result.lost = True
    result.text = f"{exc.__class__.__name__}: {exc}" if str(exc) else "connection lost"
    transport.close()
    return result


async def _expect(protocol: _Protocol, code: int) -> tuple[int, str]:
    got = await protocol.reply()
    if got[0] != code:
        raise SmtpReplyError(*got)
    return got


async def _ehlo(protocol: _Protocol) -> set[str]:
    assert protocol.transport is not None
    protocol.transport.write(f"EHLO {_HOSTNAME}\r\n".encode())
    _code, text = await _expect(protocol, 250)
    return {word.upper() for word in text.split()}  # the extension keywords among them
