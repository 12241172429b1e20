"""Break reasons: the admin keeps the list, agents choose from it, the engine enforces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.client.client import Forbidden, Invalid
from engine.engine import Engine
from engine.errors import Invalid as ServiceInvalid
from engine.services.people.break_reasons import clean_reasons
from tests.engine_fixtures import engine_settings


async def test_new_installation_offers_the_default_reasons(operator: EngineClient) -> None:
    assert await operator.break_reasons() == ["Lunch", "Coffee", "Meeting", "Training", "Personal"]


async def test_admin_edits_agents_choose_and_the_engine_refuses_others(
    engine: Engine, operator: EngineClient
) -> None:
    await operator.add_user(UserIn(username="ada", roles=["admin"]))
    await operator.add_user(UserIn(username="ana", roles=["agent"]))
    async with (
        EngineClient(engine.socket_path, act_as="ada") as admin,
        EngineClient(engine.socket_path, act_as="ana") as agent,
    ):
        saved = await admin.set_break_reasons(["  Lunch ", "Team huddle", "Doctor"])
        assert saved == ["Lunch", "Team huddle", "Doctor"]
        # Agents read the list in the admin's order, on its own route and in their limits.
        assert await agent.break_reasons() == saved
        assert (await agent.limits()).break_reasons == saved

        assert (await agent.set_status("break", "Team huddle")).status_reason == "Team huddle"
        with pytest.raises(Invalid, match="'Coffee' is not a break reason"):
            await agent.set_status("break", "Coffee")
        assert (await agent.me()).status_reason == "Team huddle"

        with pytest.raises(Forbidden):
            await agent.set_break_reasons(["Nap"])
        await operator.add_user(UserIn(username="sam", roles=["supervisor"]))
        async with EngineClient(engine.socket_path, act_as="sam") as supervisor:
            with pytest.raises(Forbidden):
                await supervisor.set_break_reasons(["Nap"])
        with pytest.raises(Invalid, match="break reason 3 repeats reason 1"):
            await admin.set_break_reasons(["Lunch", "Doctor", "lunch"])
        # A refused list changes nothing.
        assert await agent.break_reasons() == saved

        # Free has no reason, whatever is sent.
        assert (await agent.set_status("free", "Lunch")).status_reason == ""

        # With no reasons defined, a break has none.
        assert await admin.set_break_reasons([]) == []
        with pytest.raises(Invalid, match="no break reasons are defined"):
            await agent.set_status("break", "Nap")
        assert (await agent.set_status("break")).status == "break"


def test_each_bad_entry_is_named() -> None:
    assert clean_reasons(["A", " B "]) == ["A", "B"]
    cases = {
        "break reason 2 is empty": ["A", "   "],
        "break reason 1 contains a control character": ["Lunch\x1b[31m"],
        "break reason 2 contains a control character": ["A", "two\nlines"],
        "break reason 1 is longer than 40 characters": ["x" * 41],
        "at most 20 break reasons": [f"R{i}" for i in range(21)],
    }
    for message, names in cases.items():
        with pytest.raises(ServiceInvalid, match=message):
            clean_reasons(names)


async def test_an_upgrade_keeps_the_reasons_the_old_setting_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before migration 0004 the list was the engine setting POSTDESK_BREAK_REASONS."""
    monkeypatch.setenv("POSTDESK_BREAK_REASONS", '["Lunch", "Smoke", "Lunch", " "]')
    eng = Engine(engine_settings(tmp_path / "home"))
    await eng.start()
    try:
        assert await eng.break_reasons.names() == ["Lunch", "Smoke"]
    finally:
        await eng.stop()
