"""Every XML part the xlsx writers produce validates against the ECMA-376 schemas, and the
package passes the cross-part checks Excel makes on opening that no schema can express.

Excel answers a part that breaks its schema (element order, unknown attribute, bad value) or a
dangling / out-of-range reference with "We found a problem with some content ... repair". We
have no Excel here, so this is the machine-checked stand-in: the schemas are the ECMA ones in
tests/data/ooxml_schemas (see the README there), the consistency rules are the ones listed in
`consistency_errors`. The "rust" backend's files are known to open in Excel; it is checked the
same way as a control for the checks themselves.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import posixpath
import re
import struct
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.xlsx_writer import (
    LISTS_SHEET,
    PageSetup,
    SheetData,
    WriterColumn,
    rust_available,
    write_workbook,
)
from hatang_desktop.core.storage.database import Database

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "ooxml_schemas"

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
VML_O = "urn:schemas-microsoft-com:office:office"
VML_V = "urn:schemas-microsoft-com:vml"
VML_X = "urn:schemas-microsoft-com:office:excel"
_DOC = "application/vnd.openxmlformats-officedocument."

# Content type -> the root element the part must have; all validated with sml.xsd.
SML_PARTS = {
    _DOC + "spreadsheetml.sheet.main+xml": "workbook",
    _DOC + "spreadsheetml.worksheet+xml": "worksheet",
    _DOC + "spreadsheetml.styles+xml": "styleSheet",
    _DOC + "spreadsheetml.comments+xml": "comments",
    _DOC + "spreadsheetml.sharedStrings+xml": "sst",
}
RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
# Parts with no practical schema in the set: checked for well-formedness only.
WELL_FORMED_ONLY = {
    _DOC + "vmlDrawing",
    _DOC + "theme+xml",
    _DOC + "extended-properties+xml",
    "application/vnd.openxmlformats-package.core-properties+xml",
}

BACKENDS = [
    "direct",
    pytest.param("rust", marks=pytest.mark.skipif(not rust_available(),
                                                  reason="rustpy-xlsxwriter not installed")),
]

MAX_ROWS, MAX_COLS, MAX_TEXT = 1_048_576, 16_384, 32_767


@functools.lru_cache(maxsize=None)
def _schema(name: str):
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def q(local: str, ns: str = MAIN) -> str:
    return f"{{{ns}}}{local}"


class Package:
    """The parts of an xlsx, with content types and relationships resolved."""

    def __init__(self, parts: dict[str, bytes]):
        self.parts = parts
        types = etree.fromstring(parts["[Content_Types].xml"])
        self.defaults = {d.get("Extension").lower(): d.get("ContentType")
                         for d in types.iter(q("Default", CT_NS))}
        self.overrides = {o.get("PartName"): o.get("ContentType")
                          for o in types.iter(q("Override", CT_NS))}
        self._xml: dict[str, object] = {}
        self.path: Path | None = None

    @classmethod
    def read(cls, path: Path) -> "Package":
        with zipfile.ZipFile(path) as z:
            pkg = cls({n: z.read(n) for n in z.namelist()})
        pkg.path = path
        return pkg

    def content_type(self, name: str) -> str | None:
        return self.overrides.get("/" + name) or self.defaults.get(name.rsplit(".", 1)[-1].lower())

    def xml(self, name: str):
        if name not in self._xml:
            self._xml[name] = etree.fromstring(self.parts[name])
        return self._xml[name]

    def rels(self, source: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part name) of the part `source` ("" = package)."""
        folder, base = posixpath.split(source)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name not in self.parts:
            return {}
        out = {}
        for r in self.xml(rels_name).iter(q("Relationship", PKG_REL)):
            target = r.get("Target")
            if r.get("TargetMode") != "External":
                target = (target.lstrip("/") if target.startswith("/")
                          else posixpath.normpath(posixpath.join(folder, target)))
            out[r.get("Id")] = (r.get("Type"), target)
        return out

    def workbook_part(self) -> str:
        return next(t for typ, t in self.rels("").values() if typ == OFFICE_REL + "/officeDocument")

    def sheets(self) -> list[tuple[object, str]]:
        """(<sheet> element, worksheet part name) in workbook order."""
        wb_part = self.workbook_part()
        rels = self.rels(wb_part)
        return [(s, rels[s.get(q("id", OFFICE_REL))][1])
                for s in self.xml(wb_part).iter(q("sheet"))]


