"""An aiosmtpd server thread that closes the connections it accepted when it stops.

aiosmtpd's ``Controller.stop`` stops its loop and closes the listening socket, but on our
Python 3.11 asyncio's ``Server.close`` leaves accepted connections open (3.12 added
``close_clients``). An engine still connected at that moment (its SMTP pool keeps connections
warm) leaves a transport that is only found by the garbage collector, which warns
(``ResourceWarning: unclosed transport``) wherever it happens to run, often in another test.
The demo's world and the tests' sinks both use this one.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class ClosingController(Controller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory(self) -> SMTP:
        session: SMTP = super().factory()  # type: ignore[no-untyped-call]
        self._sessions.add(session)
        return session

    def stop(self, no_assert: bool = False) -> None:
        if self._thread is not None and self.loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._close_sessions(), self.loop)
            try:
                done.result(timeout=5)
            except Exception:  # noqa: BLE001 - stopping goes on; the loop is closed below anyway
                pass
        super().stop(no_assert)

    async def _close_sessions(self) -> None:
        for session in list(self._sessions):
            transport = session.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()  # abort, not close: nothing waits on a client's unread data
            elif transport is not None:
                transport.close()
        # Each abort closes its socket in a callback of the loop's next turn.
        for _ in range(3):
            await asyncio.sleep(0)
