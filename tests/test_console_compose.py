"""Writing mail from the agent console, against a real engine, Dovecot and SMTP sink:
reply with history, templates with unfilled variables, $EDITOR, attachments, drafts that
survive quitting, forwards and new interactions. Assertions are on what the sink received."""

from __future__ import annotations

import stat
from email.message import EmailMessage
from pathlib import Path

import pytest
from textual.widgets import Button, Input, SelectionList, TextArea

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from console.screens.attach import AttachScreen
from console.screens.compose import ReplyScreen
from console.screens.confirm import ConfirmScreen
from console.screens.forward import ForwardScreen
from console.screens.new_interaction import NewInteractionScreen
from console.screens.templates import TemplatePicker
from console.screens.wrapup import WrapupScreen
from console.widgets.uploads import UploadList, UploadRow
from engine.api.schemas import CampaignPatch, TemplateIn, UploadOut
from tests.console_helpers import console_for, open_thread, screen_text, type_text, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


def body_of(app: PostdeskApp) -> TextArea:
    return app.screen.query_one(".compose-body", TextArea)


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_reply_with_history_template_warning_and_signature(world: World) -> None:
    await world.operator.add_template(
        TemplateIn(
            name="Greeting",
            campaign="Support",
            body_text="Hello ${name}, order ${order} ships ${when}.",
        )
    )
    await world.operator.add_template(TemplateIn(name="Closing", body_text="Kind regards"))
    await world.operator.add_template(
        TemplateIn(name="Sig", campaign="Support", kind="signature", body_text="Support team")
    )
    await world.operator.update_campaign("Support", CampaignPatch(signature_template="Sig"))
    world.dovecot.append(world.mailbox, customer_mail("Order 1234 missing", "Where is it?"))

    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, app, "Order 1234 missing", "Where is it?")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="the reply screen")
        assert "Reply with history" in screen_text(app)

        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="templates")
        picker = app.screen
        await until(pilot, lambda: "Closing" in screen_text(app), what="the template list")
        assert "Sig" not in screen_text(app)  # signatures are not offered
        await type_text(pilot, "greet")
        await until(
            pilot,
            lambda: "Closing" not in screen_text(app) and "order ${order}" in screen_text(app),
            what="the filtered list and its preview",
        )
        await pilot.press("enter")
        await until(pilot, lambda: picker not in app.screen_stack, what="the picker closing")
        assert body_of(app).text == "Hello Carol Customer, order ${order} ships ${when}."
        await until(
            pilot,
            lambda: "Not filled in: ${order}, ${when}" in screen_text(app),
            what="the warning naming the unfilled variables",
        )

        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        assert "${order}, ${when}" in screen_text(app)
        await pilot.press("y")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="back to inbox")

    [interaction] = await world.operator.interactions(scope="all")
    customer = (await world.operator.interaction(interaction.id)).messages[0]
    sent = received.message
    assert received.rcpt_tos == ["carol@example.net"]
    assert sent["Subject"] == f"Re: Order 1234 missing [#{interaction.id}]"
    assert sent["In-Reply-To"] == f"<{customer.message_id}>"
    text = plain(sent)
    assert text.startswith("Hello Carol Customer, order ${order} ships ${when}.\n\n-- \n")
    assert "Support team" in text
    assert "> Where is it?" in text  # the history, quoted under the signature


async def test_editor_attachments_and_draft_survive_quitting(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "Added in the editor." >> "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    kept = tmp_path / "quote.pdf"
    kept.write_bytes(b"%PDF-1.4 quote\x00\xff")
    dropped = tmp_path / "old.txt"
    dropped.write_bytes(b"not this one")
    world.dovecot.append(world.mailbox, customer_mail("Quote please", "Can I get a quote?"))

    async with world.client("agent1") as agent:
        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(120, 36)) as pilot:
            await open_thread(pilot, app, "Quote please", "Can I get a quote?")
            [item] = await agent.interactions()
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
            await type_text(pilot, "Half-written answer")
            await eventually(
                lambda: agent.interaction(item.id),
                lambda d: d.draft == "Half-written answer",
                what="the draft saved while typing",
            )
        # The console is gone (as if the agent quit); the draft is in the engine.

        app = console_for(world.engine, "agent1", "agent")
        async with app.run_test(size=(120, 36)) as pilot:
            await open_thread(pilot, app, "Quote please", "Can I get a quote?")
            assert "Half-written answer" in screen_text(app)  # "Draft" line in the header
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, WrapupScreen), what="wrap-up")
            assert "never sent" in screen_text(app) and "Half-written answer" in screen_text(app)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, WrapupScreen), what="kept")
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="reply")
            assert body_of(app).text == "Half-written answer"

            await pilot.press("ctrl+e")
            await until(
                pilot,
                lambda: body_of(app).text == "Half-written answer\nAdded in the editor.",
                what="the text from $EDITOR",
            )

            names = [kept.name, dropped.name]
            for path in (kept, dropped):
                await pilot.press("ctrl+a")
                await until(pilot, lambda: isinstance(app.screen, AttachScreen), what="attach")
                assert "Up to" in screen_text(app)  # the size limit from limits()
                app.screen.query_one("#path-input", Input).value = str(path)
                await pilot.click("#attach-ok")
                await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="back")
                await until(
                    pilot,
                    lambda p=path: p.name in [u.filename for u in uploads(app)],
                    what=f"{path.name} listed",
                )
            assert [u.filename for u in uploads(app)] == names
            [row] = [r for r in app.screen.query(UploadRow) if r.upload.filename == dropped.name]
            await pilot.click(row.query_one(Button))  # its ✕
            await until(pilot, lambda: len(uploads(app)) == 1, what="one attachment removed")
            assert uploads(app)[0].filename == kept.name

            await pilot.press("ctrl+s")
            received = (await world.sink.await_count(1))[0]
            await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="sent")
        assert (await agent.interaction(item.id)).draft == ""

    sent = received.message
    assert plain(sent).startswith("Half-written answer\nAdded in the editor.")
    files = {part.get_filename(): part.get_content() for part in sent.iter_attachments()}
    assert files == {kept.name: kept.read_bytes()}


