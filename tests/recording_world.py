"""A recorded interaction worth printing, shared by the print and viewer tests: a customer
mail in several scripts with hostile text and an attachment, an agent's reply."""

from __future__ import annotations

import io
import mailbox
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import World, eventually, provision
from tests.servers import DovecotServer, SmtpSink

# What a customer may write: accents, Greek, Cyrillic, CJK (not in DejaVu Sans), a terminal
# escape, a bidi override, markup of several kinds, and a line an mbox would take for a
# new message.
BODY = (
    "Bonjour, ma commande n°1001 est arrivée cassée (Zoë, Montréal).\n"
    "Ελληνικά: καλημέρα. Кириллица: здравствуйте.\n"
    "中文 here\n"
    "Colour \x1b[31mred\x1b[0m and \u202eevil\u202c.\n"
    "[bold]not bold[/bold] <b>not html</b> **not markdown**\n"
    "From the shop I got nothing.\n"
)
REPLY = "We are sorry: a new kettle is on its way.\nFrom now on, tell us directly."


def customer_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Zoë Quinn <zoe@acme.example>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "Commande 1001 cassée"
    msg["Message-ID"] = make_msgid(domain="acme.example")
    msg.set_content(BODY)
    msg.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf",
                       filename="reçu-1001.pdf")  # fmt: skip
    return msg.as_bytes()


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def mbox_messages(path: Path) -> list[mailbox.mboxMessage]:
    box = mailbox.mbox(path, create=False)
    try:
        return list(box)
    finally:
        box.close()


@asynccontextmanager
async def recorded_thread(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> AsyncIterator[dict[str, Any]]:
    world: World = await provision(
        engine, operator, dovecot, smtp_sink, agents=("agent1", "agent2")
    )
    agent1, agent2 = world.client("agent1"), world.client("agent2")
    supervisor = world.client("super1")
    await agent1.set_status("free")
    raw = customer_mail()
    world.dovecot.append(world.mailbox, raw)
    [row] = await eventually(agent1.interactions, lambda rows: len(rows) == 1, what="assigned")
    await agent1.reply(row.id, REPLY)
    await world.sink.await_count(1)
    await agent1.add_note(row.id, "Customer called too; Ω note")
    await agent1.close_interaction(row.id, note="kettle replaced")
    try:
        yield {
            "world": world,
            "id": row.id,
            "raw": raw,
            "agent1": agent1,
            "agent2": agent2,
            "supervisor": supervisor,
        }
    finally:
        for client in (agent1, agent2, supervisor):
            await client.close()
