"""A dialer list's CSV as the manual gives it: `campaign;emailRecipient;message;attachments;
variables;priority`, read and checked row by row.

The manual's own example is not RFC 4180 CSV: its variables cell is written bare,
`"Var1":"value","Var2":"value"`, quotes and all, which the `csv` module would mangle. So a
cell here is either a CSV-quoted cell (`"Hello; world"`, `""` for a quote, line breaks
allowed) followed by `;` or the end of the row, or a bare cell in which double-quoted spans
(`"a;b"`) hide separators. A row always holds an even number of quotes; a physical line that
leaves one open continues on the next (a message over several lines).

Each row ends as one of:
- `Accepted`: stored as a record; `error` non-empty marks it failed on import, with the
  reason (an invalid recipient, a `${variable}` the row does not define), so nothing a list
  names is silently dropped and a raw `${x}` is never sent;
- `Rejected`: not stored, reported with its line number and reason (a wrong campaign, a
  priority that is not a number, an unknown attachment token, variables that cannot be read,
  a line break or NUL in anything that reaches a header).

Encodings: UTF-8 with or without a BOM; UTF-16 and UTF-32 when their BOM says so; anything
else is refused with the line of the first byte that is not UTF-8 (never guessed), unless
the uploader names the encoding. Pure: no I/O; `CsvError` is the only exception raised.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from engine.domain.compose import AddressError, parse_address_list
from engine.domain.dialer_vars import (
    VariablesError,
    format_pairs,
    parse_variables_json,
    referenced,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_PRIORITY",
    "Accepted",
    "CsvError",
    "EncodingCheck",
    "ListRules",
    "Rejected",
    "RowChecker",
    "example_csv",
    "read_list",
    "recipient",
    "split_tokens",
]

COLUMNS = ("campaign", "emailRecipient", "message", "attachments", "variables", "priority")
DEFAULT_PRIORITY = 9999
PRIORITY_MIN, PRIORITY_MAX = -(2**31), 2**31 - 1
# A quoted cell may run over this many physical lines before its row is given up on.
MAX_ROW_LINES = 1000
MAX_ROW_CHARS = 1_000_000

_QUOTED = r'"((?:[^"]|"")*)"'
_BARE = r'((?:[^;"\r\n]|"[^"\r\n]*")*)'
_CELL = rf"(?:{_QUOTED}|{_BARE})"
_ROW = re.compile(rf"{_CELL}" + rf"(?:;{_CELL})?" * (len(COLUMNS) - 1) + r"\Z")
_QUOTED_CELL = re.compile(_QUOTED)
_CELL_AND_END = re.compile(rf"{_CELL}(;|\Z)")
_PRIORITY = re.compile(r"[+-]?[0-9]{1,10}")
# What may not reach a header: CR, LF, NUL, the other C0/C1 controls but TAB, and the
# characters the mail library folds lines on (as engine/domain/header_values.py refuses).
_HEADER_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# A plain ASCII address any structured parser reads the same: dot-atom @ host name with a
# non-numeric top label. Anything else goes through `parse_address_list` (the slow path).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_FAST_ADDRESS = re.compile(
    rf"(?=[^@]{{1,64}}@){_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+(?=[A-Za-z0-9-]*[A-Za-z]){_LABEL}"
)
_HEADER_NAMES = {"campaign", "emailrecipient", "email", "recipient", "email_recipient"}
_UTF8_BOM = codecs.BOM_UTF8
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class CsvError(ValueError):
    """The file as a whole cannot be read (its encoding); the message says what to do."""


@dataclass(slots=True)
class Accepted:
    line: int
    destination: str
    message: str
    attachments: list[str]
    variables: dict[str, str]
    priority: int
    error: str = ""  # non-empty: the record is failed with this reason
    variables_json: str = ""  # the cell's own JSON text of `variables`, when it was JSON


@dataclass(slots=True)
class Rejected:
    line: int
    reason: str


@dataclass(frozen=True)
class ListRules:
    """What a row is checked against: the dialer, its list and what it will send."""

    campaign: str
    subject: str = ""
    template_texts: tuple[str, ...] = ()  # the dialer's template (sent when a message is empty)
    event_texts: tuple[str, ...] = ()  # the invitation's title, organizer, parametrised dates
    attachment_tokens: frozenset[str] = frozenset()
    _always: frozenset[str] = field(init=False, repr=False)
    _header: frozenset[str] = field(init=False, repr=False)
    _template: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        header = referenced((self.subject, *self.event_texts))
        object.__setattr__(self, "_header", frozenset(header))
        object.__setattr__(self, "_always", frozenset(header))
        object.__setattr__(self, "_template", frozenset(referenced(self.template_texts)))


# ---- encodings ----
class EncodingCheck:
    """Fed the file's bytes in chunks as they arrive; says which codec reads it, or refuses
    it at the line of the first byte that codec cannot read."""

    def __init__(self, declared: str = "") -> None:
        self.declared = declared.strip()
        if self.declared:
            try:
                self.codec = codecs.lookup(self.declared).name
            except LookupError as exc:
                raise CsvError(f"encoding: unknown encoding {self.declared!r}") from exc
        else:
            self.codec = ""
        self._head = b""
        self._decoder: codecs.IncrementalDecoder | None = None
        self._line = 1
        self._bytes = 0

    @property
    def text_codec(self) -> str:
        """The codec to open the file with (utf-8-sig drops a BOM)."""
        return self.codec or "utf-8"

    def feed(self, chunk: bytes) -> None:
        if self._decoder is None:
            self._head += chunk
            if len(self._head) < 4 and chunk:
                return
            self._start(self._head)
            chunk, self._head = self._head, b""
        self._decode(chunk, final=False)

    def finish(self) -> None:
        if self._decoder is None:
            self._start(self._head)
            self._decode(self._head, final=True)
        else:
            self._decode(b"", final=True)

    def _start(self, head: bytes) -> None:
        if not self.codec:
            self.codec = "utf-8"
            if head.startswith(_UTF8_BOM):
                self.codec = "utf-8-sig"
            for bom, name in _BOMS:
                if head.startswith(bom):
                    self.codec = name
                    break
        elif self.codec == "utf-8" and head.startswith(_UTF8_BOM):
            self.codec = "utf-8-sig"
        self._decoder = codecs.getincrementaldecoder(self.codec)("strict")

    def _decode(self, chunk: bytes, *, final: bool) -> None:
        assert self._decoder is not None
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            bad = exc.object[exc.start : max(exc.end, exc.start + 1)]
            line = self._line + exc.object[: exc.start].count(b"\n")
            raise CsvError(self._refusal(line, bytes(bad))) from exc
        self._line += text.count("\n")
        self._bytes += len(chunk)

    def _refusal(self, line: int, bad: bytes) -> str:
        if self.declared:
            return f"line {line}: not {self.declared} (bytes {bad.hex(' ')})"
        hint = ""
        try:
            seen = bad.decode("cp1252")
        except UnicodeDecodeError:
            seen = ""
        if seen and seen.isprintable():
            hint = (
                f" (in Windows-1252 / Latin-1 they would read {seen!r}: if that is the file's"
                " encoding, save it as 'CSV UTF-8' or name the encoding, e.g. --encoding cp1252)"
            )
        return (
            f"line {line}: the file is not UTF-8 (bytes {bad.hex(' ')}); lists are read as UTF-8,"
            f" with or without a BOM{hint}"
        )


# ---- rows ----
def _cells(text: str, *, fast: bool = True) -> list[str] | str:
    """The cells of one row, or why they cannot be read. `fast=False` reads every quoted
    row with the row pattern (the tests check both ways agree)."""
    if '"' not in text:
        cells = text.split(";")
        if len(cells) > len(COLUMNS):
            return _too_many(len(cells))
        return cells
    if fast and "\n" not in text and "\r" not in text:
        # A ";" is a separator exactly when an even number of quotes comes before it: if
        # every piece between them holds an even number, every ";" separates.
        cells = text.split(";")
        if len(cells) <= len(COLUMNS) and not any(c.count('"') % 2 for c in cells):
            for n, cell in enumerate(cells):
                if cell[:1] == '"' and (whole := _QUOTED_CELL.fullmatch(cell)) is not None:
                    cells[n] = whole.group(1).replace('""', '"')
            return cells
    match = _ROW.match(text)
    if match is None:
        return _why_not(text)
    groups = match.groups()
    cells = []
    for n in range(0, len(groups), 2):
        quoted, bare = groups[n], groups[n + 1]
        if bare is not None:
            cells.append(bare)
        elif quoted is not None:
            cells.append(quoted.replace('""', '"') if '""' in quoted else quoted)
        else:
            break
    return cells


def _too_many(count: int) -> str:
    return (
        f"{count} fields, at most {len(COLUMNS)} ({';'.join(COLUMNS)}): quote a message"
        ' that holds ";" ("like; this")'
    )


def _why_not(text: str) -> str:
    count, at = 0, 0
    while at <= len(text):
        match = _CELL_AND_END.match(text, at)
        if match is None:
            return f'cannot read the quoting after field {count + 1} (write a quote as "")'
        count += 1
        if not match.group(3):
            break
        at = match.end()
    return _too_many(count) if count > len(COLUMNS) else "cannot read the quoting"


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(first line number, row text) for every non-blank row; a row with an odd number of
    quotes continues on the next line. A quote never closed gives up on its row only: the
    lines it swallowed are read again as rows of their own."""
    source: Iterator[str] = iter(lines)
    number = 0
    while True:
        for line in source:
            number += 1
            if not line.count('"') % 2:
                text = line.rstrip("\r\n")
                if text and not text.isspace():
                    yield number, text
                continue
            joined, pending = _joined(line, source)
            if joined is None:
                yield number, UNCLOSED
                source = chain(pending[1:], source)
                break
            yield number, joined
            number += len(pending) - 1
        else:
            return


