"""Quoted history detection (console/quoting.py): what is folded, and what never is."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.quoting import MAX_ATTRIBUTION, MIN_LINES, split_history

OLD = ["> Hello,", ">", "> where is my parcel?", "> It was due on Monday.", ">", "> Carol"]


def mail(*parts: str | list[str]) -> str:
    lines: list[str] = []
    for part in parts:
        lines += part if isinstance(part, list) else part.split("\n")
    return "\n".join(lines)


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Mar 2025 at 10:00, Postdesk Support <support@postdesk.test> wrote:",
        "On 2025-03-03 10:00, support@postdesk.test wrote:",
        "Le lun. 3 mars 2025 à 10:00, Postdesk Support <support@postdesk.test> a écrit :",
        "Le 03/03/2025 à 10:00, Postdesk Support a\u00a0écrit\u00a0:",
        "Am 03.03.2025 um 10:00 schrieb Postdesk Support <support@postdesk.test>:",
        "El lun, 3 mar 2025 a las 10:00, Postdesk Support escribió:",
        "Postdesk Support wrote:",
        # Gmail wraps long attributions at 78 columns.
        "On Mon, Mar 3, 2025 at 10:00 AM Postdesk Support Team of the Big Shop <\n"
        "support@postdesk.test> wrote:",
    ],
)
def test_trailing_quote_folds_with_its_attribution(attribution: str) -> None:
    text = mail("Thanks, it arrived today.", "", attribution, "", OLD, "")
    folded = split_history(text)
    assert folded is not None
    assert folded.reply == "Thanks, it arrived today."
    assert folded.history == mail(attribution, "", OLD)
    assert folded.lines == len(OLD) + 2 + attribution.count("\n")


def test_quote_without_attribution_folds_from_the_first_quoted_line() -> None:
    folded = split_history(mail("Thanks!", "-- ", "Carol", "", OLD))
    assert folded is not None
    assert folded.reply == "Thanks!\n-- \nCarol"
    assert folded.history == mail(OLD)


def test_blank_lines_inside_the_quote_stay_in_it() -> None:
    folded = split_history(mail("Thanks.", "", "> first", "", "> second", "", "> third"))
    assert folded is not None and folded.lines == 5


@pytest.mark.parametrize(
    "header",
    [
        ["-----Original Message-----", "From: Postdesk Support", "Sent: Monday, March 3, 2025"],
        ["-----Ursprüngliche Nachricht-----", "Von: Postdesk Support"],
        ["________________________________", "From: Postdesk Support <s@p.test>",
         "Sent: Monday, March 3, 2025 10:00 AM", "To: Carol", "Subject: Order 1234"],
        ["**From:** Postdesk Support", "**Sent:** Monday, March 3, 2025", "**To:** Carol",
         "**Subject:** Order 1234"],
        ["De : Postdesk Support", "Envoyé : lundi 3 mars 2025 10:00", "À : Carol",
         "Objet : Commande 1234"],
    ],
)  # fmt: skip
def test_outlook_history_folds_to_the_end(header: list[str]) -> None:
    body = ["Hello Carol,", "", "where is my parcel?", "Regards"]
    text = mail("It came, thanks.", "", "Carol", "", header, "", body)
    folded = split_history(text)
    assert folded is not None
    assert folded.reply == "It came, thanks.\n\nCarol"
    assert folded.history == mail(header, "", body)


def test_outlook_history_wins_over_quotes_inside_it() -> None:
    header = ["-----Original Message-----", "From: Support", "Sent: Monday"]
    folded = split_history(mail("Done.", "", header, "Older:", OLD))
    assert folded is not None
    assert folded.reply == "Done."
    assert folded.lines == len(header) + 1 + len(OLD)


def test_a_message_that_is_only_a_quote_is_not_folded() -> None:
    assert split_history(mail("On Monday, Support wrote:", OLD)) is None
    assert split_history(mail("", "", OLD, "")) is None
    assert split_history(mail("-----Original Message-----", "From: a", "Sent: b", "x")) is None


def test_interleaved_answers_are_not_folded() -> None:
    text = mail(
        "On Monday, Support wrote:",
        "> What is your order number?",
        "1234",
        "",
        "> And your postcode?",
        "> We need both.",
        "> Thanks.",
        "",
        "75011, sorry for the delay.",
        "Carol",
    )
    assert split_history(text) is None


def test_only_the_unanswered_tail_of_an_interleaved_reply_folds() -> None:
    tail = ["> The rest of", "> our old", "> message."]
    text = mail("> What is your order number?", "1234", "", tail)
    folded = split_history(text)
    assert folded is not None
    assert folded.reply == "> What is your order number?\n1234"
    assert folded.history == mail(tail)


def test_short_quotes_stay_visible() -> None:
    assert MIN_LINES == 3
    assert split_history("Yes.\n\n> Is it blue?") is None
    assert split_history("Yes.\nOn Monday, Support wrote:\n> Is it blue?") is None
    assert split_history("Yes.\n> Is it blue?\n> Or green?\n> Or red?") is not None


def test_plain_mail_and_look_alikes_are_left_alone() -> None:
    assert split_history("Hello,\nwhere is my parcel?\nCarol") is None
    assert split_history("") is None
    # A forwarded message is content for the agent, not history.
    forwarded = mail(
        "See below.",
        "---------- Forwarded message ---------",
        "From: Shop <shop@example.com>",
        "Date: Mon, 3 Mar 2025",
        "Subject: Your order",
        "To: carol@example.net",
        "",
        "Your order shipped.",
    )
    assert split_history(forwarded) is None
    # "From:" and "Date:" alone are not an Outlook header block.
    assert split_history("Trip\nFrom: Paris\nDate: Monday\nI land at 10.\nBye") is None


@given(st.lists(st.sampled_from(["", "> q", ">", "text", "On X wrote:", "From: a",
                                 "Sent: b", "To: c", "-----Original Message-----"]),
                max_size=30))  # fmt: skip
def test_split_keeps_every_line_and_never_raises(lines: list[str]) -> None:
    text = "\n".join(lines)
    folded = split_history(text)
    if folded is None:
        return
    assert folded.reply.strip()
    assert folded.lines >= MIN_LINES
    assert text.rstrip().startswith(folded.reply)
    assert text.rstrip().endswith(folded.history)
    assert not folded.history.startswith("\n") and not folded.history.endswith("\n")


# ---- time: split_history runs on the console's UI loop, on text from strangers ----

TAIL = ["> a", "> b", "> c"]
# Each input is large enough that work quadratic in a line's length (or in the number of
# lines) would take well over ten seconds; linear work takes milliseconds. The bound is a
# guard against that blow-up, not a benchmark.
ADVERSARIAL: dict[str, Callable[[], str]] = {
    # "schrieb" opens an attribution branch at every occurrence, and the line has many colons.
    "schrieb-colons": lambda: mail("Hi", "schrieb:x " * 40_000, TAIL),
    "schreef-colon-last": lambda: mail("Hi", "schreef " * 100_000 + ": x", TAIL),
    "wrote-colons": lambda: mail("Hi", "wrote: " * 150_000, TAIL),
    "a-ecrit-blanks": lambda: mail("Hi", "a " * 500_000 + "écrit :", TAIL),
    "quote-marks": lambda: mail("Hi", ">" * 1_000_000, TAIL),
    "dashes": lambda: mail("Hi", "-" * 1_000_000, TAIL),
    "blanks": lambda: mail("Hi", " " * 1_000_000 + "x", TAIL),
    "bold-labels": lambda: mail("Hi", "*" * 1_000_000, "Sent: x", "To: y"),
    "many-attributions": lambda: mail("Hi", ["On x wrote:"] * 100_000, TAIL),
    "many-headers": lambda: mail("Hi", ["From: a", "Sent: b"] * 50_000, "x"),
}


@pytest.mark.parametrize("shape", ADVERSARIAL)
def test_long_or_many_lines_are_split_in_linear_time(shape: str) -> None:
    text = ADVERSARIAL[shape]()
    assert len(text) >= 300_000
    started = time.perf_counter()
    folded = split_history(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{shape}: {elapsed:.2f} s"
    if folded is not None:
        assert text.rstrip().startswith(folded.reply)
        assert text.rstrip().endswith(folded.history.rstrip())


def test_a_long_line_is_never_an_attribution() -> None:
    # The reported mail: a 160 KB line that ends like an attribution above a quote.
    line = "schrieb:x " * 16_000 + "schrieb:"
    folded = split_history(mail("Hi", line, TAIL))
    assert folded is not None
    assert folded.reply == mail("Hi", line) and folded.history == mail(TAIL)

    def attribution(length: int) -> str:
        head, end = "On Monday, ", " wrote:"
        return head + "x" * (length - len(head) - len(end)) + end

    folded = split_history(mail("Hi", attribution(MAX_ATTRIBUTION), TAIL))
    assert folded is not None and folded.history == mail(attribution(MAX_ATTRIBUTION), TAIL)
    folded = split_history(mail("Hi", attribution(MAX_ATTRIBUTION + 1), TAIL))
    assert folded is not None and folded.history == mail(TAIL)


# Words and marks the patterns look for, repeated into long lines above a quote (where the
# attribution would be) or in the middle of the mail.
PIECES = ["schrieb ", "schreef:", "wrote: ", "a écrit", "On ", ":", " ", "x", ">", "-", "*"]
COUNTS = [1, 2, 100, 5_000, 12_000]


@settings(deadline=timedelta(milliseconds=500), max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(PIECES), min_size=1, max_size=4), st.sampled_from(COUNTS)
        ),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_split_stays_fast_on_long_repetitive_lines(
    runs: list[tuple[list[str], int]], quoted_tail: bool
) -> None:
    lines = ["Hi", *("".join(unit) * count for unit, count in runs)]
    text = mail(lines, TAIL if quoted_tail else [])
    folded = split_history(text)
    if folded is None:
        return
    assert folded.reply.strip() and folded.lines >= MIN_LINES
    assert text.rstrip().startswith(folded.reply)
    assert text.rstrip().endswith(folded.history.rstrip())
