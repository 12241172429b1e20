"""The import's one-pattern path for the common row (engine/domain/dialer_rows.py) stores
exactly what the careful reader stores: the same records, column for column (JSON text
included), the same failures and refusals with the same line numbers and reasons, for the
tricky rows (quoted separators, a BOM, unusual but valid addresses, IDN, line breaks in
values, bad priorities...) and for any mix of them (Hypothesis). And it does take the
common rows, or it would be a slow path under another name."""

from __future__ import annotations

import codecs
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api.schemas import ImportReport
from engine.domain.dialer_csv import Accepted, ListRules, Rejected, read_list
from engine.domain.dialer_rows import read_rows, row_pattern
from engine.services.dialer.import_check import Row, next_batch
from engine.services.dialer.import_rows import _RECORD_COLUMNS, STATES

TOKEN_IDS = {"tokA-1_x": 11, "tokB": 12}
RULES = ListRules(
    campaign="Support",
    subject="News for ${name}",
    template_texts=("Dear ${name}, ${code} awaits.",),
    attachment_tokens=frozenset(TOKEN_IDS),
)
HEADER = "campaign;emailRecipient;message;attachments;variables;priority\r\n"


def stored(
    text: str, rules: ListRules = RULES, *, fast: bool
) -> tuple[list[Row], ImportReport, set[int]]:
    """What an import of `text` writes: its rows as inserted, its report, the files used."""
    report = ImportReport(
        dialer="d",
        list_name="l",
        list_id=7,
        appended=False,
        imported=0,
        failed=0,
        rejected=0,
        failures=[],
        rejections=[],
    )
    used: set[int] = set()
    rows: list[Row] = []
    outcomes = read_rows(io.StringIO(text, newline=""), rules, fast=fast)
    while True:
        batch, done = next_batch(outcomes, 7, report, TOKEN_IDS, used, STATES)
        rows += batch
        if done:
            return rows, report, used


def assert_same(text: str, rules: ListRules = RULES) -> tuple[list[Row], ImportReport]:
    fast_rows, fast_report, fast_used = stored(text, rules, fast=True)
    careful_rows, careful_report, careful_used = stored(text, rules, fast=False)
    assert fast_rows == careful_rows
    assert fast_report == careful_report
    assert fast_used == careful_used
    return fast_rows, fast_report


def column(rows: list[Row], name: str) -> list[object]:
    at = _RECORD_COLUMNS.index(name)
    return [r[at] for r in rows]


def taken_fast(text: str, rules: ListRules = RULES) -> int:
    """How many rows the one-pattern path took itself."""
    return sum(type(o) is tuple for o in read_rows(io.StringIO(text, newline=""), rules))


def row(address: str = "ana@example.com", message: str = "", attachments: str = "",
        variables: str = 'name=Ana:code=A1', priority: str = "3") -> str:  # fmt: skip
    return f"Support;{address};{message};{attachments};{variables};{priority}\r\n"


# ---- it takes the common rows ----
def test_the_common_rows_are_taken_by_the_pattern_and_stored_alike() -> None:
    text = HEADER + "".join(
        [
            row(),
            row("bruno@example.com", variables='"name":"Bruno","code":"B2"', priority=""),
            row(message='"Hello ${name}; see you"', variables="name=Carla Díaz:code=C3"),
            row(attachments="tokA-1_x,tokB", variables='"name":"José Ñandú","code":"J:4,5"'),
            row(message="Plain, no variables", variables="name=Dee:code=D5", priority="000012"),
            "Support;eve@example.com;;;name=Eve:code=E6\r\n",  # no priority column
        ]
    )
    rows, report = assert_same(text)
    assert taken_fast(text) == 6
    assert report.imported == 6 and report.failed == report.rejected == 0
    assert column(rows, "line_number") == [2, 3, 4, 5, 6, 7]
    assert json.loads(column(rows, "variables")[2]) == {"name": "Carla Díaz", "code": "C3"}  # type: ignore[arg-type]
    assert column(rows, "message")[2] == "Hello ${name}; see you"
    assert column(rows, "priority") == [3, 9999, 3, 3, 12, 9999]
    assert column(rows, "attachments")[3] == '["tokA-1_x","tokB"]'
    assert set(column(rows, "list_id")) == {7} and set(column(rows, "state")) == {"pending"}


