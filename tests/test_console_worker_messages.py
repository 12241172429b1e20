"""The compose screens' and the template picker's workers post typed messages
(console/messages.py), observed with Textual's `message_hook`: a template filled in
(`TemplatesLoaded`, `TemplateRendered`), a file attached or not (`FileUploaded`,
`FileNotUploaded`), a reply refused then sent (`MailNotSent`, `MailSent`). And the compose
base is abstract: only the reply, forward and new-interaction screens say what they send.
Against a fake engine, no processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec import structs
from textual.app import App
from textual.message import Message
from textual.widgets import TextArea

from console.messages import (
    FileNotUploaded,
    FileUploaded,
    MailNotSent,
    MailSent,
    TemplateRendered,
    TemplatesLoaded,
)
from console.screens.attach import AttachScreen
from console.screens.compose import ReplyScreen
from console.screens.compose_base import ComposeScreen
from console.screens.templates import TemplatePicker
from engine.api.schemas import InteractionDetail, UploadOut
from engine.client.client import EngineClient, Invalid
from tests.console_helpers import press, screen_text, settle, until
from tests.fake_engine import THREAD, FakeEngine

TYPED = (TemplatesLoaded, TemplateRendered, FileUploaded, FileNotUploaded, MailSent, MailNotSent)


class Engine(FakeEngine):
    """Refuses the first reply and any file named `bad.txt`."""

    def __init__(self) -> None:
        self.replies = 0

    async def upload(self, filename: str, data: bytes, content_type: str = "") -> UploadOut:
        if filename == "bad.txt":
            raise Invalid("file type not allowed", 400)
        return UploadOut(token="t1", filename=filename, size=len(data), content_type=content_type)

    async def reply(self, interaction_id: int, body: str, **_: object) -> InteractionDetail:
        self.replies += 1
        if self.replies == 1:
            raise Invalid("the engine is not ready for that", 400)
        return structs.replace(THREAD, id=interaction_id)


class Host(App[None]):
    def __init__(self, api: Engine) -> None:
        super().__init__()
        self.api = api
        self.result: list[InteractionDetail | None] = []

    def on_mount(self) -> None:
        screen = ReplyScreen(
            self.api,  # type: ignore[arg-type]
            client="Carol",
            to="carol@example.net",
            subject="Order",
            interaction_id=1,
        )
        self.push_screen(screen, self.result.append)


def test_the_compose_base_is_abstract() -> None:
    api: EngineClient = Engine()  # type: ignore[assignment]
    with pytest.raises(TypeError, match="submit"):
        ComposeScreen(api)  # type: ignore[abstract]
    assert ReplyScreen(api, client="C", to="c@example.net", subject="S") is not None


async def test_compose_workers_post_typed_messages(tmp_path: Path) -> None:
    posted: list[Message] = []

    def hook(message: Message) -> None:
        if isinstance(message, TYPED):
            posted.append(message)

    def kinds() -> list[type[Message]]:
        return [type(m) for m in posted]

    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(b"fine")
    bad.write_bytes(b"not fine")
    app = Host(Engine())
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReplyScreen), what="the reply")
        reply = app.screen
        assert isinstance(reply, ReplyScreen)

        await press(pilot, "ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="the picker")
        await until(pilot, lambda: "Refund policy" in screen_text(app), what="templates")
        [loaded] = [m for m in posted if isinstance(m, TemplatesLoaded)]
        assert [t.name for t in loaded.templates] == [t.name for t in await Engine().templates()]
        await press(pilot, "enter")
        await until(pilot, lambda: app.screen is reply, what="back to the reply")
        [rendered] = [m for m in posted if isinstance(m, TemplateRendered)]
        assert reply.query_one(".compose-body", TextArea).text == rendered.rendered.text

        for count, path in enumerate((bad, good), start=1):
            # The file tree's loader runs as long as it shows: no settling while it does.
            await press(pilot, "ctrl+a", workers=False)
            await until(pilot, lambda: isinstance(app.screen, AttachScreen), what="attach")
            app.screen.dismiss(path)
            await until(pilot, lambda n=count: len(posted) == 2 + n, what=f"{path.name} sent")
        await settle(pilot)
        [refused] = [m for m in posted if isinstance(m, FileNotUploaded)]
        assert isinstance(refused.error, Invalid)
        [uploaded] = [m for m in posted if isinstance(m, FileUploaded)]
        assert uploaded.upload.filename == "good.txt"
        assert [u.filename for u in reply.uploads.uploads] == ["good.txt"]

        await press(pilot, "ctrl+s")
        [not_sent] = [m for m in posted if isinstance(m, MailNotSent)]
        assert not_sent.error.args == ("the engine is not ready for that",)
        assert app.screen is reply and not reply.sending
        assert "Not sent: the engine is not ready for that" in screen_text(app)

        await press(pilot, "ctrl+s")
        await until(pilot, lambda: app.result != [], what="the reply sent")
        [sent] = [m for m in posted if isinstance(m, MailSent)]
        assert app.result == [sent.detail] and reply.sent
    assert kinds() == [
        TemplatesLoaded,
        TemplateRendered,
        FileNotUploaded,
        FileUploaded,
        MailNotSent,
        MailSent,
    ]
