"""Admin: a campaign's wrap-up codes (docs/wrapup.md), the tree agents choose from when they
close ("Sale > Upsell > Annual").

Keys on the tree: `a` adds a code under the highlighted one, `o` one after it (a sibling),
`r` renames, `i` takes it out of use or back (inactive codes stay in history and in this
list, agents no longer see them), `d` removes it and what is below, `K` / `J` move it up or
down among its siblings, `q` switches whether closing requires a code. The name is typed in
the line under the tree (Enter applies, Escape leaves it). Ctrl+S saves the whole tree,
Escape leaves without saving. Every key has a button for the mouse.

Nothing is saved until Ctrl+S; the engine checks the whole tree and names the first bad code
(`codes.0.children.1.name`), which is then highlighted with the refusal under the tree.
"""

from __future__ import annotations

import re

from msgspec import structs
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from engine.api.schemas import DispositionNode, DispositionTree
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import CodesLoaded, CodesSaved, WorkerFailed
from ..widgets.dialog_error import DialogError
from ..widgets.form import refusal_text, refused_field

_CODE_FIELD = re.compile(r"codes((?:\.\d+(?:\.children)?)*)(?:\.name)?")

Node = TreeNode[DispositionNode | None]


def copy_codes(codes: list[DispositionNode]) -> list[DispositionNode]:
    return [structs.replace(n, children=copy_codes(n.children)) for n in codes]


def label(node: DispositionNode) -> Text:
    text = Text(one_line(node.name, 60), style="" if node.active else "dim strike")
    if not node.active:
        text.append("  inactive", style="dim italic")
    return text