def test_the_pattern_is_not_used_for_a_campaign_that_needs_quoting() -> None:
    assert row_pattern("Support") is not None
    for name in ('Say "hi"', "a;b", " padded", "tab\there", "line\nbreak"):
        assert row_pattern(name) is None


# ---- tricky rows: both paths agree, several of each kind ----
QUOTED_SEPARATORS = [
    row(message='"a; b; c"'),
    row(message='"quote "" inside; and more"'),
    row(variables='"name":"Ana; Jr.","code":"X"'),
    row(variables='name="10:30":code="a;b"'),
    row(variables='name="say ""hi""":code=1'),
    row(message='";"', variables='"name":"a,b","code":"c:d"'),
]
ADDRESSES = [
    row("O'Reilly+tag@sub.example.co.uk"),
    row('"john doe"@example.com'),
    row("user@[192.0.2.1]"),
    row("a@b-c.example"),
    row("UPPER.case@EXAMPLE.COM"),
    row("x" * 64 + "@example.com"),
    row("x" * 65 + "@example.com"),
    row("user@" + "a" * 63 + ".com"),
    row("user@" + ("a" * 60 + ".") * 4 + "com"),  # 252 characters
    row("user@" + ("a" * 62 + ".") * 4 + "com"),  # 260: too long for a mailbox
    row(" spaced@example.com "),
    row("Ana <ana@example.com>"),
    row("two@example.com, three@example.com"),
    row("user@123.456"),
    row("user@localhost"),
    row(""),
]
IDN = [
    row("josé@ejemplo.com"),
    row("user@bücher.de"),
    row("user@xn--bcher-kva.de"),
    row("用户@例子.广告"),
    row("ana@example.com", variables="name=Zoë:code=ß"),
]
LINE_BREAKS = [
    row(message='"Dear ${name},\nsee you"'),
    row(message='"Dear ${name},\r\nsee you"'),
    row(message='"Dear\rCR only"'),
    row(variables='"name":"Ana\\nJr","code":"X"'),
    row(variables='name="Ana\nJr":code=X'),
    row(variables='name="Ana\r\nJr":code=X'),
    row(variables='"code":"A\nB","name":"Ana"'),  # not in the subject: allowed
    row(variables='"name":"tab\there","code":"X"'),
    row(variables='"name":"nel\u0085","code":"X"'),
    row(variables='"name":"ls\u2028","code":"X"'),
    row(message="bare\x0bcontrol"),
]
PRIORITIES = [
    row(priority="1.5"),
    row(priority="abc"),
    row(priority="-3"),
    row(priority="+4"),
    row(priority=" 7 "),
    row(priority="1234567890"),
    row(priority="99999999999"),
    row(priority="٣"),  # an Arabic-Indic digit: a digit, not ASCII
    row(priority="0"),
]
VARIABLES = [
    row(variables="name=Ana:name=Again:code=1"),
    row(variables='"name":"Ana","name":"Again","code":"1"'),
    row(variables="code=1"),  # ${name} of the subject is missing: failed, not refused
    row(message="Hi ${other}", variables="name=Ana:code=1"),
    row(variables="1bad=x:name=Ana:code=1"),
    row(variables='"name":1,"code":"2"'),
    row(variables='{"name":"Ana","code":"1"}'),
    row(variables="name = Ana : code = 1"),
    row(variables="name=Ana:code"),
    row(variables=":".join(f"v{n}=x" for n in range(201)) + ":name=A:code=1"),
    row(variables=""),
]
OTHERS = [
    row(attachments="unknown-token"),
    row(attachments="tokB, tokA-1_x"),
    row(attachments="tokB,,tokB"),
    "Other;ana@example.com;;;name=Ana:code=1;1\r\n",
    " Support ;ana@example.com;;;name=Ana:code=1;1\r\n",
    ";ana@example.com;;;name=Ana:code=1;1\r\n",
    "Support;ana@example.com;;;name=Ana:code=1;1;extra\r\n",
    "Support;ana@example.com\r\n",
    "Support;ana@example.com;nul\x00here;;name=Ana:code=1;1\r\n",
    'Support;ana@example.com;"never closed;;name=Ana:code=1;1\r\n',
    "\r\n",
    "   \r\n",
    '"Support";ana@example.com;;;name=Ana:code=1;1\r\n',
]


