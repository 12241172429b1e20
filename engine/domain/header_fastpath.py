"""Header values read without the RFC 5322 grammar, where the result is known anyway.

``policy.default`` runs every header it is asked for through a full RFC 5322 grammar, which
is most of the cost of parsing a message.  Each function here returns exactly what
``policy.default.header_fetch_parse`` would give for a value (its str, addresses or
datetime), or None when the value is not in the small, strict subset whose result is known
without running the grammar: no encoded words, no comments, no quoted pairs, no groups or
routes, no 8-bit characters in structured headers.  None means "ask policy.default"; it
never means "invalid".  tests/test_mime.py compares every one of them with policy.default.
Short values are remembered: the stdlib reads Content-Type about eight times per message,
and the same values recur from message to message.
"""

from __future__ import annotations

import email.utils
import functools
import re
from datetime import datetime
from email import headerregistry as hr
from email import policy

_SURROGATE = re.compile("[\ud800-\udfff]")

# Each function below returns exactly what ``policy.default.header_fetch_parse`` would
# give for a value (its str, addresses or datetime), or None when the value is not in the
# small, strict subset whose result is known without running the grammar: no encoded
# words, no comments, no quoted pairs, no groups or routes, no 8-bit characters in
# structured headers.  None means "ask policy.default"; it never means "invalid".
# tests/test_mime.py compares every one of them with policy.default.

_TEXT, ADDRESS, DATE, _CONTENT_TYPE, _DISPOSITION, _TOKEN_VALUE, _VERSION, _MSG_ID = range(8)
_KIND_OF_CLASS: dict[type, int] = {
    hr.UnstructuredHeader: _TEXT,
    hr.UniqueUnstructuredHeader: _TEXT,
    hr.AddressHeader: ADDRESS,
    hr.UniqueAddressHeader: ADDRESS,
    hr.SingleAddressHeader: ADDRESS,
    hr.UniqueSingleAddressHeader: ADDRESS,
    hr.DateHeader: DATE,
    hr.UniqueDateHeader: DATE,
    hr.ContentTypeHeader: _CONTENT_TYPE,
    hr.ContentDispositionHeader: _DISPOSITION,
    hr.ContentTransferEncodingHeader: _TOKEN_VALUE,
    hr.MIMEVersionHeader: _VERSION,
    hr.MessageIDHeader: _MSG_ID,
}
# The registry policy.default itself consults, so a name maps to the class it would use.
_FACTORY = policy.default.header_factory
_REGISTRY = _FACTORY if isinstance(_FACTORY, hr.HeaderRegistry) else None

