"""The variables column of a dialer list's CSV, in both syntaxes the manual gives.

- `"Var1":"value","Var2":"value"`: JSON object members (the braces may be written too);
  values are strings (a number is taken as its text), escapes as in JSON (`\\"`, `\\n`).
- `nameVariable1=value:nameVariable2=value`: pairs separated by `:`; a value that holds a
  `:` (or a `"`) is quoted, `name="10:30"`, with `""` for a quote inside it.

Which one a cell uses is read from its first character: a quote or a brace is the first.
Names follow the `${name}` syntax of templates (`engine/text/variables.py`), so every
variable a list defines can be used. A name given twice is refused (which one was meant?).
Pure: `VariablesError` is the only exception `parse_variables` raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from engine.text.variables import TEMPLATE_VARIABLE

__all__ = [
    "VariablesError",
    "format_pairs",
    "parse_variables",
    "parse_variables_json",
    "referenced",
    "undefined",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# One `name=value` pair of the second syntax, and what separates it from the next.
_PAIR = re.compile(r'\s*([^=:"]*?)\s*=(?:"((?:[^"]|"")*)"|([^:"]*))\s*(:|\Z)')
_PLAIN_FAST = re.compile(r'(?:[^\s"]| )*')  # no quote, no whitespace but inner spaces
_MAX_VARIABLES = 200


class VariablesError(ValueError):
    """A variables cell that cannot be read; the message says what to change."""


def parse_variables_json(text: str) -> tuple[dict[str, str], str]:
    """The variables, and their JSON text when the cell already is it ("" otherwise): the
    import stores that as it is instead of writing the same JSON again."""
    stripped = text.strip()
    if stripped[:1] == '"':
        quick = _fast(stripped)
        if quick is not None:
            return quick, "{" + stripped + "}"
    return parse_variables(stripped), ""


def parse_variables(text: str, *, fast: bool = True) -> dict[str, str]:
    """The variables of one cell ("" gives none). `fast=False` skips the fast path (the
    tests check both paths agree)."""
    stripped = text.strip()
    if not stripped:
        return {}
    quick = _fast(stripped) if fast else None
    if quick is not None:
        return quick
    if stripped[0] in '"{':
        found = _json_pairs(stripped)
    elif '"' not in stripped:
        found = _plain_pairs(stripped)
    else:
        found = _quoted_pairs(stripped)
    if len(found) > _MAX_VARIABLES:
        raise VariablesError(f"more than {_MAX_VARIABLES} variables in one row")
    variables: dict[str, str] = {}
    for name, value in found:
        if not _valid_name(name):
            raise VariablesError(
                f"{name!r} is not a variable name (letters, digits, _ . -; not starting"
                " with a digit)"
            )
        if name in variables:
            raise VariablesError(f"variable {name!r} is given twice")
        variables[name] = value
    return variables


def _fast(text: str) -> dict[str, str] | None:
    """The common cells read with C-speed calls (a million-row list is read in seconds);
    None sends the cell to the careful readers above, which also say what is wrong."""
    if text[0] == '"':
        body = "{" + text + "}"
        try:
            found, end = _SCAN(body, 0)
        except (ValueError, StopIteration):
            return None
        # A name given twice collapses into one key: with no escapes, every pair of text
        # values holds exactly four quotes, so a count tells.
        if (
            end != len(body)
            or type(found) is not dict
            or "\\" in text
            or text.count('"') != 4 * len(found)
            or len(found) > _MAX_VARIABLES
        ):
            return None
        for name, value in found.items():
            if type(value) is not str or (name not in _NAMES_SEEN and not _valid_name(name)):
                return None
        return found
    if not _PLAIN_FAST.fullmatch(text) or (
        " " in text and (" =" in text or "= " in text or " :" in text or ": " in text)
    ):  # the careful reader trims spaces around names and values, and reads quotes
        return None
    try:
        variables = dict(part.split("=", 1) for part in text.split(":"))
    except ValueError:  # a part without "="
        return None
    if len(variables) != text.count(":") + 1 or len(variables) > _MAX_VARIABLES:
        return None
    for name in variables:
        if name not in _NAMES_SEEN and not _valid_name(name):
            return None
    return variables


# The C scanner under json.loads, without its per-call checks.
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_NAMES_SEEN: set[str] = set()  # valid names met so far: lists repeat the same few


def _valid_name(name: str) -> bool:
    if name in _NAMES_SEEN:
        return True
    if not _NAME.fullmatch(name):
        return False
    if len(_NAMES_SEEN) < 10_000:
        _NAMES_SEEN.add(name)
    return True


def _json_pairs(text: str) -> list[tuple[str, str]]:
    body = text if text[0] == "{" else "{" + text + "}"
    try:
        pairs = json.loads(body, object_pairs_hook=list)
    except (ValueError, RecursionError) as exc:
        raise VariablesError(
            'variables: write them as "name":"value","name2":"value2" (every name and value'
            " in double quotes, pairs separated by commas)"
        ) from exc
    if not isinstance(pairs, list):
        raise VariablesError('variables: write them as "name":"value","name2":"value2"')
    found: list[tuple[str, str]] = []
    for name, value in pairs:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise VariablesError(f"variable {name!r}: the value must be text in double quotes")
        found.append((name, value if isinstance(value, str) else json.dumps(value)))
    return found


def _plain_pairs(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for part in text.split(":"):
        name, equals, value = part.partition("=")
        if not equals:
            raise VariablesError(
                f"variables: {part.strip()!r} is not name=value (pairs are name=value separated"
                ' by ":"; quote a value that holds ":")'
            )
        found.append((name.strip(), value.strip()))
    return found


def _quoted_pairs(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        match = _PAIR.match(text, at)
        if match is None or match.end() == at:
            raise VariablesError(
                f"variables: cannot read {text[at : at + 40]!r} (pairs are name=value separated"
                ' by ":"; a quoted value is "like:this" with "" for a quote)'
            )
        quoted, plain = match[2], match[3]
        value = quoted.replace('""', '"') if quoted is not None else plain.strip()
        found.append((match[1], value))
        at = match.end()
        if not match[4]:
            break
    if at < len(text):
        raise VariablesError(f"variables: cannot read {text[at : at + 40]!r}")
    return found


def referenced(texts: Iterable[str]) -> set[str]:
    """Every `${name}` the texts use."""
    return {m.group(1) for text in texts for m in TEMPLATE_VARIABLE.finditer(text)}


def undefined(names: Iterable[str], variables: Mapping[str, str]) -> list[str]:
    """The names of `names` a row does not define, sorted."""
    return sorted(n for n in names if n not in variables)


def format_pairs(variables: Mapping[str, str]) -> str:
    """The second syntax, as `parse_variables` reads it back (for the example CSV)."""
    parts = []
    for name, value in variables.items():
        if any(c in value for c in ':;"') or value != value.strip():
            value = '"' + value.replace('"', '""') + '"'
        parts.append(f"{name}={value}")
    return ":".join(parts)
