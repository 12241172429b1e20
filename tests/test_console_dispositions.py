"""The admin's editor of a campaign's wrap-up codes at 80x24, against a real engine: `d` on
the campaign list opens it; codes are added under and after others, renamed, taken out of
use, moved and removed with keys (and buttons), saved with Ctrl+S; a refusal points at the
code it is about."""

from __future__ import annotations

from textual.pilot import Pilot

from console.app import PostdeskApp
from console.screens.admin import AdminScreen
from console.screens.dispositions import DispositionsScreen
from engine.api.schemas import DispositionNode, DispositionTree, UserIn
from tests.console_helpers import console_for, press, screen_text, type_text, until
from tests.engine_fixtures import World


def paths(nodes: list[DispositionNode], above: str = "") -> list[str]:
    out: list[str] = []
    for n in nodes:
        here = f"{above}/{n.name}" if above else n.name
        out.append(here + ("" if n.active else " (inactive)"))
        out += paths(n.children, here)
    return out


async def editor(pilot: Pilot[object], app: PostdeskApp) -> DispositionsScreen:
    await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin mode")
    await until(pilot, lambda: "Support" in screen_text(app), what="the campaign list")
    await press(pilot, "w")
    await until(pilot, lambda: isinstance(app.screen, DispositionsScreen), what="the editor")
    screen = app.screen
    assert isinstance(screen, DispositionsScreen)
    return screen


async def name(pilot: Pilot[object], key: str, text: str) -> None:
    await press(pilot, key)
    await type_text(pilot, text)
    await press(pilot, "enter")


async def test_the_admin_builds_a_tree_of_codes_with_keys(world: World) -> None:
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot, app)
        await until(pilot, lambda: "No codes yet" in screen_text(app), what="empty tree")
        await name(pilot, "a", "Sale")  # letters bound on the screen go into the name
        await name(pilot, "a", "Upsell")  # under Sale
        await name(pilot, "a", "Annual")
        await name(pilot, "o", "Monthly")  # after Annual
        await until(pilot, lambda: "Monthly" in screen_text(app), what="the tree")
        assert paths(screen.codes) == [
            "Sale",
            "Sale/Upsell",
            "Sale/Upsell/Annual",
            "Sale/Upsell/Monthly",
        ]
        await press(pilot, "K")  # Monthly before Annual
        await name(pilot, "r", "Monthly plan")
        await press(pilot, "i")  # Monthly plan out of use
        assert paths(screen.codes)[2:] == [
            "Sale/Upsell/Monthly plan (inactive)",
            "Sale/Upsell/Annual",
        ]
        assert "inactive" in screen_text(app)
        await press(pilot, "down", "d")  # Annual removed
        assert paths(screen.codes) == ["Sale", "Sale/Upsell", "Sale/Upsell/Monthly plan (inactive)"]
        # A name with a level separator is refused before anything is sent.
        await name(pilot, "o", "A/B")
        await until(pilot, lambda: "separate levels" in screen_text(app), what="refused")
        await press(pilot, "escape")  # leaves the name, not the editor
        assert isinstance(app.screen, DispositionsScreen)
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    saved = await world.operator.dispositions("Support")
    assert paths(saved.codes) == ["Sale", "Sale/Upsell", "Sale/Upsell/Monthly plan (inactive)"]
    assert saved.required


async def test_the_mouse_edits_too_and_a_refusal_points_at_the_code(world: World) -> None:
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    await world.operator.set_dispositions(
        "Support",
        DispositionTree(codes=[DispositionNode(name="Sale"), DispositionNode(name="Info")]),
    )
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot, app)
        await until(pilot, lambda: "Info" in screen_text(app), what="the codes")
        await pilot.click("#codes-down")  # Sale after Info
        await until(pilot, lambda: [n.name for n in screen.codes] == ["Info", "Sale"], what="moved")
        await pilot.click("#codes-required")  # the button: closing no longer requires one
        assert not screen.required
        # The engine refuses two codes of one name at a level (whatever their case).
        await pilot.click("#codes-add-sibling")
        await type_text(pilot, "sale")
        await press(pilot, "enter")
        await pilot.click("#codes-save")
        await until(pilot, lambda: "is twice at one level" in screen_text(app), what="refusal")
        tree = screen.query_one("#codes-tree")
        assert tree.cursor_node is not None and tree.cursor_node.data.name == "sale"  # type: ignore[attr-defined]
        assert isinstance(app.screen, DispositionsScreen)
        await pilot.click("#codes-remove")
        await pilot.click("#codes-save")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
    saved = await world.operator.dispositions("Support")
    assert [n.name for n in saved.codes] == ["Info", "Sale"] and not saved.required


async def test_names_with_markup_show_as_typed(world: World) -> None:
    """A campaign and a code are people's text: `x[/y]` in either closed the console as the
    editor opened or as a code was added under it (Textual read them as markup)."""
    hostile = "Shop [EU] x[/y]"
    box = world.dovecot.new_mailbox("hostile")
    await world.operator.add_campaign(
        box.campaign(hostile, smtp_host=world.sink.host, smtp_port=world.sink.port)
    )
    code = "[i]Refund [EU]"  # no "/": it separates levels
    await world.operator.set_dispositions(
        hostile, DispositionTree(codes=[DispositionNode(name=code)], required=False)
    )
    await world.operator.add_user(UserIn(username="ada", display_name="Ada", roles=["admin"]))
    app = console_for(world.engine, "ada", "admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: hostile in screen_text(app), what="the campaign list")
        admin = app.screen
        assert isinstance(admin, AdminScreen)
        for _ in range(3):  # the cursor to its row
            chosen = admin.selected_campaign()
            if chosen is not None and chosen.name == hostile:
                break
            await press(pilot, "down")
        await press(pilot, "w")
        await until(pilot, lambda: isinstance(app.screen, DispositionsScreen), what="the editor")
        await until(pilot, lambda: f"Wrap-up codes of {hostile}" in screen_text(app))
        await until(pilot, lambda: code in screen_text(app), what="the code as typed")
        await press(pilot, "a")  # a code under it: the prompt quotes its name
        await until(pilot, lambda: f"New code under {code}" in screen_text(app))
