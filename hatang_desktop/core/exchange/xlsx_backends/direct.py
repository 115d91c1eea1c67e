"""The direct writer: SpreadsheetML generated as strings and streamed into the zip in one pass.

Everything the workbook needs (styles, header formats incl. the grey system headers, notes, list
validations, hidden sheets) is known from the plan before the first row, so nothing has to be
patched afterwards, unlike the Rust backend's post-pass. Per column, the cell prefix and the
style attribute are built once; rows are formatted in chunks, one list comprehension per column;
text is escaped only in a column whose joined text shows something to escape. Strings are written
inline (`t="inlineStr"`), so the sheet streams without a shared-strings table held in memory, and
each chunk is deflated as it is formatted (ISA-L, level 1).

Sheets are deflated into memory and the zip is written by `_zip.RawZip`, so a sheet can also be
rendered by a worker process from the same plan (`layouts` assigns the same style ids in any
process) and handed over as a `RenderedPart` (see exchange.export_parallel). Limits: no Zip64
(every part and the file under 4 GiB); docProps and theme parts are omitted (optional in OOXML).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ._plan import (
    DEFAULT_DATETIME_FORMAT,
    HEADER_FILL,
    NOTE_AUTHOR,
    SYSTEM_CELL_FILL,
    SYSTEM_HEADER_FILL,
    SheetPlan,
    WorkbookPlan,
    column_letter,
)
from ._print import MARGINS, TITLE_HEIGHT, TITLE_SIZE, print_area
from ._zip import MemoryDeflate, RawZip

NAME = "direct"

MAX_CELL_TEXT = 32_767  # Excel's limit; rust_xlsxwriter refuses longer text too
_FLUSH_ROWS = 2000       # rows joined before one encode + write into the zip stream
_WIDTH_PADDING = 0.7109375   # Excel's (and rust_xlsxwriter's) padding for Calibri 11
_EXCEL_EPOCH = dt.date(1899, 12, 30).toordinal()

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument."

# XML cannot carry most control characters and parsers turn a raw CR into LF; OOXML escapes them
# as _xHHHH_, and a literal "_xHHHH_" as "_x005F_xHHHH_" (as rust_xlsxwriter and Excel do).
_NEEDS_OOXML_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f]|_x[0-9A-Fa-f]{4}_")


def _ooxml_escape(m: re.Match) -> str:
    text = m.group(0)
    return "_x005F" + text if text.startswith("_") else f"_x{ord(text):04X}_"


# Text that needs no escaping at all: no markup characters, no control characters, no "_" (that
# could start an _xHHHH_ escape) and no space at either end. Most cells are like this.
_PLAIN = re.compile(r"[^&<>\x00-\x1f_ ][^&<>\x00-\x1f_]*(?<! )\Z").match


_CONTROLS = bytes(range(32))


def _clean_column(texts: list[str]) -> bool:
    """Whether none of these values needs escaping, tested with a few C-speed scans of the
    joined text instead of one test per value: no markup, no control character, no "_x" that
    could read as an escape, no empty value, no space at either end. (Other characters that
    are not printable, a no-break space or U+2028, are written as they are either way: see
    `_text`.) The values are joined by a newline, a control character: a value holding one
    shows in the count of control bytes, and a value's ends sit beside the newlines. The scans
    run over the UTF-8 bytes, where a search for one byte is a memchr."""
    if "" in texts:
        return False
    try:
        data = "\n".join(texts).encode()
    except UnicodeEncodeError:   # a lone surrogate: the careful path says where it fails
        return False
    if (len(data) - len(data.translate(None, _CONTROLS)) != len(texts) - 1 or b"&" in data or b"<" in data
            or b">" in data or b"_x" in data):
        return False
    return not (data[:1] == b" " or data[-1:] == b" " or b" \n" in data or b"\n " in data)


def _any_text(head: str, v: str) -> str:
    """A text cell: `head` is the cell up to its <is>."""
    if _PLAIN(v):
        return f"{head}<t>{v}</t></is></c>"
    return f"{head}{_text(v)}</is></c>"


def _text(value: str) -> str:
    """The <t> element of a text cell: escaped, with xml:space kept where whitespace would go."""
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in value or not value.isprintable():
        value = _NEEDS_OOXML_ESCAPE.sub(_ooxml_escape, value)
    if value and (value[0] in " \t\n" or value[-1] in " \t\n"):
        return f'<t xml:space="preserve">{value}</t>'
    return f"<t>{value}</t>"


_DATE_KINDS = {dt.date, dt.datetime, type(None)}
_NONE, _STR, _NUMBERS = type(None), {str}, {int, float}
# False: every column through `_general_cells` (the tests compare the two paths).
FAST_CELLS = True


def _serial(value: dt.date) -> str:
    """Excel's date serial (1900 system): days since 1899-12-30 plus the fraction of the day."""
    days = value.toordinal() - _EXCEL_EPOCH
    if type(value) is dt.datetime or isinstance(value, dt.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return repr(days + seconds / 86400) if seconds else str(days)
    return str(days)


# --- styles -----------------------------------------------------------------------------------

class _Styles:
    """cellXfs built from (number format, font, fill, wrapped) keys as the plan asks for them."""

    _FILLS = ("none", "gray125", HEADER_FILL, SYSTEM_CELL_FILL, SYSTEM_HEADER_FILL)
    # Font ids: 0 regular, 1 bold, 2 the notes' Tahoma (comments only), 3 a summary's title.
    _TITLE_FONT = 3

    def __init__(self):
        self.num_fmts: dict[str, int] = {}
        self.xfs: dict[tuple, int] = {(None, 0, 0, False): 0}

    def xf(self, number_format: str | None, bold: bool = False, fill: str | None = None,
           wrap: bool = False, title: bool = False) -> int:
        fill_id = self._FILLS.index(fill) if fill else 0
        key = (number_format, self._TITLE_FONT if title else int(bold), fill_id, wrap)
        if key not in self.xfs:
            if number_format and number_format not in self.num_fmts:
                self.num_fmts[number_format] = 164 + len(self.num_fmts)
            self.xfs[key] = len(self.xfs)
        return self.xfs[key]

    def xml(self) -> str:
        fmts = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(f)}/>'
                       for f, i in self.num_fmts.items())
        fills = ['<fill><patternFill patternType="none"/></fill>',
                 '<fill><patternFill patternType="gray125"/></fill>']
        fills += [f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
                  f'<bgColor indexed="64"/></patternFill></fill>' for rgb in self._FILLS[2:]]
        xfs = []
        for (fmt, font_id, fill_id, wrap) in self.xfs:
            num_id = self.num_fmts[fmt] if fmt else 0
            attrs = (f'numFmtId="{num_id}" fontId="{font_id}" fillId="{fill_id}" '
                     f'borderId="0" xfId="0"')
            attrs += ' applyNumberFormat="1"' * bool(fmt) + ' applyFont="1"' * bool(font_id)
            attrs += ' applyFill="1"' * bool(fill_id)
            if wrap:
                xfs.append(f'<xf {attrs} applyAlignment="1"><alignment vertical="top" '
                           f'wrapText="1"/></xf>')
            else:
                xfs.append(f"<xf {attrs}/>")
        font = '<sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
        title_font = font.replace('<sz val="11"/>', f'<sz val="{TITLE_SIZE}"/>')
        return (
            f'{_XML_HEAD}<styleSheet xmlns="{_NS_MAIN}">'
            + (f'<numFmts count="{len(self.num_fmts)}">{fmts}</numFmts>' if self.num_fmts else "")
            + f'<fonts count="4"><font>{font}</font><font><b/>{font}</font>'
            '<font><sz val="8"/><color indexed="81"/><name val="Tahoma"/><family val="2"/></font>'
            f'<font><b/>{title_font}</font></fonts>'
            f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
            'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
        )


