"""How a sheet prints and how tall its header is, decided once so every backend writes the same.

A department prints the workbook: every sheet goes landscape (A4; A3 when too wide), one page wide and as many
pages tall as it needs (the summary: one page), with its header row repeated on every page, the
workbook's title and scope (province or commune) in the page header and "Trang x/y" in the
footer. Columns a person does not read on paper (UUIDs, versions, GPS fix details) can be left
out of the print area when they come last, so the rest prints larger. The area ends at the last
row written (whole columns would also print rows added later, but openpyxl cannot read those back).

Neither openpyxl nor the other writers store a height for a row, and LibreOffice does not
re-measure rows on opening a file: a wrapped header then overlaps the first data row. So the
header row gets an explicit height, from its longest wrapped header against its column's width.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

PAPER_A4 = 9               # the paperSize code of A4 (ECMA-376 Part 1, 18.3.1.63)
PAPER_A3 = 8
# Column-width units across an A4 landscape page inside MARGINS (10.9 in at 96 px/in, 7 px a unit).
# A sheet wider than twice this would print below half size on A4 (the sites sheet: ~3.5 pt
# text): it goes on A3, which a department's copier takes, and prints ~1.4x larger.
A4_LANDSCAPE_UNITS = 149
# Inches. Narrow sides: every point of width is worth having on a sheet fitted to one page wide.
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.75, "bottom": 0.75, "header": 0.3, "footer": 0.3}

LINE_HEIGHT = 15.0         # points: one line of Calibri 11, as Excel sizes a row
TITLE_HEIGHT = 21.0        # points: the 14 pt title line above a summary's table
TITLE_SIZE = 14
# A bold header character in pixels: as wide as DejaVu Sans Bold 11 pt, what LibreOffice shows
# where Calibri is missing (Calibri's are ~25% narrower, so Excel gets a little air, not overlap).
# A column's width unit is 7 px (Calibri 11's digit), less 5 px of cell padding.
_HEADER_CHAR_PX = 9.0
_COLUMN_UNIT_PX = 7.0
_CELL_PADDING_PX = 5.0


@dataclass(frozen=True)
class PageSetup:
    """What the page header and footer say; the same for every sheet of a workbook."""
    title: str                # page header, left: what the workbook is
    scope: str                # page header, right: the province or the commune
    note: str = ""            # page footer, left: e.g. the export date and the user
    one_page: bool = False    # the whole sheet on one page (a summary); else one page wide


@dataclass(frozen=True)
class PrintPlan:
    header: str               # the &-coded odd page header
    footer: str               # the &-coded odd page footer
    fit_height: int           # pages tall: 1 (one page) or 0 (as many as needed)
    title_row: int            # the 1-based row repeated at the top of every page (the header row)
    last_column: int | None   # 0-based last printed column; None: all of them
    paper: int = PAPER_A4     # the paperSize code: A3 for a sheet too wide to read on A4


def header_footer_text(text: str) -> str:
    """Text for a page header or footer: "&" starts a code there, "&&" prints one."""
    return text.replace("&", "&&").replace("\n", " ")


def print_plan(page: PageSetup | None, header_row: int, printed: list[bool],
               widths: list[float] | None = None) -> PrintPlan | None:
    if page is None:
        return None
    # A print area is one block: the columns up to the last one that prints.
    last = max((j for j, p in enumerate(printed) if p), default=len(printed) - 1)
    width = sum((widths or [])[:last + 1])
    paper = PAPER_A3 if width > 2 * A4_LANDSCAPE_UNITS and not page.one_page else PAPER_A4
    header = f"&L&B{header_footer_text(page.title)}&B&C&A&R{header_footer_text(page.scope)}"
    footer = (f"&L{header_footer_text(page.note)}" if page.note else "") + "&CTrang &P/&N"
    return PrintPlan(header=header, footer=footer, fit_height=1 if page.one_page else 0,
                     title_row=header_row, last_column=None if last == len(printed) - 1 else last,
                     paper=paper)


def print_area(page: PrintPlan, last_row: int) -> str | None:
    """The print area's reference ("$A$1:$R$301"), or None where every column prints."""
    if page.last_column is None:
        return None
    letters, n = "", page.last_column + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"$A$1:${letters}${max(last_row, page.title_row)}"


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes wrapped at word boundaries in a column `width` characters wide."""
    per_line = max(1, int((width * _COLUMN_UNIT_PX - _CELL_PADDING_PX) // _HEADER_CHAR_PX))
    lines = 0
    for paragraph in text.split("\n"):
        lines += max(1, len(textwrap.wrap(paragraph, per_line, break_long_words=True,
                                          break_on_hyphens=False)))
    return lines


def header_height(headers: list[str], widths: list[float]) -> float | None:
    """The header row's height in points, or None where one line fits (the default height)."""
    lines = max((wrapped_lines(h, w) for h, w in zip(headers, widths)), default=1)
    return None if lines <= 1 else math.ceil(lines * LINE_HEIGHT)