def uploads(app: PostdeskApp) -> list[UploadOut]:
    return app.screen.query_one(UploadList).uploads


async def test_forward_to_several_with_a_carried_attachment(world: World) -> None:
    files = {"invoice.pdf": b"%PDF-1.4 invoice", "photo.jpg": b"\xff\xd8 not carried"}
    world.dovecot.append(
        world.mailbox, customer_mail("Invoice attached", "See the invoice.", files=files)
    )
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, app, "Invoice attached", "See the invoice.")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForwardScreen), what="forward")
        text = screen_text(app)
        assert "FWD: Invoice attached" in text and "invoice.pdf" in text
        assert "---------- Forwarded message ----------" in text
        await type_text(pilot, "dave@example.org, erin@example.org")
        await pilot.press("tab")
        await type_text(pilot, "frank@example.org")
        await pilot.press("tab")
        await type_text(pilot, "gina@example.org")
        await pilot.press("tab")
        await type_text(pilot, "Please have a look.")
        carried = app.screen.query_one("#forward-files", SelectionList)
        assert sorted(carried.selected) == sorted(
            carried.get_option_at_index(i).value for i in (0, 1)
        )
        carried.deselect(carried.get_option_at_index(1).value)  # photo.jpg
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="sent")

    sent = received.message
    assert sorted(received.rcpt_tos) == [
        "dave@example.org",
        "erin@example.org",
        "frank@example.org",
        "gina@example.org",
    ]
    assert sent["To"] == "dave@example.org, erin@example.org"
    assert sent["Cc"] == "frank@example.org"
    assert sent["Bcc"] is None and b"gina@" not in received.raw
    assert sent["Subject"].startswith("FWD: Invoice attached")
    body = plain(sent)
    assert body.startswith("Please have a look.\n\n---------- Forwarded message ----------")
    assert "See the invoice." in body
    attached = {part.get_filename(): part.get_content() for part in sent.iter_attachments()}
    assert attached == {"invoice.pdf": files["invoice.pdf"]}


async def test_new_interaction_and_start_from_a_message(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Kettle broken", "It sparks."))
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, app, "Kettle broken", "It sparks.")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="new")
        assert app.screen.query_one("#new-subject", Input).value == "Kettle broken"
        assert body_of(app).text.startswith("It sparks.")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AgentScreen), what="cancelled")
        await pilot.press("escape")  # back to the inbox (narrow layout)

        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, NewInteractionScreen), what="new")
        assert "Support" in screen_text(app)  # my only campaign, chosen already
        await type_text(pilot, "Zoe Client <zoe@example.org>")
        await pilot.press("tab")
        await type_text(pilot, "yann@example.org")
        await pilot.press("tab", "tab")
        await type_text(pilot, "Your quote")
        await pilot.press("tab")
        await type_text(pilot, "Here it is.")
        await pilot.press("ctrl+s")
        received = (await world.sink.await_count(1))[0]
        await until(pilot, lambda: "Your quote" in screen_text(app), what="it in my inbox")

    sent = received.message
    [new] = [i for i in await world.operator.interactions(scope="all") if i.subject == "Your quote"]
    assert new.agent == "agent1" and new.state == "assigned"
    assert sorted(received.rcpt_tos) == ["yann@example.org", "zoe@example.org"]
    assert sent["To"] == "Zoe Client <zoe@example.org>"
    assert sent["Cc"] == "yann@example.org"
    assert sent["From"] == "Postdesk Support <support@postdesk.test>"
    assert sent["Subject"] == f"Your quote [#{new.id}]"
    assert plain(sent).startswith("Here it is.")
