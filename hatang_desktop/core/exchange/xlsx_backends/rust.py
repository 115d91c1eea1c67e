"""The fast writer: rustpy-xlsxwriter (a binding over Rust's rust_xlsxwriter), plus one patch pass.

The binding streams rows fast but, as of 0.8.0, cannot express six things we need:
  * a dropdown whose list lives in a cell range (its lists are inline, capped at 255 chars),
  * a dropdown over more rows than were written (users add rows at the bottom),
  * a header cell styled apart from the rest of the header row (grey "system" headers),
  * hiding the first sheet (silently ignored),
  * a print area ending at the last row (the row count is known only once the rows are written),
  * row heights (the title's is dropped; on a sheet without rows the header's becomes a 2nd row 1).
So the binding writes everything else (page setup, lines above the header as merged ranges),
and `_patch` rewrites the package once, streaming each worksheet's XML: the header row, its
height and the sheet view at its head, `<dataValidations>` at its tail, `state="hidden"` and the
print areas in workbook.xml and two new cell formats in styles.xml. The rewrite costs about
0.6 s per 90 MB of sheet XML (zlib level 1), a fraction of the write itself.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import rustpy_xlsxwriter as rx

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

NAME = "rust"
TESTED_VERSION = "0.8.0"

_CHUNK = 1 << 20
_KEEP = 1 << 16          # bytes held back so the sheet tail (after </sheetData>) is seen whole
_ZIP_LEVEL = 1           # fast; the file is ~20% larger than at level 6, and 3x quicker to write


def _header_format(plain: bool) -> "rx.Format":
    fmt = rx.Format().set_bold()
    if not plain:
        fmt = fmt.set_background_color("#" + HEADER_FILL).set_text_wrap().set_align("top")
    return fmt


def _column_format(system: bool, number_format: str | None) -> "rx.Format | None":
    if not system and not number_format:
        return None
    fmt = rx.Format()
    if system:
        fmt = fmt.set_background_color("#" + SYSTEM_CELL_FILL)
    if number_format:
        fmt = fmt.set_num_format(number_format)
    return fmt


def _page_setup(sheet: SheetPlan) -> dict:
    page = sheet.page
    setup = {
        "landscape": True, "paper_size": page.paper, "margins": dict(MARGINS),
        "fit_to_pages": (1, page.fit_height), "repeat_rows": (page.title_row - 1, page.title_row - 1),
        "header": page.header, "footer": page.footer,
    }
    return setup   # the print area needs the row count: added by the patch pass


def _records(sheet: SheetPlan):
    headers = sheet.headers
    empty = True
    for row in sheet.rows:
        empty = False
        yield dict(zip(headers, row))
    if empty:
        # The binding takes its header row from the first record; an all-None record writes the
        # header and no data cells, so an empty sheet still shows its columns.
        yield dict.fromkeys(headers)


def write(path: Path, plan: WorkbookPlan) -> None:
    entries = []
    opts: dict[str, dict] = {
        "freeze_panes": {}, "column_widths": {}, "column_formats": {}, "header_format": {},
        "autofilter": {}, "notes": {}, "header_row": {}, "merge_ranges": {}, "page_setup": {},
    }
    for sheet in plan.sheets:
        name = sheet.name
        entries.append((name, _records(sheet)))
        h = sheet.header_row   # 1-based; the binding counts rows from 0
        if sheet.freeze_header:
            opts["freeze_panes"][name] = {"row": h, "col": 0}
        if sheet.preamble:
            opts["header_row"][name] = h - 1
            last = len(sheet.columns) - 1
            title = rx.Format().set_bold().set_font_size(TITLE_SIZE)
            opts["merge_ranges"][name] = [(r, 0, r, last, line, title) if r == 0 else (r, 0, r, last, line)
                                          for r, line in enumerate(sheet.preamble)]
        if sheet.page is not None:
            opts["page_setup"][name] = _page_setup(sheet)
        opts["column_widths"][name] = [float(c.width) for c in sheet.columns]
        formats = [_column_format(c.system, c.number_format) for c in sheet.columns]
        if any(f is not None for f in formats):
            opts["column_formats"][name] = formats
        opts["header_format"][name] = _header_format(sheet.plain)
        if sheet.autofilter:
            opts["autofilter"][name] = True
        notes = {
            # rust_xlsxwriter puts "Author:" (bold) above the text, as Excel does for notes, and
            # 0.8.0 cannot turn it off; naming the app makes that line useful.
            c.header: {"text": c.note, "author": NOTE_AUTHOR, "width": 240, "height": 90}
            for c in sheet.columns if c.note
        }
        if notes:
            opts["notes"][name] = notes
    opts = {k: v for k, v in opts.items() if v}

    raw = path.with_name(path.name + ".raw.xlsx")
    try:
        rx.write_worksheets(entries, str(raw), datetime_format=DEFAULT_DATETIME_FORMAT, **opts)
        _patch(raw, path, plan)
    finally:
        raw.unlink(missing_ok=True)


# --- the patch pass --------------------------------------------------------------------------

_SHEET_RE = re.compile(rb"<sheet [^>]*/>")
_REL_RE = re.compile(rb"<Relationship [^>]*/>")
_ATTR_RE = re.compile(rb'([\w:]+)="([^"]*)"')


def _attrs(element: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR_RE.findall(element))


def _sheet_members(zin: zipfile.ZipFile) -> list[str]:
    """Worksheet part names in workbook order (sheet i of the plan is member i of this list)."""
    workbook = zin.read("xl/workbook.xml")
    rels = {
        a[b"Id"]: a[b"Target"]
        for a in (_attrs(m) for m in _REL_RE.findall(zin.read("xl/_rels/workbook.xml.rels")))
    }
    members = []
    for element in _SHEET_RE.findall(workbook):
        target = rels[_attrs(element)[b"r:id"]].decode()
        members.append(target.lstrip("/") if target.startswith("/") else "xl/" + target)
    return members


class _Styles:
    """Appends the grey system-header format(s) to styles.xml, derived from the header's own."""

    def __init__(self, xml: bytes):
        self.xml = xml
        fills = re.search(rb'<fills count="(\d+)">', xml)
        xfs = re.search(rb"<cellXfs count=\"(\d+)\">(.*?)</cellXfs>", xml, re.S)
        if not fills or not xfs:
            raise RuntimeError("rustpy-xlsxwriter wrote an unexpected styles.xml")
        self.fill_id = int(fills.group(1))          # index the new grey fill will get
        self.xf_count = int(xfs.group(1))
        self.xfs = re.findall(rb"<xf [^>]*/>|<xf [^>]*[^/]>.*?</xf>", xfs.group(2), re.S)
        self.added: dict[int, int] = {}             # header xf index -> grey variant index
        self.new_xfs: list[bytes] = []

    def grey_of(self, xf_index: int) -> int:
        if xf_index not in self.added:
            xf = self.xfs[xf_index]
            xf = re.sub(rb'fillId="\d+"', b'fillId="%d"' % self.fill_id, xf, count=1)
            if b"applyFill" not in xf:
                xf = xf.replace(b"<xf ", b'<xf applyFill="1" ', 1)
            self.added[xf_index] = self.xf_count + len(self.new_xfs)
            self.new_xfs.append(xf)
        return self.added[xf_index]

    def result(self) -> bytes:
        if not self.new_xfs:
            return self.xml
        fill = (b'<fill><patternFill patternType="solid"><fgColor rgb="FF%s"/>'
                b'<bgColor indexed="64"/></patternFill></fill>' % SYSTEM_HEADER_FILL.encode())
        xml = re.sub(rb'<fills count="\d+">', b'<fills count="%d">' % (self.fill_id + 1), self.xml)
        xml = xml.replace(b"</fills>", fill + b"</fills>", 1)
        xml = re.sub(rb'<cellXfs count="\d+">',
                     b'<cellXfs count="%d">' % (self.xf_count + len(self.new_xfs)), xml)
        return xml.replace(b"</cellXfs>", b"".join(self.new_xfs) + b"</cellXfs>", 1)


