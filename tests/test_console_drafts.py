"""Esc in a forward or a new interaction keeps what was typed, as a reply keeps its draft:
opening the same one again gives back every field, the text and the files, and sending it
sends that. Against a real engine, Dovecot and SMTP sink."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, SelectionList, TextArea

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.attach import AttachScreen
from console.screens.compose import ReplyScreen
from console.screens.confirm import ConfirmScreen
from console.screens.forward import ForwardScreen
from console.screens.new_interaction import NewInteractionScreen
from console.widgets.uploads import UploadList
from tests.console_helpers import console_for, screen_text, type_text, until
from tests.engine_fixtures import World


def customer_mail(subject: str, body: str, files: dict[str, bytes]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "Support <support@postdesk.test>"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content(body)
    for name, data in files.items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def value(app: PostdeskApp, input_id: str) -> str:
    return app.screen.query_one(f"#{input_id}", Input).value


def body(app: PostdeskApp) -> str:
    return app.screen.query_one(".compose-body", TextArea).text


def uploaded(app: PostdeskApp) -> list[str]:
    return [u.filename for u in app.screen.query_one(UploadList).uploads]


async def attach(pilot: Pilot[None], app: PostdeskApp, path: Path) -> None:
    back = type(app.screen)
    await pilot.press("ctrl+a")
    await until(pilot, lambda: isinstance(app.screen, AttachScreen), what="attach")
    app.screen.query_one("#path-input", Input).value = str(path)
    app.screen.query_one("#attach-ok", Button).press()  # a toast may cover it
    await until(pilot, lambda: isinstance(app.screen, back), what="back")
    await until(pilot, lambda: path.name in uploaded(app), what=f"{path.name} listed")


async def leave(pilot: Pilot[None], app: PostdeskApp) -> None:
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="left with Esc")


async def test_forward_left_with_esc_comes_back_whole_and_sends(
    world: World, tmp_path: Path
) -> None:
    files = {"invoice.pdf": b"%PDF-1.4 invoice", "photo.jpg": b"\xff\xd8 not carried"}
    world.dovecot.append(world.mailbox, customer_mail("Invoice", "See the invoice.", files))
    note = tmp_path / "note.txt"
    note.write_bytes(b"my note")
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: "Invoice" in screen_text(app), what="the inbox")
        await pilot.press("enter")
        await until(pilot, lambda: "See the invoice." in screen_text(app), what="the thread")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForwardScreen), what="forward")
        await type_text(pilot, "dave@example.org")
        await pilot.press("tab")
        await type_text(pilot, "frank@example.org")
        await pilot.press("tab", "tab")
        await type_text(pilot, "Please check.")
        carried = app.screen.query_one("#forward-files", SelectionList)
        photo = carried.get_option_at_index(1).value
        carried.deselect(photo)
        await attach(pilot, app, note)
        await leave(pilot, app)
        await until(pilot, lambda: "kept as a draft" in screen_text(app), what="the toast")

        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForwardScreen), what="forward again")
        assert "(draft)" in screen_text(app)
        assert value(app, "forward-to") == "dave@example.org"
        assert value(app, "forward-cc") == "frank@example.org"
        assert value(app, "forward-bcc") == ""
        assert body(app) == "Please check."
        assert photo not in app.screen.query_one("#forward-files", SelectionList).selected
        assert uploaded(app) == ["note.txt"]
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="sent")

        # Sent: the next forward starts empty.
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForwardScreen), what="a new forward")
        assert value(app, "forward-to") == "" and body(app) == "" and uploaded(app) == []
        assert "(draft)" not in screen_text(app)

    sent = received.message
    assert sorted(received.rcpt_tos) == ["dave@example.org", "frank@example.org"]
    assert sent["Cc"] == "frank@example.org"
    attached = {part.get_filename() for part in sent.iter_attachments()}
    assert attached == {"invoice.pdf", "note.txt"}


async def test_new_interaction_left_with_esc_is_kept_until_emptied(world: World) -> None:
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="the agent")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="new")
        await type_text(pilot, "zoe@example.org")
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, "Your quote")
        await pilot.press("tab")
        await type_text(pilot, "Here it is.")
        await leave(pilot, app)

        # Logging out would lose it: the question says so.
        await pilot.press("Q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="log out?")
        assert "1 unsent forward or new-message draft will be lost" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="stayed")

        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="again")
        assert value(app, "new-to") == "zoe@example.org"
        assert value(app, "new-subject") == "Your quote"
        assert body(app) == "Here it is."

        # Emptied by hand and left: nothing is kept, nothing is announced.
        for input_id in ("new-to", "new-subject"):
            app.screen.query_one(f"#{input_id}", Input).value = ""
        app.screen.query_one(".compose-body", TextArea).text = ""
        await leave(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="empty")
        assert value(app, "new-to") == "" and body(app) == ""
        assert "(draft)" not in screen_text(app)
        await leave(pilot, app)
        await pilot.press("Q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="log out?")
        assert "will be lost" not in screen_text(app)
        await pilot.press("n")


async def test_reply_left_with_esc_keeps_its_files(world: World, tmp_path: Path) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Quote", "A quote please.", {}))
    quote = tmp_path / "quote.pdf"
    quote.write_bytes(b"%PDF-1.4 quote")
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: "Quote" in screen_text(app), what="the inbox")
        await pilot.press("enter")
        await until(pilot, lambda: "A quote please." in screen_text(app), what="the thread")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
        await type_text(pilot, "Attached.")
        await attach(pilot, app, quote)
        await leave(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply again")
        assert body(app) == "Attached." and uploaded(app) == ["quote.pdf"]
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="sent")
    assert {p.get_filename() for p in received.message.iter_attachments()} == {"quote.pdf"}
