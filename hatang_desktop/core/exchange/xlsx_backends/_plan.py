"""What a workbook should contain, decided once so both backends write the same thing.

Everything a backend could get wrong differently (which list goes inline and which to the hidden
`_lists` sheet, the note text, the default date formats, row-length checks, sheet-name rules) is
settled here; a backend only turns the plan into bytes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from ._print import PrintPlan, header_height, print_plan

LISTS_SHEET = "_lists"
MAX_ROW = 1_048_576

# Colours: the header a user reads, and the grey that says "hands off".
HEADER_FILL = "DDEBF7"
SYSTEM_HEADER_FILL = "BFBFBF"
SYSTEM_CELL_FILL = "EDEDED"
NOTE_AUTHOR = "Hạ tầng Desktop"
SYSTEM_NOTE = "Không sửa cột này / do not edit"

# A date or datetime in a column that declares no number_format still has to show as a date.
# One format for both, so a datetime never silently shows without its time.
DEFAULT_DATE_FORMAT = "dd/mm/yyyy"
DEFAULT_DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
# How many leading rows are looked at to give an unformatted column its date format.
PEEK_ROWS = 200

VALIDATION_ERROR_STYLE = "warning"  # warn, don't block: the import validates every cell anyway
VALIDATION_ERROR_TITLE = "Giá trị không có trong danh sách"
VALIDATION_ERROR_MESSAGE = (
    "Giá trị này không có trong danh sách chọn. Hãy chọn một giá trị từ danh sách thả xuống."
)

# Text that a spreadsheet would start evaluating; such a cell must be written as a string cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_INLINE_LIST_LIMIT = 255  # Excel's cap on an inline list formula, separators included
_BAD_SHEET_CHARS = set("[]:*?/\\")


def column_letter(index: int) -> str:
    """0-based column index to Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


@dataclass
class ValidationPlan:
    formula1: str          # '"a,b,c"' (inline) or "'_lists'!$A$2:$A$71" (range on the hidden sheet)
    sqref: str             # e.g. "C2:C1048576": generous, so rows a user adds get the dropdown too
    error_style: str = VALIDATION_ERROR_STYLE
    error_title: str = VALIDATION_ERROR_TITLE
    error_message: str = VALIDATION_ERROR_MESSAGE


@dataclass
class ColumnPlan:
    header: str
    width: int
    number_format: str | None   # resolved: the column's own, or a date default found by peeking
    system: bool
    note: str | None            # full note text for the header cell
    validation: ValidationPlan | None
    printed: bool = True        # inside the print area (see _print.print_plan)


@dataclass
class SheetPlan:
    name: str
    columns: list[ColumnPlan]
    rows: Iterator[Sequence[Any]]   # checked lazily: a wrong-length row raises while writing
    hidden: bool
    freeze_header: bool
    autofilter: bool
    plain: bool                     # title_style == "plain"
    # The sheet's part already rendered elsewhere (a worker process): called once, when needed.
    part: Any = None
    # The same cells as `rows`, a list per column (given so, "direct" formats them without
    # transposing rows back into columns).
    column_data: list | None = None
    # Lines of text above the header row (a title first), each across the table's columns.
    preamble: tuple[str, ...] = ()
    header_height: float | None = None   # points; None: one line, the default height
    page: PrintPlan | None = None

    @property
    def header_row(self) -> int:
        """The header's 1-based row: below the preamble; the data follows it."""
        return len(self.preamble) + 1

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


@dataclass
class WorkbookPlan:
    sheets: list[SheetPlan]

    @property
    def active_index(self) -> int:
        """The sheet shown on opening; Excel refuses a workbook whose active sheet is hidden."""
        return next(i for i, s in enumerate(self.sheets) if not s.hidden)


def check_sheet_name(name: str, seen: set[str]) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Sheet name must be non-empty text, got {name!r}")
    if len(name) > 31:
        raise ValueError(f"Sheet name {name!r} is longer than Excel's 31 characters")
    if _BAD_SHEET_CHARS & set(name):
        raise ValueError(f"Sheet name {name!r} contains one of the characters [ ] : * ? / \\")
    if name.startswith("'") or name.endswith("'"):
        raise ValueError(f"Sheet name {name!r} must not start or end with an apostrophe")
    if name.casefold() in seen:
        raise ValueError(f"Sheet name {name!r} is used twice (Excel ignores case)")
    seen.add(name.casefold())


def _checked_rows(name: str, rows: Iterable[Sequence[Any]], width: int,
                  first: int = 2) -> Iterator[Sequence[Any]]:
    for number, row in enumerate(rows, start=first):
        if len(row) != width:
            raise ValueError(
                f"Sheet {name!r}, row {number}: {len(row)} values for {width} columns"
            )
        yield row


def _peek_formats(rows: Iterator[Sequence[Any]], wanted: list[int]) -> tuple[dict[int, str], Iterator]:
    """Give a date format to unformatted columns whose first values are dates.

    The Rust backend styles whole columns before it sees a row, so the format has to be known
    up front; a bounded look-ahead keeps the rows streaming.
    """
    if not wanted:
        return {}, rows
    head = list(itertools.islice(rows, PEEK_ROWS))
    found: dict[int, str] = {}
    for j in wanted:
        for row in head:
            value = row[j]
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                found[j] = DEFAULT_DATETIME_FORMAT
            elif isinstance(value, dt.date):
                found[j] = DEFAULT_DATE_FORMAT
            break
    return found, itertools.chain(head, rows)


def _note_text(column: Any) -> str | None:
    parts = []
    if column.system:
        parts.append(SYSTEM_NOTE)
    if column.note:
        parts.append(column.note)
    return "\n".join(parts) or None


