"""The dialer list's CSV and variables parsers, and the unsubscribe HTML rule, without an
engine: the manual's examples, every refusal with its line number, and properties
(Hypothesis) that the readers never raise anything but their own error, read back what a
writer wrote, and that their fast paths agree with the careful ones."""

from __future__ import annotations

import codecs
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.domain.compose import parse_address_list
from engine.domain.dialer_csv import (
    _FAST_ADDRESS,
    DEFAULT_PRIORITY,
    Accepted,
    CsvError,
    EncodingCheck,
    ListRules,
    Rejected,
    _cells,
    example_csv,
    read_list,
    recipient,
)
from engine.domain.dialer_vars import VariablesError, format_pairs, parse_variables
from engine.domain.unsubscribe import DEFAULT_UNSUBSCRIBE_HTML, unsubscribe_problem

RULES = ListRules(campaign="Support", subject="Hello ${name}")


def lines_of(text: str) -> io.StringIO:
    """Physical lines as a text file opened with newline="" yields them (the import's way)."""
    return io.StringIO(text, newline="")


def read(text: str, rules: ListRules = RULES) -> list[Accepted | Rejected]:
    return list(read_list(lines_of(text), rules))


def only(outcomes: list[Accepted | Rejected]) -> Accepted:
    [outcome] = outcomes
    assert isinstance(outcome, Accepted), outcome
    return outcome


def encoding_of(data: bytes, declared: str = "", chunk: int = 7) -> str:
    check = EncodingCheck(declared)
    for at in range(0, len(data), chunk):
        check.feed(data[at : at + chunk])
    check.finish()
    return check.text_codec


# ---- examples ----
def test_the_manuals_example_row() -> None:
    row = only(
        read(
            "Support;test@integraccs.com;This is a test message.;;"
            '"Var1":"value","Var2":"value";9999\n',
            ListRules(campaign="Support"),
        )
    )
    assert row.destination == "test@integraccs.com"
    assert row.message == "This is a test message."
    assert row.variables == {"Var1": "value", "Var2": "value"}
    assert row.priority == 9999 and row.error == "" and row.line == 1


def test_both_variable_syntaxes_and_quoted_separators() -> None:
    rows = read(
        "campaign;emailRecipient;message;attachments;variables;priority\n"
        'Support;a@example.com;"Hi; there";;"name":"A; B","city":"x,y";1\n'
        'Support;b@example.com;;;name="C:D; E":city=Paris;2\n'
        'Support;c@example.com;"say ""hi""";;"""name"":""Q""";3\n'
    )
    a, b, c = rows
    assert isinstance(a, Accepted) and isinstance(b, Accepted) and isinstance(c, Accepted)
    assert (a.line, a.message, a.variables) == (2, "Hi; there", {"name": "A; B", "city": "x,y"})
    assert (b.line, b.variables) == (3, {"name": "C:D; E", "city": "Paris"})
    assert (c.line, c.message, c.variables) == (4, 'say "hi"', {"name": "Q"})


def test_the_header_row_is_optional() -> None:
    with_header = read("Campaign;EmailRecipient\nSupport;a@example.com;;;name=A\n")
    without = read("Support;a@example.com;;;name=A\n")
    assert [r.line for r in with_header] == [2] and [r.line for r in without] == [1]


def test_a_message_over_several_lines_keeps_the_line_numbers() -> None:
    rows = read(
        'Support;a@example.com;"Dear A,\nsee you; soon.\n";;name=A\n'
        "Support;b@example.com;;;name=B\n"
    )
    assert [(r.line, isinstance(r, Accepted)) for r in rows] == [(1, True), (4, True)]
    assert only(rows[:1]).message == "Dear A,\nsee you; soon.\n"


def test_priority_defaults_to_9999_and_must_be_a_number() -> None:
    rows = read(
        "Support;a@example.com;;;name=A;\n"
        "Support;b@example.com;;;name=B;-5\n"
        "Support;c@example.com;;;name=C;soon\n"
        "Support;d@example.com;;;name=D;99999999999\n"
    )
    assert isinstance(rows[0], Accepted) and rows[0].priority == DEFAULT_PRIORITY == 9999
    assert isinstance(rows[1], Accepted) and rows[1].priority == -5
    assert [(r.line, type(r)) for r in rows[2:]] == [(3, Rejected), (4, Rejected)]
    assert "priority" in rows[2].reason  # type: ignore[union-attr]


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_stay() -> None:
    rows = read(
        "Support;ok1@example.com;;;name=A\n"
        "Sales;x@example.com;;;name=B\n"
        ";x@example.com;;;name=B\n"
        "Support;y@example.com;a;b;c;d;e;f\n"
        "Support;z@example.com;;;name\n"
        "Support;w@example.com;;tok-unknown;name=W\n"
        "\n"
        "Support;ok2@example.com;;;name=C\n"
    )
    kept = [r.line for r in rows if isinstance(r, Accepted)]
    refused = {r.line: r.reason for r in rows if isinstance(r, Rejected)}
    assert kept == [1, 8]
    assert set(refused) == {2, 3, 4, 5, 6}
    assert "'Sales' is not this dialer's campaign 'Support'" in refused[2]
    assert "mandatory" in refused[3]
    assert "8 fields" in refused[4]
    assert "name=value" in refused[5]
    assert "not a dialer attachment" in refused[6]


