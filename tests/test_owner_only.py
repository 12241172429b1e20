"""What belongs to one agent stays theirs: upload tokens and the attachments of interactions.

An upload token is not a bearer token: another agent who learns it cannot attach the file, and
is answered as for a token that never existed. An attachment of an interaction someone may not
see is answered byte for byte like an attachment id that does not exist.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from engine.api.schemas import ForwardIn, NewInteractionIn, UserIn
from engine.client import EngineClient, NotFound
from engine.client.transport import UnixTransport
from tests.engine_fixtures import World, eventually


def customer_mail(subject: str, attachment: bytes = b"%PDF-1.4 invoice") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("See the attached file.")
    msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


async def assign(world: World, agent: EngineClient, subject: str) -> int:
    """Mail that only `agent` is free to take; the new interaction's id."""
    before = {row.id for row in await agent.interactions()}
    await agent.set_status("free")
    world.dovecot.append(world.mailbox, customer_mail(subject))
    rows = await eventually(
        agent.interactions, lambda rows: len({r.id for r in rows} - before) == 1
    )
    await agent.set_status("break", "Lunch")  # the next mail goes to someone else
    [new] = [r.id for r in rows if r.id not in before]
    return new


async def test_another_agent_cannot_use_my_upload_token(world: World) -> None:
    await world.operator.add_user(UserIn(username="agent2", roles=["agent"]))
    await world.operator.add_member("Support", "agent2")
    async with world.client("agent1") as mine, world.client("agent2") as theirs:
        my_case = await assign(world, mine, "My case")
        their_case = await assign(world, theirs, "Their case")
        token = (await mine.upload("notes.txt", b"agent1's notes", "text/plain")).token

        attempts = {
            "reply": lambda uploads: theirs.reply(their_case, "Here", uploads=uploads),
            "forward": lambda uploads: theirs.forward(
                their_case, ForwardIn(to="friend@example.org", uploads=uploads)
            ),
            "new": lambda uploads: theirs.new_interaction(
                NewInteractionIn(
                    campaign="Support", to="friend@example.org", subject="Hi", uploads=uploads
                )
            ),
        }
        for name, attempt in attempts.items():
            with pytest.raises(NotFound) as stolen:
                await attempt([token])
            with pytest.raises(NotFound) as unknown:
                await attempt(["no-such-token"])
            # Refused like a token that never existed: nothing tells them it is a real one.
            assert stolen.value.message.replace(token, "T") == unknown.value.message.replace(
                "no-such-token", "T"
            ), name
        detail = await theirs.interaction(their_case)
        assert [m.direction for m in detail.messages] == ["inbound"]

        # The uploader still attaches it; theirs never reached the sink, before or after.
        await mine.reply(my_case, "Attached", uploads=[token])
        [sent] = await world.sink.await_count(1)
        assert sent.rcpt_tos == ["carol@example.net"]
        assert [p.get_filename() for p in sent.message.iter_attachments()] == ["notes.txt"]
    assert len(world.sink.messages) == 1


async def test_an_attachment_i_may_not_see_looks_like_no_attachment(world: World) -> None:
    await world.operator.add_user(UserIn(username="agent2", roles=["agent"]))
    async with world.client("agent1") as agent:
        case = await assign(world, agent, "Invoice")
        [attachment] = (await agent.interaction(case)).messages[0].attachments
        assert await agent.attachment(attachment.id) == b"%PDF-1.4 invoice"
    async with world.client("super1") as supervisor:
        assert await supervisor.attachment(attachment.id) == b"%PDF-1.4 invoice"

    other = UnixTransport(world.engine.socket_path, [("X-Postdesk-User", "agent2")])
    hidden = await other.request("GET", f"/api/v1/attachments/{attachment.id}")
    missing = await other.request("GET", f"/api/v1/attachments/{attachment.id + 1000}")
    assert (
        (hidden.status, hidden.body)
        == (missing.status, missing.body)
        == (
            404,
            b'{"error": "no such attachment"}',
        )
    )
    assert b"invoice" not in hidden.body