class DispositionsScreen(ModalScreen[DispositionTree | None]):
    """Returns the tree as the engine saved it, or None when left without saving."""

    DEFAULT_CSS = """
    DispositionsScreen { align: center middle; }
    #codes-dialog {
        width: 78; max-width: 100%; height: 100%; max-height: 24;
        padding: 0 1; border: round $primary; background: $surface;
    }
    #codes-tree { height: 1fr; min-height: 4; }
    #codes-required-line { height: 1; }
    #codes-edit { height: 1; display: none; }
    #codes-edit.-shown { display: block; }
    #codes-edit Label { width: auto; padding-right: 1; }
    #codes-name { height: 1; border: none; padding: 0 1; width: 1fr; background: $boost; }
    #codes-buttons { height: 1; }
    #codes-buttons Button { margin-right: 1; min-width: 0; }
    #codes-save-row { height: 1; align-horizontal: right; }
    #codes-save-row Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("a", "add_child", "Add under", id="codes.add-child"),
        Binding("o", "add_sibling", "Add after", id="codes.add-sibling"),
        Binding("r", "rename", "Rename", id="codes.rename"),
        Binding("i", "toggle_active", "In use", id="codes.toggle-active"),
        Binding("d", "remove", "Remove", id="codes.remove"),
        Binding("K", "move(-1)", "Up", id="codes.move-up", show=False),
        Binding("J", "move(1)", "Down", id="codes.move-down", show=False),
        Binding("q", "toggle_required", "Required", id="codes.required", show=False),
        Binding("ctrl+s", "save", "Save", id="codes.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="codes.cancel"),
    ]

    def __init__(self, api: EngineClient, campaign: str) -> None:
        super().__init__()
        self.api = api
        self.campaign = campaign
        self.codes: list[DispositionNode] = []
        self.required = True
        self.editing: tuple[str, DispositionNode | None] | None = None  # (what, at)
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="codes-dialog"):
            yield Label(
                Text(f"Wrap-up codes of {one_line(self.campaign, 40)}"), classes="dialog-title"
            )
            yield Static(
                "a under · o after · r rename · i in use · d remove · K J move · q required",
                classes="dialog-note",
                markup=False,
            )
            tree: Tree[DispositionNode | None] = Tree("Codes", id="codes-tree")
            tree.show_root = False
            yield tree
            yield Static("", id="codes-required-line", markup=False)
            with Horizontal(id="codes-edit"):
                yield Label("", id="codes-edit-label", markup=False)  # quotes a code
                yield Input(id="codes-name", max_length=60)
            yield DialogError(id="codes-error")
            with Horizontal(id="codes-buttons"):
                for key, text in (
                    ("add-child", "+Under"),
                    ("add-sibling", "+After"),
                    ("rename", "Rename"),
                    ("toggle-active", "In use"),
                    ("remove", "Remove"),
                    ("up", "↑"),
                    ("down", "↓"),
                    ("required", "Required"),
                ):
                    yield Button(text, id=f"codes-{key}", compact=True)
            with Horizontal(id="codes-save-row"):
                yield Button("Save", id="codes-save", variant="primary", compact=True)
                yield Button("Cancel", id="codes-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#codes-tree", Tree).focus()
        self.load_codes()

    # ---- showing the tree ----
    def show_tree(self, select: DispositionNode | None = None) -> None:
        tree: Tree[DispositionNode | None] = self.query_one("#codes-tree", Tree)
        tree.clear()
        order: list[DispositionNode] = []  # the tree's lines: every level is expanded

        def add(parent: Node, nodes: list[DispositionNode]) -> None:
            for node in nodes:
                order.append(node)
                if node.children:
                    add(parent.add(label(node), data=node, expand=True), node.children)
                else:
                    parent.add_leaf(label(node), data=node)

        add(tree.root, self.codes)
        if not self.codes:
            tree.root.add_leaf(Text("No codes yet: a adds one.", style="dim italic"))
        # By line, not `move_cursor(node)`: a node has no line until the tree is laid out.
        line = next((n for n, node in enumerate(order) if node is select), 0)
        tree.cursor_line = line
        required = Text("Closing ", style="dim")
        required.append("requires a code" if self.required else "does not require a code")
        required.append("  (q switches)" if self.codes else "  (once there are codes)", "dim")
        self.query_one("#codes-required-line", Static).update(required)

    @property
    def current(self) -> DispositionNode | None:
        node = self.query_one("#codes-tree", Tree).cursor_node
        return node.data if node is not None else None

    def siblings_of(self, target: DispositionNode) -> list[DispositionNode]:
        def find(level: list[DispositionNode]) -> list[DispositionNode] | None:
            if any(n is target for n in level):
                return level
            for n in level:
                if (found := find(n.children)) is not None:
                    return found
            return None

        return find(self.codes) or self.codes

    # ---- editing ----
    def ask_name(self, what: str, at: DispositionNode | None) -> None:
        prompts = {
            "child": f"New code under {one_line(at.name, 24)}:" if at else "New code:",
            "sibling": "New code:",
            "rename": "Rename to:",
        }
        self.editing = (what, at)
        self.query_one("#codes-edit-label", Label).update(prompts[what])
        name = self.query_one("#codes-name", Input)
        name.value = at.name if what == "rename" and at is not None else ""
        self.query_one("#codes-edit").add_class("-shown")
        name.focus()

    def end_edit(self) -> None:
        self.editing = None
        self.query_one("#codes-edit").remove_class("-shown")
        self.query_one("#codes-tree", Tree).focus()

    @on(Input.Submitted, "#codes-name")
    def _named(self, event: Input.Submitted) -> None:
        event.stop()
        if self.editing is None:
            return
        name = event.value.strip()
        problem = (
            "a code needs a name"
            if not name
            else "'/' and '>' separate levels: not in a name"
            if "/" in name or ">" in name
            else ""
        )
        if problem:
            self.say(problem)
            return
        what, at = self.editing
        self.say("")
        if what == "rename" and at is not None:
            at.name = name
            self.end_edit()
            self.show_tree(at)
            return
        new = DispositionNode(name=name)
        if what == "child" and at is not None:
            at.children.append(new)
        elif at is not None:
            level = self.siblings_of(at)
            level.insert(level.index(at) + 1, new)
        else:
            self.codes.append(new)
        self.end_edit()
        self.show_tree(new)

    def action_add_child(self) -> None:
        self.ask_name("child", self.current)

    def action_add_sibling(self) -> None:
        self.ask_name("sibling", self.current)

    def action_rename(self) -> None:
        if self.current is not None:
            self.ask_name("rename", self.current)

    def action_toggle_active(self) -> None:
        if (node := self.current) is not None:
            node.active = not node.active
            self.show_tree(node)

    def action_remove(self) -> None:
        if (node := self.current) is None:
            return
        level = self.siblings_of(node)
        at = level.index(node)
        level.remove(node)
        self.show_tree(level[min(at, len(level) - 1)] if level else None)
        self.say(f"Removed {node.name!r} (not saved yet: Escape leaves without saving)")

    def action_move(self, step: int) -> None:
        if (node := self.current) is None:
            return
        level = self.siblings_of(node)
        at = level.index(node)
        to = max(0, min(len(level) - 1, at + step))
        level.insert(to, level.pop(at))
        self.show_tree(node)

    def action_toggle_required(self) -> None:
        self.required = not self.required
        self.show_tree(self.current)

    @on(Button.Pressed, "#codes-buttons Button")
    def _button(self, event: Button.Pressed) -> None:
        actions = {
            "codes-add-child": self.action_add_child,
            "codes-add-sibling": self.action_add_sibling,
            "codes-rename": self.action_rename,
            "codes-toggle-active": self.action_toggle_active,
            "codes-remove": self.action_remove,
            "codes-up": lambda: self.action_move(-1),
            "codes-down": lambda: self.action_move(1),
            "codes-required": self.action_toggle_required,
        }
        actions[event.button.id or ""]()

    def say(self, message: str) -> None:
        self.query_one("#codes-error", DialogError).say(message)

    # ---- saving ----
    @on(Button.Pressed, "#codes-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.say("")
        tree = DispositionTree(codes=self.codes, required=self.required)
        self.save_codes(tree)

    @work(exclusive=True, group="codes-load", exit_on_error=False)
    async def load_codes(self) -> None:
        self.post_message(CodesLoaded(await self.api.dispositions(self.campaign)))

    @work(group="codes-save", exit_on_error=False)
    async def save_codes(self, tree: DispositionTree) -> None:
        self.post_message(CodesSaved(await self.api.set_dispositions(self.campaign, tree)))

    @on(CodesLoaded)
    def _codes_arrived(self, message: CodesLoaded) -> None:
        self.codes, self.required = copy_codes(message.tree.codes), message.tree.required
        self.show_tree(self.codes[0] if self.codes else None)

    @on(CodesSaved)
    def _saved(self, message: CodesSaved) -> None:
        self.dismiss(message.tree)

    @on(Button.Pressed, "#codes-cancel")
    def action_cancel(self) -> None:
        if self.editing is not None:
            self.end_edit()
            return
        self.dismiss(None)

    def refused_node(self, field: str | None) -> DispositionNode | None:
        """The code a refusal's field (`codes.0.children.1.name`) is about."""
        match = _CODE_FIELD.fullmatch(field or "")
        if match is None:
            return None
        node: DispositionNode | None = None
        level = self.codes
        for index in re.findall(r"\.(\d+)", match.group(1)):
            if int(index) >= len(level):
                return node
            node = level[int(index)]
            level = node.children
        return node

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            error = worker.error
            field = refused_field(error)
            if field is None or not field.startswith("codes"):
                self.app.post_message(WorkerFailed(worker, error))
            self.say(f"Not saved: {refusal_text(error)}")
            if (node := self.refused_node(field)) is not None:
                self.show_tree(node)