# --- one worksheet ----------------------------------------------------------------------------

class _SheetLayout:
    """What one sheet's rows need, computed once: cell prefixes and style attributes per column."""

    def __init__(self, sheet: SheetPlan, styles: _Styles):
        self.sheet = sheet
        self.letters = [column_letter(j) for j in range(len(sheet.columns))]
        table = not sheet.plain
        self.header_styles = []
        self.col_styles = []
        self.date_styles = []
        for c in sheet.columns:
            fill = SYSTEM_HEADER_FILL if c.system else (HEADER_FILL if table else None)
            self.header_styles.append(styles.xf(None, bold=True, fill=fill, wrap=table))
            cell_fill = SYSTEM_CELL_FILL if c.system else None
            self.col_styles.append(styles.xf(c.number_format, fill=cell_fill)
                                   if (c.system or c.number_format) else 0)
            self.date_styles.append(styles.xf(c.number_format or DEFAULT_DATETIME_FORMAT,
                                              fill=cell_fill))
        self.title_style = styles.xf(None, title=True) if sheet.preamble else 0
        self.header_row = sheet.header_row
        self._affixes: list[tuple[str, str]] | None = None

    def head(self, selected: bool) -> str:
        sheet = self.sheet
        h = self.header_row
        view = ' tabSelected="1"' if selected else ""
        if sheet.freeze_header:
            views = (f'<sheetView{view} workbookViewId="0"><pane ySplit="{h}" topLeftCell="A{h + 1}" '
                     'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>')
        else:
            views = f'<sheetView{view} workbookViewId="0"/>'
        cols = "".join(
            f'<col min="{j + 1}" max="{j + 1}" width="{c.width + _WIDTH_PADDING}"'
            + (f' style="{s}"' if s else "") + ' customWidth="1"/>'
            for j, (c, s) in enumerate(zip(sheet.columns, self.col_styles))
        )
        header = "".join(
            f'<c r="{L}{h}" s="{s}" t="inlineStr"><is>{_text(c.header)}</is></c>'
            for L, s, c in zip(self.letters, self.header_styles, sheet.columns)
        )
        height = f' ht="{sheet.header_height}" customHeight="1"' if sheet.header_height else ""
        fit = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if sheet.page else ""
        return (f'{_XML_HEAD}<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">{fit}'
                f"<sheetViews>{views}</sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>"
                f'<cols>{cols}</cols><sheetData>{self._preamble()}<row r="{h}"{height}>{header}</row>')

    def _preamble(self) -> str:
        rows = []
        for r, line in enumerate(self.sheet.preamble, start=1):
            if r == 1:
                rows.append(f'<row r="1" ht="{TITLE_HEIGHT}" customHeight="1"><c r="A1" s="{self.title_style}" '
                            f't="inlineStr"><is>{_text(line)}</is></c></row>')
            elif line:
                rows.append(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is>{_text(line)}</is></c></row>')
        return "".join(rows)

    def tail(self, count: int, has_notes: bool) -> str:
        sheet = self.sheet
        parts = ["</sheetData>"]
        if sheet.autofilter:
            parts.append(f'<autoFilter ref="{self.filter_ref(count)}"/>')
        if sheet.preamble:
            merged = "".join(f'<mergeCell ref="A{r}:{self.letters[-1]}{r}"/>'
                             for r in range(1, len(sheet.preamble) + 1))
            parts.append(f'<mergeCells count="{len(sheet.preamble)}">{merged}</mergeCells>')
        items = [
            f'<dataValidation type="list" errorStyle="{v.error_style}" allowBlank="1" '
            f'showInputMessage="1" showErrorMessage="1" errorTitle={quoteattr(v.error_title)} '
            f'error={quoteattr(v.error_message)} sqref="{v.sqref}">'
            f"<formula1>{escape(v.formula1)}</formula1></dataValidation>"
            for v in (c.validation for c in sheet.columns) if v is not None
        ]
        if items:
            parts.append(f'<dataValidations count="{len(items)}">{"".join(items)}</dataValidations>')
        page = sheet.page
        if page is None:
            parts.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                         'footer="0.3"/>')
        else:
            parts.append("<pageMargins " + " ".join(f'{k}="{v}"' for k, v in MARGINS.items()) + "/>")
            parts.append(f'<pageSetup paperSize="{page.paper}" fitToWidth="1" fitToHeight="{page.fit_height}" '
                         'orientation="landscape"/>')
            parts.append(f"<headerFooter><oddHeader>{escape(page.header)}</oddHeader>"
                         f"<oddFooter>{escape(page.footer)}</oddFooter></headerFooter>")
        if has_notes:
            parts.append('<legacyDrawing r:id="rId1"/>')
        parts.append("</worksheet>")
        return "".join(parts)

    def filter_ref(self, count: int) -> str:
        h = self.header_row
        return f"A{h}:{self.letters[-1]}{max(count + h, h + 1)}"

    def write_rows(self, out) -> int:
        """Stream the data rows into `out` (a binary file); return how many were written.

        Neither the rows nor their cells carry an `r` reference, except a cell right after an
        empty one: in SpreadsheetML `r` is optional, a row without it follows the row before
        and a cell without it the cell before (ECMA-376 Part 1, 18.3.1.73 and 18.3.1.4), and
        the data rows follow the header row without a gap. Excel, LibreOffice, calamine and
        openpyxl read such a sheet as the one with every reference written
        (tests/core/test_xlsx_fast_cells.py), and writing the references was an eighth of the
        export's work.

        Rows are taken in chunks and formatted column by column into one `%` template per
        chunk, filled row by row in C. A column of one kind with no blank (clean text, finite
        numbers) that does not follow a column with an empty cell is part of the template
        itself; any other column is formatted to a list of cells first, by `_fast_cells`
        (one kind: one format per cell, blanks blanked afterwards) or `_general_cells`
        (chosen cell by cell). Both give the same bytes for the same cells.
        """
        ncols = len(self.letters)
        count = 0
        first = self.header_row + 1
        for size, chunk in self._column_chunks():
            start = count + first
            count += size
            if not ncols:
                out.write(b"<row></row>" * size)
                continue
            pieces, args = ["<row>"], []
            previous = None    # the cells of the column before, when some are empty and some not
            after_empty = False   # the column before is empty in every row of the chunk
            for j, column in enumerate(chunk):
                fast = self._fast_cells(j, column) if FAST_CELLS else None
                if fast is not None and not fast[0]:   # empty in every row: nothing to write
                    previous, after_empty = None, True
                    continue
                if fast is not None and not fast[1] and previous is None:
                    # The values go into the row template as they are; after an empty column
                    # every cell takes its reference, the row number a value of the template too.
                    if after_empty:
                        pieces.append(f'<c r="{self.letters[j]}%s"{fast[0][2:]}')
                        args.append(range(start, start + size))
                    else:
                        pieces.append(fast[0])
                    args.append(column)
                    after_empty = False
                    continue
                if fast is None:
                    cells = self._general_cells(j, column)
                else:
                    cells = list(map(fast[0].__mod__, column))
                    for i in itertools.compress(range(size), map(operator.is_, column, itertools.repeat(None))):
                        cells[i] = ""
                if after_empty:
                    self._refer_after_blanks(j, cells, range(size), start)
                elif previous is not None:
                    self._refer_after_blanks(j, cells, itertools.compress(range(size), map(operator.not_, previous)),
                                             start)
                pieces.append("%s")
                args.append(cells)
                after_empty = not any(cells)
                previous = cells if "" in cells and not after_empty else None
            if not args:   # every column empty in these rows
                out.write(b"<row></row>" * size)
                continue
            template = "".join(pieces) + "</row>"
            out.write("".join(map(template.__mod__, zip(*args))).encode())
        return count

    def _refer_after_blanks(self, j: int, cells: list[str], rows, start: int) -> None:
        """Give `r` to each written cell of column j among `rows` (chunk indices whose left
        neighbour is empty, not written): without it the cell would be read one column to the
        left. `start` is the chunk's first row number."""
        ref = f'<c r="{self.letters[j]}'
        for i in rows:
            cell = cells[i]
            if cell:
                cells[i] = f'{ref}{start + i}"{cell[2:]}'

    def _check_length(self, j: int, texts) -> None:
        if texts and max(map(len, texts)) > MAX_CELL_TEXT:
            raise ValueError(f"Sheet {self.sheet.name!r}, column {self.sheet.columns[j].header!r}: "
                             f"a text over Excel's {MAX_CELL_TEXT:,} characters per cell")

    def _templates(self, j: int) -> tuple[str, str]:
        """Column j's cell as a `%` template, for text needing no escaping and for numbers."""
        if self._affixes is None:
            self._affixes = []
            for s in self.col_styles:
                style = f' s="{s}"' if s else ""
                self._affixes.append((f'<c{style} t="inlineStr"><is><t>%s</t></is></c>', f"<c{style}><v>%r</v></c>"))
        return self._affixes[j]

    def _fast_cells(self, j: int, column) -> tuple[str, bool] | None:
        """When column j holds one kind of value, written without a choice per cell (text needing
        no escaping, or finite ints and floats; None anywhere): its cell template and whether it
        has blanks; else None (then `_general_cells`)."""
        kinds = set(map(type, column))
        blank = _NONE in kinds
        kinds.discard(_NONE)
        if not kinds:
            return "", True     # every cell empty (no template: nothing to format)
        if kinds == _STR:
            if "" in column:
                return None
            texts = list(filter(None, column)) if blank else column
            self._check_length(j, texts)
            if not _clean_column(texts):
                return None
            return self._templates(j)[0], blank
        if kinds <= _NUMBERS:
            try:   # inf or nan anywhere makes the sum so (Excel stores neither as a number)
                if not math.isfinite(sum(filter(None, column))):
                    return None
            except OverflowError:   # an int past float's range, or floats summing past it
                return None
            return self._templates(j)[1], blank
        return None

    def _general_cells(self, j: int, column) -> list[str]:
        """Column j's cells, chosen cell by cell: any mix of types, text escaped where needed."""
        s = self.col_styles[j]
        style = f' s="{s}"' if s else ""
        m, nm = f'<c{style} t="inlineStr"><is>', f"<c{style}><v>"
        str_, int_, float_, cell = str, int, float, self._cell
        # One scan of the column's text decides whether any value needs escaping; in the usual
        # clean column no value is looked at one by one.
        texts = [v for v in column if type(v) is str_]
        self._check_length(j, texts)
        kinds = set(map(type, column)) if not texts else ()
        if kinds and kinds <= _DATE_KINDS:
            # A column of dates (the system "updated at"): serials a column at a time.
            ds = f'<c s="{self.date_styles[j]}"><v>'
            return ["" if v is None else f"{ds}{_serial(v)}</v></c>" for v in column]
        # v - v == 0 is false for inf and nan, which Excel cannot store as numbers.
        if not texts or _clean_column(texts):
            return [
                "" if v is None
                else f"{m}<t>{v}</t></is></c>" if type(v) is str_
                else f"{nm}{v!r}</v></c>" if (type(v) is int_ or type(v) is float_ and v - v == 0)
                else cell(j, v)
                for v in column
            ]
        return [
            "" if v is None
            else _any_text(m, v) if type(v) is str_
            else f"{nm}{v!r}</v></c>" if (type(v) is int_ or type(v) is float_ and v - v == 0)
            else cell(j, v)
            for v in column
        ]

    def _column_chunks(self):
        """(row count, [cells of each column]) per chunk of _FLUSH_ROWS rows."""
        data = self.sheet.column_data
        if data is not None:
            n = len(data[0]) if data else 0
            for a in range(0, n, _FLUSH_ROWS):
                yield min(_FLUSH_ROWS, n - a), [c[a:a + _FLUSH_ROWS] for c in data]
            return
        rows = iter(self.sheet.rows)
        while chunk := list(itertools.islice(rows, _FLUSH_ROWS)):
            yield len(chunk), list(zip(*chunk))

    def _cell(self, j: int, v) -> str:
        """A cell that is neither empty, text, an int nor a finite float: dates mostly."""
        t = type(v)
        if t is dt.date or t is dt.datetime:
            return f'<c s="{self.date_styles[j]}"><v>{_serial(v)}</v></c>'
        return self._other(j, v)

    def _other(self, j: int, v) -> str:
        """Subclasses and foreign types (numpy numbers, Decimal...): slow path, rare."""
        s = self.col_styles[j]
        style = f' s="{s}"' if s else ""
        if isinstance(v, bool):
            return f'<c{style} t="b"><v>{int(v)}</v></c>'
        if isinstance(v, dt.date):
            return f'<c s="{self.date_styles[j]}"><v>{_serial(v)}</v></c>'
        if isinstance(v, (int, float)) or hasattr(v, "__float__") and not isinstance(v, str):
            try:
                f = float(v)
            except (TypeError, ValueError):
                f = None
            if f is not None and math.isfinite(f):
                return f'<c{style}><v>{int(v) if isinstance(v, int) else repr(f)}</v></c>'
            if f is not None:
                # Excel has no infinity or NaN; the other backends leave the cell empty too.
                return ""
        # Text and anything else: a string cell, never a formula.
        return f'<c{style} t="inlineStr"><is>{_text(str(v))}</is></c>'


