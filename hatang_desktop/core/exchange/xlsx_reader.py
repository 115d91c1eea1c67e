"""Reading a workbook safely: refuse what is not an xlsx, a zip bomb, a giant sheet, before parsing."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import InvalidInputError

try:
    from isal import isal_zlib as _inflate   # a dependency already (the writer's deflate)
except ImportError:  # pragma: no cover - every supported platform has a wheel
    _inflate = None
from ..messages import Text

MAX_UNCOMPRESSED = 1_500_000_000   # bytes, summed over the zip's declared entry sizes
MAX_RATIO = 200                    # uncompressed/compressed, for entries over 10 MB
MAX_ROWS = 1_048_575               # rows in one sheet: a sheet filled to Excel's last row is a runaway
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class WorkbookError(InvalidInputError):
    pass


def _fail(path: Path, vi: str, en: str) -> WorkbookError:
    return WorkbookError(Text(vi, en).prefixed(f"{path}: "))


def check_workbook_file(path: Path) -> None:
    if not path.exists():
        raise _fail(path, "không tìm thấy tệp", "file not found")
    if path.is_dir():
        raise _fail(path, "đây là thư mục, không phải tệp Excel", "this is a folder")
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(OLE_MAGIC):
        raise _fail(path, "đây là tệp Excel cũ (.xls) hoặc tệp có đặt mật khẩu; hãy mở bằng Excel, "
                    "bỏ mật khẩu và lưu lại dạng .xlsx", "an old .xls or a password-protected file: "
                    "save it as .xlsx without a password")
    if head[:4] == b"%PDF":
        raise _fail(path, "đây là tệp PDF, không phải tệp Excel .xlsx", "this is a PDF, not an .xlsx")
    if not head.startswith(b"PK\x03\x04"):
        raise _fail(path, "không phải tệp Excel .xlsx (có thể là CSV đổi tên)",
                    "not an .xlsx workbook (a renamed CSV?)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise _fail(path, "tệp zip này không phải sổ Excel", "this zip file is not a workbook")
            if "xl/workbook.xml" not in names:  # without it no sheet can be found: not "an empty workbook"
                raise _fail(path, "sổ Excel bị hỏng: thiếu phần xl/workbook.xml (danh sách trang tính)",
                            "the workbook is damaged: xl/workbook.xml is missing")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise _fail(path, f"dung lượng giải nén khai báo {total / 1e9:.1f} GB quá lớn (có thể là "
                            "zip bomb)", "declared uncompressed size too large (zip bomb?)")
            for i in infos:
                if i.file_size > 10_000_000 and i.file_size > MAX_RATIO * max(1, i.compress_size):
                    raise _fail(path, f"phần {i.filename} nén bất thường (tỷ lệ {i.file_size // max(1, i.compress_size)}:1)",
                                "abnormal compression ratio (zip bomb?)")
            for i in infos:
                if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", i.filename):
                    with z.open(i) as f:
                        start = f.read(4096).decode("utf-8", "replace")
                    m = re.search(r'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', start)
                    if m and int(m.group(1)) > MAX_ROWS:
                        raise _fail(path, f"một trang tính có {int(m.group(1)):,} dòng, vượt giới hạn "
                                    f"{MAX_ROWS:,} dòng", f"a sheet has {int(m.group(1))} rows, over the limit")
    except zipfile.BadZipFile:
        raise _fail(path, "tệp Excel bị hỏng (không đọc được cấu trúc zip)", "the workbook is corrupt") from None


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, in order, after the checks of `check_workbook_file`."""
    check_workbook_file(path)
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception as exc:
        raise _fail(path, f"không đọc được sổ Excel ({exc})", "cannot read the workbook") from None


def sheet_sizes(path: Path) -> dict[str, int]:
    """Sheet name -> uncompressed size of its XML part (what reading it costs), from the
    workbook's own relationships; a sheet not found there counts as 0."""
    try:
        with zipfile.ZipFile(path) as z:
            sizes = {i.filename: i.file_size for i in z.infolist()}
    except zipfile.BadZipFile:
        return {}
    return {name: sizes.get(part, 0) for name, part in _sheet_parts(path).items()}


def read_sheets(path: Path, *, clean: bool = True, names: list[str] | None = None,
                mark_no_value: bool = False) -> dict[str, list[list]]:
    """Every sheet (or the sheets `names`) as rows of cell values (str, float, int, bool, date,
    datetime, None).

    With clean=False the rows are calamine's own (empty cells are "", text unstripped): the
    import compares most rows as they are and cleans (`clean_row`) only the ones it parses.

    calamine reads an error cell (#N/A, #DIV/0!) and a formula saved without its result as an
    empty cell. With `mark_no_value` such a cell is a `field_values.NotAValue` instead (see
    `cells_without_value`), so the import can name it rather than take it for a blank."""
    check_workbook_file(path)
    from python_calamine import CalamineWorkbook

    try:
        if names is None:
            names = CalamineWorkbook.from_path(str(path)).sheet_names
        # The hidden `_base` sheets are as long as all data sheets together: they are read in a
        # second thread (calamine lets go of the GIL for part of its parsing; ~15% off the wall time).
        groups = [[n for n in names if not n.startswith("_base")], [n for n in names if n.startswith("_base")]]
        groups = [g for g in groups if g]
        marks: dict[str, dict[tuple[int, int], object]] = {}
        if len(groups) > 1 or mark_no_value:
            with ThreadPoolExecutor(max_workers=2 + mark_no_value) as pool:
                data = [n for n in names if not n.startswith("_")]
                scan = pool.submit(cells_without_value, path, data) if mark_no_value and data else None
                parts = list(pool.map(lambda g: _read_group(path, g), groups))
                if scan is not None:
                    marks = scan.result()
        else:
            parts = [_read_group(path, names)]
        read = {k: v for part in parts for k, v in part.items()}
        out = {}
        for name in names:
            rows = read[name]
            if len(rows) > MAX_ROWS:
                raise _fail(path, f"trang '{name}' có {len(rows):,} dòng, vượt giới hạn {MAX_ROWS:,}",
                            "too many rows")
            if marks.get(name):
                rows = _marked(rows, marks[name])
            out[name] = clean_rows(rows) if clean else rows
        return out
    except WorkbookError:
        raise
    except Exception as exc:
        raise _fail(path, f"không đọc được sổ Excel ({exc})", "cannot read the workbook") from None


def _marked(rows: list[list], marks: dict[tuple[int, int], object]) -> list[list]:
    """rows with each marked cell (0-based row, column) replaced by its mark."""
    for (r, c), mark in marks.items():
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        if len(row) <= c:
            row = rows[r] = list(row) + [""] * (c + 1 - len(row))
        row[c] = mark
    return rows


# A formula cell (<f>...</f>, <f t="shared" .../>, with or without a namespace prefix); data
# validations and conditional formats hold <formula1>/<formula>, which these do not match.
_FORMULA_TAGS = (b"<f>", b"<f ", b"<f/>", b":f>", b":f ")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
_ATTR_R = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_ROW_R = re.compile(rb'\br="(\d+)"')
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_F = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_V = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _may_lack_value(data: bytes) -> bool:
    """Whether a sheet's XML holds an error cell or a formula (the markers of `_FORMULA_TAGS`).
    Searched as "<f" and ":f", whose last byte is rare in sheet XML, so the search skips ahead
    where a needle ending in ">" or a quote would stop at every tag; each hit is then checked."""
    for needle in (b"<f", b":f"):
        i = data.find(needle)
        while i >= 0:
            if data[i + 2:i + 3] in (b">", b" ", b"/"):   # a few more than the markers: only slower
                return True
            i = data.find(needle, i + 2)
    return b't="e"' in data


def _read_part(z: zipfile.ZipFile, name: str) -> bytes:
    """A part's bytes: a deflated one inflated with ISA-L (about 3x zlib's speed) from its raw
    bytes in the file, anything else (stored, encrypted, an unusual header) by zipfile."""
    info = z.getinfo(name)
    if _inflate is None or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or z.fp is None:
        return z.read(name)
    z.fp.seek(info.header_offset)
    head = z.fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return z.read(name)
    name_len, extra_len = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
    z.fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = _inflate.decompress(z.fp.read(info.compress_size), -15)
    if len(data) != info.file_size or _inflate.crc32(data) != info.CRC:
        return z.read(name)   # let zipfile say what is wrong
    return data


def cells_without_value(path: Path, names: list[str]) -> dict[str, dict[tuple[int, int], object]]:
    """Per sheet, (row, column) (0-based, as `read_sheets` gives them) -> field_values.NotAValue for
    each error cell and each formula that has no computed result (a file written by a program
    that does not calculate, such as openpyxl). A sheet with neither costs one search of its
    XML for the markers."""
    from html import unescape

    from ..field_values import NotAValue

    parts = _sheet_parts(path)
    out: dict[str, dict[tuple[int, int], object]] = {}
    with zipfile.ZipFile(path) as z:
        for name in names:
            part = parts.get(name)
            if part is None:
                continue
            try:
                data = _read_part(z, part)
            except KeyError:
                continue
            if not _may_lack_value(data):
                continue
            found = {}
            for at, attrs, body in _placed_cells(data):
                kind = _ATTR_T.search(attrs)
                kind = kind.group(1) if kind else b"n"
                value = _V.search(body)
                formula = _F.search(body)
                if kind == b"e":
                    code = unescape(value.group(1).decode("utf-8", "replace")) if value else "#ERROR"
                    found[at] = NotAValue(code, f"ô báo lỗi {code}, không phải một giá trị; hãy sửa công thức "
                                                f"hoặc nhập giá trị / an error cell ({code}), not a value")
                elif formula is not None and (value is None or (not value.group(1) and kind not in (b"str", b"s"))):
                    text = unescape((formula.group(1) or b"").decode("utf-8", "replace"))
                    shown = "=" + (text if len(text) <= 60 else text[:57] + "...") if text else "=(công thức)"
                    found[at] = NotAValue(shown, "công thức chưa có giá trị đã tính (tệp được lưu bởi chương trình "
                                                 "không tính công thức); hãy mở và lưu lại bằng Excel hoặc "
                                                 "LibreOffice, hoặc nhập giá trị / a formula saved without its "
                                                 "computed value")
            if found:
                out[name] = found
    return out


def _placed_cells(data: bytes):
    """(0-based (row, column), attributes, body) of each cell of a sheet's XML. `r` is optional on
    rows and cells (our writer leaves it out of most): without it a row follows the row before
    and a cell the cell before, as calamine and Excel place them."""
    row = -1
    for m in _ROW.finditer(data):
        ref = _ROW_R.search(m.group(1))
        row = int(ref.group(1)) - 1 if ref else row + 1
        col = -1
        for c in _CELL.finditer(m.group(2) or b""):
            attrs = c.group(1)
            ref = _ATTR_R.search(attrs)
            col = _column_index(ref.group(1)) if ref else col + 1
            yield (row, col), attrs, c.group(2) or b""


def _sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, from the workbook's own relationships."""
    import xml.etree.ElementTree as ET

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        with zipfile.ZipFile(path) as z:
            targets = {r.get("Id"): r.get("Target", "") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
            out = {}
            for sheet in ET.fromstring(z.read("xl/workbook.xml")).iter(f"{main}sheet"):
                target = targets.get(sheet.get(f"{rel_ns}id"), "")
                out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
            return out
    except (KeyError, ET.ParseError, zipfile.BadZipFile):
        return {}


def _read_group(path: Path, names: list[str]) -> dict[str, list[list]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))  # one per thread: no sharing across threads
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in names}


def clean_rows(rows: list[list]) -> list[list]:
    """`clean_row` over a sheet's rows, done a column at a time when they are all of one length
    (calamine's rows are): a column of text is stripped by one `map`, a column without text is
    left as it is, and only a column mixing both is looked at cell by cell."""
    if not rows or len(set(map(len, rows))) != 1:
        return [clean_row(r) for r in rows]
    columns = []
    for col in zip(*rows):
        types = set(map(type, col))
        if str not in types:
            columns.append(col)
        elif len(types) == 1:
            stripped = list(map(str.strip, col))
            columns.append(stripped if "" not in stripped else [s or None for s in stripped])
        else:
            columns.append([(v.strip() or None) if type(v) is str else v for v in col])
    return list(map(list, zip(*columns)))


def clean_row(row: list) -> list:
    # _clean inlined (it runs once per cell): text stripped, empty text None, the rest as is.
    return [(v.strip() or None) if type(v) is str else v for v in row]  # calamine's text is str itself


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # calamine gives a date for midnight datetimes: a date is what we store anyway
    return value
