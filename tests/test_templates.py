"""Template variables: known ones filled, unknown ones kept visible and reported."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.domain.templates import render


def test_known_filled_unknown_kept() -> None:
    out = render(
        "Hello ${name}, order ${order} from ${agent}. ${name}!", {"name": "Ann", "agent": "Bo"}
    )
    assert out.text == "Hello Ann, order ${order} from Bo. Ann!"
    assert out.unknown == ["order"]


def test_values_are_not_rendered_again() -> None:
    assert render("${a}", {"a": "${b}", "b": "x"}).text == "${b}"


@given(st.text(), st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.text()))
def test_never_raises_and_no_variables_means_identity(
    template: str, values: dict[str, str]
) -> None:
    out = render(template, values)
    if "${" not in template:
        assert out.text == template and out.unknown == []