def test_an_invalid_recipient_is_a_failed_record_not_a_dropped_row() -> None:
    rows = read(
        "Support;not an address;;;name=A\n"
        "Support;Bob <bob@example.com>;;;name=B\n"
        "Support;a@example.com, b@example.com;;;name=C\n"
        "Support;;;;name=D\n"
    )
    assert all(isinstance(r, Accepted) for r in rows)
    for row in rows:
        assert isinstance(row, Accepted)
        assert row.error.startswith("not a valid email address"), row


def test_an_undefined_variable_fails_its_record() -> None:
    rules = ListRules(campaign="Support", subject="Hi ${name}", template_texts=("${code}",))
    no_code, with_message, complete = read(
        "Support;a@example.com;;;name=A\n"
        "Support;b@example.com;Your ${order} ships;;name=B\n"
        "Support;c@example.com;;;name=C:code=7\n",
        rules,
    )
    assert isinstance(no_code, Accepted) and no_code.error == "${code} not defined in this row"
    assert isinstance(with_message, Accepted)
    assert with_message.error == "${order} not defined in this row"  # the template is not sent
    assert isinstance(complete, Accepted) and complete.error == ""


def test_no_template_and_no_message_needs_only_the_subjects_variables() -> None:
    row = only(read("Support;a@example.com;;;name=A\n"))
    assert row.error == "" and row.message == ""


def test_a_line_break_in_a_variable_that_reaches_the_subject_is_refused() -> None:
    rows = read(
        'Support;a@example.com;;;"name":"A\\r\\nBcc: victim@example.com"\n'
        'Support;b@example.com;;;"name":"B","note":"two\\nlines"\n'
        'Support;c@example.com;;;"name":"C\\u2028D"\n'
    )
    assert isinstance(rows[0], Rejected) and "would reach the subject" in rows[0].reason
    assert isinstance(rows[1], Accepted) and rows[1].variables["note"] == "two\nlines"
    assert isinstance(rows[2], Rejected)


def test_a_quote_never_closed_costs_only_its_row() -> None:
    rows = read(
        'Support;a@example.com;"oops;;name=A\n'
        "Support;b@example.com;;;name=B\n"
        "Support;c@example.com;;;name=C\n"
    )
    assert [(r.line, type(r).__name__) for r in rows] == [
        (1, "Rejected"),
        (2, "Accepted"),
        (3, "Accepted"),
    ]


def test_nul_is_refused() -> None:
    assert isinstance(read("Support;a@example.com;hi\x00;;name=A\n")[0], Rejected)


def test_the_example_csv_reads_back_without_a_complaint() -> None:
    rules = ListRules(campaign="Support", subject="Visit on ${visit}")
    rows = read(example_csv("Support"), rules)
    assert len(rows) == 3 and all(isinstance(r, Accepted) and not r.error for r in rows)
    variables = [r.variables for r in rows if isinstance(r, Accepted)]
    assert {v["event_day"] for v in variables} == {"2027-01-20"}  # the fixed date
    assert len({v["visit"] for v in variables}) == 3  # the parametrised one
    assert any(";" in v["name"] for v in variables)


# ---- encodings ----
def test_utf8_with_and_without_bom() -> None:
    text = "Support;a@example.com;Olá ${name};;name=Zoë\r\n"
    assert encoding_of(text.encode()) == "utf-8"
    assert encoding_of(codecs.BOM_UTF8 + text.encode()) == "utf-8-sig"
    assert encoding_of("\ufeff".encode("utf-16") + text.encode("utf-16-le")) in ("utf-16",)


def test_another_encoding_is_refused_with_its_line_unless_named() -> None:
    data = "Support;a@example.com;;;name=A\nSupport;b@example.com;;;name=José\n".encode("cp1252")
    with pytest.raises(CsvError) as refused:
        encoding_of(data)
    assert "line 2" in str(refused.value) and "not UTF-8" in str(refused.value)
    assert "'é'" in str(refused.value) and "--encoding cp1252" in str(refused.value)
    assert encoding_of(data, "cp1252") == "cp1252"
    with pytest.raises(CsvError, match="unknown encoding"):
        EncodingCheck("klingon")


# ---- variables ----
def test_variables_refusals_say_what_to_change() -> None:
    for bad, words in [
        ('"a":"1","a":"2"', "given twice"),
        ("a=1:a=2", "given twice"),
        ('"1x":"v"', "not a variable name"),
        ('"nameVariable1":"value,"nameVariable2":"value"', "double quotes"),
        ('"a":{"b":"c"}', "must be text"),
        ("a=1:b", "not name=value"),
    ]:
        with pytest.raises(VariablesError, match=words):
            parse_variables(bad)


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
VALUES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_the_second_syntax_reads_back_what_format_pairs_wrote(variables: dict[str, str]) -> None:
    assert parse_variables(format_pairs(variables)) == variables


