"""`postdesk ctl campaign dispositions NAME`: a campaign's wrap-up codes (docs/wrapup.md),
listed as paths or changed by path (`--add 'Sale/Upsell/Annual'`, `--remove`,
`--deactivate`, `--activate`, `--[no-]required`): read the tree, change it, save it whole;
the engine checks what is saved."""

from __future__ import annotations

import argparse
from typing import Any

from engine.api.schemas import DispositionNode, DispositionTree
from engine.client import EngineClient
from postdesk.ctl.errors import CtlInputError


def split_path(text: str) -> list[str]:
    """`Sale/Upsell/Annual` or `Sale > Upsell > Annual` as its names."""
    parts = [part.strip() for part in text.replace(">", "/").split("/")]
    if not text.strip() or not all(parts):
        raise CtlInputError(f"not a path of codes: {text!r} (e.g. 'Sale/Upsell/Annual')")
    return parts


def _find(level: list[DispositionNode], name: str) -> DispositionNode | None:
    return next((n for n in level if n.name.casefold() == name.casefold()), None)


def _add(codes: list[DispositionNode], parts: list[str]) -> None:
    level = codes
    for name in parts:
        node = _find(level, name)
        if node is None:
            node = DispositionNode(name=name)
            level.append(node)
        node.active = True  # adding through an inactive level offers it again
        level = node.children


def _walk_to(
    codes: list[DispositionNode], parts: list[str]
) -> tuple[list[DispositionNode], DispositionNode]:
    level = codes
    node: DispositionNode | None = None
    for n, name in enumerate(parts):
        node = _find(level, name)
        if node is None:
            raise CtlInputError(f"no code {' > '.join(parts[: n + 1])!r}")
        if n < len(parts) - 1:
            level = node.children
    assert node is not None
    return level, node


def as_paths(codes: list[DispositionNode], above: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for node in codes:
        here = f"{above} > {node.name}" if above else node.name
        rows.append({"path": here, "active": node.active, "leaf": not node.children})
        rows += as_paths(node.children, here)
    return rows


class DispositionView(dict[str, Any]):
    """What the command prints: `output.print_result` shows it as an indented list."""


def view(tree: DispositionTree) -> DispositionView:
    return DispositionView(
        {
            "campaign": tree.campaign,
            "required": tree.required,
            "codes": as_paths(tree.codes),
        }
    )


async def edit_dispositions(client: EngineClient, args: argparse.Namespace) -> DispositionView:
    tree = await client.dispositions(args.name)
    changes = args.add or args.remove or args.deactivate or args.activate
    if not changes and args.required is None:
        return view(tree)
    for text in args.add:
        _add(tree.codes, split_path(text))
    for text in args.remove:
        level, node = _walk_to(tree.codes, split_path(text))
        level.remove(node)
    for texts, active in ((args.deactivate, False), (args.activate, True)):
        for text in texts:
            _walk_to(tree.codes, split_path(text))[1].active = active
    if args.required is not None:
        tree.required = args.required
    saved = await client.set_dispositions(
        args.name, DispositionTree(codes=tree.codes, required=tree.required)
    )
    return view(saved)