# --- notes (comments + the VML that Excel needs to show them) ---------------------------------

def _col_pixels(width: float) -> int:
    return int(width * 7 + 0.5) if width >= 1 else int(width * 12 + 0.5)


def _comments_xml(notes: list[tuple[int, str]], letters: list[str], row: int = 1) -> str:
    run = '<rPr>{b}<sz val="8"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>'
    items = "".join(
        f'<comment ref="{letters[j]}{row}" authorId="0"><text>'
        f'<r>{run.format(b="<b/>")}<t>{escape(NOTE_AUTHOR)}:</t></r>'
        # `_text` as for cells: a control character in a note would make the part malformed XML.
        f'<r>{run.format(b="")}{_text(chr(10) + text)}</r></text></comment>'
        for j, text in notes
    )
    return (f'{_XML_HEAD}<comments xmlns="{_NS_MAIN}"><authors><author>{escape(NOTE_AUTHOR)}'
            f"</author></authors><commentList>{items}</commentList></comments>")


def _vml(notes: list[tuple[int, str]], widths: list[float], index: int, row: int = 1) -> str:
    # A note box 240 x 90 px anchored one column right of its cell, as Excel places it.
    pixels = [_col_pixels(w + _WIDTH_PADDING) for w in widths]

    def col_width(k: int) -> int:
        return pixels[k] if k < len(pixels) else 64

    shapes = []
    for z, (j, _text_) in enumerate(notes, start=1):
        left_col, left_off = j + 1, 15
        x = sum(col_width(k) for k in range(left_col)) + left_off
        end_col, rest = left_col, 240 + left_off
        while rest > col_width(end_col):
            rest -= col_width(end_col)
            end_col += 1
        anchor = f"{left_col}, {left_off}, {row - 1}, 2, {end_col}, {rest}, {row + 3}, 12"
        shapes.append(
            f'<v:shape id="_x0000_s{1024 * index + z}" type="#_x0000_t202" style="position:absolute;'
            f"margin-left:{x * 0.75}pt;margin-top:1.5pt;width:180pt;height:67.5pt;z-index:{z};"
            'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{row - 1}</x:Row>"
            f"<x:Column>{j}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
        f'<o:idmap v:ext="edit" data="{index}"/></o:shapelayout><v:shapetype id="_x0000_t202" '
        'coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>' + "".join(shapes) + "</xml>"
    )


