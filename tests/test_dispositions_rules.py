"""The wrap-up rules without an engine: how a path is read, which code a close may use, what
a tree an admin saves may be (engine/domain/dispositions.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.dispositions import (
    Code,
    DispositionError,
    NodeIn,
    Tree,
    check_note,
    check_tree,
    choose,
    parse_path,
    required,
    show,
)

# Sale > Upsell > Annual | Monthly;  Sale > New;  Complaint (inactive);  Info > Old (inactive)
CODES = [
    Code(1, None, "Sale", 0),
    Code(2, 1, "Upsell", 0),
    Code(3, 2, "Annual", 0),
    Code(4, 2, "Monthly", 1),
    Code(5, 1, "New", 1),
    Code(6, None, "Complaint", 1, active=False),
    Code(7, None, "Info", 2),
    Code(8, 7, "Old", 0, active=False),
]


def pick(text: str, *, is_required: bool = True) -> Code | None:
    return choose(Tree(CODES), text, is_required=is_required, campaign="Support")


def test_a_path_is_read_with_either_separator_and_shown_with_arrows() -> None:
    assert parse_path("Sale/Upsell/Annual") == ("Sale", "Upsell", "Annual")
    assert parse_path(" Sale > Upsell >Annual ") == ("Sale", "Upsell", "Annual")
    assert show(("Sale", "Upsell", "Annual")) == "Sale > Upsell > Annual"


@pytest.mark.parametrize(
    "bad", ["", "  ", "Sale//Annual", "Sale/\x1b[31m", "a/b/c/d/e/f", "x" * 61]
)
def test_a_bad_path_is_refused(bad: str) -> None:
    with pytest.raises(DispositionError):
        parse_path(bad)


@given(st.text(max_size=80))
def test_reading_any_text_raises_only_its_own_error(text: str) -> None:
    try:
        parts = parse_path(text)
    except DispositionError:
        return
    assert all(p and "/" not in p and ">" not in p for p in parts)


def test_a_close_takes_a_leaf_of_the_campaign_whatever_the_case() -> None:
    assert pick("sale/upsell/ANNUAL") == CODES[2]
    assert pick("Sale > New") == CODES[4]
    # Info's only sub-code is inactive: Info itself is the finest level in use.
    assert pick("Info") == CODES[6]


def test_required_means_a_campaign_with_active_codes_and_the_setting_on() -> None:
    assert required(True, Tree(CODES))
    assert not required(False, Tree(CODES))
    assert not required(True, Tree([]))
    assert not required(True, Tree([Code(1, None, "Gone", active=False)]))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "choose a disposition: Support asks for one"),
        ("Sale/Upsell/Weekly", "is not a disposition of Support"),
        ("Complaint", "is no longer in use"),
        ("Info/Old", "is no longer in use"),
        ("Sale/Upsell", "has finer codes: choose one of Annual, Monthly"),
    ],
)
def test_a_close_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(DispositionError, match=words) as refused:
        pick(text)
    assert refused.value.field == "disposition"


def test_no_code_is_fine_where_none_is_required() -> None:
    assert pick("", is_required=False) is None


def test_a_note_is_kept_on_several_lines_but_without_controls() -> None:
    assert check_note("  first line\nsecond\t \n") == "first line\nsecond"
    with pytest.raises(DispositionError) as refused:
        check_note("bell\x07")
    assert refused.value.field == "note"
    with pytest.raises(DispositionError):
        check_note("x" * 4001)


def node(name: str, *children: NodeIn, code_id: int | None = None, active: bool = True) -> NodeIn:
    return NodeIn(code_id, name, active, tuple(children))


def test_a_tree_with_a_repeated_sibling_or_a_foreign_id_is_refused() -> None:
    assert check_tree([node("Sale", node("New"), node("Upsell")), node("Info")], set()) == 4
    with pytest.raises(DispositionError) as twice:
        check_tree([node("Sale", node("New"), node("new"))], set())
    assert twice.value.field == "codes.0.children.1.name"
    with pytest.raises(DispositionError, match="not this campaign's"):
        check_tree([node("Sale", code_id=99)], {1, 2})
    with pytest.raises(DispositionError, match="given twice"):
        check_tree([node("Sale", code_id=1), node("Info", code_id=1)], {1})
    deep = node("6")
    for level in "54321":
        deep = node(level, deep)
    with pytest.raises(DispositionError, match="at most 5 levels"):
        check_tree([deep], set())


def test_a_hostile_wrapup_is_shown_as_plain_text() -> None:
    """Codes and notes are people's text: the thread shows them sanitised, never as markup."""
    from datetime import UTC, datetime

    from console.widgets.wrapups import wrapups_text
    from engine.api.schemas import WrapupOut

    shown = wrapups_text(
        [
            WrapupOut(
                disposition="[bold red]Sale[/]",
                note="line one\n\x1b[2Jwiped?\u202etxet",
                agent="ana",
                agent_name="Ana [link=x]",
                closed_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            )
        ]
    ).plain
    assert "[bold red]Sale[/]" in shown and "Ana [link=x]" in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "line one\n" in shown
