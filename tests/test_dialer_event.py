"""A dialer's attach schedule through the engine's API (issue 14): stored and given back as
typed, fixed or `${variable}` dates, turned off, and each bad field refused under its name."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.api.schemas import DialerEvent, DialerIn, DialerPatch
from engine.client import Invalid
from postdesk.cli import build_parser
from postdesk.ctl import run_ctl
from tests.engine_fixtures import World


async def test_the_invitation_is_kept_and_refused_by_field(world: World) -> None:
    op = world.operator
    event = DialerEvent(
        title="Visit for ${name}",
        organizer="agenda@example.com",
        start="${visit}",
        end="2027-03-14 16:30",
    )
    added = await op.add_dialer(DialerIn(name="News", campaign="Support", event=event))
    assert added.event == event
    [listed] = await op.dialers()
    assert listed.event == event

    cases = [
        (DialerEvent(organizer="x@example.com", start="tomorrow", end="${end}"), "event.start"),
        (DialerEvent(organizer="x@example.com", start="${a} ${b}", end="${e}"), "event.start"),
        (DialerEvent(organizer="not an address", start="${s}", end="${e}"), "event.organizer"),
        (DialerEvent(organizer="x@example.com", start="${s}", end=""), "event.end"),
        (
            DialerEvent(
                organizer="x@example.com", start="2027-03-14 16:30", end="2027-03-14 15:00"
            ),
            "event.end",
        ),
    ]
    for bad, field in cases:
        with pytest.raises(Invalid) as refused:
            await op.update_dialer("News", DialerPatch(event=bad))
        assert refused.value.field == field, (bad, refused.value)
    [unchanged] = await op.dialers()
    assert unchanged.event == event  # nothing half-saved

    # No organizer: the invitations name the campaign's own address (the sender fills it in).
    campaign_wide = DialerEvent(organizer="", start="${s}", end="${e}")
    saved = await op.update_dialer("News", DialerPatch(event=campaign_wide))
    assert saved.event is not None and saved.event.organizer == ""

    off = await op.update_dialer("News", DialerPatch(event=DialerEvent(attach=False)))
    assert off.event is None
    untouched = await op.update_dialer("News", DialerPatch(seconds_between_messages=3))
    assert untouched.event is None


async def ctl(world: World, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    args = build_parser().parse_args(["ctl", "dialer", *argv])
    code = await asyncio.to_thread(run_ctl, world.engine.settings, args)
    return code, capsys.readouterr().out


async def test_ctl_sets_and_removes_the_invitation(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await ctl(
        world, capsys, "add", "News", "--campaign", "Support", "--event-title", "Visit",
        "--event-organizer", "agenda@example.com", "--event-start", "2027-03-14 15:30",
        "--event-end", "${end}", "--json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["event"] == {
        "attach": True,
        "title": "Visit",
        "organizer": "agenda@example.com",
        "start": "2027-03-14 15:30",
        "end": "${end}",
    }
    code, _ = await ctl(world, capsys, "set", "News", "--event-title", "Visit ${name}")
    assert code == 0
    [dialer] = await world.operator.dialers()
    assert dialer.event is not None and dialer.event.title == "Visit ${name}"
    assert dialer.event.start == "2027-03-14 15:30"  # kept
    code, _ = await ctl(world, capsys, "set", "News", "--no-event")
    assert code == 0
    [dialer] = await world.operator.dialers()
    assert dialer.event is None