def _inline_list(choices: tuple[str, ...]) -> str | None:
    joined = ",".join(choices)
    # A comma inside a value would split it; a quote would need escaping Excel and LibreOffice
    # do not agree on. Both go to the range instead.
    if len(joined) > _INLINE_LIST_LIMIT or any(("," in c or '"' in c) for c in choices):
        return None
    return f'"{joined}"'


def build_plan(sheets: list[Any]) -> WorkbookPlan:
    """Check the caller's sheets and settle every choice both backends must agree on."""
    if not sheets:
        raise ValueError("A workbook needs at least one sheet")
    seen: set[str] = {LISTS_SHEET.casefold()}
    for sheet in sheets:
        if sheet.name.casefold() == LISTS_SHEET.casefold():
            raise ValueError(f"Sheet name {LISTS_SHEET!r} is reserved for dropdown lists")
        check_sheet_name(sheet.name, seen)
    if all(s.hidden for s in sheets):
        raise ValueError("At least one sheet must be visible")

    lists: dict[tuple[str, ...], tuple[str, str]] = {}   # choices -> (_lists header, formula)
    list_columns: list[tuple[str, tuple[str, ...]]] = []
    plans: list[SheetPlan] = []
    for sheet in sheets:
        if not sheet.columns:
            raise ValueError(f"Sheet {sheet.name!r} has no columns")
        headers = [c.header for c in sheet.columns]
        for h in headers:
            if not isinstance(h, str) or not h:
                raise ValueError(f"Sheet {sheet.name!r}: every column needs a header, got {h!r}")
            if len(h) > 255:
                raise ValueError(f"Sheet {sheet.name!r}: header {h[:40]!r}... is over 255 characters")
        dupes = sorted({h for h in headers if headers.count(h) > 1})
        if dupes:
            # Rows are matched to columns by header on import; two equal headers are ambiguous.
            raise ValueError(f"Sheet {sheet.name!r}: duplicate column headers {dupes}")

        preamble = tuple(getattr(sheet, "preamble", ()) or ())
        if preamble and (len(headers) < 2 or not all(isinstance(t, str) for t in preamble)):
            raise ValueError(f"Sheet {sheet.name!r}: lines above the header are text, over two columns or more")
        first_data_row = len(preamble) + 2
        column_data = getattr(sheet, "column_data", None)
        if column_data is not None:
            if len(column_data) != len(headers) or len({len(c) for c in column_data}) > 1:
                raise ValueError(f"Sheet {sheet.name!r}: {len(column_data)} columns of data for "
                                 f"{len(headers)} headers, or columns of different lengths")
            rows = zip(*column_data)
        else:
            rows = _checked_rows(sheet.name, iter(sheet.rows), len(headers), first_data_row)
        peek = getattr(sheet, "peek_formats", True)
        unformatted = [j for j, c in enumerate(sheet.columns) if not c.number_format] if peek else []
        found, rows = _peek_formats(rows, unformatted)

        columns = []
        for j, c in enumerate(sheet.columns):
            validation = None
            choices = tuple(str(x) for x in c.choices)
            if choices:
                formula = _inline_list(choices)
                if formula is None:
                    if choices not in lists:
                        col = column_letter(len(list_columns))
                        formula = f"'{LISTS_SHEET}'!${col}$2:${col}${len(choices) + 1}"
                        list_header = f"{sheet.name} / {c.header}"[:255]
                        lists[choices] = (list_header, formula)
                        list_columns.append((list_header, choices))
                    formula = lists[choices][1]
                letter = column_letter(j)
                validation = ValidationPlan(formula1=formula, sqref=f"{letter}{first_data_row}:{letter}{MAX_ROW}")
            columns.append(
                ColumnPlan(
                    header=c.header,
                    width=int(c.width),
                    number_format=c.number_format or found.get(j),
                    system=bool(c.system),
                    note=_note_text(c),
                    validation=validation,
                    printed=bool(getattr(c, "printed", True)),
                )
            )
        plain = sheet.title_style == "plain"
        plans.append(
            SheetPlan(
                name=sheet.name,
                columns=columns,
                rows=rows,
                hidden=bool(sheet.hidden),
                freeze_header=bool(sheet.freeze_header),
                autofilter=bool(sheet.autofilter),
                plain=plain,
                part=getattr(sheet, "part", None),
                column_data=column_data,
                preamble=preamble,
                # Only the table style wraps its headers; a plain header stays on one line.
                header_height=None if plain else header_height(headers, [c.width for c in columns]),
                page=print_plan(getattr(sheet, "page", None), len(preamble) + 1,
                                 [c.printed for c in columns], [c.width for c in columns]),
            )
        )
        if sheet.title_style not in ("table", "plain"):
            raise ValueError(f"Sheet {sheet.name!r}: title_style must be 'table' or 'plain'")

    if list_columns:
        width = len(list_columns)
        list_rows = itertools.zip_longest(*(choices for _, choices in list_columns))
        plans.append(
            SheetPlan(
                name=LISTS_SHEET,
                columns=[
                    ColumnPlan(header=h, width=30, number_format=None, system=False, note=None,
                               validation=None)
                    for h, _ in list_columns
                ],
                rows=(tuple(r) for r in list_rows) if width else iter(()),
                hidden=True,
                freeze_header=False,
                autofilter=False,
                plain=True,
                # Printed like the others, should someone unhide it.
                page=print_plan(next((s.page for s in sheets if getattr(s, "page", None)), None), 1,
                                 [True] * width),
            )
        )
    return WorkbookPlan(sheets=plans)
