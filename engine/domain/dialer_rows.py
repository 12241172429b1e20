"""A dialer list's rows read for import: the common row shape with one compiled pattern,
every other row through `dialer_csv.RowChecker`, the careful reader.

A million-row list spent most of its import checking rows one cell at a time (~13 µs a
row). Most rows look alike: the dialer's campaign, a plain ASCII address, a message bare or
quoted on one line, known attachment tokens, variables in either syntax without quotes,
escapes or controls in their values, a small whole priority. One pattern reads such a row
(cells, address, variable names, attachment tokens, priority) in one C call; the rest is a
few set and string operations, and the row comes out as the values it is stored with
(`Ready`): no per-row object, the variables' JSON text made by the pattern's guarantee (no
character that JSON would escape) instead of an encoder. A row the pattern does not take,
or one it takes that would be failed or refused (an undefined `${variable}`, an unknown
token, a name given twice, too many variables, a long address) goes to the careful
reader, so every refusal and every failure reason is its, word for word. Both paths give the
same records (tests/test_dialer_rows.py). Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain

from engine.domain.dialer_csv import (
    _ATEXT,
    _LABEL,
    DEFAULT_PRIORITY,
    UNCLOSED,
    Accepted,
    ListRules,
    Rejected,
    RowChecker,
    _joined,
    _rows,
)
from engine.domain.dialer_vars import _MAX_VARIABLES, _SCAN, referenced

__all__ = ["Ready", "json_text", "read_rows"]

# (line, destination, message, attachments JSON, variables JSON, priority): a record that
# passed every check, with no failure, as its columns store it.
Ready = tuple[int, str, str, str, str, int]

# Only a row whose every character is printable is taken (`str.isprintable`, one C loop):
# no NUL, CR/LF, TAB or other control, no line or paragraph separator, no space but the
# ASCII one. So the cells' patterns need not exclude those, and JSON escapes nothing in
# them but `"` and `\`, which the patterns leave out.
#
# Possessive quantifiers (`*+`, `++`: no backtracking into what they took) wherever what
# follows can never be what they took, so they match what the plain ones match, with
# less bookkeeping (measured: the pattern was ~40% of a row's checking). They can only
# ever take FEWER rows than the plain ones, never more: a row they would miss goes to the
# careful reader, which answers for it as for any other.
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*+"  # dialer_vars._NAME
_JSON_PAIR = rf'"{_NAME}":"[^"\\;]*+"'
_WORD = r'[^ "\\;:=]++'  # no space at either end: the careful reader trims values
_PLAIN_PAIR = rf"{_NAME}=(?:{_WORD}(?: +{_WORD})*+)?"
_TOKEN = r"[A-Za-z0-9_-]++"  # the tokens `ctl dialer attach` hands out (token_urlsafe)
# The careful reader's own fast path (`_FAST_ADDRESS`), possessive where it may be: the
# local part's atoms never hold a dot or `@`, and a domain label followed by a dot is never
# the last one (which a `;` follows).
_ADDRESS = (
    rf"(?=[^@]{{1,64}}@){_ATEXT}++(?:\.{_ATEXT}++)*+@(?:{_LABEL}\.)++"
    rf"(?=[A-Za-z0-9-]*[A-Za-z]){_LABEL}"
)
_SAFE_CAMPAIGN = re.compile(r'[^\s;"](?:[^;"]*[^\s;"])?')
_REFERENCES_KEPT = 1000  # distinct messages whose ${names} are remembered


def row_pattern(campaign: str) -> re.Pattern[str] | None:
    """The common row of this campaign's lists, or None when its name needs quoting in a
    CSV (every row then goes to the careful reader)."""
    if not campaign.isprintable() or not _SAFE_CAMPAIGN.fullmatch(campaign):
        return None
    return re.compile(
        re.escape(campaign)
        + rf";({_ADDRESS})"
        # A quoted message: runs of other characters and doubled quotes (its closing
        # quote is followed by `;`, never by a quote).
        + r';(?:"([^"]*+(?:""[^"]*+)*+)"|([^;"]*+))'
        + rf";((?:{_TOKEN}(?:,{_TOKEN})*+)?)"
        + rf";(?:({_JSON_PAIR}(?:,{_JSON_PAIR})*+)|({_PLAIN_PAIR}(?::{_PLAIN_PAIR})*+))?"
        + r"(?:;([0-9]{0,9}+))?"
    )


def json_text(value: object) -> str:
    """The JSON text both paths store (compact, not ASCII-escaped): the one-pattern path
    writes exactly this for the values it takes, without the encoder."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_rows(
    lines: Iterable[str], rules: ListRules, *, fast: bool = True
) -> Iterator[Ready | Accepted | Rejected]:
    """Every row of the file, checked: a `Ready` record from the one-pattern path, or the
    careful reader's outcome. `fast=False` sends every row to the careful reader (the tests
    check both agree)."""
    check = RowChecker(rules)
    pattern = row_pattern(rules.campaign) if fast else None
    if pattern is None:
        for line, text in _rows(lines):
            outcome = check(line, text)
            if outcome is not None:
                yield outcome
        return
    match = pattern.fullmatch
    scan = _SCAN
    tokens = rules.attachment_tokens
    always = check.always
    default_needed = check.default_needed
    needs: dict[str, frozenset[str]] = {}
    most = _MAX_VARIABLES
    first = True
    # `dialer_csv._rows` inlined: a row the pattern takes holds an even number of quotes, so
    # it is a physical line of its own; any other line is joined to the next as `_rows` does.
    source: Iterator[str] = iter(lines)
    number = 0
    while True:
        for raw in source:
            number += 1
            text = raw.rstrip("\r\n")
            found = match(text) if text.isprintable() else None
            if found is not None:
                address, quoted, bare, attached, json_vars, plain_vars, priority = found.groups()
                if quoted is None:
                    message = bare
                else:
                    message = quoted.replace('""', '"') if '""' in quoted else quoted
                if not message:
                    needed = default_needed
                elif "${" in message:
                    needed = needs.get(message)  # type: ignore[assignment]
                    if needed is None:
                        needed = always | referenced((message,))
                        if len(needs) < _REFERENCES_KEPT:
                            needs[message] = needed
                else:
                    needed = always
                if json_vars is not None:
                    variables_json = f"{{{json_vars}}}"
                    pairs = json_vars.count('"') >> 2
                elif plain_vars is not None:
                    pairs_json = plain_vars.replace(":", '","').replace("=", '":"')
                    variables_json = f'{{"{pairs_json}"}}'
                    pairs = plain_vars.count(":") + 1
                else:
                    variables_json, pairs = "{}", 0
                variables = scan(variables_json, 0)[0] if pairs else {}
                if (
                    len(variables) == pairs  # no name given twice
                    and pairs <= most
                    and (not needed or needed <= variables.keys())
                    and len(address) <= 254
                ):
                    if not attached:
                        attachments_json = "[]"
                    elif all(t in tokens for t in attached.split(",")):
                        attachments_json = '["' + attached.replace(",", '","') + '"]'
                    else:
                        attachments_json = ""
                    if attachments_json:
                        if first:
                            check.first = first = False
                        yield (
                            number,
                            address,
                            message,
                            attachments_json,
                            variables_json,
                            int(priority) if priority else DEFAULT_PRIORITY,
                        )
                        continue
                outcome = check(number, text)
            elif raw.count('"') % 2:
                joined, pending = _joined(raw, source)
                if joined is None:
                    outcome = check(number, UNCLOSED)
                    if outcome is not None:
                        yield outcome
                    source = chain(pending[1:], source)
                    break
                outcome = check(number, joined)
                number += len(pending) - 1
            elif not text or text.isspace():
                continue
            else:
                outcome = check(number, text)
            if outcome is not None:
                yield outcome
        else:
            return
