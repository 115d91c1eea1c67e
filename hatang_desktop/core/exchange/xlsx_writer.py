"""Write an Excel workbook for the exchange with the department, atomically, with two backends.

`write_workbook` takes sheets of typed cells and writes: a bold, filled, wrapped header row
(grey with a "do not edit" note for system columns) as tall as its wrapped headers, frozen, an
autofilter, column widths, real dates with their number format, dropdowns from `choices` (long
lists on a hidden `_lists` sheet), hidden sheets, lines of text above the header (a summary's
title), and a page setup for printing (`PageSetup`: landscape A4, one page wide, the header row
on every page, title and scope in the page header, "Trang x/y" in the footer). Text that a spreadsheet would evaluate (=, +, -, @, tab, CR at the
start) is always written as a string cell, never as a formula.

Backends: "direct" (the default: SpreadsheetML built as strings, deflated with ISA-L and zipped
in one pass; pure Python, the fastest here, and the only one that can take sheets rendered by a
worker process), "rust" (rustpy-xlsxwriter, pinned, plus a patch pass) and "openpyxl" (write-only;
slow). All write from one plan (`xlsx_backends._plan`); the tests read every output back with
calamine, openpyxl and LibreOffice, and validate every part of the "direct" and "rust" files
against the ECMA-376 schemas and the cross-part rules Excel enforces (tests/core/test_xlsx_schema.py).
No "direct" file has been opened in Microsoft Excel itself yet: "rust" (whose files have) stays
one option away (`backend="rust"`, `hatang export-xlsx --writer rust`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..atomic import atomic_output
from .xlsx_backends._plan import LISTS_SHEET, build_plan  # noqa: F401  (LISTS_SHEET re-exported)
from .xlsx_backends._print import PageSetup  # noqa: F401  (re-exported)

BACKENDS = ("direct", "rust", "openpyxl")


@dataclass
class WriterColumn:
    header: str                       # Vietnamese header text, units included: "Chiều cao cột (m)"
    width: int = 14                   # in characters
    number_format: str | None = None  # "dd/mm/yyyy", "0.0000000", "0", "dd/mm/yyyy hh:mm"
    choices: tuple[str, ...] = ()     # dropdown values for the data rows
    system: bool = False              # grey, with a "do not edit" note on the header
    note: str | None = None           # help text shown as a note on the header cell
    # False: left off the printed page when no printed column follows (UUIDs, versions, GPS
    # fix details: for the import, not for a reader of paper).
    printed: bool = True


@dataclass
class SheetData:
    name: str                         # <= 31 characters
    columns: list[WriterColumn]
    rows: Iterable[Sequence[object]]  # str, int, float, bool, date, datetime, None; one per column
    hidden: bool = False
    freeze_header: bool = True
    autofilter: bool = True
    title_style: str = "table"        # "table" (styled header) or "plain" (key/value metadata)
    # False: the columns declare every number format; do not look at the first rows for dates
    # (so the styles do not depend on the rows: a worker rendering some sheets from empty
    # placeholders for the others assigns the same style ids).
    peek_formats: bool = True
    # "direct" only: a callable returning the sheet's part rendered elsewhere (a worker process,
    # from the same plan); `rows` is then ignored.
    part: Callable[[], object] | None = None
    # Instead of `rows`: the cells as a list per column (all of one length); "direct" formats
    # columns, so it skips transposing rows back into columns.
    column_data: list[list] | None = None
    # Lines above the header row, each across the table's columns: the first is a title (bold,
    # larger), the others plain ("" for a blank line). The header row follows them.
    preamble: tuple[str, ...] = ()
    page: PageSetup | None = None     # how the sheet prints; None: the spreadsheet's defaults


def rust_available() -> bool:
    try:
        import rustpy_xlsxwriter  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str | None) -> str:
    """The backend `write_workbook` uses for `backend` (None: the default, "direct")."""
    return backend or "direct"


def _backend_module(backend: str | None):
    backend = resolve_backend(backend)
    if backend == "rust":
        from .xlsx_backends import rust as module
    elif backend == "openpyxl":
        from .xlsx_backends import openpyxl_backend as module
    elif backend == "direct":
        from .xlsx_backends import direct as module
    else:
        raise ValueError(f"Unknown xlsx backend {backend!r}; expected one of {BACKENDS}")
    return module


def write_workbook(path: str | Path, sheets: list[SheetData], *, backend: str | None = None) -> str:
    """Write the workbook atomically and return the backend name used ("direct", "rust", "openpyxl").

    The file is written to a temporary name in the same folder and moved over `path` with
    `os.replace` only when complete (core/atomic.py): `path` is never half-written, an existing
    file there is replaced only on success, and on any error the temporary file is removed and
    the exception propagates (a full disk, a read-only folder as a FileFault naming `path`). Sheet names, headers and row lengths are checked (ValueError); rows are consumed
    once, lazily.
    """
    path = Path(path)
    module = _backend_module(backend)
    if module.NAME != "direct" and any(s.part is not None for s in sheets):
        raise ValueError("Pre-rendered sheets need the 'direct' backend")
    plan = build_plan(sheets)
    with atomic_output(path) as tmp:
        module.write(tmp, plan)
    return module.NAME
