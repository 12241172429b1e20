"""No text built at run time reaches a widget that reads markup (the class of bug, not one
sample): Textual parses a `str` given to Label, Static, Option, notify, a Button or
Checkbox label, `.update()`, a tooltip or a border title as markup, so a campaign named
`x[/y]` raised MarkupError and closed the console (the wrap-up codes editor, the printer
list), and `[EU]` vanished. Text built at run time (an f-string, `one_line(...)`, a `+` of
them) must go in as rich `Text` or with `markup=False`. Pick lists are PickList's
(console/widgets/pick_list.py; ruff bans Textual's Select). Parsed from the source, so
a new screen is held to it as soon as it is written.

What it cannot see: a variable holding a plain str (`Label(name)`), whose type only a
reader knows (86 such calls today, all Text or constants, read by hand on 2026-12-07);
the real-engine tests with hostile names (test_pick_lists, test_console_dispositions,
test_console_admin) cover the screens people name things in."""

from __future__ import annotations

import ast
from pathlib import Path

CONSOLE = Path(__file__).resolve().parent.parent / "console"
SINKS = {"Label", "Static", "Option", "notify", "Button", "Checkbox", "update", "add_option"}
SINKS |= {"Selection", "add_leaf", "set_label", "RadioButton", "Tooltip"}
# Every argument is a cell (DataTable parses a str cell; a Rich Table reads it as markup).
CELLS = {"add_row", "update_cell", "add_column", "update_cell_at"}
ARGUMENTS = {"label", "prompt", "message", "content", "renderable", "title", "tooltip"}
TITLES = {"tooltip", "border_title", "border_subtitle"}
BUILDERS = {"one_line", "tail", "format", "join"}


def built(node: ast.expr) -> bool:
    """A str made at run time from values: an f-string with fields, a sanitiser's or a
    formatter's result, or a `+` or `x if c else y` of those."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.Call):
        return _name(node.func) in BUILDERS
    if isinstance(node, ast.BinOp):
        return built(node.left) or built(node.right)
    if isinstance(node, ast.IfExp):
        return built(node.body) or built(node.orelse)
    return False


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def plain(call: ast.Call) -> bool:
    return any(
        k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in call.keywords
    )


def problems(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        name = _name(node.func) if isinstance(node, ast.Call) else ""
        if isinstance(node, ast.Call) and name in SINKS | CELLS and not plain(node):
            given = node.args if name in CELLS else node.args[:1]
            given = given + [k.value for k in node.keywords if k.arg in ARGUMENTS]
            if any(built(arg) for arg in given):
                found.append(f"{where}:{node.lineno}: {ast.get_source_segment(source, node)}")
        elif isinstance(node, ast.Assign):
            value = node.value
            text = isinstance(value, ast.Constant) or (
                isinstance(value, ast.Call) and _name(value.func) in {"Text", "safe_text"}
            )
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in TITLES and not text:
                    found.append(f"{where}:{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_the_check_finds_what_it_is_for() -> None:
    bad = (
        'Label(f"Codes of {one_line(name)}")\n'
        "widget.update(one_line(reason))\n"
        "self.tooltip = reason\n"
        'Option("Printer " + one_line(name))\n'
        'app.notify(f"{subject} sent")\n'
        'table.add_row(Text(name), f"{count} open")\n'
        'Button("Go", tooltip=f"to {one_line(name)}")\n'
    )
    assert len(problems(bad, "bad")) == 7
    good = (
        'Label(Text(f"Codes of {one_line(name)}"))\n'
        'Static(f"{n} waiting", markup=False)\n'
        "self.tooltip = Text(one_line(reason))\n"
        'Label("Campaign")\n'
        'app.notify(f"{subject} sent", markup=False)\n'
    )
    assert problems(good, "good") == []


def test_no_text_built_at_run_time_reaches_markup() -> None:
    found = []
    for path in sorted(CONSOLE.rglob("*.py")):
        found += problems(path.read_text(), str(path.relative_to(CONSOLE.parent)))
    assert not found, "text read as markup (wrap it in Text or pass markup=False):\n" + "\n".join(
        found
    )
