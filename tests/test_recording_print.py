"""Printing and exporting a recorded interaction against a real engine: mail arrives through
Dovecot, an agent replies (through the SMTP sink), writes a note and closes; then the PDF,
the `.eml` files and the mbox are asked for through the real client and `postdesk ctl`, and
printed with the real `lp` to a private cupsd whose queue writes to a file.

The PDF is read back with pypdf: what a reader of the paper would see, as text."""

from __future__ import annotations

import asyncio
import json
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from engine.client import EngineClient, Forbidden, NotFound
from engine.engine import Engine
from tests.cli_helpers import cli_env, postdesk_script
from tests.cups_server import QUEUE, CupsServer, cups  # noqa: F401  (fixture)
from tests.engine_fixtures import World
from tests.recording_world import mbox_messages, pdf_text, recorded_thread


@pytest.fixture
async def thread(engine: Engine, operator: EngineClient, dovecot, smtp_sink) -> dict:  # type: ignore[no-untyped-def]
    async with recorded_thread(engine, operator, dovecot, smtp_sink) as made:
        yield made


async def test_the_pdf_holds_the_headers_every_message_and_the_text_as_text(thread: dict) -> None:  # type: ignore[type-arg]
    name, data = await thread["supervisor"].recording_pdf(thread["id"])
    assert name == f"interaction-{thread['id']} Commande 1001 cassée.pdf"
    text = pdf_text(data)
    for expected in (
        f"Interaction #{thread['id']}",
        "Campaign Support",
        "Client Zoë Quinn <zoe@acme.example>",
        "Agent agent1",
        "State closed",
        "Messages 2 messages · 1 attachment",
        "1/2 ← Received",
        "2/2 → Sent",
        "reçu-1001.pdf · application/pdf",
        "Bonjour, ma commande n°1001 est arrivée cassée (Zoë, Montréal).",
        "Ελληνικά: καλημέρα. Кириллица: здравствуйте.",
        "[U+4E2D][U+6587] here",  # no CJK glyphs in DejaVu Sans: the code points, visibly
        "[bold]not bold[/bold] <b>not html</b> **not markdown**",
        "From the shop I got nothing.",
        "We are sorry: a new kettle is on its way.",
        "Customer called too; Ω note",
        "kettle replaced",
    ):
        assert expected in text, f"{expected!r} not in the PDF's text:\n{text}"
    # Controls and bidi overrides never reach the page; their words do.
    assert "\x1b" not in text and "\u202e" not in text
    assert "Colour red and evil." in text
    # In reading order: the customer, the note (written after the reply), the close.
    order = [text.index(s) for s in ("Bonjour", "We are sorry", "Ω note", "kettle replaced")]
    assert order == sorted(order)


async def test_only_whoever_may_see_the_thread_gets_its_files(thread: dict) -> None:  # type: ignore[type-arg]
    interaction = thread["id"]
    _, mine = await thread["agent1"].recording_pdf(interaction)  # its own agent
    assert "Bonjour" in pdf_text(mine)
    for call in ("recording_pdf", "recording_mbox", "recording_mails"):
        with pytest.raises(Forbidden):
            await getattr(thread["agent2"], call)(interaction)
        with pytest.raises(NotFound):
            await getattr(thread["supervisor"], call)(interaction + 1000)
    assert (await thread["supervisor"].recording_mails(interaction)).mails


async def test_eml_files_are_the_stored_mails_byte_for_byte(thread: dict) -> None:  # type: ignore[type-arg]
    world: World = thread["world"]
    mails = (await thread["supervisor"].recording_mails(thread["id"])).mails
    assert [(m.direction, m.original) for m in mails] == [("inbound", True), ("outbound", True)]
    assert mails[0].name.endswith(f"-in-{mails[0].message_id}.eml")
    # What arrived (Dovecot hands it out with CRLF line ends) and what the sink received.
    assert mails[0].data.replace(b"\r\n", b"\n") == thread["raw"].replace(b"\r\n", b"\n")
    assert mails[1].data == world.sink.messages[0].raw