_ATEXT = r"[!#$%&'*+\-/0-9=?A-Z^_`a-z{|}~]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"([ \t!#-\[\]-~]*)"'  # no quoted pairs: the content is the value
_SIMPLE_MAILBOX = re.compile(
    rf"[ \t]*(?:({_DOT_ATOM})@({_DOT_ATOM})"
    rf"|(?:({_ATEXT}+(?:[ \t]+{_ATEXT}+)*)|{_QUOTED})?[ \t]*<({_DOT_ATOM})@({_DOT_ATOM})>)[ \t]*"
)
_MIME_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_SIMPLE_CONTENT_TYPE = re.compile(rf"[ \t]*{_MIME_TOKEN}[ \t]*/[ \t]*{_MIME_TOKEN}[ \t]*")
_SIMPLE_TOKEN = re.compile(rf"[ \t]*{_MIME_TOKEN}[ \t]*")
_SIMPLE_PARAMETER = re.compile(
    r"[ \t]*([!#$&+\-.0-9A-Z^_`a-z{|}~]+)[ \t]*=[ \t]*"
    rf"(?:([!#$%&+\-.0-9A-Z^_`a-z{{|}}~]+)|{_QUOTED})[ \t]*"
)
_SIMPLE_VERSION = re.compile(r"[ \t]*[0-9]+[ \t]*\.[ \t]*[0-9]+[ \t]*")
_SIMPLE_MSG_ID = re.compile(rf"[ \t]*<{_DOT_ATOM}@{_DOT_ATOM}>[ \t]*")
# Headers whose str is the value itself when the whole value matches.
_VERBATIM_IF_SIMPLE = {
    _TOKEN_VALUE: _SIMPLE_TOKEN,
    _VERSION: _SIMPLE_VERSION,
    _MSG_ID: _SIMPLE_MSG_ID,
}


def header_kind(name: str) -> int | None:
    # Header names come from senders: only short ones are remembered, so a mail with huge
    # names cannot pin memory (real names are short and few).
    return _known_kind(name) if len(name) <= 64 else _compute_kind(name)


def _compute_kind(name: str) -> int | None:
    if _REGISTRY is None:
        return None
    return _KIND_OF_CLASS.get(_REGISTRY.registry.get(name.lower(), _REGISTRY.default_class))


_known_kind = functools.lru_cache(maxsize=512)(_compute_kind)


def simple_mailboxes(value: str) -> list[hr.Address] | None:
    """The addresses of a comma-separated list of plain mailboxes."""
    if not value.isascii() or "=?" in value:
        return None
    found: list[hr.Address] = []
    pos = 0
    while True:
        m = _SIMPLE_MAILBOX.match(value, pos)
        if m is None:
            return None
        if m.group(1) is not None:
            found.append(hr.Address(username=m.group(1), domain=m.group(2)))
        else:
            # The grammar joins the words of a phrase with one space.
            atoms, quoted = m.group(3), m.group(4)
            name = " ".join(atoms.split()) if atoms is not None else quoted or ""
            found.append(hr.Address(name, m.group(5), m.group(6)))
        pos = m.end()
        if pos == len(value):
            return found
        if value[pos] != ",":
            return None
        pos += 1


def _simple_parameterized(head: re.Pattern[str], value: str) -> str | None:
    """A Content-Type or -Disposition: the head as written, parameters re-rendered."""
    m = head.match(value)
    if m is None:
        return None
    pos = m.end()
    if pos == len(value):
        return value
    if value[pos] != ";":
        return None
    params: dict[str, str] = {}
    pos += 1
    while value[pos:].strip(" \t"):
        p = _SIMPLE_PARAMETER.match(value, pos)
        if p is None or p.group(1) in params:
            return None
        token, quoted = p.group(2), p.group(3)
        params[p.group(1)] = token if token is not None else quoted
        pos = p.end()
        if pos == len(value):
            break
        if value[pos] != ";":
            return None
        pos += 1
    rendered = "; ".join(f'{name}="{v}"' if v else name for name, v in params.items())
    return value[: m.end()] + ";" + (" " + rendered if rendered else "")


def simple_date(value: str) -> tuple[str, datetime | None] | None:
    """What DateHeader makes of a value: (str, datetime), both computed as it does."""
    if _SURROGATE.search(value):
        return None
    if not value:
        return "", None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return value, None
    except Exception:
        return None  # policy.default raises here too; let it
    try:
        return email.utils.format_datetime(parsed), parsed
    except Exception:
        return None


# Values up to this long are remembered: the same Content-Type, MIME-Version or To is read
# several times per message (the stdlib asks for Content-Type about eight times) and recurs
# from message to message. Longer values are not kept, so hostile headers cannot fill memory.
_REMEMBERED_VALUE = 200


def simple_text(kind: int | None, value: str) -> str | None:
    """str() of policy.default's header object for an unfolded value, if simple."""
    if len(value) <= _REMEMBERED_VALUE:
        return _remembered_simple_text(kind, value)
    return _compute_simple_text(kind, value)


def _compute_simple_text(kind: int | None, value: str) -> str | None:
    if kind is None or "=?" in value or _SURROGATE.search(value):
        return None
    if kind == _TEXT:
        return value  # without encoded words, unstructured text is kept verbatim
    if kind == DATE:
        date = simple_date(value)
        return None if date is None else date[0]
    if not value.isascii():
        return None
    if kind == ADDRESS:
        mailboxes = simple_mailboxes(value)
        return None if mailboxes is None else ", ".join(str(a) for a in mailboxes)
    if kind == _CONTENT_TYPE:
        return _simple_parameterized(_SIMPLE_CONTENT_TYPE, value)
    if kind == _DISPOSITION:
        return _simple_parameterized(_SIMPLE_TOKEN, value)
    return value if _VERBATIM_IF_SIMPLE[kind].fullmatch(value) else None


_remembered_simple_text = functools.lru_cache(maxsize=1024)(_compute_simple_text)


def unfold_for_policy(value: str) -> str:
    # What EmailPolicy.header_fetch_parse does first: drop every CR and LF.
    return value.replace("\r", "").replace("\n", "")


def _header_str(name: str, value: str) -> str:
    """str(policy.default.header_fetch_parse(name, value)), raising what that raises."""
    simple = simple_text(header_kind(name), unfold_for_policy(value))
    if simple is not None:
        return simple
    return str(policy.default.header_fetch_parse(name, value))


class _StrHeaderPolicy(policy.EmailPolicy):
    """policy.default, except that a fetched header is the str of its header object.

    ``Message.get_content_type``, ``get_param``, ``get_filename``, ``get_payload`` and the
    feed parser only ever use the str of a header, so structure and payloads come out as
    with policy.default, without parsing headers that are simple.  Messages are still
    serialised with an explicit policy (see :func:`_message_bytes`).
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):  # a header object set by the program, not parsed
            return value
        return _header_str(name, value)


PARSE_POLICY: policy.EmailPolicy = _StrHeaderPolicy()
