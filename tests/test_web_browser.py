"""A person rates a reply in a real browser: headless Chromium opens the rating link of the
mail the SMTP sink received, clicks the page's one button, and lands on the thank-you page.
Screenshots of both pages are kept in the test's directory (and in $POSTDESK_SCREENSHOTS
when set, for the docs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.browser import chromium
from tests.web_helpers import WebWorld, anchors, parts, rating_links, replied


async def test_a_person_rates_a_reply_in_chromium(web_world: WebWorld, tmp_path: Path) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    link = rating_links(" ".join(anchors(parts(mail)[1]).hrefs))[4]  # the HTML part's "4"
    token = link.rsplit("/", 2)[-2]
    async with chromium(tmp_path / "profile") as browser:
        await browser.open(link)
        page = await browser.html()
        assert 'value="4" checked=""' in page or 'value="4" checked' in page
        rating_shot = await browser.screenshot(tmp_path / "rating-page.png")
        assert await world.operator.ratings() == []  # opening the page recorded nothing

        await browser.click("#send")
        await browser.event("Page.loadEventFired")
        assert await browser.url() == f"{web_world.base_url}/r/{token}/thanks"
        thanks = await browser.html()
        thanks_shot = await browser.screenshot(tmp_path / "thanks-page.png")
    assert "Thank you! Every rating is read by our team &amp; &lt;i&gt;nobody" in thanks
    assert "4 of 5" in thanks
    [rating] = await world.operator.ratings()
    assert (rating.score, rating.interaction_id) == (4, interaction_id)
    assert rating_shot.stat().st_size > 1000 and thanks_shot.stat().st_size > 1000
    if keep := os.environ.get("POSTDESK_SCREENSHOTS"):
        for shot in (rating_shot, thanks_shot):
            shutil.copy(shot, Path(keep) / shot.name)
