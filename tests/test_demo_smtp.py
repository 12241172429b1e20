"""The demo's and the tests' SMTP server closes the connections it accepted when it stops, so a
client still connected (the engine's warm SMTP pool) is told at once and no socket is left for
the garbage collector to find later."""

from __future__ import annotations

import gc
import socket

from engine.demo_smtp import ClosingController
from tests.servers import free_port


class _Handler:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def test_stopping_closes_the_connections_clients_still_hold() -> None:
    port = free_port()
    controller = ClosingController(_Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        for client in clients:
            assert client.recv(1024).startswith(b"220")
        controller.stop()
        gc.disable()  # the server's side must be closed by the stop, not by a collection
        try:
            for client in clients:
                assert client.recv(1024) == b""  # end of stream: the server hung up
        finally:
            gc.enable()
    finally:
        for client in clients:
            client.close()
    gc.collect()  # nothing left unclosed to warn about (warnings are errors in the suite)