async def test_the_mbox_opens_as_the_thread(thread: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    name, data = await thread["supervisor"].recording_mbox(thread["id"])
    assert name == f"interaction-{thread['id']}.mbox"
    assert data.startswith(b"From zoe@acme.example ")
    path = tmp_path / name
    path.write_bytes(data)
    messages = mbox_messages(path)
    assert len(messages) == 2
    assert [str(make_header(decode_header(m["Subject"]))) for m in messages] == [
        "Commande 1001 cassée",
        f"Re: Commande 1001 cassée [#{thread['id']}]",
    ]
    # A body line starting "From " is quoted (mboxrd), so it never splits a message (the
    # customer's body is encoded on the wire: only the reply has one in plain bytes).
    assert b"\n>From now on, tell us directly." in data
    assert "From now on, tell us directly." in messages[1].get_payload(decode=True).decode()


async def ctl(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()), "--data-dir", str(home), "ctl", *args,
        env=cli_env(**(env or {})), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ctl_prints_to_the_cups_queue(thread: dict, cups: CupsServer) -> None:  # type: ignore[type-arg]  # noqa: F811
    home = thread["world"].engine.settings.home
    code, out, err = await ctl(
        home, "recordings", "print", str(thread["id"]), "--printer", QUEUE, "--json", env=cups.env
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["job"].startswith(f"{QUEUE}-") and answer["printer"] == QUEUE
    printed = await asyncio.to_thread(cups.wait_printed, 1000)
    assert "Ελληνικά: καλημέρα." in pdf_text(printed)
    # A queue that does not exist: lp's own words, and where to save instead.
    code, out, err = await ctl(
        home, "recordings", "print", str(thread["id"]), "--printer", "nope", env=cups.env
    )
    assert code != 0 and "not printed" in err and "--out" in err and "Traceback" not in err


async def test_ctl_saves_and_exports(thread: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    home = thread["world"].engine.settings.home
    interaction = str(thread["id"])
    target = tmp_path / "thread.pdf"
    code, out, err = await ctl(home, "recordings", "print", interaction, "--out", str(target))
    assert code == 0, err
    assert "Bonjour" in pdf_text(target.read_bytes())
    code, out, err = await ctl(home, "recordings", "print", interaction, "--out", str(target))
    assert code != 0 and "exists" in err  # never over an existing file
    code, out, err = await ctl(
        home, "recordings", "export", interaction, "--eml-dir", str(tmp_path / "emls")
    )
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "emls").iterdir())
    assert len(files) == 2 and files[0].startswith("0001-in-") and files[1].startswith("0002-out-")
    assert (tmp_path / "emls" / files[1]).read_bytes() == thread["world"].sink.messages[0].raw
    code, out, err = await ctl(
        home, "recordings", "export", interaction, "--mbox", str(tmp_path / "t.mbox")
    )
    assert code == 0, err
    assert len(mbox_messages(tmp_path / "t.mbox")) == 2
    # An agent who is not the interaction's gets nothing, and no file is left behind.
    code, out, err = await ctl(
        home, "recordings", "print", interaction, "--as", "agent2", "--out", str(tmp_path / "x.pdf")
    )
    assert code != 0 and "not yours" in err and not (tmp_path / "x.pdf").exists()


async def test_ctl_refusals_reach_the_terminal_sanitised(thread: dict) -> None:  # type: ignore[type-arg]
    # A refusal may quote what it was given (elsewhere a stranger's text): stderr is a
    # terminal, so it gets no escape sequence, no bidi override, no bell, whatever the words.
    # (Here the request's schema refuses the name before the engine sees it.)
    home = thread["world"].engine.settings.home
    hostile = "Sales\x1b]52;c;cm0gLXJmIH4=\x07\u202eevil\x1b[2J"
    code, out, err = await ctl(home, "recordings", "search", "--campaign", hostile)
    assert code != 0 and "campaign" in err and "Traceback" not in err
    assert not any(ch in err for ch in "\x1b\x07\u202e"), repr(err)