def _validations_xml(sheet: SheetPlan) -> bytes:
    items = []
    for c in sheet.columns:
        v = c.validation
        if v is None:
            continue
        items.append(
            f'<dataValidation type="list" errorStyle="{v.error_style}" allowBlank="1" '
            f'showInputMessage="1" showErrorMessage="1" errorTitle={quoteattr(v.error_title)} '
            f'error={quoteattr(v.error_message)} sqref="{v.sqref}">'
            f"<formula1>{escape(v.formula1)}</formula1></dataValidation>"
        )
    if not items:
        return b""
    return f'<dataValidations count="{len(items)}">{"".join(items)}</dataValidations>'.encode()


def _patch_head(head: bytes, sheet: SheetPlan, selected: bool, styles: _Styles) -> bytes:
    # Exactly one tab is selected, and never a hidden one.
    head = head.replace(b' tabSelected="1"', b"", 1)
    if selected:
        head = head.replace(b"<sheetView ", b'<sheetView tabSelected="1" ', 1)
    h = sheet.header_row
    start = head.find(b'<row r="%d"' % h)
    end = head.find(b"</row>", start)
    row = head[start:end]
    for j, c in enumerate(sheet.columns):
        if not c.system:
            continue
        ref = b'<c r="%s%d" s="' % (column_letter(j).encode(), h)
        at = row.find(ref)
        if at < 0:
            raise RuntimeError(f"Header cell {column_letter(j)}{h} of {sheet.name!r} not found")
        at += len(ref)
        stop = row.find(b'"', at)
        grey = styles.grey_of(int(row[at:stop]))
        row = row[:at] + str(grey).encode() + row[stop:]
    head = head[:start] + row + head[end:]
    # Row heights here, not through the binding: 0.8.0 drops the title row's and, on a sheet
    # without data rows, writes the header row's as a second row 1.
    if sheet.preamble:
        head = _row_height(head, 1, TITLE_HEIGHT)
    if sheet.header_height:
        head = _row_height(head, h, sheet.header_height)
    return head