# --- schema validation -------------------------------------------------------------------------

def _without_space_preserve(root):
    """A copy of `root` with xml:space="preserve" removed from SpreadsheetML <t> elements.

    The ECMA sml.xsd types <t> as s:ST_Xstring, a simple type, so no attribute is allowed on
    it, yet Excel itself writes <t xml:space="preserve"> for text with edge whitespace (and
    rust_xlsxwriter, whose files Excel opens, does the same): a known gap of the schema. The
    attribute is only taken out where its value is exactly "preserve"; anything else stays and
    fails validation.
    """
    root = etree.fromstring(etree.tostring(root))
    for t in root.iter(q("t")):
        if t.get(XML_SPACE) == "preserve":
            del t.attrib[XML_SPACE]
    return root


def schema_errors(pkg: Package) -> list[str]:
    errors = []
    for name in pkg.parts:
        if name.endswith("/"):
            continue
        try:
            root = pkg.xml(name)
        except etree.XMLSyntaxError as exc:
            errors.append(f"{name}: not well-formed XML: {exc}")
            continue
        if name == "[Content_Types].xml":
            schema, want = _schema("opc-contentTypes.xsd"), q("Types", CT_NS)
        else:
            ctype = pkg.content_type(name)
            if ctype == RELS_TYPE:
                schema, want = _schema("opc-relationships.xsd"), q("Relationships", PKG_REL)
            elif ctype in SML_PARTS:
                schema, want = _schema("sml.xsd"), q(SML_PARTS[ctype])
                root = _without_space_preserve(root)
            elif ctype in WELL_FORMED_ONLY:
                continue
            else:
                errors.append(f"{name}: content type {ctype!r} has no schema in this test")
                continue
        if root.tag != want:
            errors.append(f"{name}: root element {root.tag}, expected {want}")
        if not schema.validate(etree.ElementTree(root)):
            errors += [f"{name}:{e.line}: {e.message}" for e in schema.error_log]
    return errors


# --- what Excel checks beyond the schema ------------------------------------------------------

_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]+)$")


def _cells_at(ws, q) -> list[tuple[object, int, list[tuple[object, int, int]]]]:
    """(row element, row number, [(cell element, row, column)]) of a sheet, as a reader places
    them: `r` is optional on rows and cells (ECMA-376 Part 1, 18.3.1.73 and 18.3.1.4); a row
    without it follows the row before, a cell without it the cell before."""
    out, r = [], 0
    for row in ws.iter(q("row")):
        r = int(row.get("r")) if row.get("r") is not None else r + 1
        cells, col = [], 0
        for c in row.iter(q("c")):
            cr, col = _cell(c.get("r")) if c.get("r") is not None else (r, col + 1)
            cells.append((c, cr, col))
        out.append((row, r, cells))
    return out