UNCLOSED = "\x00unclosed"  # the row text `_rows` gives for a quote never closed


def _joined(line: str, source: Iterator[str]) -> tuple[str | None, list[str]]:
    """A row that `line` (an odd number of quotes) starts: its text, and the physical lines
    it took from `source`, `line` first; None for the text when its quote is never closed
    (the lines taken then go back to be read as rows)."""
    pending = [line]
    quotes, size = line.count('"'), len(line)
    while quotes % 2 and len(pending) < MAX_ROW_LINES and size < MAX_ROW_CHARS:
        more = next(source, None)
        if more is None:
            break
        pending.append(more)
        quotes += more.count('"')
        size += len(more)
    if quotes % 2:
        return None, pending
    return "".join(pending).rstrip("\r\n"), pending


def read_list(lines: Iterable[str], rules: ListRules) -> Iterator[Accepted | Rejected]:
    """Every row of the file (physical lines with their endings, as a text file yields them),
    checked; a first row naming the columns is skipped."""
    check = RowChecker(rules)
    for line, text in _rows(lines):
        outcome = check(line, text)
        if outcome is not None:
            yield outcome


class RowChecker:
    """Checks one row's text at a time, every rule; remembers whether the header may still
    come (only the first row that reads as cells may be it). `dialer_rows.py` hands it the
    rows its one-pattern path does not take."""

    __slots__ = ("always", "campaign", "default_needed", "first", "header_names", "tokens")

    def __init__(self, rules: ListRules) -> None:
        self.first = True
        self.campaign = rules.campaign
        self.tokens = rules.attachment_tokens
        self.always = rules._always
        self.header_names = rules._header
        self.default_needed = self.always | rules._template  # no message: the template

    def __call__(self, line: int, text: str) -> Accepted | Rejected | None:
        """The row's outcome, or None for the header row."""
        if text == UNCLOSED:
            return Rejected(line, "a double quote opened on this line is never closed")
        if "\x00" in text:
            return Rejected(line, "holds a NUL character")
        cells = _cells(text)
        if isinstance(cells, str):
            return Rejected(line, cells)
        if self.first:
            self.first = False
            if cells[0].strip().lower() == "campaign" and (
                len(cells) > 1 and cells[1].strip().lower() in _HEADER_NAMES
            ):
                return None
        if len(cells) < len(COLUMNS):
            cells += [""] * (len(COLUMNS) - len(cells))
        name, address, message, attached, variables_text, priority_text = cells
        campaign = self.campaign
        if name != campaign and (name := name.strip()) != campaign:
            reason = (
                "campaign is missing (it is mandatory)"
                if not name
                else f"campaign {name[:100]!r} is not this dialer's campaign {campaign!r}"
            )
            return Rejected(line, reason)
        if priority_text.isdigit() and priority_text.isascii() and len(priority_text) < 10:
            priority = int(priority_text)
        elif not (priority_text := priority_text.strip()):
            priority = DEFAULT_PRIORITY
        elif _PRIORITY.fullmatch(priority_text) and (
            PRIORITY_MIN <= (priority := int(priority_text)) <= PRIORITY_MAX
        ):
            pass
        else:
            return Rejected(
                line, f"priority: a whole number, lower goes first, not {priority_text[:40]!r}"
            )
        attachments = split_tokens(attached) if attached else []
        unknown = [t for t in attachments if t not in self.tokens] if attachments else None
        if unknown:
            return Rejected(
                line,
                f"attachment {unknown[0][:60]!r} is not a dialer attachment's token"
                " (upload the file with `ctl dialer attach` and paste its token)",
            )
        variables_json = ""
        header_names = self.header_names
        if variables_text:
            try:
                variables, variables_json = parse_variables_json(variables_text)
            except VariablesError as exc:
                return Rejected(line, str(exc))
            unsafe = (
                [n for n in header_names if n in variables and _HEADER_UNSAFE.search(variables[n])]
                if header_names
                else None
            )
            if unsafe:
                return Rejected(
                    line,
                    f"variable {unsafe[0]!r} holds a line break or control character and"
                    " would reach the subject (or the invitation)",
                )
        else:
            variables = {}
        error = ""
        if _FAST_ADDRESS.fullmatch(address) and len(address) <= 254:
            destination: str | None = address
        else:
            destination = recipient(address)
        if destination is None:
            destination = address.strip()[:320]
            shown = destination[:100].encode("unicode_escape").decode("ascii")
            error = f"not a valid email address: {shown!r}"
        if not message:
            needed = self.default_needed
        elif "${" in message:
            needed = self.always | referenced((message,))
        else:
            needed = self.always
        if needed:
            missing = [n for n in needed if n not in variables]
            if missing:
                names = ", ".join("${" + n + "}" for n in sorted(missing))
                error = (
                    f"{error}; {names} not defined in this row"
                    if error
                    else (f"{names} not defined in this row")
                )
        return Accepted(
            line, destination, message, attachments, variables, priority, error, variables_json
        )


