"""Wrap-up codes (the manual's dispositions): a campaign's tree of codes in levels
("Sale > Upsell > Annual"), how a path is written and read, what a valid tree is, and whether
a close may go ahead with the code an agent chose. Pure, so every rule and refusal is tested
without an engine (tests/test_dispositions_rules.py); `engine.services.work.wrapups` reads the
rows and applies these.

A path is typed with `/` or `>` between levels and shown with ` > `; a name holds neither.
An agent closes with a leaf: a code that has no active code below it, so that the statistics
count the finest level the admin defined.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SEPARATORS = ("/", ">")
SHOWN_SEPARATOR = " > "
MAX_NAME = 60
MAX_DEPTH = 5
MAX_CODES = 500
MAX_NOTE = 4000


class DispositionError(ValueError):
    """A path, a tree or a close the rules refuse; `field` names what it is about."""

    def __init__(self, message: str, *, field: str = "disposition") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Code:
    """One row of a campaign's tree, as the rules need it."""

    id: int
    parent_id: int | None
    name: str
    position: int = 0
    active: bool = True


def check_name(raw: str) -> str:
    """A code's name as stored: trimmed, one line, short, without a level separator."""
    name = raw.strip()
    if not name:
        raise DispositionError("a code's name is empty", field="name")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise DispositionError(f"{name!r}: a control character in a code's name", field="name")
    if any(sep in name for sep in SEPARATORS):
        raise DispositionError(
            f"{name!r}: a code's name cannot hold '/' or '>' (they separate levels)", field="name"
        )
    if len(name) > MAX_NAME:
        raise DispositionError(f"{name[:20]!r}…: longer than {MAX_NAME} characters", field="name")
    return name


def parse_path(text: str) -> tuple[str, ...]:
    """`Sale/Upsell/Annual` or `Sale > Upsell > Annual` as its names, each checked."""
    if not text.strip():
        raise DispositionError("no disposition given")
    raw = text
    for sep in SEPARATORS[1:]:
        raw = raw.replace(sep, SEPARATORS[0])
    parts = tuple(check_name(part) for part in raw.split(SEPARATORS[0]))
    if len(parts) > MAX_DEPTH:
        raise DispositionError(f"at most {MAX_DEPTH} levels: {show(parts)}")
    return parts


def show(parts: Sequence[str]) -> str:
    return SHOWN_SEPARATOR.join(parts)


def key(name: str) -> str:
    """Names compare without regard to case: `sale` and `Sale` are one code."""
    return name.casefold()


class Tree:
    """A campaign's codes with their paths, children and leaves worked out once."""

    def __init__(self, codes: Iterable[Code]) -> None:
        self.codes = {c.id: c for c in codes}
        self.children: dict[int | None, list[Code]] = {}
        for code in sorted(self.codes.values(), key=lambda c: (c.position, c.id)):
            self.children.setdefault(code.parent_id, []).append(code)

    def path(self, code: Code) -> tuple[str, ...]:
        names: list[str] = []
        seen: set[int] = set()
        current: Code | None = code
        while current is not None and current.id not in seen:
            seen.add(current.id)
            names.append(current.name)
            current = self.codes.get(current.parent_id) if current.parent_id else None
        return tuple(reversed(names))

    def usable(self, code: Code) -> bool:
        """Active, and so is every code above it."""
        current: Code | None = code
        while current is not None:
            if not current.active:
                return False
            current = self.codes.get(current.parent_id) if current.parent_id else None
        return True

    def active_children(self, parent_id: int | None) -> list[Code]:
        return [c for c in self.children.get(parent_id, []) if c.active]

    def is_leaf(self, code: Code) -> bool:
        return not self.active_children(code.id)

    def find(self, parts: Sequence[str]) -> Code | None:
        parent: int | None = None
        found: Code | None = None
        for name in parts:
            found = next(
                (c for c in self.children.get(parent, []) if key(c.name) == key(name)), None
            )
            if found is None:
                return None
            parent = found.id
        return found

    def has_active(self) -> bool:
        return any(self.usable(c) for c in self.codes.values())

    def leaves(self) -> list[tuple[Code, tuple[str, ...]]]:
        """The codes an agent may close with, in tree order, with their paths."""
        out: list[tuple[Code, tuple[str, ...]]] = []

        def walk(parent: int | None, above: tuple[str, ...]) -> None:
            for code in self.active_children(parent):
                here = (*above, code.name)
                if self.is_leaf(code):
                    out.append((code, here))
                else:
                    walk(code.id, here)

        walk(None, ())
        return out