# --- sheet parts, rendered here or in a worker process ----------------------------------------

@dataclass
class RenderedPart:
    """A worksheet part, deflated (a raw deflate stream, as it goes into the zip)."""
    data: bytes
    crc: int
    size: int       # uncompressed bytes
    count: int      # data rows


def layouts(plan: WorkbookPlan) -> tuple[_Styles, list[_SheetLayout]]:
    """Every sheet's layout, with style ids assigned in sheet order: the same plan gives the same
    ids in any process, which is what lets a worker render some of the sheets."""
    styles = _Styles()
    return styles, [_SheetLayout(s, styles) for s in plan.sheets]


def render_sheet(plan: WorkbookPlan, laid: list[_SheetLayout], i: int) -> RenderedPart:
    layout = laid[i]
    has_notes = any(c.note for c in layout.sheet.columns)
    sink = MemoryDeflate()   # inline: ISA-L deflates ~40 MB of sheet XML in 0.07 s
    sink.write(layout.head(i == plan.active_index).encode())
    count = layout.write_rows(sink)
    sink.write(layout.tail(count, has_notes).encode())
    return RenderedPart(sink.finish(), sink.crc, sink.size, count)


# --- the package ------------------------------------------------------------------------------

def _rels(items: list[tuple[str, str]]) -> str:
    body = "".join(f'<Relationship Id="rId{i}" Type="{t}" Target="{target}"/>'
                   for i, (t, target) in enumerate(items, start=1))
    return f'{_XML_HEAD}<Relationships xmlns="{_NS_PKG_REL}">{body}</Relationships>'


