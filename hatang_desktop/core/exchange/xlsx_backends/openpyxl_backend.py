"""The fallback writer: openpyxl in write-only mode (slow, pure Python, always there)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.header_footer import HeaderFooterItem
from openpyxl.xml.functions import Element

from ._plan import (
    DEFAULT_DATETIME_FORMAT,
    FORMULA_PREFIXES,
    HEADER_FILL,
    NOTE_AUTHOR,
    SYSTEM_CELL_FILL,
    SYSTEM_HEADER_FILL,
    SheetPlan,
    WorkbookPlan,
    column_letter,
)
from ._print import MARGINS, TITLE_HEIGHT, TITLE_SIZE, print_area

NAME = "openpyxl"

# rust_xlsxwriter stores "N characters" the way Excel itself does (N + padding for Calibri 11);
# doing the same keeps the two backends' files alike.
_WIDTH_PADDING = 0.7109375

# XML cannot carry most control characters, and parsers turn a raw CR into LF; OOXML escapes them
# as _xHHHH_ (and a literal "_xHHHH_" as "_x005F_xHHHH_"). rust_xlsxwriter does this, openpyxl
# does not (it raises on control characters), so this backend does it itself.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f]|_x[0-9A-Fa-f]{4}_")


def _escape_match(m: re.Match) -> str:
    text = m.group(0)
    return "_x005F" + text if text.startswith("_") else f"_x{ord(text):04X}_"


def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color="FF" + rgb, end_color="FF" + rgb)


def _header_cells(ws, sheet: SheetPlan) -> list[WriteOnlyCell]:
    cells = []
    for c in sheet.columns:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.data_type = "s"   # a header is text even if it starts with "=" or "-"
        cell.font = Font(bold=True)
        if not sheet.plain or c.system:
            cell.fill = _fill(SYSTEM_HEADER_FILL if c.system else HEADER_FILL)
        if not sheet.plain:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        if c.note:
            # The same "Author:" first line the Rust backend (and Excel) writes, so notes read alike.
            comment = Comment(f"{NOTE_AUTHOR}:\n{c.note}", NOTE_AUTHOR)
            comment.width, comment.height = 240, 90
            cell.comment = comment
        cells.append(cell)
    return cells


def _write_sheet(wb: Workbook, sheet: SheetPlan, selected: bool) -> None:
    ws = wb.create_sheet(sheet.name)
    # Everything in the sheet head (views, column widths) must be set before the first append.
    ws.sheet_view.tabSelected = selected
    if sheet.hidden:
        ws.sheet_state = "hidden"
    h = sheet.header_row
    _page_setup(ws, sheet)
    if sheet.freeze_header:
        ws.freeze_panes = f"A{h + 1}"
    for j, c in enumerate(sheet.columns):
        ws.column_dimensions[column_letter(j)].width = c.width + _WIDTH_PADDING
    last = column_letter(len(sheet.columns) - 1)
    for r, line in enumerate(sheet.preamble, start=1):
        if r == 1:
            title = WriteOnlyCell(ws, value=line)
            title.data_type = "s"
            title.font = Font(bold=True, size=TITLE_SIZE)
            ws.row_dimensions[1].height = TITLE_HEIGHT
            ws.append([title])
        else:
            cell = WriteOnlyCell(ws, value=line or None)
            cell.data_type = "s"
            ws.append([cell])
        ws.merged_cells.add(f"A{r}:{last}{r}")
    if sheet.header_height:
        ws.row_dimensions[h].height = sheet.header_height
    ws.append(_header_cells(ws, sheet))

    ncols = len(sheet.columns)
    grey = _fill(SYSTEM_CELL_FILL)
    # One reusable styled cell per column: write-only mode serialises a row during append(), so
    # the same object can carry the next row's value. A fresh cell per value would be slower.
    styled: list[WriteOnlyCell | None] = []
    date_cells: list[WriteOnlyCell] = []
    for c in sheet.columns:
        if c.system or c.number_format:
            cell = WriteOnlyCell(ws)
            if c.system:
                cell.fill = grey
            if c.number_format:
                cell.number_format = c.number_format
            styled.append(cell)
        else:
            styled.append(None)
        dcell = WriteOnlyCell(ws)
        dcell.number_format = c.number_format or DEFAULT_DATETIME_FORMAT
        if c.system:
            dcell.fill = grey
        date_cells.append(dcell)
    text_cells = [WriteOnlyCell(ws) for _ in range(ncols)]
    for j, c in enumerate(sheet.columns):
        if c.system:
            text_cells[j].fill = grey

    count = 0
    for row in sheet.rows:
        out = []
        for j, value in enumerate(row):
            if isinstance(value, str) and (
                value.startswith(FORMULA_PREFIXES) or _NEEDS_ESCAPE.search(value)
            ):
                # openpyxl turns any "=..." string into a formula; force a string cell instead.
                value = _NEEDS_ESCAPE.sub(_escape_match, value)
                cell = text_cells[j]
                cell.value = value
                cell.data_type = "s"
                out.append(cell)
            elif isinstance(value, (dt.date, dt.datetime)):
                cell = date_cells[j]
                cell.value = value
                out.append(cell)
            elif styled[j] is not None:
                cell = styled[j]
                cell.value = value
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
        count += 1

    # The sheet tail (filter, validations) is written on close, so it can follow the row count.
    if sheet.autofilter:
        ws.auto_filter.ref = f"A{h}:{last}{max(count + h, h + 1)}"
    area = print_area(sheet.page, h + count) if sheet.page else None
    if area:
        ws.print_area = area.replace("$", "")
    for c in sheet.columns:
        v = c.validation
        if v is None:
            continue
        dv = DataValidation(
            type="list",
            formula1=v.formula1,
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=True,
            errorStyle=v.error_style,
            errorTitle=v.error_title,
            error=v.error_message,
        )
        dv.add(v.sqref)
        ws.data_validations.append(dv)


def _text_element(tag: str, text: str):
    element = Element(tag)
    element.text = text
    return element


def _page_setup(ws, sheet: SheetPlan) -> None:
    page = sheet.page
    if page is None:
        return
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = page.paper
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = page.fit_height
    for side, inches in MARGINS.items():
        setattr(ws.page_margins, side, inches)
    ws.HeaderFooter.oddHeader = HeaderFooterItem.from_tree(_text_element("oddHeader", page.header))
    ws.HeaderFooter.oddFooter = HeaderFooterItem.from_tree(_text_element("oddFooter", page.footer))
    ws.print_title_rows = f"{page.title_row}:{page.title_row}"


def write(path: Path, plan: WorkbookPlan) -> None:
    wb = Workbook(write_only=True)
    for i, sheet in enumerate(plan.sheets):
        _write_sheet(wb, sheet, selected=(i == plan.active_index))
    wb.active = plan.active_index
    buffer = io.BytesIO()
    wb.save(buffer)  # in memory first: openpyxl leaves its zip file open when a write fails, to fail again at exit
    Path(path).write_bytes(buffer.getvalue())