@pytest.mark.parametrize(
    "rows",
    [
        QUOTED_SEPARATORS,
        ADDRESSES,
        IDN,
        LINE_BREAKS,
        PRIORITIES,
        VARIABLES,
        OTHERS,
    ],
    ids=[
        "quoted-separators",
        "addresses",
        "idn",
        "line-breaks",
        "priorities",
        "variables",
        "others",
    ],
)
def test_tricky_rows_are_stored_alike_by_both_paths(rows: list[str]) -> None:
    for header in ("", HEADER):
        for one in rows:  # alone, after a good row, and all together
            assert_same(header + one)
            assert_same(header + row() + one + row("last@example.com"))
        assert_same(header + "".join(rows))


def test_the_tricky_rows_get_their_reasons_and_line_numbers() -> None:
    text = HEADER + "".join(LINE_BREAKS + PRIORITIES)
    rows, report = assert_same(text)
    reasons = {x.line: x.reason for x in report.rejections}
    for line in (8, 16, 17):  # \n escaped in JSON, NEL, LS in ${name}: the subject's
        assert "line break" in reasons[line]
    for line, shown in ((19, "'1.5'"), (20, "'abc'"), (25, "'99999999999'"), (26, "'٣'")):
        assert reasons[line] == f"priority: a whole number, lower goes first, not {shown}"
    stored_lines = column(rows, "line_number")
    assert stored_lines == [2, 4, 6, 18, 21, 22, 23, 24, 27]  # messages over lines keep theirs
    assert column(rows, "priority")[4:] == [-3, 4, 7, 1234567890, 0]


def test_a_bom_is_read_the_same_way() -> None:
    body = row() + row("bruno@example.com", variables='"name":"Bruno","code":"B"')
    for data in (codecs.BOM_UTF8 + body.encode(), codecs.BOM_UTF8 + (HEADER + body).encode()):
        text = data.decode("utf-8-sig")
        rows, report = assert_same(text)
        assert report.imported == 2 and taken_fast(text) == 2
    # A BOM left in the text (a file declared UTF-8 and decoded without dropping it): the
    # first row is not the pattern's; both paths refuse or read it alike.
    for text in ("\ufeff" + body, "\ufeff" + HEADER + body):
        assert_same(text)


# ---- any mix ----
PIECES = st.sampled_from(
    [
        "Support",
        "Other",
        "ana@example.com",
        "josé@example.com",
        '"x y"@example.com',
        "a b",
        ";",
        '"',
        '""',
        ":",
        "=",
        ",",
        "\r\n",
        "\n",
        "\r",
        "\t",
        "\x00",
        " ",
        "${name}",
        "${code}",
        "name=",
        "code=",
        '"name":',
        '"code":',
        '"v"',
        "tokB",
        "unknown",
        "7",
        "-1",
        "1.5",
        "ñ",
        "\u2028",
        "\\",
        "{",
        "}",
    ]
)
ROWS = st.lists(
    st.one_of(
        st.builds(
            row,
            st.sampled_from(["ana@example.com", "josé@example.com", "bad address", "b@x.io"]),
            st.sampled_from(["", '"Hi ${name}; bye"', "Hi ${code}", '"a\nb"', "x${other}"]),
            st.sampled_from(["", "tokB", "tokB,tokA-1_x", "nope"]),
            st.sampled_from(
                [
                    "name=Ana:code=1",
                    '"name":"Ana","code":"1"',
                    "name=Ana",
                    'name="a:b":code=2',
                    '"name":"a;b","code":"c"',
                    "name=A:name=B:code=1",
                    "",
                ]
            ),
            st.sampled_from(["", "1", "0012", "x", "-5", "12345678901"]),
        ),
        st.lists(PIECES, max_size=12).map("".join),
    ),
    max_size=10,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300, deadline=None)
@given(ROWS, st.booleans())
def test_any_mix_of_rows_is_stored_alike_by_both_paths(rows: list[str], header: bool) -> None:
    assert_same((HEADER if header else "") + "".join(rows))


def test_the_careful_path_is_the_careful_reader() -> None:
    """`fast=False` is `read_list` itself (the one the other tests check rule by rule)."""
    text = HEADER + "".join(OTHERS + PRIORITIES + ADDRESSES)
    careful = list(read_rows(io.StringIO(text, newline=""), RULES, fast=False))
    reference = list(read_list(io.StringIO(text, newline=""), RULES))
    assert careful == reference
    assert all(isinstance(o, Accepted | Rejected) for o in careful)
