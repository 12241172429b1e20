"""A person unsubscribes from a dialer mail in a real browser: headless Chromium on a phone's
viewport opens the record's unsubscribe link, sees the page (opening it changed nothing),
presses its one button, and reads the confirmation; the address is blacklisted for the
dialer's campaign. Screenshots of both pages are kept in the test's directory (and in
$POSTDESK_SCREENSHOTS when set, for the docs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from engine.domain.web_links import Links
from tests.browser import chromium
from tests.dialer_helpers import sent_records
from tests.web_helpers import WebWorld


async def test_a_person_unsubscribes_from_a_dialer_mail_in_chromium(
    web_world: WebWorld, tmp_path: Path
) -> None:
    world = web_world.world
    [ann] = await sent_records(world, ["ann@example.org"])
    link = Links(web_world.base_url, ann.token).unsubscribe  # what the sender puts in the mail
    async with chromium(tmp_path / "profile") as browser:
        await browser.open(link)
        page = await browser.html()
        assert "Stop receiving mail from Support?" in page
        asked = await browser.screenshot(tmp_path / "dialer-unsubscribe-page.png")
        assert await world.operator.blacklist() == []  # opening the page changed nothing

        await browser.click("#send")
        await browser.event("Page.loadEventFired")
        done = await browser.html()
        confirmed = await browser.screenshot(tmp_path / "dialer-unsubscribed-page.png")
    assert "You are unsubscribed" in done
    [entry] = await world.operator.blacklist()
    assert (entry.email, entry.campaign, entry.source) == (
        "ann@example.org",
        "Support",
        "unsubscribe-link",
    )
    assert asked.stat().st_size > 1000 and confirmed.stat().st_size > 1000
    if keep := os.environ.get("POSTDESK_SCREENSHOTS"):
        for shot in (asked, confirmed):
            shutil.copy(shot, Path(keep) / shot.name)
