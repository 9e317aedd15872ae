"""Cells for CSV and XLSX exports that a spreadsheet never runs as a formula (CSV/formula injection,
OWASP ASVS 5.3.10). Every export of the application writes its cells through these helpers.

- CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
  with a single quote, which spreadsheets show as text. Numbers (also a number written as text,
  such as ``-12.50``) stay numbers.
- XLSX: every text cell is typed as a string, so ``=HYPERLINK(…)`` is stored as text and never as a
  formula; numbers and dates keep their type.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?\Z")


def is_formula_like(value) -> bool:
    """True for a text value a spreadsheet could read as a formula (a plain number is not)."""
    return (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _NUMBER.match(value))


def csv_cell(value):
    """The value as a CSV cell that cannot execute."""
    return "'" + value if is_formula_like(value) else value


def csv_row(row: Iterable) -> list:
    """Each cell of ``row`` through :func:`csv_cell`."""
    return [csv_cell(value) for value in row]


def xlsx_row(sheet, row: Iterable) -> list:
    """Cells for ``sheet.append``: text typed as a string (never a formula), other values as given.

    Works for ordinary and write-only worksheets."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells
