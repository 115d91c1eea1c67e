"""A workbook edited at the XML level, the way a fuzzer needs it: fast and exact.

openpyxl takes ~1 s to load and save the sample's workbook and rewrites every part; the fuzz set
builds hundreds of workbooks, and needs cells openpyxl cannot write (a formula with no cached
value, an error cell, a DTD in a part). `XlsxBook` holds the zip's parts as bytes, parses only the
sheets a mutation touches into a grid of raw cells, and writes the parts back untouched otherwise.

The exporter's sheets are regular (inline strings, one <c> per cell), which is all this parser
has to understand; it is a test tool, not a general xlsx reader.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_ROW = re.compile(rb"<row\b([^>]*)>(.*?)</row>|<row\b([^>]*)/>", re.S)
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_V = re.compile(rb"<v>(.*?)</v>", re.S)
_F = re.compile(rb"<f\b[^>]*>(.*?)</f>|<f\b[^>]*/>", re.S)
_T = re.compile(rb"<t\b[^>]*>(.*?)</t>", re.S)
_SHEET = re.compile(rb"<sheet\b[^>]*/>")


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _unescape(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Cell:
    """A raw cell: `t` is the cell type attribute (None: number, "inlineStr", "s", "b", "e",
    "str"), `v` the text of <v>, `text` an inline string, `f` a formula, `s` the style index.
    `raw`, when set, is written as the cell's XML instead (a DTD entity reference, say)."""
    t: str | None = None
    v: str | None = None
    text: str | None = None
    f: str | None = None
    s: str | None = None
    raw: str | None = None

    @property
    def value(self):
        """The cell as a reader sees it, roughly: text, float, bool, or None."""
        if self.t == "inlineStr" or self.t == "str" and self.v is not None:
            return self.text if self.t == "inlineStr" else self.v
        if self.t == "b":
            return self.v == "1"
        if self.t == "e":
            return self.v
        if self.v is None:
            return None
        try:
            return float(self.v)
        except ValueError:
            return self.v

    def xml(self, ref: str) -> str:
        if self.raw is not None:
            return self.raw.replace("{ref}", ref)
        attrs = f' r="{ref}"'
        if self.s is not None:
            attrs += f' s="{self.s}"'
        if self.t is not None:
            attrs += f' t="{self.t}"'
        body = ""
        if self.f is not None:
            body += f"<f>{_escape(self.f)}</f>"
        if self.t == "inlineStr":
            space = ' xml:space="preserve"' if self.text != self.text.strip() else ""
            # "_x0041_" in a cell's text is the character A (ECMA-376 22.9.2.19): written as Excel
            # does, "_x005F_x0041_", the cell holds the seven characters typed.
            text = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", self.text)
            body += f"<is><t{space}>{_escape(text)}</t></is>"
        elif self.v is not None:
            body += f"<v>{_escape(self.v)}</v>"
        return f"<c{attrs}>{body}</c>" if body else f"<c{attrs}/>"


def text_cell(text: str, style: str | None = None) -> Cell:
    return Cell(t="inlineStr", text=text, s=style)


def number_cell(value: float | int, style: str | None = None) -> Cell:
    return Cell(v=repr(value) if isinstance(value, float) else str(value), s=style)


def bool_cell(value: bool) -> Cell:
    return Cell(t="b", v="1" if value else "0")


def error_cell(code: str) -> Cell:
    """A cell Excel shows as an error (#N/A, #DIV/0!, #VALUE!...)."""
    return Cell(t="e", v=code)


def formula_cell(formula: str, cached: str | None = None, cached_type: str | None = None) -> Cell:
    """A formula; with no `cached` value it is what a generator that never ran Excel writes."""
    return Cell(t=cached_type, f=formula, v=cached)


class Sheet:
    """A sheet's rows as {column index: Cell}, with the XML around <sheetData> kept as is."""

    def __init__(self, xml: bytes):
        start = xml.find(b"<sheetData")
        end = xml.rfind(b"</sheetData>")
        if start < 0:
            raise ValueError("no <sheetData>")
        if end < 0:  # <sheetData/>
            close = xml.find(b">", start) + 1
            self.head, self.tail = xml[:start], xml[close:]
            body = b""
        else:
            open_end = xml.find(b">", start) + 1
            self.head, self.tail = xml[:start], xml[end + len(b"</sheetData>"):]
            body = xml[open_end:end]
        self.rows: list[dict[int, Cell]] = []
        for m in _ROW.finditer(body):
            attrs = dict(_ATTR.findall(m.group(1) or m.group(3) or b""))
            number = int(attrs[b"r"]) if b"r" in attrs else len(self.rows) + 1
            while len(self.rows) < number - 1:
                self.rows.append({})
            cells: dict[int, Cell] = {}
            j = -1
            for c in _CELL.finditer(m.group(2) or b""):
                cattrs = {a.decode(): _unescape(v) for a, v in _ATTR.findall(c.group(1))}
                ref = cattrs.get("r")
                # Without `r` a cell follows the one before it (our writer leaves it out).
                j = col_index(re.match(r"[A-Z]+", ref).group(0)) if ref else j + 1
                inner = c.group(2) or b""
                v, f = _V.search(inner), _F.search(inner)
                t = _T.findall(inner) if cattrs.get("t") == "inlineStr" else None
                cells[j] = Cell(t=cattrs.get("t"), s=cattrs.get("s"),
                                v=_unescape(v.group(1)) if v else None,
                                f=_unescape(f.group(1) or b"") if f else None,
                                text="".join(_unescape(x) for x in t) if t is not None else None)
            self.rows.append(cells)

    # -- reading ----------------------------------------------------------------------------
    @property
    def header(self) -> list:
        row = self.rows[0] if self.rows else {}
        return [row[j].value if j in row else None for j in range(max(row, default=-1) + 1)]

    def column(self, header: str) -> int:
        return self.header.index(header)

    def find_row(self, uuid: str, uuid_header: str = "UUID (không sửa)") -> int:
        """The 0-based index in `rows` of the row holding `uuid`."""
        j = self.column(uuid_header)
        for i, row in enumerate(self.rows):
            if i and j in row and row[j].value == uuid:
                return i
        raise KeyError(uuid)

    def values(self, i: int) -> list:
        row = self.rows[i]
        return [row[j].value if j in row else None for j in range(max(row, default=-1) + 1)]

    # -- editing ----------------------------------------------------------------------------
    def set(self, i: int, j: int, cell: Cell | None, keep_style: bool = True) -> None:
        """Cell j of row i (0-based); None empties it."""
        while len(self.rows) <= i:
            self.rows.append({})
        row = self.rows[i]
        if cell is None:
            row.pop(j, None)
            return
        if keep_style and cell.s is None and j in row and row[j].s is not None and cell.raw is None:
            cell = replace(cell, s=row[j].s)
        row[j] = cell

    def delete_column(self, j: int) -> None:
        self.rows = [{(k if k < j else k - 1): c for k, c in row.items() if k != j} for row in self.rows]

    def reorder_columns(self, order: list[int]) -> None:
        """New column k is old column order[k]."""
        where = {old: new for new, old in enumerate(order)}
        self.rows = [{where[k]: c for k, c in row.items() if k in where} for row in self.rows]

    def insert_column(self, j: int, cells: dict[int, Cell]) -> None:
        """Insert a column before j; cells: {row index: Cell}."""
        out = []
        for i, row in enumerate(self.rows):
            new = {(k if k < j else k + 1): c for k, c in row.items()}
            if i in cells:
                new[j] = cells[i]
            out.append(new)
        self.rows = out

    def copy(self) -> "Sheet":
        new = Sheet.__new__(Sheet)
        new.head, new.tail, new.rows = self.head, self.tail, [dict(r) for r in self.rows]
        return new

    def xml(self) -> bytes:
        parts = []
        for i, row in enumerate(self.rows):
            if not row:
                continue
            cells = "".join(row[j].xml(f"{col_letter(j)}{i + 1}") for j in sorted(row))
            parts.append(f'<row r="{i + 1}">{cells}</row>')
        head = re.sub(rb"<dimension\b[^>]*/>", b"", self.head)
        return head + b"<sheetData>" + "".join(parts).encode("utf-8") + b"</sheetData>" + self.tail


class XlsxBook:
    """The parts of an xlsx, its sheets by name, and the edits a fuzz case makes."""

    def __init__(self, parts: dict[str, bytes], parsed: dict[str, tuple[bytes, Sheet]] | None = None):
        self.parts = dict(parts)
        self._sheets: dict[str, Sheet] = {}
        # part -> (its bytes, the sheet parsed from them), shared by a book and its copies: a copy
        # parses nothing its original already parsed.
        self._parsed = parsed if parsed is not None else {}

    @classmethod
    def load(cls, path: Path) -> "XlsxBook":
        with zipfile.ZipFile(path) as z:
            return cls({i.filename: z.read(i) for i in z.infolist()})

    def copy(self) -> "XlsxBook":
        return XlsxBook(self.parts, self._parsed)

    # -- the sheet list ---------------------------------------------------------------------
    def _sheet_elements(self) -> list[bytes]:
        return _SHEET.findall(self.parts["xl/workbook.xml"])

    def _rels(self) -> dict[str, str]:
        rels = self.parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
        return {m.group(1): m.group(2) for m in re.finditer(r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}

    @property
    def sheet_names(self) -> list[str]:
        return [_unescape(re.search(rb'name="([^"]*)"', e).group(1)) for e in self._sheet_elements()]

    def part(self, name: str) -> str:
        for e in self._sheet_elements():
            if _unescape(re.search(rb'name="([^"]*)"', e).group(1)) == name:
                rid = re.search(rb'r:id="([^"]+)"', e).group(1).decode()
                target = self._rels()[rid]
                return target.lstrip("/") if target.startswith("/") else "xl/" + target
        raise KeyError(name)

    def sheet(self, name: str) -> Sheet:
        """The sheet `name`, to read or edit (edits are written back by `to_bytes`)."""
        if name not in self._sheets:
            part = self.part(name)
            data = self.parts[part]
            hit = self._parsed.get(part)
            if hit is None or hit[0] is not data:
                hit = self._parsed[part] = (data, Sheet(data))
            self._sheets[name] = hit[1].copy()
        return self._sheets[name]

    def _drop_defined_names(self) -> None:
        # Auto-filter ranges name sheets by position (localSheetId): stale once sheets move.
        wb = self.parts["xl/workbook.xml"]
        self.parts["xl/workbook.xml"] = re.sub(rb"<definedNames>.*?</definedNames>", b"", wb, flags=re.S)

    def rename_sheet(self, old: str, new: str) -> None:
        self._flush()
        wb = self.parts["xl/workbook.xml"]
        old_attr = f'name="{_escape(old)}"'.encode()
        assert old_attr in wb, old
        self.parts["xl/workbook.xml"] = wb.replace(old_attr, f'name="{_escape(new)}"'.encode(), 1)
        self._drop_defined_names()
        self._sheets = {}

    def delete_sheet(self, name: str) -> None:
        self._flush()
        part = self.part(name)
        wb = self.parts["xl/workbook.xml"]
        for e in self._sheet_elements():
            if _unescape(re.search(rb'name="([^"]*)"', e).group(1)) == name:
                wb = wb.replace(e, b"", 1)
        self.parts["xl/workbook.xml"] = wb
        self._drop_defined_names()
        del self.parts[part]
        self._sheets = {}

    def reorder_sheets(self, names: list[str]) -> None:
        self._flush()
        elements = {(_unescape(re.search(rb'name="([^"]*)"', e).group(1))): e for e in self._sheet_elements()}
        assert sorted(names) == sorted(elements)
        wb = self.parts["xl/workbook.xml"]
        start, end = wb.index(b"<sheets>") + len(b"<sheets>"), wb.index(b"</sheets>")
        self.parts["xl/workbook.xml"] = wb[:start] + b"".join(elements[n] for n in names) + wb[end:]
        self._drop_defined_names()
        self._sheets = {}

    # -- metadata ---------------------------------------------------------------------------
    def set_meta(self, key: str, value) -> None:
        meta = self.sheet("_metadata")
        for i in range(1, len(meta.rows)):
            if meta.values(i)[:1] == [key]:
                meta.set(i, 1, number_cell(value) if isinstance(value, (int, float)) else text_cell(str(value)))
                return
        meta.set(len(meta.rows), 0, text_cell(key))
        meta.set(len(meta.rows) - 1, 1, number_cell(value) if isinstance(value, (int, float)) else text_cell(str(value)))

    # -- writing ----------------------------------------------------------------------------
    def _flush(self) -> None:
        for name, sheet in self._sheets.items():
            self.parts[self.part(name)] = sheet.xml()

    def to_bytes(self) -> bytes:
        import io

        self._flush()
        buf = io.BytesIO()
        # Level 1: a hundred workbooks a run; what the readers see does not depend on the level.
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for name, data in self.parts.items():
                z.writestr(name, data)
        return buf.getvalue()

    def save(self, path: Path) -> Path:
        path.write_bytes(self.to_bytes())
        return path
