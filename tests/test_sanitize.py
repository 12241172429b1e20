"""Tests for the terminal sanitiser: concrete attacks plus properties over arbitrary text."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from engine.text.sanitize import one_line, safe_text, sanitize

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)


def _forbidden(ch: str, *, multiline: bool = True) -> bool:
    code = ord(ch)
    if ch == "\n":
        return not multiline
    return (
        code < 0x20
        or code == 0x7F
        or 0x80 <= code <= 0x9F
        or ch in BIDI_CONTROLS
        or (unicodedata.category(ch) == "Cf" and ch not in "\u200c\u200d")
        or unicodedata.category(ch) == "Cs"
    )


# Text biased towards the characters that matter: escape introducers, terminators,
# C1 controls, bidi controls, line breaks, plus some ordinary text.
_NASTY = st.sampled_from(
    list("\x1b\x07\x9b\x9c\x9d\x90\x98\x9e\x9f\x18\x1a\r\n\t\x00\x7f[]\\;PX^_m0123")
    + sorted(BIDI_CONTROLS)
    + ["\u200d", "\u200c", "\ufeff", "\u00ad", "\u2028", "\U000e0041", "\ud800", "é", "漢"]
)
nasty_text = st.lists(st.one_of(_NASTY, st.characters()), max_size=60).map("".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b[1;38;2;255;0;0mtrue colour\x1b[m", "true colour"),
        ("before\x1b]52;c;ZXZpbA==\x07after", "beforeafter"),
        ("before\x1b]0;evil title\x1b\\after", "beforeafter"),
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
        ("a\x1b_apc payload\x1b\\b", "ab"),
        ("a\x1b^pm\x1b\\b\x1bXsos\x1b\\c", "abc"),
        ("\x9b31mred", "red"),
        ("a\x9d52;c;ZXZpbA==\x07b", "ab"),
        ("a\x9d0;title\x9cb", "ab"),
        ("a\x1b(Bb\x1b#8c\x1bcd", "abcd"),
        ("a\x1b7b\x1b8c", "abc"),
        ("bell\x07 back\x08space\x00nul\x7fdel", "bell backspacenuldel"),
        ("one\r\ntwo\rthree\nfour", "one\ntwo\nthree\nfour"),
        ("a\tb", "a    b"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("\u2066isolate\u2069 \u200emarks\u200f \u061calm", "isolate marks alm"),
        ("soft\u00adhyphen\ufeff", "softhyphen"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("line\u2028sep", "line\nsep"),
        ("lone \ud83d surrogate", "lone \ufffd surrogate"),
        ("tag\U000e0041\U000e007fs", "tags"),
    ],
)
def test_concrete_cases(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_unterminated_osc_keeps_payload_as_inert_text() -> None:
    # Only the introducer goes; the rest of the message must not vanish.
    assert sanitize("hi \x1b]52;c;ZXZpbA== and the rest") == "hi 52;c;ZXZpbA== and the rest"
    assert sanitize("caf\x9d and more") == "caf and more"


def test_single_line_mode() -> None:
    assert sanitize("a\r\n\r\nb\nc", multiline=False) == "a b c"
    assert sanitize("a\u2029b", multiline=False) == "a b"


def test_rich_markup_stays_literal() -> None:
    text = safe_text("[bold]red[/bold] \x1b[31mx", style="italic")
    assert text.plain == "[bold]red[/bold] x"
    assert text.spans == []
    assert text.style == "italic"


def test_safe_text_single_line() -> None:
    assert safe_text("a\nb", multiline=False).plain == "a b"


def test_one_line_collapses_and_truncates() -> None:
    assert one_line("  Re:\n\n  hello\tthere  ") == "Re: hello there"
    assert one_line("hello world", 8) == "hello w…"
    assert one_line("hello", 5) == "hello"
    assert one_line("hello", 1) == "…"
    assert one_line("hello", 0) == ""
    # Wide characters take two cells each.
    assert one_line("漢字漢字", 5) == "漢字…"


@given(nasty_text, st.booleans())
def test_output_has_no_controls(text: str, multiline: bool) -> None:
    out = sanitize(text, multiline=multiline)
    bad = [ch for ch in out if _forbidden(ch, multiline=multiline)]
    assert not bad, (text, out)
    assert "\x1b" not in out
    assert "\r" not in out


@given(nasty_text, st.booleans())
def test_idempotent(text: str, multiline: bool) -> None:
    once = sanitize(text, multiline=multiline)
    assert sanitize(once, multiline=multiline) == once


@given(st.text(alphabet=string.printable[:95]))
def test_printable_ascii_unchanged(text: str) -> None:
    assert sanitize(text) == text
    assert sanitize(text, multiline=False) == text


@given(nasty_text, st.integers(min_value=0, max_value=40))
def test_one_line_fits_width(text: str, width: int) -> None:
    out = one_line(text, width)
    assert "\n" not in out
    assert cell_len(out) <= width


@pytest.mark.parametrize(
    "value",
    [
        "\x1b]52;c;cm0gLXJmIH4=\x07Mailbox full",  # a bounce's reason writing the clipboard
        "\x1b[2J\x1b[HMailbox full",
        "\x9b2JMailbox full",
        "\x1b]8;;https://evil.example/\x07Mailbox full\x1b]8;;\x07",
        "Mailbox\u202e full",
    ],
)
def test_a_csv_cell_printed_to_a_terminal_acts_on_nothing(value: str) -> None:
    """`ctl ratings --csv` and `ctl dialer records --csv` print to the terminal: a stranger's
    text in a cell (a bounce's reason, an address) is shown, never run by the terminal."""
    from engine.text.spreadsheet import csv_cell

    cell = csv_cell(value)
    assert cell == sanitize(cell)
    assert "Mailbox" in cell and "full" in cell


def test_a_csv_cell_starting_with_a_control_then_a_formula_is_still_quoted() -> None:
    from engine.text.spreadsheet import csv_cell

    assert csv_cell("\x1b[0m=HYPERLINK(1)").startswith("'=")
    assert csv_cell("\t=1").startswith("'")