def _workbook_xml(plan: WorkbookPlan, names: list[tuple[str, int, str]]) -> str:
    active = plan.active_index
    sheets = "".join(
        f'<sheet{" state=" + chr(34) + "hidden" + chr(34) if s.hidden else ""} '
        f'name={quoteattr(s.name)} sheetId="{i + 1}" r:id="rId{i + 1}"/>'
        for i, s in enumerate(plan.sheets)
    )
    names = "".join(
        f'<definedName name="_xlnm.{name}" localSheetId="{i}"'
        + ' hidden="1"' * (name == "_FilterDatabase") + f">{escape(ref)}</definedName>"
        for name, i, ref in names
    )
    return (
        f'{_XML_HEAD}<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="{active}" firstSheet="{active}" xWindow="240" '
        f'yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>{sheets}</sheets>'
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _print_names(sheet: SheetPlan, count: int) -> list[tuple[str, str]]:
    """The print area (when some columns are left off) and the header row repeated on every page."""
    page = sheet.page
    area = print_area(page, sheet.header_row + count)
    return ([("Print_Area", area)] if area else []) + [("Print_Titles", f"${page.title_row}:${page.title_row}")]


def write(path: Path, plan: WorkbookPlan) -> None:
    """Render every sheet not rendered elsewhere, then take the others' parts, and write the
    package."""
    styles, laid = layouts(plan)
    counts: dict[int, int] = {}
    zf = RawZip(path)
    try:
        # Sheets rendered here first, then a worker's parts: the waiting for them overlaps with
        # this process's rendering.
        order = sorted(range(len(laid)), key=lambda i: plan.sheets[i].part is not None)
        for i in order:
            sheet = plan.sheets[i]
            part = sheet.part() if sheet.part is not None else render_sheet(plan, laid, i)
            zf.add(f"xl/worksheets/sheet{i + 1}.xml", part.data, part.crc, part.size)
            counts[i] = part.count
        overrides = [("/xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
                     ("/xl/styles.xml", "spreadsheetml.styles+xml")]
        workbook_rels = []
        names: list[tuple[str, int, str]] = []   # (defined name, sheet index, reference)
        note_index = 0
        for i, layout in enumerate(laid):
            sheet = layout.sheet
            part = f"xl/worksheets/sheet{i + 1}.xml"
            notes = [(j, c.note) for j, c in enumerate(sheet.columns) if c.note]
            overrides.append((f"/{part}", "spreadsheetml.worksheet+xml"))
            workbook_rels.append((_NS_REL + "/worksheet", f"worksheets/sheet{i + 1}.xml"))
            if sheet.autofilter:
                start, end = layout.filter_ref(counts[i]).split(":")
                abs_ref = ":".join("$" + re.sub(r"(\d+)", r"$\1", p) for p in (start, end))
                names.append(("_FilterDatabase", i, f"{_quoted_sheet(sheet.name)}!{abs_ref}"))
            if sheet.page is not None:
                names += [(name, i, f"{_quoted_sheet(sheet.name)}!{ref}") for name, ref in _print_names(sheet, counts[i])]
            if notes:
                note_index += 1
                zf.add_bytes(f"xl/comments{note_index}.xml",
                             _comments_xml(notes, layout.letters, layout.header_row).encode())
                zf.add_bytes(f"xl/drawings/vmlDrawing{note_index}.vml",
                             _vml(notes, [c.width for c in sheet.columns], note_index, layout.header_row).encode())
                zf.add_bytes(f"xl/worksheets/_rels/sheet{i + 1}.xml.rels", _rels([
                    (_NS_REL + "/vmlDrawing", f"../drawings/vmlDrawing{note_index}.vml"),
                    (_NS_REL + "/comments", f"../comments{note_index}.xml"),
                ]).encode())
                overrides.append((f"/xl/comments{note_index}.xml", "spreadsheetml.comments+xml"))

        workbook_rels.append((_NS_REL + "/styles", "styles.xml"))
        zf.add_bytes("xl/styles.xml", styles.xml().encode())
        zf.add_bytes("xl/workbook.xml", _workbook_xml(plan, names).encode())
        zf.add_bytes("xl/_rels/workbook.xml.rels", _rels(workbook_rels).encode())
        zf.add_bytes("_rels/.rels", _rels([(_NS_REL + "/officeDocument", "xl/workbook.xml")]).encode())
        types = "".join(f'<Override PartName="{p}" ContentType="{_CT}{t}"/>' for p, t in overrides)
        zf.add_bytes("[Content_Types].xml", (
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Default Extension="vml" ContentType="{_CT}vmlDrawing"/>{types}</Types>'
        ).encode())
    except BaseException:
        zf.abort()
        raise
    zf.close()