@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_the_first_syntax_reads_json_members(variables: dict[str, str]) -> None:
    text = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in variables.items())
    assert parse_variables(text) == variables


@given(st.text(max_size=80) | st.from_regex(r'("[a-z]{1,3}":"[a-z;:,= "]{0,4}",?){0,3}'))
def test_variables_never_raise_another_error_and_fast_agrees(text: str) -> None:
    try:
        careful = parse_variables(text, fast=False)
    except VariablesError:
        careful = None
    try:
        fast = parse_variables(text)
    except VariablesError:
        fast = None
    assert fast == careful


# ---- rows, properties ----
ADDRESSES = st.emails() | st.text(max_size=30)
CELLS = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30
)


def _csv_cell(value: str) -> str:
    return (
        '"' + value.replace('"', '""') + '"'
        if any(c in value for c in ';"\r\n') or not value.strip() == value
        else value
    )


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True),
            CELLS,
            st.dictionaries(NAMES, VALUES.filter(lambda v: "\x00" not in v), max_size=3),
            st.none() | st.integers(-(2**31), 2**31 - 1),
        ),
        max_size=8,
    )
)
def test_rows_read_back_with_their_line_numbers(
    rows: list[tuple[str, str, dict[str, str], int | None]],
) -> None:
    lines, expected, number = [], [], 1
    for address, message, variables, priority in rows:
        vars_cell = _csv_cell(format_pairs(variables))
        cell = _csv_cell(message)
        text = f"Support;{address};{cell};;{vars_cell};{'' if priority is None else priority}"
        lines.append(text + "\r\n")
        expected.append(
            (number, address, message, variables, 9999 if priority is None else priority)
        )
        number += text.count("\n") + text.count("\r") + 1 - text.count("\r\n")
    rules = ListRules(campaign="Support")
    got = list(read_list(lines_of("".join(lines)), rules))
    assert [
        (r.line, r.destination, r.message, r.variables, r.priority)
        for r in got
        if isinstance(r, Accepted)
    ] == expected


@given(st.text(max_size=300))
def test_any_text_gives_rows_or_refusals_never_an_exception(text: str) -> None:
    rules = ListRules(campaign="Support", subject="${a}", attachment_tokens=frozenset({"t"}))
    for outcome in read_list(lines_of(text), rules):
        assert isinstance(outcome, Accepted | Rejected)


@given(st.text(st.sampled_from('ab;"\r\n '), max_size=40))
def test_splitting_a_quoted_row_agrees_with_the_row_pattern(text: str) -> None:
    assert _cells(text) == _cells(text, fast=False)


@given(st.binary(max_size=200), st.integers(1, 9), st.sampled_from(["", "utf-8", "cp1252"]))
def test_encoding_check_refuses_only_with_its_error_whatever_the_chunks(
    data: bytes, chunk: int, declared: str
) -> None:
    try:
        codec = encoding_of(data, declared, chunk)
    except CsvError:
        with pytest.raises(CsvError):
            encoding_of(data, declared, len(data) + 1)
        return
    data.decode(codec)  # what it said reads the file, really does
    assert encoding_of(data, declared, len(data) + 1) == codec


@given(ADDRESSES)
def test_the_fast_address_path_agrees_with_the_structured_parser(text: str) -> None:
    if _FAST_ADDRESS.fullmatch(text) and len(text) <= 254:
        [parsed] = parse_address_list(text)
        assert (parsed.email, parsed.name) == (text, "")
    found = recipient(text)
    assert found is None or found == text.strip()


# ---- unsubscribe HTML ----
def test_the_unsubscribe_link_must_be_there_as_an_element() -> None:
    assert unsubscribe_problem(DEFAULT_UNSUBSCRIBE_HTML) == ""
    assert unsubscribe_problem('<p><a href="#" id="unsubscribe_link">Stop</a></p>') == ""
    for bad in [
        "",
        "<p>no link</p>",
        '<!-- <a id="unsubscribe_link">x</a> -->',
        '<a title="id=unsubscribe_link">Stop</a>',
        '<span id="unsubscribe_link">Stop</span>',
        '<a id="unsubscribe_link"></a>',
        '<a id="unsubscribe_link">Stop',
        '<a id="unsubscribe_links">Stop</a>',
        '<a id="unsubscribe_link">Stop</a> <a id="unsubscribe_link">Again</a>',
    ]:
        assert "unsubscribe_html" in unsubscribe_problem(bad), bad


@given(st.text(max_size=200))
def test_any_html_is_judged_without_raising(html: str) -> None:
    assert isinstance(unsubscribe_problem(html), str)