def required(setting: bool, tree: Tree) -> bool:
    """The campaign asks for a code on close when its setting says so (the default) and it
    has active codes to choose from: a campaign without codes closes as before."""
    return setting and tree.has_active()


def choose(tree: Tree, text: str, *, is_required: bool, campaign: str) -> Code | None:
    """The code a close goes ahead with, or a refusal said for the agent (under the field).
    No text: no code, unless the campaign requires one."""
    if not text.strip():
        if is_required:
            raise DispositionError(f"choose a disposition: {campaign} asks for one on close")
        return None
    parts = parse_path(text)
    code = tree.find(parts)
    if code is None:
        raise DispositionError(f"{show(parts)!r} is not a disposition of {campaign}")
    if not tree.usable(code):
        raise DispositionError(f"{show(parts)!r} is no longer in use in {campaign}")
    if not tree.is_leaf(code):
        below = ", ".join(c.name for c in tree.active_children(code.id)[:4])
        raise DispositionError(f"{show(parts)!r} has finer codes: choose one of {below}")
    return code


def check_note(note: str) -> str:
    """The internal note as stored (trimmed); it may span lines, it stays inside Postdesk."""
    cleaned = note.strip()
    if len(cleaned) > MAX_NOTE:
        raise DispositionError(f"the note is longer than {MAX_NOTE} characters", field="note")
    bad = {"\x00"} | {chr(c) for c in range(1, 32) if chr(c) not in "\n\t"}
    if any(ch in bad for ch in cleaned):
        raise DispositionError("the note holds a control character", field="note")
    return cleaned


@dataclass(frozen=True, slots=True)
class NodeIn:
    """One node of a tree an admin saves: an existing code (`id`) or a new one (`id` None)."""

    id: int | None
    name: str
    active: bool
    children: tuple[NodeIn, ...]


def check_tree(nodes: Sequence[NodeIn], existing: set[int]) -> int:
    """Refuse a tree an admin may not save: a bad or repeated sibling name, too deep, too
    many codes, an id that is not one of the campaign's (`existing`) or given twice.
    Returns the number of codes. Fields are dotted paths such as `codes.0.children.1.name`."""
    seen_ids: set[int] = set()
    count = 0

    def walk(level: Sequence[NodeIn], where: str, depth: int) -> None:
        nonlocal count
        if depth > MAX_DEPTH and level:
            raise DispositionError(f"at most {MAX_DEPTH} levels of codes", field=where)
        names: dict[str, int] = {}
        for n, node in enumerate(level):
            at = f"{where}.{n}"
            try:
                name = check_name(node.name)
            except DispositionError as exc:
                raise DispositionError(str(exc), field=f"{at}.name") from exc
            if key(name) in names:
                raise DispositionError(f"{name!r} is twice at one level", field=f"{at}.name")
            names[key(name)] = n
            if node.id is not None:
                if node.id not in existing:
                    raise DispositionError(f"code {node.id} is not this campaign's", field=at)
                if node.id in seen_ids:
                    raise DispositionError(f"code {node.id} is given twice", field=at)
                seen_ids.add(node.id)
            count += 1
            if count > MAX_CODES:
                raise DispositionError(f"at most {MAX_CODES} codes per campaign", field=at)
            walk(node.children, f"{at}.children", depth + 1)

    walk(nodes, "codes", 1)
    return count