def _cell(ref: str) -> tuple[int, int]:
    """'AB12' / '$AB$12' -> (row 12, column 28)."""
    m = _REF.match(ref)
    assert m, f"not a cell reference: {ref!r}"
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _range(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    r1, c1 = _cell(first)
    r2, c2 = _cell(last or first)
    return r1, c1, r2, c2


def _count_matches(errors, part, parent, child_tag):
    if parent is not None and parent.get("count") is not None:
        n = len(parent.findall(child_tag))
        if int(parent.get("count")) != n:
            errors.append(f"{part}: <{etree.QName(parent).localname} count={parent.get('count')}> "
                          f"has {n} children")


def consistency_errors(pkg: Package) -> list[str]:
    e: list[str] = []
    names = set(pkg.parts)

    # Content types: every part has one, every override names a part.
    for name in names:
        if name != "[Content_Types].xml" and not name.endswith("/") and pkg.content_type(name) is None:
            e.append(f"{name}: no content type")
    for part in pkg.overrides:
        if part.lstrip("/") not in names:
            e.append(f"[Content_Types].xml: override for missing part {part}")

    # Relationships: every internal target exists.
    for rels_name in [n for n in names if n.endswith(".rels")]:
        folder = posixpath.dirname(posixpath.dirname(rels_name))
        source = posixpath.join(folder, posixpath.basename(rels_name)[:-5]) if folder else ""
        for rid, (_typ, target) in pkg.rels(source).items():
            if target not in names and not target.startswith(("http:", "https:", "file:", "mailto:")):
                e.append(f"{rels_name}: {rid} -> missing part {target}")

    wb_part = pkg.workbook_part()
    wb = pkg.xml(wb_part)
    sheets = pkg.sheets()
    n = len(sheets)
    states = [s.get("state", "visible") for s, _ in sheets]
    sheet_names = [s.get("name") for s, _ in sheets]

    # Workbook: sheet names, ids, the active tab.
    if len({s.casefold() for s in sheet_names}) != n:
        e.append(f"{wb_part}: duplicate sheet names {sheet_names}")
    if any(len(s) > 31 or re.search(r"[][:*?/\\]", s) for s in sheet_names):
        e.append(f"{wb_part}: a sheet name Excel rejects in {sheet_names}")
    if len({s.get("sheetId") for s, _ in sheets}) != n:
        e.append(f"{wb_part}: duplicate sheetId")
    wb_rels = pkg.rels(wb_part)
    for s, _ in sheets:
        typ = wb_rels[s.get(q("id", OFFICE_REL))][0]
        if typ != OFFICE_REL + "/worksheet":
            e.append(f"{wb_part}: sheet {s.get('name')!r} points to a {typ} part")
    if "visible" not in states:
        e.append(f"{wb_part}: no visible sheet")
    view = wb.find(f"{q('bookViews')}/{q('workbookView')}")
    active = int(view.get("activeTab", 0)) if view is not None else 0
    first = int(view.get("firstSheet", 0)) if view is not None else 0
    if not (0 <= active < n) or states[active] != "visible":
        e.append(f"{wb_part}: activeTab {active} is out of range or hidden ({states})")
    if not (0 <= first < n) or states[first] != "visible":
        e.append(f"{wb_part}: firstSheet {first} is out of range or hidden ({states})")

    # Styles: counts, ids in range.
    styles_part = next(t for typ, t in wb_rels.values() if typ == OFFICE_REL + "/styles")
    st = pkg.xml(styles_part)
    groups = {}
    for group, child in (("numFmts", "numFmt"), ("fonts", "font"), ("fills", "fill"),
                         ("borders", "border"), ("cellStyleXfs", "xf"), ("cellXfs", "xf"),
                         ("cellStyles", "cellStyle"), ("dxfs", "dxf"), ("tableStyles", "tableStyle")):
        parent = st.find(q(group))
        _count_matches(e, styles_part, parent, q(child))
        groups[group] = parent.findall(q(child)) if parent is not None else []
    fmt_ids = [int(f.get("numFmtId")) for f in groups["numFmts"]]
    if len(set(fmt_ids)) != len(fmt_ids) or any(i < 164 for i in fmt_ids):
        e.append(f"{styles_part}: custom numFmtIds {fmt_ids} not unique or below 164")
    fills = groups["fills"]
    if [f.find(q("patternFill")).get("patternType") for f in fills[:2]] != ["none", "gray125"]:
        e.append(f"{styles_part}: fills 0 and 1 must be the reserved none and gray125")
    for kind in ("cellStyleXfs", "cellXfs"):
        for k, xf in enumerate(groups[kind]):
            for attr, group in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
                if int(xf.get(attr, 0)) >= len(groups[group]):
                    e.append(f"{styles_part}: {kind}[{k}] {attr}={xf.get(attr)} out of range")
            num = int(xf.get("numFmtId", 0))
            if num >= 164 and num not in fmt_ids:
                e.append(f"{styles_part}: {kind}[{k}] numFmtId={num} is not defined")
            if kind == "cellXfs" and int(xf.get("xfId", 0)) >= len(groups["cellStyleXfs"]):
                e.append(f"{styles_part}: cellXfs[{k}] xfId out of range")
    for cs in groups["cellStyles"]:
        if int(cs.get("xfId")) >= len(groups["cellStyleXfs"]):
            e.append(f"{styles_part}: cellStyle {cs.get('name')!r} xfId out of range")
    n_xfs = len(groups["cellXfs"])

    # Shared strings, when the writer uses them.
    sst_part = next((t for typ, t in wb_rels.values() if typ == OFFICE_REL + "/sharedStrings"), None)
    n_strings = None
    if sst_part is not None:
        sst = pkg.xml(sst_part)
        n_strings = len(sst.findall(q("si")))
        if sst.get("uniqueCount") is not None and int(sst.get("uniqueCount")) != n_strings:
            e.append(f"{sst_part}: uniqueCount={sst.get('uniqueCount')} for {n_strings} <si>")

    # Defined names.
    filter_names = {}
    seen_names = set()
    for dn in wb.iter(q("definedName")):
        scope = dn.get("localSheetId")
        key = (dn.get("name").casefold(), scope)
        if key in seen_names:
            e.append(f"{wb_part}: defined name {dn.get('name')!r} twice in one scope")
        seen_names.add(key)
        if scope is not None and not (0 <= int(scope) < n):
            e.append(f"{wb_part}: defined name {dn.get('name')!r} localSheetId {scope} out of range")
            continue
        if dn.get("name") == "_xlnm._FilterDatabase":
            if scope is None:
                e.append(f"{wb_part}: _xlnm._FilterDatabase without localSheetId")
                continue
            sheet_ref, _, ref = dn.text.rpartition("!")
            own = sheet_names[int(scope)]
            if sheet_ref not in (own, "'" + own.replace("'", "''") + "'"):
                e.append(f"{wb_part}: _FilterDatabase of sheet {own!r} refers to {sheet_ref!r}")
            filter_names[int(scope)] = ref.replace("$", "")

    # Worksheets, their notes and drawings.
    vml_blocks: dict[str, str] = {}
    shape_ids: dict[str, str] = {}
    tab_selected = []
    for index, (sheet_el, part) in enumerate(sheets):
        ws = pkg.xml(part)
        rels = pkg.rels(part)
        for v in ws.iter(q("sheetView")):
            if v.get("tabSelected") in ("1", "true"):
                tab_selected.append(index)
            pane = v.find(q("pane"))
            if pane is not None and pane.get("state") == "frozen":
                split = int(float(pane.get("ySplit", 0))), int(float(pane.get("xSplit", 0)))
                if _cell(pane.get("topLeftCell")) != (split[0] + 1, split[1] + 1):
                    e.append(f"{part}: frozen pane topLeftCell {pane.get('topLeftCell')} "
                             f"does not match the split {split}")
                for sel in v.iter(q("selection")):
                    if sel.get("pane") not in (None, pane.get("activePane")):
                        e.append(f"{part}: selection pane differs from the active pane")
        last_max = 0
        for col in ws.iter(q("col")):
            lo, hi = int(col.get("min")), int(col.get("max"))
            if not (last_max < lo <= hi <= MAX_COLS):
                e.append(f"{part}: <col min={lo} max={hi}> overlaps or is out of order")
            last_max = hi
            if float(col.get("width", 0)) > 255:
                e.append(f"{part}: column width over 255")
            if int(col.get("style", 0)) >= n_xfs:
                e.append(f"{part}: column style {col.get('style')} out of range ({n_xfs} xfs)")
        last_row = 0
        cells: set[tuple[int, int]] = set()
        max_col = 0
        for row, r, row_cells in _cells_at(ws, q):
            if not (last_row < r <= MAX_ROWS):
                e.append(f"{part}: row {r} out of order or out of range")
            last_row = r
            if int(row.get("s", 0)) >= n_xfs:
                e.append(f"{part}: row {r} style out of range")
            last_col = 0
            for c, cr, cc in row_cells:
                if cr != r or not (last_col < cc <= MAX_COLS):
                    e.append(f"{part}: cell {c.get('r')} out of order or not in row {r}")
                last_col = cc
                cells.add((cr, cc))
                max_col = max(max_col, cc)
                if int(c.get("s", 0)) >= n_xfs:
                    e.append(f"{part}: cell {c.get('r')} style {c.get('s')} out of range ({n_xfs} xfs)")
                t = c.get("t", "n")
                v = c.find(q("v"))
                if t == "inlineStr":
                    text = "".join(c.find(q("is")).itertext()) if c.find(q("is")) is not None else None
                    if text is None or v is not None:
                        e.append(f"{part}: inline string cell {c.get('r')} without <is> or with <v>")
                    elif len(text) > MAX_TEXT:
                        e.append(f"{part}: cell {c.get('r')} has {len(text)} characters (max {MAX_TEXT})")
                elif t == "s":
                    if v is None or n_strings is None or not (0 <= int(v.text) < n_strings):
                        e.append(f"{part}: shared string index in {c.get('r')} out of range")
                elif t == "b":
                    if v is None or v.text not in ("0", "1"):
                        e.append(f"{part}: boolean cell {c.get('r')} value {v.text if v is not None else None!r}")
                elif t == "n" and v is not None:
                    try:
                        number = float(v.text)
                    except ValueError:
                        number = float("nan")
                    if number != number or number in (float("inf"), float("-inf")):
                        e.append(f"{part}: number cell {c.get('r')} holds {v.text!r}")
        af = ws.find(q("autoFilter"))
        if af is not None:
            r1, c1, r2, c2 = _range(af.get("ref"))
            if (r1, c1) != (1, 1) or c2 < max_col or r2 < last_row:
                e.append(f"{part}: autoFilter {af.get('ref')} does not cover the header and data")
            if filter_names.get(index) != af.get("ref"):
                e.append(f"{part}: autoFilter {af.get('ref')} but _xlnm._FilterDatabase is "
                         f"{filter_names.get(index)!r}")
        elif index in filter_names:
            e.append(f"{part}: _xlnm._FilterDatabase without an <autoFilter>")
        dvs = ws.find(q("dataValidations"))
        _count_matches(e, part, dvs, q("dataValidation"))
        for dv in ws.iter(q("dataValidation")):
            for ref in dv.get("sqref").split():
                r1, c1, r2, c2 = _range(ref)
                if not (1 <= r1 <= r2 <= MAX_ROWS and 1 <= c1 <= c2 <= MAX_COLS):
                    e.append(f"{part}: validation range {ref} outside the grid")
            formula = dv.findtext(q("formula1")) or ""
            if dv.get("type") == "list":
                if formula.startswith('"'):
                    if len(formula) - 2 > 255:
                        e.append(f"{part}: inline list of {len(formula) - 2} characters (max 255)")
                else:
                    target, _, ref = formula.rpartition("!")
                    target = target[1:-1].replace("''", "'") if target.startswith("'") else target
                    if target not in sheet_names:
                        e.append(f"{part}: list {formula!r} names a missing sheet")
                    else:
                        lst = pkg.xml(sheets[sheet_names.index(target)][1])
                        r1, c1, r2, c2 = _range(ref.replace("$", ""))
                        got = {(cr, cc) for _row, _r, cells in _cells_at(lst, q) for _c, cr, cc in cells}
                        if not all((r, c1) in got for r in range(r1, r2 + 1)):
                            e.append(f"{part}: list {formula!r} covers empty cells")
        legacy = ws.find(q("legacyDrawing"))
        comment_parts = [t for typ, t in rels.values() if typ == OFFICE_REL + "/comments"]
        if comment_parts and legacy is None:
            e.append(f"{part}: notes without a <legacyDrawing> (Excel needs the VML to show them)")
        if legacy is None:
            continue
        typ, vml_part = rels.get(legacy.get(q("id", OFFICE_REL)), (None, None))
        if typ != OFFICE_REL + "/vmlDrawing":
            e.append(f"{part}: legacyDrawing points to {typ}")
            continue
        vml = pkg.xml(vml_part)
        for idmap in vml.iter(q("idmap", VML_O)):
            for block in (idmap.get(q("data", VML_O)) or idmap.get("data") or "").split(","):
                if block in vml_blocks:
                    e.append(f"{vml_part}: o:idmap data {block} also used by {vml_blocks[block]}")
                vml_blocks[block] = vml_part
        shapes = {}
        for shape in vml.iter(q("shape", VML_V)):
            sid = shape.get("id")
            number = int(sid.rsplit("s", 1)[-1])
            if sid in shape_ids:
                e.append(f"{vml_part}: shape id {sid} also in {shape_ids[sid]}")
            shape_ids[sid] = vml_part
            if str(number // 1024) not in vml_blocks or vml_blocks[str(number // 1024)] != vml_part:
                e.append(f"{vml_part}: shape id {sid} outside this drawing's o:idmap block")
            data = shape.find(q("ClientData", VML_X))
            if data is not None and data.get("ObjectType") == "Note":
                shapes[(int(data.findtext(q("Row", VML_X))) + 1,
                        int(data.findtext(q("Column", VML_X))) + 1)] = sid
        for cpart in comment_parts:
            cm = pkg.xml(cpart)
            authors = cm.findall(f"{q('authors')}/{q('author')}")
            refs = set()
            for comment in cm.iter(q("comment")):
                ref = _cell(comment.get("ref"))
                refs.add(ref)
                if int(comment.get("authorId")) >= len(authors):
                    e.append(f"{cpart}: authorId {comment.get('authorId')} out of range")
                if ref not in cells:
                    e.append(f"{cpart}: note on {comment.get('ref')}, a cell the sheet does not have")
            if refs != set(shapes):
                e.append(f"{cpart}: notes on {sorted(refs)} but VML note shapes at {sorted(shapes)}")
    if tab_selected != [active]:
        e.append(f"sheets with tabSelected {tab_selected}, active tab {active}")
    return e


def zip_errors(path: Path) -> list[str]:
    """The zip container: Python's zipfile is lenient, Excel's package reader is not. Local
    headers must agree with the central directory, names must be unique plain OPC part names,
    the data must match its CRC."""
    e = []
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        if len(set(n.casefold() for n in names)) != len(names):
            e.append(f"duplicate part names in {names}")
        if z.testzip() is not None:
            e.append(f"unreadable or CRC mismatch: {z.testzip()}")
    for info in infos:
        name = info.filename
        if name.endswith("/") or name.startswith("/") or "\\" in name or "//" in name:
            e.append(f"{name!r}: not an OPC part name")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            e.append(f"{name}: compression method {info.compress_type}")
        if not name.isascii() and not info.flag_bits & 0x800:
            e.append(f"{name}: non-ASCII name without the UTF-8 flag")
        sig, _ver, flags, method, _t, _d, crc, csize, size, nlen, _xlen = struct.unpack(
            "<IHHHHHIIIHH", raw[info.header_offset:info.header_offset + 30])
        local_name = raw[info.header_offset + 30:info.header_offset + 30 + nlen]
        if sig != 0x04034B50 or local_name != name.encode("utf-8" if flags & 0x800 else "cp437"):
            e.append(f"{name}: local header does not match the central directory")
        if method != info.compress_type:
            e.append(f"{name}: local method {method}, central {info.compress_type}")
        if not flags & 0x08 and (crc, csize, size) != (info.CRC, info.compress_size, info.file_size):
            e.append(f"{name}: local crc/sizes differ from the central directory")
    return e


# --- the workbooks ------------------------------------------------------------------------------

COMMUNES = tuple(f"Phường Thành Sen ({18073 + i})" for i in range(70))   # > 255 chars: _lists
OPERATORS = ("Viettel", "VNPT-Vinaphone", "MobiFone")                     # inline list
WITH_COMMA = ("Có, dùng chung", "Không")                                 # a comma: _lists
TEXTS = [
    "Trạm Đồng Đăng – Lạng Sơn", "A & B <c> \"d\" 'e'", "  hai khoảng trắng đầu",
    "khoảng trắng cuối  ", " ", "", "\tđầu tab", "dòng 1\ndòng 2", "dòng\r\nWindows",
    "chuông\x07 \x01\x1f", "_x000D_ nguyên văn", "=1+1", "+1", "-1", "@SUM(A1)",
    "𝄞 ngoài BMP", "x" * 5000, "]]>", "a\u00a0b", "\ufeffBOM",
]


def _representative() -> list[SheetData]:
    columns = [
        WriterColumn("Mã định danh (UUID)", 38, system=True),
        WriterColumn("Phiên bản", 8, number_format="0", system=True),
        WriterColumn("Văn bản & <ghi chú>", 30, note='Ghi chú có "&", <thẻ>, _x0041_ và chuông\x07\r'),
        WriterColumn("Xã/Phường", 32, choices=COMMUNES),
        WriterColumn("Nhà mạng", 16, choices=OPERATORS),
        WriterColumn("Dùng chung", 16, choices=WITH_COMMA),
        WriterColumn("Ngày lắp đặt", 12, number_format="dd/mm/yyyy"),
        WriterColumn("Cập nhật lúc", 18, number_format="dd/mm/yyyy hh:mm", system=True),
        WriterColumn("Số thực", 14, number_format="0.0000000"),
        WriterColumn("Số nguyên", 10),
        WriterColumn("Đúng/sai", 8),
        WriterColumn("Ngày (không định dạng)", 12),
        WriterColumn("Lẫn lộn", 12, printed=False),
    ]
    # Printed: "&" and "<>" in the page header and the print area's sheet name.
    page = PageSetup("Hạ tầng & <viễn thông>", "Xã O'Neil", "Xuất ngày 06/12/2026 · An")
    numbers = [0.0, -0.0, 1.5, -2.25, 1e-300, 1e20, 105.6812345, float("nan"), float("inf"), None]
    ints = [0, -5, 2**53, 1200, None]
    mixed = [decimal.Decimal("1.25"), True, "văn bản", 7, dt.date(2024, 2, 29), None, 3.5,
             dt.datetime(1900, 3, 1, 12), float("-inf")]
    rows = []
    for i, text in enumerate(TEXTS):
        rows.append((
            f"2f1c0c1e-0000-4000-8000-{i:012d}",
            i,
            text,
            COMMUNES[i % len(COMMUNES)] if i % 3 else None,
            OPERATORS[i % 3] if i % 4 else None,
            WITH_COMMA[i % 2],
            dt.date(2023, 12, 31) - dt.timedelta(days=i) if i % 5 else None,
            dt.datetime(2024, 5, 6, 7, 8, 9, 123456) + dt.timedelta(hours=i) if i % 6 else None,
            numbers[i % len(numbers)],
            ints[i % len(ints)],
            (True, False, None)[i % 3],
            dt.date(2020, 1, 1) + dt.timedelta(days=i),
            mixed[i % len(mixed)],
        ))
    return [
        SheetData("_base", [WriterColumn("uuid"), WriterColumn("version")],
                  [(r[0], r[1]) for r in rows], hidden=True),
        # Apostrophe, ampersand and angle brackets: quoted in definedNames and list formulas.
        SheetData("Trạm O'Neil & <Đông>", columns, rows, page=page),
        SheetData("Trống", columns, []),
        SheetData("Nhiều dòng", [WriterColumn("Số", 8), WriterColumn("Chữ", 12, note="Một ghi chú")],
                  ((i, f"dòng {i}") for i in range(4500))),   # more than two 2000-row chunks
        SheetData("Thông tin", [WriterColumn("Khoá", 24), WriterColumn("Giá trị", 40)],
                  [("Phiên bản lược đồ", 2), ("Phạm vi", "Tỉnh Hà Tĩnh"),
                   ("Xuất lúc", dt.datetime(2024, 5, 6, 7, 8))],
                  freeze_header=False, autofilter=False, title_style="plain",
                  preamble=("TỔNG HỢP & <tiêu đề>", "Phạm vi: xã", ""), page=page),
        SheetData("Ẩn giữa", [WriterColumn("x")], [("ẩn",)], hidden=True),
    ]


@pytest.fixture(params=BACKENDS)
def representative(request, tmp_path) -> Package:
    path = tmp_path / "đại diện.xlsx"
    assert write_workbook(path, _representative(), backend=request.param) == request.param
    return Package.read(path)


@pytest.fixture(params=BACKENDS)
def exported(request, sample_db_path, tmp_path) -> Package:
    path = tmp_path / "xuất.xlsx"
    with Database.open(sample_db_path) as db:
        result = export_workbook(db, path, backend=request.param)
    assert result.backend == request.param
    return Package.read(path)


def test_representative_workbook_parts_are_schema_valid(representative):
    assert schema_errors(representative) == []


def test_representative_workbook_is_consistent(representative):
    assert consistency_errors(representative) == []


def test_representative_workbook_covers_what_it_claims(representative):
    """The fixture really contains what the checks above are meant to see."""
    pkg = representative
    names = [s.get("name") for s, _ in pkg.sheets()]
    assert LISTS_SHEET in names and names[0] == "_base"
    types = {pkg.content_type(n) for n in pkg.parts}
    assert _DOC + "spreadsheetml.comments+xml" in types and _DOC + "vmlDrawing" in types
    sheet = pkg.xml(pkg.sheets()[1][1])
    formulas = [f.text for f in sheet.iter(q("formula1"))]
    assert any(f.startswith('"') for f in formulas) and any(LISTS_SHEET in f for f in formulas)
    cell_types = {c.get("t") for c in sheet.iter(q("c"))}
    assert "b" in cell_types and cell_types & {"inlineStr", "s"}
    assert sum(1 for _ in pkg.xml(pkg.sheets()[3][1]).iter(q("row"))) == 4501


def test_representative_zip_container_is_consistent(representative):
    assert zip_errors(representative.path) == []


def test_exported_sample_database_is_schema_valid_and_consistent(exported):
    assert schema_errors(exported) == []
    assert consistency_errors(exported) == []
    assert zip_errors(exported.path) == []


# --- the checks can fail ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def direct_parts(tmp_path_factory) -> dict[str, bytes]:
    path = tmp_path_factory.mktemp("neg") / "ok.xlsx"
    write_workbook(path, _representative(), backend="direct")
    return Package.read(path).parts


def _first_sheet_part(parts) -> str:
    return Package(dict(parts)).sheets()[1][1]


def test_schema_check_catches_element_order(direct_parts):
    parts = dict(direct_parts)
    name = _first_sheet_part(parts)
    xml = parts[name].decode()
    views = re.search(r"<sheetViews>.*?</sheetViews>", xml).group(0)
    xml = xml.replace(views, "", 1).replace("</sheetData>", "</sheetData>" + views, 1)
    parts[name] = xml.encode()
    errors = schema_errors(Package(parts))
    assert errors and all(name in err for err in errors)
    assert any("sheetViews" in err for err in errors)


def test_schema_check_catches_bad_attribute_values(direct_parts):
    parts = dict(direct_parts)
    parts["xl/styles.xml"] = parts["xl/styles.xml"].replace(b'applyFont="1"', b'applyFont="yes"', 1)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b"<sheet ", b'<sheet colour="red" ', 1)
    errors = schema_errors(Package(parts))
    assert any("styles.xml" in err and "applyFont" in err for err in errors)
    assert any("workbook.xml" in err and "colour" in err for err in errors)


def test_schema_check_keeps_other_xml_space_values(direct_parts):
    parts = dict(direct_parts)
    name = _first_sheet_part(parts)
    parts[name] = parts[name].replace(b'xml:space="preserve"', b'xml:space="default"', 1)
    assert any("space" in err for err in schema_errors(Package(parts)))


def test_consistency_check_catches_dangling_references(direct_parts):
    parts = dict(direct_parts)
    name = _first_sheet_part(parts)
    parts[name] = re.sub(rb' s="\d+"', b' s="999"', parts[name], count=1)
    parts["xl/workbook.xml"] = re.sub(rb'activeTab="\d+"', b'activeTab="0"', parts["xl/workbook.xml"])
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b'localSheetId="1"', b'localSheetId="4"', 1)
    errors = consistency_errors(Package(parts))
    assert any("style 999 out of range" in err for err in errors)
    assert any("activeTab 0" in err for err in errors)
    assert any("_FilterDatabase" in err for err in errors)


def test_zip_check_catches_a_local_header_mismatch(tmp_path):
    path = tmp_path / "z.xlsx"
    write_workbook(path, [SheetData("A", [WriterColumn("h")], [("x",)])], backend="direct")
    with zipfile.ZipFile(path) as z:
        offset = z.infolist()[0].header_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 30] ^= 0x20     # the first letter of the name, in the local header only
    path.write_bytes(bytes(raw))
    assert any("local header" in err for err in zip_errors(path))
