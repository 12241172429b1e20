"""Tables whose columns fit their contents, measured when the rows are filled.

Textual sizes an auto-width column on idle, after rows are added, and a cell painted before that
keeps its narrower rendering (the cell cache is keyed on the table's update count, not on the
column's width). On a busy machine an admin saw a campaign's members as "ben, ca" under a wider
header. Here the widths are computed from the cells before anything is painted, and a cell that
grows past its column refits the whole table, so what is shown never depends on timing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable

Columns = Sequence[tuple[str, str]]
"""(label, key) of each column, in order."""


def fill(
    table: DataTable[Text], columns: Columns, rows: Iterable[tuple[str, Sequence[Text]]]
) -> None:
    """Replace every row (and column) of `table`; each column as wide as its widest cell."""
    rows = list(rows)
    table.clear(columns=True)
    for index, (label, key) in enumerate(columns):
        width = max([Text(label).cell_len, *(_width(cells[index]) for _, cells in rows)])
        table.add_column(Text(label), key=key, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)


def set_cell(
    table: DataTable[Text], columns: Columns, row_key: str, column_key: str, value: Text
) -> None:
    """Change one cell; refit the table, keeping the cursor, when the value no longer fits."""
    if row_key not in table.rows:
        return
    if _width(value) <= table.columns[column_key].width:
        table.update_cell(row_key, column_key, value)
        return
    keys = [key for _, key in columns]
    rows = []
    for key in table.rows:
        cells = list(table.get_row(key))
        if key.value == row_key:
            cells[keys.index(column_key)] = value
        rows.append((str(key.value), cells))
    cursor = table.cursor_coordinate
    fill(table, columns, rows)
    table.move_cursor(row=cursor.row, column=cursor.column, scroll=False)


def _width(cell: Text) -> int:
    return cell.cell_len