def split_tokens(cell: str) -> list[str]:
    """Several attachments in one cell are separated by commas (spaces around ignored)."""
    return [t.strip() for t in cell.split(",") if t.strip()]


def recipient(text: str) -> str | None:
    """The one address a recipient cell holds, or None when it is not exactly one plain
    address (no display name, no group, no second address, no controls)."""
    text = text.strip()
    if _FAST_ADDRESS.fullmatch(text) and len(text) <= 254:
        return text
    if not text or len(text) > 320 or _HEADER_UNSAFE.search(text):
        return None
    try:
        parsed = parse_address_list(text)
    except AddressError:
        return None
    if len(parsed) != 1 or parsed[0].name or parsed[0].email != text:
        return None
    return parsed[0].email


# ---- the example the screens and `ctl dialer example-csv` offer ----
def example_csv(campaign: str = "Support") -> str:
    """A list showing every rule: a header row, both variable syntaxes, quoted separators, a
    date the same for everyone (fixed) and one per recipient (parametrised), a default and
    an explicit priority, an empty message (the dialer's template is sent)."""
    campaign = campaign[:100]
    if any(c in campaign for c in ';"\r\n'):
        campaign = '"' + campaign.replace('"', '""') + '"'
    rows = [
        ";".join(COLUMNS),
        f'{campaign};ana@example.com;"Hello ${{name}}; your visit is on ${{visit}}.";;'
        f'"name":"Ana","visit":"2027-01-15 10:30","event_day":"2027-01-20";1',
        f"{campaign};bruno@example.com;;;"
        + format_pairs({"name": "Bruno", "visit": "2027-01-16 16:00", "event_day": "2027-01-20"})
        + ";",
        f'{campaign};carla@example.com;"Dear ${{name}},\nsee you at ${{time}}; bring this mail.";;'
        + format_pairs(
            {
                "name": "Carla; Jr.",
                "time": "09:15",
                "visit": "2027-01-17 09:15",
                "event_day": "2027-01-20",
            }
        )
        + ";20",
    ]
    return "\r\n".join(rows) + "\r\n"