def _row_height(head: bytes, row: int, height: float) -> bytes:
    tag = b'<row r="%d"' % row
    at = head.find(tag)
    if at < 0:
        raise RuntimeError(f"Row {row} not found")
    close = head.find(b">", at)
    if b" ht=" in head[at:close]:
        return head
    return head[:at] + tag + b' ht="%s" customHeight="1"' % str(height).encode() + head[at + len(tag):]


def _patch_tail(tail: bytes, sheet: SheetPlan) -> bytes:
    xml = _validations_xml(sheet)
    if not xml:
        return tail
    # Schema order after sheetData: ... conditionalFormatting, dataValidations, hyperlinks,
    # printOptions, pageMargins ...; the binding always writes pageMargins.
    base = tail.rfind(b"</sheetData>")
    for marker in (b"<hyperlinks", b"<printOptions", b"<pageMargins"):
        at = tail.find(marker, base)
        if base >= 0 and at >= 0:
            return tail[:at] + xml + tail[at:]
    raise RuntimeError(f"Cannot place data validations in sheet {sheet.name!r}")


def _copy_sheet(zin, zout, info, sheet: SheetPlan, selected: bool, styles: _Styles) -> None:
    with zin.open(info) as src, zout.open(info.filename, "w",
                                          force_zip64=info.file_size > 0x7FFF0000) as dst:
        head = b""
        header_row = b'<row r="%d"' % sheet.header_row
        while header_row not in head or b"</row>" not in head[head.find(header_row):]:
            chunk = src.read(_CHUNK)
            if not chunk:
                raise RuntimeError(f"Sheet {sheet.name!r} has no header row")
            head += chunk
        pending = _patch_head(head, sheet, selected, styles)
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            pending += chunk
            if len(pending) > _KEEP:
                dst.write(pending[:-_KEEP])
                pending = pending[-_KEEP:]
        dst.write(_patch_tail(pending, sheet))


def _last_row(zin: zipfile.ZipFile, member: str) -> int:
    """The sheet's last row, from the <dimension> the binding writes at the head of the part."""
    with zin.open(member) as f:
        m = re.search(rb'<dimension ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"', f.read(4096))
    return int(m.group(1)) if m and m.group(1) else 1


def _print_areas(zin: zipfile.ZipFile, members: list[str], plan: WorkbookPlan) -> bytes:
    names = []
    for i, (member, sheet) in enumerate(zip(members, plan.sheets)):
        area = print_area(sheet.page, _last_row(zin, member)) if sheet.page else None
        if area:
            quoted = "'" + sheet.name.replace("'", "''") + "'"
            names.append(f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">{escape(quoted)}!{area}'
                         "</definedName>")
    return "".join(names).encode()


def _patch_workbook_xml(xml: bytes, plan: WorkbookPlan, areas: bytes = b"") -> bytes:
    elements = _SHEET_RE.findall(xml)
    for element, sheet in zip(elements, plan.sheets):
        if sheet.hidden and b"state=" not in element:
            xml = xml.replace(element, element.replace(b"<sheet ", b'<sheet state="hidden" ', 1), 1)
    if areas:
        if b"</definedNames>" in xml:
            xml = xml.replace(b"</definedNames>", areas + b"</definedNames>", 1)
        else:
            xml = xml.replace(b"</sheets>", b"</sheets><definedNames>" + areas + b"</definedNames>", 1)
    active = plan.active_index
    if active:
        xml = re.sub(rb"<workbookView ",
                     b'<workbookView activeTab="%d" firstSheet="%d" ' % (active, active), xml,
                     count=1)
    return xml


def _patch(raw: Path, out: Path, plan: WorkbookPlan) -> None:
    with zipfile.ZipFile(raw) as zin:
        members = _sheet_members(zin)
        if len(members) != len(plan.sheets):
            raise RuntimeError("rustpy-xlsxwriter wrote a different number of sheets")
        by_member = dict(zip(members, plan.sheets))
        index = {m: i for i, m in enumerate(members)}
        styles = _Styles(zin.read("xl/styles.xml"))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL) as zout:
            # styles.xml goes last: the grey header formats are found while the sheets stream.
            for info in zin.infolist():
                name = info.filename
                if name == "xl/styles.xml":
                    continue
                if name in by_member:
                    _copy_sheet(zin, zout, info, by_member[name],
                                index[name] == plan.active_index, styles)
                elif name == "xl/workbook.xml":
                    zout.writestr(name, _patch_workbook_xml(zin.read(name), plan, _print_areas(zin, members, plan)))
                else:
                    zout.writestr(name, zin.read(name))
            zout.writestr("xl/styles.xml", styles.result())
