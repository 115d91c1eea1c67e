"""Mutated workbooks and GIS files for the import's fuzz test set (issue 16).

Every case starts from a fresh export of a small sample database (`make_sources`) and changes one
thing: cell values drawn by Hypothesis for the editable columns of each sheet (right and wrong
types, "NaN", "#N/A", error cells, formulas without a cached value, out-of-range numbers, positions
outside Vietnam, huge strings...), the workbook's structure (columns and sheets deleted, renamed,
reordered; rows duplicated, foreign UUIDs, tombstones), its container (a truncated zip, XML
entities) or a GIS file (missing attributes, empty, mixed and invalid geometries, unknown CRS).

Each case says what must happen (`Case.outcome`): REFUSE (exit 2, the message names `places`,
nothing written) or IMPORT / CONFLICT (exit 0 / 3, every value of the file is in the database,
with `expected` overriding what a cell reads as where the import translates it: "viettel" is
stored as the operator VTL and shown "Viettel"). What "correct" means is decided here, per
mutation kind, from the forms (the one source of truth for types, ranges, lists and conditions);
the oracle that checks it is tests/fuzz/oracle.py.

Run as a script to write every case to a folder for a person to open:

    .venv/bin/python -m tests.fuzz.mutations OUT_DIR [--examples N]

OUT_DIR gets the sample database, its export, one file per case and cases.json (what each case
changes and what must happen).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hatang_desktop.core.geo.parse import is_in_vietnam
from hatang_desktop.core.exchange.layout import ColumnSpec, SheetSpec, workbook_layout
from hatang_desktop.core.forms import FieldDef, FormDef, Forms, load_forms
from hatang_desktop.core.operators import OPERATORS
from hatang_desktop.core.text import fold

from .book import Cell, Sheet, XlsxBook, bool_cell, error_cell, formula_cell, number_cell, text_cell

REFUSE, IMPORT, CONFLICT = "refuse", "import", "conflict"
SITES = "sites"
SEED = 16                # the number: the seeded choices below (Hypothesis is derandomized)
SAME = "__same__"        # Edit.expected: the database shows the cell as it reads
UUID_HEADER = "UUID (không sửa)"
VERSION_HEADER = "Phiên bản (không sửa)"
DELETE_HEADER = "Xóa (ghi x)"
EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_CELL = 32_767        # characters an Excel cell holds; the import refuses more, every way in
UNIQUE = {"sites": ("operator_code", "site_code"), "site_tenants": ("site_uuid", "operator_code"),
          "pole_attachments": ("pole_uuid", "operator_code"), "fibre_routes": ("operator_code", "code"),
          "zones": ("code",)}
PARENT_OF = {"site_tenants": ("sites", "site_uuid"), "pole_attachments": ("poles", "pole_uuid")}
# Places outside Vietnam people's files really hold: null island, a Tokyo or Bangkok office, a
# sign lost on the way (southern or western hemisphere).
OUTSIDE = {"null-island": (0.0, 0.0), "tokyo": (35.6812, 139.7671), "bangkok": (13.7563, 100.5018),
           "south": (-18.34, 105.9), "west": (18.34, -105.9)}


# -- the sample and its export ----------------------------------------------------------------

@dataclass
class Sources:
    """A sample database and its fresh export, read once; every case copies what it changes."""
    folder: Path
    db: Path
    xlsx: Path
    geojson: dict[str, Path]           # record -> OUT_<record>.geojson
    gpkg: Path
    forms: Forms
    communes: dict[str, str]
    specs: dict[str, SheetSpec]        # record -> sheet layout
    states: dict[str, dict]            # record -> uuid -> RecordState, before any import
    database_id: str
    book: XlsxBook = field(repr=False, default=None)
    gis_order: dict[str, int] = field(default_factory=dict, repr=False)   # site uuid -> feature index
    package: Path | None = None        # a sync package from a copy of the sample with two photos
    _sheets: dict[str, Sheet] = field(default_factory=dict, repr=False)
    _column_index: dict = field(default_factory=dict, repr=False)

    def sheet_name(self, record: str) -> str:
        return self.specs[record].name("vi")

    def sheet(self, record: str) -> Sheet:
        """The exported sheet of `record`, parsed once (read it; edit a book's copy)."""
        if record not in self._sheets:
            self._sheets[record] = self.book.sheet(self.sheet_name(record))
        return self._sheets[record]

    def fresh_book(self) -> XlsxBook:
        return self.book.copy()

    def column(self, record: str, key: str) -> ColumnSpec:
        return self._columns[record][key]

    @property
    def _columns(self) -> dict[str, dict[str, ColumnSpec]]:
        if not self._column_index:
            self._column_index.update({r: {c.key: c for c in s.columns} for r, s in self.specs.items()})
        return self._column_index

    def live(self, record: str) -> dict:
        return {u: s for u, s in self.states[record].items() if not s.deleted}


def make_sources(template_db: Path, folder: Path) -> Sources:
    """Copy the sample into `folder` and export it: the workbook and the GIS files."""
    from hatang_desktop.core.exchange.export import export_workbook, province_communes
    from hatang_desktop.core.exchange.records import read_states
    from hatang_desktop.core.gis.export import export_gis
    from hatang_desktop.core.storage.database import Database
    from sqlalchemy import text

    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "sample.db"
    shutil.copyfile(template_db, db_path)
    forms = load_forms()
    with Database.open(db_path, readonly=True) as db:
        export_workbook(db, folder / "export.xlsx", parallel=False)
        export_gis(db, folder / "export.geojson")
        export_gis(db, folder / "export.gpkg")
        with db.session() as s:
            communes = province_communes(s)
            states = {f.record: read_states(s, f) for f in forms}
            database_id = s.execute(text("SELECT value FROM meta WHERE key = 'database_id'")).scalar()
    specs = {s.record: s for s in workbook_layout(forms, communes)}
    geojson = {p.stem[len("export_"):]: p for p in folder.glob("export_*.geojson")}
    src = Sources(folder, db_path, folder / "export.xlsx", geojson, folder / "export.gpkg", forms, communes,
                  specs, states, database_id)
    src.book = XlsxBook.load(src.xlsx)
    src.package = _make_package(template_db, folder)
    features = json.loads(geojson["sites"].read_text(encoding="utf-8"))["features"]
    src.gis_order = {f["properties"]["UUID"]: n for n, f in enumerate(features)}
    return src


def _make_package(template_db: Path, folder: Path) -> Path | None:
    """The commune's side: the sample with a photo on each of two sites, sent as a package."""
    import random as _random

    from PIL import Image

    from hatang_desktop.core.exchange import package as package_module
    from hatang_desktop.core.photos import attach_photo
    from hatang_desktop.core.storage.database import Database
    from sqlalchemy import text

    sender = folder / "commune" / "xa.db"
    sender.parent.mkdir()
    shutil.copyfile(template_db, sender)
    rnd = _random.Random(SEED)
    with Database.open(sender) as db:
        with db.session() as s:
            owners = [u for (u,) in s.execute(text("SELECT uuid FROM sites ORDER BY id LIMIT 2"))]
        for k, owner in enumerate(owners):
            image = Image.new("RGB", (64, 48))
            image.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(64 * 48)])
            photo = sender.parent / f"anh{k}.jpg"
            image.save(photo)
            attach_photo(db, "sites", owner, photo, caption=f"Ảnh trạm {k + 1}")
        package_module.export_package(db, folder / "package.zip")
    return folder / "package.zip"


# -- what a case is -----------------------------------------------------------------------------

@dataclass
class Case:
    id: str                              # "xlsx/cell/sites/height_m/3"
    kind: str                            # the mutation kind, what the figures count by
    fmt: str                             # xlsx, geojson, gpkg
    data: bytes
    outcome: str | tuple[str, ...]       # REFUSE, IMPORT, CONFLICT (a tuple only where both are right)
    places: list[str] = field(default_factory=list)     # what a refusal's message must name
    expected: dict[tuple[str, str], Any] = field(default_factory=dict)  # (uuid, key) -> shown value
    record: str | None = None            # a GIS file's record type (layers hold one)
    aliases: dict[str, str] = field(default_factory=dict)   # header -> key the import must recognise
    local_edits: list[tuple[str, str, str, Any]] = field(default_factory=list)  # (table, uuid, attr, value)
    deleted: set[str] = field(default_factory=set)      # uuids the import must tombstone
    unchanged_sheets: set[str] = field(default_factory=set)  # records whose values must not move
    secret: str | None = None            # text that must never reach the database (XXE)
    photos: int = 0                      # photos a package import must record (their files copied)
    warnings: list[str] = field(default_factory=list)   # what an import's warnings must name
    note: str = ""

    @property
    def filename(self) -> str:
        return "case." + self.fmt

    @property
    def outcomes(self) -> tuple[str, ...]:
        return self.outcome if isinstance(self.outcome, tuple) else (self.outcome,)

    def describe(self) -> dict:
        return {"id": self.id, "kind": self.kind, "format": self.fmt, "outcome": self.outcome,
                "places": self.places, "note": self.note, "local_edits": self.local_edits,
                "expected": {f"{u} {k}": repr(v) for (u, k), v in self.expected.items()}}


# -- cell values, drawn by Hypothesis -------------------------------------------------------------

@dataclass
class Edit:
    """A cell to write, whether the import must take it, the value the record then holds
    (`stored`, for the record rules) and what the database must then show (`expected`)."""
    cell: Cell | None
    ok: bool
    stored: Any = None
    expected: Any = SAME
    why: str = ""


_XML_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn"))
_VIETNAMESE = ["Trạm Thạch Hà mới", "Đường Nguyễn Du, Phường Thành Sen", "Cột nghiêng 5°, cần kiểm tra",
               "Tổ dân phố 3 – Xã Cẩm Xuyên", "Ủy ban nhân dân xã", "  khoảng trắng ở hai đầu  ",
               "=1+1", "+84 912 345 678", "-", "@nhà mạng", "'quoted", "Dòng 1\nDòng 2",
               "_x0041_ không phải chữ A", "&amp; < > \" '", "ẞ ǅ ﬁ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
# What a cell holds when it has no value: the list, typed or as Excel stores them.
_NON_VALUE_TEXT = ["NaN", "nan", "#N/A", "#DIV/0!", "#VALUE!", "Infinity", "-inf", "N/A"]
_ERROR_CELLS = ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]
_FORMULAS = ["1/0", "NA()", "A1*2", "SUM(A2:A3)", "VLOOKUP(1,Z1:Z2,2,FALSE)"]


def _non_value(text_field: bool) -> st.SearchStrategy[Edit]:
    """Cells that are not values: an error cell, a formula nobody computed, or (outside text
    columns) "NaN" and friends typed as text. Never a value, whatever the column."""
    cells = [st.sampled_from(_ERROR_CELLS).map(lambda c: Edit(error_cell(c), False, why=f"error-cell {c}")),
             st.sampled_from(_FORMULAS).map(lambda f: Edit(formula_cell(f), False, why=f"formula-no-cache ={f}"))]
    if not text_field:
        cells.append(st.sampled_from(_NON_VALUE_TEXT).map(lambda t: Edit(text_cell(t), False, why=f"non-value {t!r}")))
    return st.one_of(cells)


def _blank(f: FieldDef, shown_default) -> st.SearchStrategy[Edit]:
    """An emptied cell: the field emptied, or, for an optional field with a default ("Trong quy
    hoạch", "Số hộp"), the default, as the form's empty widget gives (the database keeps no blank
    there); a required field emptied is refused by the record rules."""
    cell = st.sampled_from([None, text_cell(""), text_cell("   ")])
    if f.default is not None and not f.required:
        return cell.map(lambda c: Edit(c, True, f.default, shown_default, why="blank (the default)"))
    return cell.map(lambda c: Edit(c, True, None, None, why="blank"))


def _text(f: FieldDef) -> st.SearchStrategy[Edit]:
    if f.pattern:
        # Codes: "FZ" keeps them apart from the sample's own (a clash is its own case below).
        core = st.from_regex(r"\AFZ[A-Za-z0-9_.\-/ ĐđƯươẠạ]{0,24}\Z").map(str.rstrip)
        valid = core.map(lambda v: Edit(text_cell(v), True, v, v, why="code"))
        pad = core.map(lambda v: Edit(text_cell(f"  {v} "), True, v, v, why="code with spaces"))
        bad_char = st.tuples(core, st.sampled_from("#@?!*%,;:()[]{}")).map(
            lambda t: Edit(text_cell(t[0] + t[1]), False, why="code with a character the pattern refuses"))
        too_long = st.just(Edit(text_cell("FZ" + "9" * 39 + "x" * 20), False, why="code over 40/60 characters"))
        return st.one_of(valid, valid, pad, bad_char, too_long, _non_value(True))
    plain = st.text(_XML_CHARS, min_size=1, max_size=30).filter(lambda s: s.strip()).map(
        lambda s: Edit(text_cell(s), True, s.strip(), s.strip(), why="text"))
    typed = st.sampled_from(_VIETNAMESE).map(lambda s: Edit(text_cell(s), True, s.strip(), s.strip(), why="text"))
    longest = st.just(Edit(text_cell("Đ" * MAX_CELL), True, "Đ" * MAX_CELL, "Đ" * MAX_CELL, why="text of 32,767"))
    huge = st.just(Edit(text_cell("ư" * 40_000), False, why="text of 40,000 (over Excel's 32,767)"))
    number = st.integers(0, 10 ** 6).map(lambda n: Edit(number_cell(n), True, str(n), str(n), why="number in text"))
    return st.one_of(plain, typed, typed, number, longest, huge, _non_value(True))


def _number(f: FieldDef) -> st.SearchStrategy[Edit]:
    lo, hi, integer = f.min, f.max, f.type == "integer"
    open_above = hi is None  # bounded below only (a GPS accuracy, a count of fixes)
    if open_above:
        hi = lo + 10_000
    if integer:
        values = st.integers(int(lo), int(hi)).map(float)
    else:
        values = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    cell = values.map(lambda v: Edit(number_cell(int(v) if integer else v), True, v, v, why="number"))
    as_text = values.map(lambda v: round(v, 3)).filter(lambda v: lo <= v <= hi).map(
        lambda v: Edit(text_cell(f"{v:.3f}".replace(".", ",")), True, v, v, why="number typed with a comma"))
    formula = values.map(lambda v: Edit(formula_cell(f"{v!r}+0", repr(v)), True, v, v, why="formula with its result"))
    span = max(1.0, hi - lo)
    below = st.floats(lo - 10 * span, lo - 1e-3)
    outside = (below if open_above else st.one_of(st.floats(hi + 1e-3, hi + 10 * span), below)).map(
        lambda v: Edit(number_cell(v), False, why=f"out of range {lo:g}..{'' if open_above else f'{hi:g}'}"))
    wrong = st.sampled_from(["abc", "12 m", "1,2,3", "mười", "1.2.3"]).map(
        lambda t: Edit(text_cell(t), False, why="text in a number column"))
    boolean = st.booleans().map(lambda b: Edit(bool_cell(b), False, why="TRUE/FALSE in a number column"))
    parts = [cell, cell, as_text, formula, outside, wrong, boolean, _non_value(False)]
    if integer:
        parts.append(st.floats(lo + 0.1, hi - 0.1).filter(lambda v: v != int(v)).map(
            lambda v: Edit(number_cell(v), False, why="fraction in a whole-number column")))
    return st.one_of(parts)


def _date(f: FieldDef, style: str | None) -> st.SearchStrategy[Edit]:
    dates = st.dates(dt.date(1990, 1, 1), dt.date(2035, 12, 31))
    serial = dates.map(lambda d: Edit(Cell(v=str((d - EXCEL_EPOCH).days), s=style), True, d, d, why="date cell"))
    typed = dates.map(lambda d: Edit(text_cell(d.strftime("%d/%m/%Y")), True, d, d, why="date typed dd/mm/yyyy"))
    iso = dates.map(lambda d: Edit(text_cell(d.isoformat()), True, d, d, why="date typed ISO"))
    wrong = st.sampled_from(["31/02/2024", "2024-13-01", "hôm qua", "00/00/0000", "12/2024"]).map(
        lambda t: Edit(text_cell(t), False, why="not a date"))
    return st.one_of(serial, serial, typed, iso, wrong, _non_value(False))


_TRUE_TEXT = ["Có", "có", "x", "yes", "1", "TRUE", "đúng"]
_FALSE_TEXT = ["Không", "không", "no", "0", "FALSE", "sai"]


def _boolean(f: FieldDef) -> st.SearchStrategy[Edit]:
    true = st.sampled_from(_TRUE_TEXT).map(lambda t: Edit(text_cell(t), True, True, "Có", why="yes typed"))
    false = st.sampled_from(_FALSE_TEXT).map(lambda t: Edit(text_cell(t), True, False, "Không", why="no typed"))
    cell = st.booleans().map(lambda b: Edit(bool_cell(b), True, b, "Có" if b else "Không", why="TRUE/FALSE cell"))
    wrong = st.sampled_from(["có lẽ", "2", "maybe", "?"]).map(lambda t: Edit(text_cell(t), False, why="not yes/no"))
    two = st.just(Edit(number_cell(2), False, why="2 in a yes/no column"))
    return st.one_of(true, false, cell, wrong, two, _non_value(False))


def _choice(f: FieldDef, forms: Forms) -> st.SearchStrategy[Edit]:
    choices = forms.lists[f.values].choices
    spelled = []
    for c in choices:
        spelled += [(c.vi, c.code), (c.en, c.code), (c.code, c.code), (c.vi.upper(), c.code), (fold(c.vi), c.code)]
    label = {c.code: c.vi for c in choices}
    valid = st.sampled_from(spelled).map(lambda t: Edit(text_cell(t[0]), True, t[1], label[t[1]], why="list value"))
    wrong = st.sampled_from(["Không có trong danh sách", "loại khác nữa", "7"]).map(
        lambda t: Edit(text_cell(t), False, why="not in the list"))
    return st.one_of(valid, valid, wrong, st.just(Edit(number_cell(7), False, why="number for a list value")),
                     _non_value(False))


_OPERATOR_SPELLINGS = [("Viettel", "VTL"), ("viettel", "VTL"), ("VIETTEL", "VTL"), ("Vietel", "VTL"), ("VTL", "VTL"),
                       ("VNPT", "VNPT"), ("VinaPhone", "VNPT"), ("VNPT-Vinaphone", "VNPT"), ("Vina", "VNPT"),
                       ("MobiFone", "MBF"), ("Mobi", "MBF"), ("mobifone", "MBF"), ("Vietnamobile", "VNM"),
                       ("Gmobile", "GTEL"), ("Gtel", "GTEL"), ("I-Telecom", "ITEL"), ("Reddi", "REDDI"),
                       ("Khác", "OTHER")]
_BRAND = {op.code: op.brand for op in OPERATORS}


def _operator(f: FieldDef) -> st.SearchStrategy[Edit]:
    valid = st.sampled_from(_OPERATOR_SPELLINGS).map(
        lambda t: Edit(text_cell(t[0]), True, t[1], _BRAND[t[1]], why="operator as written"))
    wrong = st.sampled_from(["Nhà mạng XYZ", "Telecom 123", "Viettel Mobifone", "452-04"]).map(
        lambda t: Edit(text_cell(t), False, why="unknown operator"))
    return st.one_of(valid, valid, wrong, st.just(Edit(number_cell(4), False, why="number for an operator")),
                     _non_value(False))


_UNIQUE_NAMES: dict[int, set[str]] = {}


def _commune(f: FieldDef, communes: dict[str, str]) -> st.SearchStrategy[Edit]:
    codes = sorted(communes)
    if id(communes) not in _UNIQUE_NAMES:  # names that say one commune only, typed alone
        folded = [fold(n) for n in communes.values()]
        _UNIQUE_NAMES[id(communes)] = {n for n in folded if folded.count(n) == 1}
    unique_names = _UNIQUE_NAMES[id(communes)]

    def spell(code: str, how: int) -> Edit:
        label = f"{communes[code]} ({code})"
        if how == 0:
            return Edit(text_cell(label), True, code, label, why="commune as exported")
        if how == 1:
            return Edit(text_cell(code), True, code, label, why="commune code typed")
        if how == 2:
            return Edit(number_cell(int(code)), True, code, label, why="commune code as a number")
        if fold(communes[code]) in unique_names:
            return Edit(text_cell(communes[code]), True, code, label, why="commune name typed")
        return Edit(text_cell(label), True, code, label, why="commune as exported")
    valid = st.builds(spell, st.sampled_from(codes), st.integers(0, 3))
    wrong = st.sampled_from(["Xã Không Tồn Tại", "99999", "Phường 1 (00001)", "18"]).map(
        lambda t: Edit(text_cell(t), False, why="not a commune of the province"))
    return st.one_of(valid, valid, wrong, _non_value(False))


def _technologies(f: FieldDef) -> st.SearchStrategy[Edit]:
    techs = st.sets(st.sampled_from(["2G", "3G", "4G", "5G"]), min_size=1)

    def spell(ts: set, how: int) -> Edit:
        order = sorted(ts)
        shown = "/".join(order)
        text = [shown, ", ".join(order), " + ".join(order).lower(), "/".join(reversed(order))][how]
        return Edit(text_cell(text), True, tuple(order), shown, why="technologies")
    valid = st.builds(spell, techs, st.integers(0, 3))
    lte = st.just(Edit(text_cell("LTE/NR"), True, ("4G", "5G"), "4G/5G", why="LTE and NR"))
    wrong = st.sampled_from(["6G", "4G/xyz", "wifi"]).map(lambda t: Edit(text_cell(t), False, why="not a technology"))
    return st.one_of(valid, valid, lte, wrong, _non_value(False))


def _position(axis: str, current: float, other: float) -> st.SearchStrategy[Edit]:
    """A latitude or longitude cell of a record now at `current` (the other axis at `other`)."""
    def at(delta: float, how: int) -> Edit:
        v = round(current + delta, 7)
        lat, lon = (v, other) if axis == "lat" else (other, v)
        ok = bool(is_in_vietnam(lat, lon))
        if how == 0:
            cell = number_cell(v)
        elif how == 1:
            cell = text_cell(f"{v:.7f}".replace(".", ","))
        else:
            d = int(abs(v))
            m = int((abs(v) - d) * 60)
            s = round((abs(v) - d - m / 60) * 3600, 2)
            v = d + m / 60 + s / 3600
            lat, lon = (v, other) if axis == "lat" else (other, v)
            ok = bool(is_in_vietnam(lat, lon))
            cell = text_cell(f"{d}°{m}'{s}\"{'N' if axis == 'lat' else 'E'}")
        return Edit(cell, ok, v, v, why="position" if ok else "position outside Vietnam")
    near = st.builds(at, st.floats(-0.01, 0.01).filter(lambda d: abs(d) > 1e-5), st.integers(0, 2))

    def far(place: str) -> Edit:
        lat, lon = OUTSIDE[place]
        v = lat if axis == "lat" else lon
        both = (v, other) if axis == "lat" else (other, v)
        return Edit(number_cell(v), bool(is_in_vietnam(*both)), v, v, why=f"position at {place}")
    outside = st.sampled_from(sorted(OUTSIDE)).map(far)
    return st.one_of(near, near, outside, _non_value(False))


def _geometry(f: FieldDef, current: str) -> st.SearchStrategy[Edit]:
    import shapely
    from shapely import affinity

    geom = shapely.from_wkt(current)

    def moved(dx: float, dy: float) -> Edit:
        g = affinity.translate(geom, dx, dy)
        wkt = shapely.to_wkt(g, rounding_precision=7, trim=True)
        xy = shapely.get_coordinates(g)
        ok = bool(is_in_vietnam(xy[:, 1], xy[:, 0]).all()) and shapely.from_wkt(wkt).is_valid
        return Edit(text_cell(wkt), ok, wkt, wkt, why="shape moved")
    valid = st.builds(moved, st.floats(-0.002, 0.002), st.floats(-0.002, 0.002))
    x, y = shapely.get_coordinates(geom)[0]
    bad = {"LINESTRING EMPTY": "empty", f"POINT ({x} {y})": "a point for a line or polygon",
           f"LINESTRING ({x} {y})": "one vertex", "LINESTRING (0 0, 1 1)": "outside Vietnam",
           "LINESTRING (abc def)": "unreadable WKT", "POLYGON ((0 0, 1 0, 1 1, 0 0))": "outside Vietnam",
           f"POLYGON (({x} {y}, {x + .01} {y + .01}, {x + .01} {y}, {x} {y + .01}, {x} {y}))": "self-intersecting",
           f"POLYGON (({x} {y}, {x + .01} {y}, {x + .01} {y + .01}))": "unclosed ring"}
    wrong = st.sampled_from(sorted(bad)).map(lambda w: Edit(text_cell(w), False, why=f"geometry: {bad[w]}"))
    return st.one_of(valid, valid, wrong, _non_value(False))


def value_strategy(src: Sources, record: str, key: str, uuid: str, date_style: str | None) -> st.SearchStrategy[Edit]:
    """What may be typed into column `key` of the row holding record `uuid`."""
    col = src.column(record, key)
    f = col.field
    state = src.states[record][uuid]
    if f.type == "text":
        s = _text(f)
    elif f.type in ("integer", "decimal"):
        s = _number(f)
    elif f.type == "date":
        s = _date(f, date_style)
    elif f.type == "boolean":
        s = _boolean(f)
    elif f.type == "choice":
        s = _choice(f, src.forms)
    elif f.type == "operator":
        s = _operator(f)
    elif f.type == "commune":
        s = _commune(f, src.communes)
    elif f.type == "technologies":
        s = _technologies(f)
    elif f.type == "position":
        other = "lon" if key == "lat" else "lat"
        s = _position(key, state.values[key], state.values[other])
    elif f.type == "geometry":
        s = _geometry(f, state.values[key])
    elif f.type == "reference":
        parent, _ = PARENT_OF[record]
        others = sorted(u for u in src.live(parent) if u != state.values[key])
        s = st.one_of(st.sampled_from(others).map(lambda u: Edit(text_cell(u), True, u, u, why="another parent")),
                      st.just(Edit(text_cell("0f0f0f0f-1111-4222-8333-444444444444"), False, why="unknown parent")),
                      st.just(Edit(text_cell("không phải uuid"), False, why="parent not a UUID")),
                      _non_value(True))
    else:
        raise ValueError(f.type)
    if f.type == "reference":
        return s
    from hatang_desktop.core.exchange.layout import display_value

    return st.one_of(s, _blank(f, display_value(col, f.default, src.forms, src.communes)))


# -- the record rules a set of edits must respect (from the forms, as the app reads them) ---------

def record_allowed(form: FormDef, values: dict[str, Any]) -> bool:
    """Required fields filled where they apply; conditional fields empty where they do not."""
    for f in form.fields:
        keys = ("lat", "lon") if f.type == "position" else (f.key,)
        missing = any(values.get(k) in (None, "", ()) for k in keys)
        applies = f.applies(values)
        if f.required and missing and applies:
            return False
        if f.type == "position" and not all(values.get(k) in (None, "", ()) for k in keys) and missing:
            return False  # half a position
        if f.when is not None and not applies and not missing and f.type != "boolean":
            return False
    return True


def unique_allowed(src: Sources, record: str, changed: dict[str, dict[str, Any]]) -> bool:
    """No two live records of `record` share the keys the database keeps unique."""
    keys = UNIQUE.get(record)
    if not keys:
        return True
    seen = set()
    for u, state in src.live(record).items():
        values = changed.get(u, state.values)
        k = tuple(values.get(x) for x in keys)
        if k in seen:
            return False
        seen.add(k)
    return True


def date_style(sheet: Sheet, j: int) -> str | None:
    """The style index the export gave column j (its dates' number format)."""
    for m in re.finditer(rb'<col min="(\d+)" max="(\d+)"[^>]*?style="(\d+)"', sheet.head):
        if int(m.group(1)) <= j + 1 <= int(m.group(2)):
            return m.group(3).decode()
    return None


@dataclass
class CellPlan:
    """One to three rows of one column and what is typed into each (drawn by Hypothesis; the
    workbook is only built for the plans chosen, see `hypothesis_cases`)."""
    record: str
    key: str
    rows: list[int]                 # 0-based indexes into the sheet's rows
    edits: list[Edit]
    kind: str                       # "value" (to import) or the first reason to refuse
    bad_rows: list[int]             # Excel row numbers holding a wrong cell
    expected: dict


@st.composite
def cell_plan(draw, src: Sources, record: str, key: str) -> CellPlan:
    spec = src.specs[record]
    sheet = src.sheet(record)
    j = sheet.column(src.column(record, key).header("vi"))
    uj = sheet.column(UUID_HEADER)
    rows = [i for i in range(1, len(sheet.rows)) if uj in sheet.rows[i]]
    picked = draw(st.lists(st.sampled_from(rows), min_size=1, max_size=3, unique=True))
    style = date_style(sheet, j)
    changed: dict[str, dict] = {}
    bad_rows, expected, edits = [], {}, []
    kind = "value"
    for i in picked:
        uuid = sheet.rows[i][uj].value
        edit = draw(value_strategy(src, record, key, uuid, style))
        edits.append(edit)
        values = dict(src.states[record][uuid].values)
        values[key] = edit.stored
        changed[uuid] = values
        if not edit.ok or not record_allowed(spec.form, values):
            bad_rows.append(i + 1)
            if kind == "value":
                kind = kind_of(edit.why) if not edit.ok else "record-rule"
        elif edit.expected is not SAME:
            expected[(uuid, key)] = edit.expected
    if kind == "value" and not unique_allowed(src, record, changed):
        kind = "unique"  # the rows' own cells are fine, the set is not: the message names the sheet
    return CellPlan(record, key, picked, edits, kind, bad_rows, expected)


def cell_case(src: Sources, plan: CellPlan, number: int) -> Case:
    """The plan's workbook: the case must import every edit exactly, or refuse naming each row
    holding a wrong cell (and then write nothing, the right rows' edits included)."""
    record, spec = plan.record, src.specs[plan.record]
    header = src.column(record, plan.key).header("vi")
    book = src.fresh_book()
    if record != SITES:
        # The sheet sent alone (with its `_base` and the metadata): what a sheet deleted does is a
        # case of its own, and a smaller workbook makes each of these cases cheaper.
        keep = {spec.name("vi"), "_metadata", f"_base_{record}", "_lists"}
        for name in book.sheet_names:
            if name not in keep:
                book.delete_sheet(name)
    target = book.sheet(spec.name("vi"))
    j = target.column(header)
    for i, edit in zip(plan.rows, plan.edits):
        target.set(i, j, edit.cell)
    refuse = plan.kind != "value"
    places = [f"'{spec.name('vi')}'"] + [f"dòng {r}" for r in plan.bad_rows] if refuse else []
    return Case(f"xlsx/cell/{record}/{plan.key}/{number}", f"cell:{plan.kind}", "xlsx", book.to_bytes(),
                REFUSE if refuse else IMPORT, places, {} if refuse else plan.expected,
                note=f"{header}: " + "; ".join(f"row {i + 1}: {e.why}" for i, e in zip(plan.rows, plan.edits)))


_KINDS = [("error-cell", "error-cell"), ("formula-no-cache", "formula-no-cache"), ("non-value", "non-value-text"),
          ("out of range", "out-of-range"), ("in a number column", "wrong-type"), ("fraction", "wrong-type"),
          ("position", "position-outside"), ("geometry", "geometry-invalid"), ("code ", "pattern"),
          ("40,000", "huge-text"), ("parent", "parent-unknown")]


def kind_of(why: str) -> str:
    """The mutation kind of a wrong cell, for the figures ("wrong-value": not in the list, not a
    date, not an operator, not a commune...)."""
    return next((k for text, k in _KINDS if text in why), "wrong-value")


# The columns whose values are drawn (every editable field of every sheet but the notes of the
# smaller sheets; the references to parents are among them).
FUZZED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("site_code", "operator_code", "name", "address", "commune_code", "lat", "lon", "tower_type",
              "height_m", "building_height_m", "owner", "permit_no", "permit_date", "in_passive_plan", "status",
              "note", "gnss_accuracy_m", "gnss_satellites", "gnss_fix_count"),
    "site_tenants": ("site_uuid", "operator_code", "tenant_site_code", "technologies"),
    "poles": ("code", "owner_kind", "owner_operator_code", "material", "height_m", "lat", "road",
              "carries_power"),
    "pole_attachments": ("pole_uuid", "cable_count", "cable_type", "lowest_height_m", "situation",
                         "in_insulating_tube", "condition", "box_count"),
    "fibre_routes": ("code", "method", "core_count", "geom"),
    "zones": ("code", "name", "kind", "geom"),
    "findings": ("severity", "found_on", "note", "lat"),
}


# Plans Hypothesis draws per column before choosing: its first draws are the simplest (valid
# values), so the cases are chosen among more draws for the kinds they cover.
DRAWS = 16


def draw_plans(strategy: st.SearchStrategy, draws: int = DRAWS) -> list:
    """`draws` examples of `strategy`, derandomized: the same on every run and every machine, so
    CI is stable and a failing case can be replayed by its id."""
    out: list = []

    @settings(max_examples=draws, derandomize=True, database=None, deadline=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data):
        if len(out) < draws:
            out.append(data.draw(strategy))
    draw()
    return out


def diverse(plans: list, examples: int, imports: int = 1) -> list:
    """`imports` plans to import (those writing the most values, the later draws first: Hypothesis
    draws the simplest first), then one plan per kind of refusal in the order drawn, up to
    `examples`; more of the same kinds if there are not that many kinds."""
    values = [p for p in plans if p.kind == "value"]
    chosen = sorted(values, key=lambda p: (-sum(v is not None for v in p.expected.values()), -len(p.rows),
                                           -values.index(p)))[:imports]
    seen = {"value"}
    for p in plans:
        if len(chosen) >= examples:
            break
        if p.kind not in seen:
            chosen.append(p)
            seen.add(p.kind)
    for p in plans:
        if len(chosen) >= examples:
            break
        if p not in chosen:
            chosen.append(p)
    return chosen


def hypothesis_cases(src: Sources, record: str, key: str, examples: int) -> list[Case]:
    """`examples` cases for one column: one importing valid values, the others each refusing for
    a different reason, chosen among `DRAWS` derandomized draws."""
    plans = diverse(draw_plans(cell_plan(src, record, key)), examples)
    return [cell_case(src, p, n) for n, p in enumerate(plans)]


# -- the workbook's structure --------------------------------------------------------------------


def _uuid_at(sheet: Sheet, i: int) -> str:
    return sheet.rows[i][sheet.column(UUID_HEADER)].value


def _edit_height(src: Sources, book: XlsxBook, i: int = 1, value: float = 47.25,
                 header: str = "Chiều cao cột (m)", sheet_name: str | None = None) -> dict:
    """An ordinary edit riding along with a structural change: the import must still apply it."""
    sheet = book.sheet(sheet_name or src.sheet_name(SITES))
    j = sheet.column(header)
    sheet.set(i, j, number_cell(value))
    return {(_uuid_at(sheet, i), "height_m"): value}


def _case(kind: str, book_or_bytes, outcome, places=(), expected=None, **kw) -> Case:
    data = book_or_bytes.to_bytes() if isinstance(book_or_bytes, XlsxBook) else book_or_bytes
    return Case(f"xlsx/{kind}", kind.split("/")[0], "xlsx", data, outcome, list(places), expected or {}, **kw)


def structure_cases(src: Sources) -> list[Case]:
    S = src.sheet_name(SITES)
    sites = src.sheet(SITES)
    out: list[Case] = []
    # Columns deleted: never blanks the field; with an edit elsewhere in the row, the edit is applied.
    for key in FUZZED_COLUMNS[SITES] + ("deleted",):
        if key not in src._columns[SITES]:
            continue  # a column these forms do not have
        col = src.column(SITES, key)
        header = col.header("vi")
        book = src.fresh_book()
        sh = book.sheet(S)
        sh.delete_column(sh.column(header))
        required = col.kind == "field" and col.field.required and col.field.default is None
        if required:
            out.append(_case(f"column-deleted/{S}/{header}", book, REFUSE, [f"'{S}'", header],
                             note="a required column missing is a problem named in the list"))
            continue
        expected = _edit_height(src, book, 3, 51.5) if key != "height_m" else {}
        if key == "height_m":
            sh.set(3, sh.column("Tên trạm"), text_cell("Trạm đổi tên khi thiếu cột chiều cao"))
            expected = {(_uuid_at(sh, 3), "name"): "Trạm đổi tên khi thiếu cột chiều cao"}
        out.append(_case(f"column-deleted/{S}/{header}", book, IMPORT, expected=expected,
                         note="a missing column means 'not in this workbook': the field keeps its values"))
    for record in ("poles", "pole_attachments", "fibre_routes", "findings"):
        spec = src.specs[record]
        optional = [c for c in spec.columns if c.kind == "field" and not c.field.required]
        col = optional[len(optional) // 2]
        book = src.fresh_book()
        sh = book.sheet(spec.name("vi"))
        sh.delete_column(sh.column(col.header("vi")))
        out.append(_case(f"column-deleted/{spec.name('vi')}/{col.header('vi')}", book, IMPORT,
                         note="a missing column changes nothing"))
    # The UUID column deleted: the rows are a hand-typed list, matched by operator and site code.
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.delete_column(sh.column(UUID_HEADER))
    out.append(_case(f"column-deleted/{S}/UUID", book, IMPORT, unchanged_sheets={SITES},
                     note="rows without UUIDs are matched by operator + site code; nothing changes"))
    # The version column deleted, with an edit: `_base` still says which version the row left at.
    book = src.fresh_book()
    expected = _edit_height(src, book, 4, 33.5)
    sh = book.sheet(S)
    sh.delete_column(sh.column(VERSION_HEADER))
    out.append(_case(f"column-deleted/{S}/version+edit", book, (IMPORT, CONFLICT), expected=expected,
                     note="without the version the base may be unknown: applied, or kept as a conflict; "
                          "never an overwrite and never lost"))
    # Columns reordered (every sheet's, seeded), with an edit: order means nothing.
    rnd = random.Random(16)
    book = src.fresh_book()
    for record, spec in src.specs.items():
        sh = book.sheet(spec.name("vi"))
        order = list(range(len(sh.header)))
        rnd.shuffle(order)
        sh.reorder_columns(order)
    sh = book.sheet(S)
    expected = _edit_height(src, book, 5, 29.75)
    out.append(_case("columns-reordered/all-sheets+edit", book, IMPORT, expected=expected))
    # Headers as people retype them: without diacritics, in English, in capitals.
    for header, alias, key in (("Chiều cao cột (m)", "Chieu cao cot (m)", "height_m"),
                               ("Chiều cao cột (m)", "Tower height (m)", "height_m"),
                               ("Chiều cao cột (m)", "CHIỀU CAO CỘT", "height_m"), ("Tên trạm", "ten tram", "name"),
                               ("Tên trạm", "Site name", "name")):
        book = src.fresh_book()
        sh = book.sheet(S)
        j = sh.column(header)
        i = 6
        uuid = _uuid_at(sh, i)
        if key == "name":
            sh.set(i, j, text_cell("Trạm có tiêu đề gõ lại"))
            expected = {(uuid, "name"): "Trạm có tiêu đề gõ lại"}
        else:
            sh.set(i, j, number_cell(38.5))
            expected = {(uuid, "height_m"): 38.5}
        sh.set(0, j, text_cell(alias), keep_style=False)
        out.append(_case(f"header-alias/{S}/{alias}", book, IMPORT, expected=expected,
                         aliases={alias: key}))
    # A header nobody recognises: with an edit under it, the edit must not vanish.
    book = src.fresh_book()
    sh = book.sheet(S)
    j = sh.column("Tên trạm")
    sh.set(0, j, text_cell("Tên gọi khác XYZ"), keep_style=False)
    sh.set(7, j, text_cell("Tên mới dưới tiêu đề lạ"))
    out.append(_case(f"header-unknown/{S}/with-edit", book, REFUSE, [f"'{S}'", "Tên gọi khác XYZ"],
                     note="a renamed header not recognised is named, not dropped: its column holds an edit "
                          "that would otherwise be lost with a warning"))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(0, sh.column("Tên trạm"), text_cell("Tên gọi khác XYZ"), keep_style=False)
    out.append(_case(f"header-unknown/{S}/no-edit", book, IMPORT, warnings=["Tên gọi khác XYZ"],
                     note="nothing under the unknown header differs from the database: imported, the header named"))
    # Sheets deleted, renamed, reordered.
    for record, spec in src.specs.items():
        book = src.fresh_book()
        book.delete_sheet(spec.name("vi"))
        out.append(_case(f"sheet-deleted/{spec.name('vi')}", book, IMPORT,
                         note="a sheet not in the workbook says nothing about its records"))
    book = src.fresh_book()
    expected = _edit_height(src, book, 8, 44.0)
    book.rename_sheet(S, "Sites")
    out.append(_case("sheet-renamed/English", book, IMPORT, expected=expected))
    book = src.fresh_book()
    expected = _edit_height(src, book, 9, 42.0)
    book.rename_sheet(S, "Danh sách trạm gửi Sở")
    out.append(_case("sheet-renamed/unknown+edit", book, IMPORT, expected=expected,
                     note="a renamed sheet with our headers and UUIDs is still read as sites, by UUID"))
    book = src.fresh_book()
    expected = _edit_height(src, book, 10, 41.0)
    names = book.sheet_names
    rnd.shuffle(names)
    book.reorder_sheets(names)
    out.append(_case("sheets-reordered+edit", book, IMPORT, expected=expected))
    for sheet in ("_metadata", "_base_sites"):
        book = src.fresh_book()
        expected = _edit_height(src, book, 11, 40.5)
        book.delete_sheet(sheet)
        out.append(_case(f"sheet-deleted/{sheet}+edit", book, IMPORT, expected=expected,
                         note="the row's version still gives the base: the edit is applied"))
    # The metadata: a newer format or schema, another province.
    for key, value, place in (("format_version", 99, "mới hơn"), ("schema_version", 99, "mới hơn"),
                              ("province_code", "01", "tỉnh khác")):
        book = src.fresh_book()
        _edit_height(src, book, 12, 39.5)
        book.set_meta(key, value)
        out.append(_case(f"metadata/{key}={value}+edit", book, REFUSE, [place],
                         note="a workbook this version cannot read right is refused, edits and all"))
    # Rows: duplicated, foreign and damaged UUIDs, deleted, new, tombstoned, blanked.
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.rows.append(dict(sh.rows[13]))
    out.append(_case(f"row-duplicated/{S}", book, REFUSE, [f"'{S}'", f"dòng {len(sh.rows)}"]))
    book = src.fresh_book()
    sh = book.sheet(S)
    twin = dict(sh.rows[14])
    twin[sh.column("Tên trạm")] = text_cell("Bản sao khác tên")
    sh.rows.append(twin)
    out.append(_case(f"row-duplicated-different/{S}", book, REFUSE, [f"'{S}'", f"dòng {len(sh.rows)}"]))
    foreign = "5e1f0000-aaaa-4bbb-8ccc-000000000016"
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(15, sh.column(UUID_HEADER), text_cell(foreign))
    out.append(_case(f"uuid-foreign/existing-code/{S}", book, REFUSE, [f"'{S}'", "dòng 16"],
                     note="an unknown UUID with an existing operator + site code (issue 16 item 5)"))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(16, sh.column(UUID_HEADER), text_cell(foreign))
    sh.set(16, sh.column("Mã trạm"), text_cell("FZ_FOREIGN_0016"))
    row_values = {h: v for h, v in zip(sh.header, sh.values(16))}
    out.append(_case(f"uuid-foreign/new-code/{S}", book, IMPORT, expected={(foreign, "site_code"): "FZ_FOREIGN_0016"},
                     note=f"a record made elsewhere: inserted with its UUID ({row_values.get('Tên trạm')})"))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(17, sh.column(UUID_HEADER), text_cell("không-phải-uuid"))
    out.append(_case(f"uuid-damaged/{S}", book, REFUSE, [f"'{S}'", "dòng 18"]))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(18, sh.column(UUID_HEADER), text_cell(f"  {_uuid_at(src.sheet(SITES), 18).upper()} "))
    out.append(_case(f"uuid-capitals/{S}", book, IMPORT, note="spaces and capitals around a UUID are the same UUID"))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(19, sh.column("Mã trạm"), text_cell(sites.values(20)[0]))
    sh.set(19, sh.column("Doanh nghiệp"), text_cell(sites.values(20)[1]))
    out.append(_case(f"code-collision/{S}", book, REFUSE, [f"'{S}'"],
                     note="two live sites of one operator with one site code"))
    book = src.fresh_book()
    sh = book.sheet(S)
    del sh.rows[21]
    expected = _edit_height(src, book, 21, 36.0)
    out.append(_case(f"row-deleted/{S}+edit", book, IMPORT, expected=expected,
                     note="a row missing from the workbook is not a deletion"))
    book = src.fresh_book()
    sh = book.sheet(S)
    new = {sh.column(h): c for h, c in (("Mã trạm", text_cell("FZ_NEW_0001")), ("Doanh nghiệp", text_cell("Viettel")),
                                        ("Tên trạm", text_cell("Trạm mới gõ tay")), ("Vĩ độ", number_cell(18.3412)),
                                        ("Kinh độ", number_cell(105.9043)), ("Trạng thái", text_cell("Quy hoạch")))}
    sh.rows.append(new)
    out.append(_case(f"row-new/{S}", book, IMPORT, note="a row typed without UUID is a new site"))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.rows.append({sh.column("Tên trạm"): text_cell("Trạm thiếu mã và vị trí")})
    out.append(_case(f"row-new-incomplete/{S}", book, REFUSE, [f"'{S}'", f"dòng {len(sh.rows)}"]))
    # Tombstones: a site with tenants, a pole with attachments: the children go with the parent.
    for record, child in (("sites", "site_tenants"), ("poles", "pole_attachments")):
        book = src.fresh_book()
        sh = book.sheet(src.sheet_name(record))
        parent_key = PARENT_OF[child][1]
        with_children = {s.values[parent_key] for s in src.live(child).values()}
        i = next(i for i in range(1, len(sh.rows)) if _uuid_at(sh, i) in with_children)
        sh.set(i, sh.column(DELETE_HEADER), text_cell("x"))
        out.append(_case(f"tombstone/{src.sheet_name(record)}", book, IMPORT, deleted={_uuid_at(sh, i)},
                         note=f"'x' deletes the {record[:-1]}, and its {child} with it (issue 16 item 7)"))
    book = src.fresh_book()
    sh = book.sheet(S)
    keep = {sh.column(h) for h in (UUID_HEADER, VERSION_HEADER, "Cập nhật lúc (không sửa)")}
    sh.rows[22] = {j: c for j, c in sh.rows[22].items() if j in keep}
    out.append(_case(f"row-blanked/{S}", book, IMPORT, note="a blanked row is not a deletion and changes nothing",
                     unchanged_sheets={SITES}))
    # Children pointing nowhere.
    book = src.fresh_book()
    T = src.sheet_name("site_tenants")
    sh = book.sheet(T)
    sh.set(3, 0, text_cell("0f0f0f0f-1111-4222-8333-444444444444"))
    out.append(_case(f"parent-unknown/{T}", book, REFUSE, [f"'{T}'", "dòng 4"]))
    # Positions: swapped, outside Vietnam.
    book = src.fresh_book()
    sh = book.sheet(S)
    la, lo = sh.column("Vĩ độ"), sh.column("Kinh độ")
    sh.rows[23][la], sh.rows[23][lo] = sh.rows[23][lo], sh.rows[23][la]
    out.append(_case(f"position-swapped/{S}", book, REFUSE, [f"'{S}'", "dòng 24"]))
    for n, (place, (lat, lon)) in enumerate(sorted(OUTSIDE.items())):
        book = src.fresh_book()
        sh = book.sheet(S)
        sh.set(24 + n, la, number_cell(lat))
        sh.set(24 + n, lo, number_cell(lon))
        out.append(_case(f"position-outside/{place}/{S}", book, REFUSE, [f"'{S}'", f"dòng {25 + n}"],
                         note="issue 16 item 4: the Excel import checks positions as the GIS import does"))
    # Huge text: one rule everywhere (refused over Excel's 32,767; kept whole at 32,767).
    for key in ("name", "note", "address"):
        header = src.column(SITES, key).header("vi")
        book = src.fresh_book()
        sh = book.sheet(S)
        sh.set(30, sh.column(header), text_cell("Đ" * 40_000))
        out.append(_case(f"huge-text/40000/{key}", book, REFUSE, [f"'{S}'", "dòng 31", header]))
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(31, sh.column("Ghi chú"), text_cell("ẫ" * MAX_CELL))
    out.append(_case("huge-text/32767/note", book, IMPORT, expected={(_uuid_at(sh, 31), "note"): "ẫ" * MAX_CELL}))
    # A yes/no cell with a default, blanked: there is no "unknown" to store.
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(32, sh.column("Trong quy hoạch hạ tầng thụ động"), None)
    uuid = _uuid_at(sh, 32)
    out.append(_case(f"blank-boolean-with-default/{S}", book, IMPORT, expected={(uuid, "in_passive_plan"): "Không"},
                     note="read as the default 'Không', as the form's empty box; never a database error"))
    return out


def merge_cases(src: Sources) -> list[Case]:
    """A local edit since the export, then the workbook: same field -> a conflict, never an
    overwrite; different fields -> both kept."""
    S = src.sheet_name(SITES)
    sites = src.sheet(SITES)
    out = []
    uuid = _uuid_at(sites, 40)
    book = src.fresh_book()
    _edit_height(src, book, 40, 55.5)
    out.append(_case("conflict/height", book, CONFLICT, local_edits=[("sites", uuid, "height_m", 61.0)],
                     expected={(uuid, "height_m"): 55.5}))
    uuid = _uuid_at(sites, 41)
    book = src.fresh_book()
    sh = book.sheet(S)
    sh.set(41, sh.column("Tên trạm"), text_cell("Tên theo Sở"))
    out.append(_case("conflict/name", book, CONFLICT, local_edits=[("sites", uuid, "name", "Tên theo xã")],
                     expected={(uuid, "name"): "Tên theo Sở"}))
    uuid = _uuid_at(sites, 42)
    book = src.fresh_book()
    expected = _edit_height(src, book, 42, 57.5)
    out.append(_case("merge/different-fields", book, IMPORT, local_edits=[("sites", uuid, "name", "Đổi tên ở xã")],
                     expected=expected | {(uuid, "name"): "Đổi tên ở xã"},
                     note="the local name is not in the workbook's row: it must survive"))
    uuid = _uuid_at(sites, 43)
    book = src.fresh_book()
    out.append(_case("merge/untouched-row", book, IMPORT, local_edits=[("sites", uuid, "note", "Ghi ở xã sau khi xuất")],
                     expected={(uuid, "note"): "Ghi ở xã sau khi xuất"},
                     note="a row the workbook did not change leaves the local edit alone"))
    return out


# -- the container: zip, XML ----------------------------------------------------------------------

_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
    b'<!ENTITY lol%d "%s">' % (k, b"".join(b"&lol%s;" % (str(k - 1).encode() if k > 2 else b"") for _ in range(10)))
    for k in range(2, 10)) + b"]>")
_SECRET_FILE = "/etc/hostname"


def _with_dtd(book: XlsxBook, part: str, dtd: bytes, entity: bytes, replace_text: bytes | None) -> None:
    xml = book.parts[part]
    xml = xml.replace(b"?>", b"?>" + dtd, 1)
    if replace_text is not None:
        assert replace_text in xml, replace_text
        xml = xml.replace(replace_text, entity, 1)
    book.parts[part] = xml


def container_cases(src: Sources) -> list[Case]:
    raw = src.xlsx.read_bytes()
    out = []
    for frac in (0.1, 0.5, 0.9, 0.999):
        out.append(_case(f"zip-truncated/{frac}", raw[: int(len(raw) * frac)], REFUSE, ["case.xlsx"]))
    out.append(_case("zip-truncated/no-end-record", raw[:-22], REFUSE, ["case.xlsx"]))
    out.append(_case("not-a-workbook/empty", b"", REFUSE, ["case.xlsx"]))
    out.append(_case("not-a-workbook/random", bytes(random.Random(16).getrandbits(8) for _ in range(4096)), REFUSE,
                     ["case.xlsx"]))
    out.append(_case("not-a-workbook/xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, REFUSE, ["case.xlsx"]))
    out.append(_case("not-a-workbook/geojson", src.geojson["sites"].read_bytes()[:20000], REFUSE, ["case.xlsx"]))
    for part in ("xl/workbook.xml", "[Content_Types].xml"):
        book = src.fresh_book()
        del book.parts[part]
        out.append(_case(f"zip-part-missing/{part}", book, REFUSE, ["case.xlsx"]))
    book = src.fresh_book()
    del book.parts[book.part(src.sheet_name(SITES))]
    out.append(_case("zip-part-missing/sites-sheet", book, REFUSE, ["case.xlsx"]))
    # XML entities: billion laughs in the sheet, in the shared workbook part; an external entity.
    sites_part = src.book.part(src.sheet_name(SITES))
    first_name = src.sheet(SITES).rows[1][2].text.encode()
    book = src.fresh_book()
    _with_dtd(book, sites_part, _LAUGHS, b"<t>&lol9;</t>", b"<t>" + first_name + b"</t>")
    out.append(_case("xml-entity/billion-laughs/sheet", book, REFUSE, ["case.xlsx"]))
    book = src.fresh_book()
    _with_dtd(book, "xl/workbook.xml", _LAUGHS, b'name="&lol9;"', b'name="_metadata"')
    out.append(_case("xml-entity/billion-laughs/workbook", book, REFUSE, ["case.xlsx"]))
    secret = Path(_SECRET_FILE).read_text().strip() if Path(_SECRET_FILE).exists() else None
    book = src.fresh_book()
    _with_dtd(book, sites_part, f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{_SECRET_FILE}">]>'.encode(),
              b"<t>&xxe;</t>", b"<t>" + first_name + b"</t>")
    out.append(_case("xml-entity/external", book, REFUSE, ["case.xlsx"], secret=secret))
    book = src.fresh_book()
    _with_dtd(book, sites_part, '<!DOCTYPE x [<!ENTITY name "Trạm qua thực thể">]>'.encode(), b"<t>&name;</t>",
              b"<t>" + first_name + b"</t>")
    out.append(_case("xml-entity/internal", book, REFUSE, ["case.xlsx"],
                     note="a workbook with a DTD is not one Excel writes: refused, never expanded"))
    # A sheet that inflates 1000:1 (a zip bomb's shape, small enough to build quickly).
    book = src.fresh_book()
    part = book.part("_lists")
    book.parts[part] = book.parts[part].replace(b"<sheetData>", b"<sheetData>" + b" " * 30_000_000, 1)
    out.append(_case("zip-bomb/30MB-of-spaces", book, REFUSE, ["case.xlsx"]))
    return out


# -- sync packages (the workbook, its photos and a manifest in one .zip) -------------------------

def _zip(entries: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def package_cases(src: Sources) -> list[Case]:
    """`hatang import-xlsx DB IN.zip`: every hash checked before anything is written."""
    import hashlib
    import zipfile

    if src.package is None:
        return []
    with zipfile.ZipFile(src.package) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    manifest = json.loads(entries["hatang-package.json"])
    book_name = manifest["workbook"]["path"]
    photos = manifest["photos"]
    out = []

    def case(kind, data, outcome, places=(), **kw) -> Case:
        return Case(f"package/{kind}", "package-" + kind.split("/")[0], "zip", data, outcome, list(places), **kw)

    def with_manifest(m: dict, **changes) -> bytes:
        return _zip({**entries, **changes, "hatang-package.json": json.dumps(m, ensure_ascii=False).encode()})
    out.append(case("as-exported", src.package.read_bytes(), IMPORT, photos=len(photos),
                    note="two photos recorded and their files copied into the receiving database's folder"))
    altered = bytearray(entries[photos[0]["path"]])
    altered[len(altered) // 2] ^= 0xFF
    out.append(case("photo-altered", _zip({**entries, photos[0]["path"]: bytes(altered)}), REFUSE,
                    [photos[0]["file_name"]]))
    out.append(case("photo-missing", _zip({k: v for k, v in entries.items() if k != photos[1]["path"]}), REFUSE,
                    [photos[1]["file_name"]]))
    out.append(case("manifest-missing", _zip({k: v for k, v in entries.items() if k != "hatang-package.json"}),
                    REFUSE, ["case.zip"]))
    out.append(case("manifest-not-json", _zip({**entries, "hatang-package.json": b"{ not json"}), REFUSE,
                    ["case.zip"]))
    m = copy.deepcopy(manifest)
    m["workbook"]["sha256"] = "0" * 64
    out.append(case("workbook-hash-wrong", with_manifest(m), REFUSE, ["case.zip"]))
    raw = src.package.read_bytes()
    out.append(case("truncated", raw[: len(raw) * 2 // 3], REFUSE, ["case.zip"]))
    # A path that climbs out of the photo folder: refused, and nothing written outside it.
    m = copy.deepcopy(manifest)
    m["photos"][0]["path"] = m["photos"][0]["file_name"] = "../../thoat_ra_ngoai.jpg"
    out.append(case("path-traversal", with_manifest(m, **{"../../thoat_ra_ngoai.jpg": entries[photos[0]["path"]]}),
                    (REFUSE, IMPORT), ["case.zip"], photos=len(photos),
                    note="the manifest's name for a photo climbs out of the folder (its bytes are the photo's): "
                         "refused, or imported under the name the workbook gives it; never a file written "
                         "outside the photo folder (no thoat_ra_ngoai.jpg anywhere)"))
    # The workbook inside goes through the workbook's own checks.
    book = XlsxBook({})
    import io

    with zipfile.ZipFile(io.BytesIO(entries[book_name])) as z:
        book = XlsxBook({i.filename: z.read(i) for i in z.infolist()})
    sheet = book.sheet(src.sheet_name(SITES))
    sheet.set(3, sheet.column("Chiều cao cột (m)"), text_cell("NaN"))
    inner = book.to_bytes()
    m = copy.deepcopy(manifest)
    m["workbook"]["sha256"], m["workbook"]["size"] = hashlib.sha256(inner).hexdigest(), len(inner)
    out.append(case("workbook-nan", with_manifest(m, **{book_name: inner}), REFUSE,
                    [f"'{src.sheet_name(SITES)}'", "dòng 4"]))
    return out


# -- GIS files ---------------------------------------------------------------------------------

def _geojson(src: Sources, record: str = "sites") -> dict:
    return json.loads(src.geojson[record].read_text(encoding="utf-8"))


def _gis_case(kind: str, data: dict | bytes, outcome, places=(), expected=None, record="sites", **kw) -> Case:
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Case(f"geojson/{kind}", "gis-" + kind.split("/")[0], "geojson", raw, outcome, list(places),
                expected or {}, record=record, **kw)


def gis_cases(src: Sources) -> list[Case]:
    H = "Chiều cao cột (m)"
    out = []
    base = _geojson(src)
    feats = base["features"]

    def props(i):
        return feats[i]["properties"]

    def variant(edit: Callable[[dict], Any]) -> dict:
        d = copy.deepcopy(base)
        edit(d)
        return d
    layer = ["'case'"]
    for n, (text, why) in enumerate((("NaN", "nan"), ("abc", "wrong-type"), ("#N/A", "na"), ("Infinity", "inf"))):
        d = variant(lambda d, n=n, text=text: d["features"][n]["properties"].__setitem__(H, text))
        out.append(_gis_case(f"attribute/{why}", d, REFUSE, layer + [f"đối tượng {n + 1}"]))
    raw = json.dumps(base, ensure_ascii=False)
    key = json.dumps({H: props(4)[H]}, ensure_ascii=False)[1:-1]
    for literal in ("NaN", "Infinity"):
        assert key in raw
        out.append(_gis_case(f"attribute/{literal}-literal", raw.replace(key, f'"{H}": {literal}', 1).encode(), REFUSE,
                             layer + ["đối tượng 5"], note="GDAL reads a bare NaN as a float NaN"))
    d = variant(lambda d: [f["properties"].pop(H) for f in d["features"]])
    out.append(_gis_case("attribute-missing/all", d, IMPORT, unchanged_sheets={"sites"}))
    d = variant(lambda d: ([f["properties"].pop("Tên trạm") for f in d["features"]],
                           d["features"][6]["properties"].__setitem__(H, 41.5)))
    out.append(_gis_case("attribute-missing/all+edit", d, IMPORT, expected={(props(6)["UUID"], "height_m"): 41.5}))
    d = variant(lambda d: d["features"][7]["properties"].pop(H))
    out.append(_gis_case("attribute-missing/one-feature", d, IMPORT, unchanged_sheets={"sites"},
                         note="a feature without the key says nothing about the height; null would clear it"))
    d = variant(lambda d: d["features"][8]["properties"].__setitem__(H, None))
    out.append(_gis_case("attribute-null", d, IMPORT, expected={(props(8)["UUID"], "height_m"): None},
                         note="an explicit null clears the value, as a blanked cell does"))
    d = variant(lambda d: d["features"][9]["properties"].__setitem__("Tên trạm", "Đ" * 40_000))
    out.append(_gis_case("attribute-huge-text", d, REFUSE, layer + ["đối tượng 10"],
                         note="the same rule as the Excel import: refused over 32,767 characters"))
    d = variant(lambda d: d["features"][10]["properties"].__setitem__("Ghi chú", "ẫ" * MAX_CELL))
    out.append(_gis_case("attribute-32767", d, IMPORT, expected={(props(10)["UUID"], "note"): "ẫ" * MAX_CELL}))
    # Geometries.
    for n, (geom, why) in enumerate(((None, "null"), ({"type": "Point", "coordinates": []}, "empty-point"),
                                     ({"type": "LineString", "coordinates": [[105.9, 18.3], [105.91, 18.31]]}, "line"),
                                     ({"type": "Polygon", "coordinates": [[[105.9, 18.3], [105.91, 18.3],
                                                                           [105.91, 18.31], [105.9, 18.3]]]}, "polygon"),
                                     ({"type": "MultiPoint", "coordinates": [[105.9, 18.3], [105.95, 18.35]]},
                                      "multipoint"))):
        d = variant(lambda d, n=n, geom=geom: d["features"][11 + n].__setitem__("geometry", geom))
        kind = "geometry-empty" if why in ("null", "empty-point") else "geometry-mixed"
        out.append(_gis_case(f"{kind}/{why}", d, REFUSE, layer + [f"đối tượng {12 + n}"],
                             note="a feature that cannot be stored is named, never skipped"))
    for n, (place, (lat, lon)) in enumerate(sorted(OUTSIDE.items())):
        d = variant(lambda d, n=n, lat=lat, lon=lon: d["features"][20 + n]["geometry"].__setitem__("coordinates",
                                                                                                 [lon, lat]))
        out.append(_gis_case(f"position-outside/{place}", d, REFUSE, layer + [f"đối tượng {21 + n}"]))
    d = variant(lambda d: d["features"][26]["geometry"].__setitem__(
        "coordinates", list(reversed(d["features"][26]["geometry"]["coordinates"]))))
    out.append(_gis_case("position-swapped", d, REFUSE, layer + ["đối tượng 27"]))
    d = variant(lambda d: d["features"][27]["geometry"].__setitem__(
        "coordinates", [c + 0.003 for c in d["features"][27]["geometry"]["coordinates"]]))
    g = feats[27]["geometry"]["coordinates"]
    out.append(_gis_case("position-moved", d, IMPORT, expected={(props(27)["UUID"], "lat"): g[1] + 0.003,
                                                                (props(27)["UUID"], "lon"): g[0] + 0.003}))
    zones = _geojson(src, "zones")
    z = copy.deepcopy(zones)
    (x, y) = z["features"][0]["geometry"]["coordinates"][0][0]
    z["features"][0]["geometry"]["coordinates"] = [[[x, y], [x + .01, y + .01], [x + .01, y], [x, y + .01], [x, y]]]
    out.append(_gis_case("geometry-invalid/self-intersecting-polygon", z, REFUSE, layer + ["đối tượng 1"],
                         record="zones"))
    z = copy.deepcopy(zones)
    z["features"][1]["geometry"]["coordinates"] = [[[x, y], [x + .01, y], [x + .01, y + .01]]]
    closed = f"POLYGON (({x} {y}, {x + .01} {y}, {x + .01} {y + .01}, {x} {y}))"
    out.append(_gis_case("geometry-invalid/unclosed-ring", z, IMPORT, record="zones", warnings=["đối tượng 2"],
                         expected={(zones["features"][1]["properties"]["UUID"], "geom"): closed},
                         note="closed as GIS tools close it, with a warning naming the feature (issue 17)"))
    # Identities.
    d = variant(lambda d: d["features"][29]["properties"].__setitem__("UUID", props(28)["UUID"]))
    out.append(_gis_case("uuid-duplicated", d, REFUSE, layer + ["đối tượng 30"]))
    foreign = "5e1f0000-aaaa-4bbb-8ccc-0000000000ff"
    d = variant(lambda d: d["features"][30]["properties"].__setitem__("UUID", foreign))
    out.append(_gis_case("uuid-foreign/existing-code", d, REFUSE, layer + ["đối tượng 31"]))
    d = variant(lambda d: (d["features"][31]["properties"].__setitem__("UUID", foreign),
                           d["features"][31]["properties"].__setitem__("Mã trạm", "FZ_GIS_FOREIGN")))
    out.append(_gis_case("uuid-foreign/new-code", d, IMPORT, expected={(foreign, "site_code"): "FZ_GIS_FOREIGN"}))
    # The file itself.
    out.append(_gis_case("file-truncated", raw.encode()[: len(raw) // 2], REFUSE, ["case.geojson"]))
    out.append(_gis_case("file-not-json", b"\x00\x01 not json at all", REFUSE, ["case.geojson"]))
    for crs in ("urn:ogc:def:crs:EPSG::999999", "EPSG:0", "urn:ogc:def:crs:OGC:1.3:CRS999"):
        d = variant(lambda d, crs=crs: d.__setitem__("crs", {"type": "name", "properties": {"name": crs}}))
        out.append(_gis_case(f"crs-unknown/{crs}", d, REFUSE, ["case"],
                             note="coordinates in a CRS nobody knows cannot be placed: refused, not guessed"))
    out += gpkg_cases(src)
    return out


def gpkg_cases(src: Sources) -> list[Case]:
    """GeoPackage: a mixed-geometry layer, an unknown CRS, a truncated file, a missing column."""
    import tempfile

    import geopandas as gpd
    import pyogrio
    import shapely

    frame = gpd.read_file(src.gpkg, layer="sites")
    out = []

    def write(f, **kw) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "case.gpkg"
            pyogrio.write_dataframe(f, p, layer="sites", driver="GPKG", dataset_options={"VERSION": "1.3"}, **kw)
            return p.read_bytes()

    def case(kind, data, outcome, places=(), expected=None, **kw):
        return Case(f"gpkg/{kind}", "gpkg-" + kind.split("/")[0], "gpkg", data, outcome, list(places),
                    expected or {}, record="sites", **kw)
    f = frame.copy()
    f.loc[3, "geometry"] = shapely.LineString([(105.9, 18.3), (105.91, 18.31)])
    out.append(case("geometry-mixed/line-in-points", write(f, geometry_type="Unknown"), REFUSE, ["'sites'", "4"]))
    f = frame.copy()
    f.loc[4, "geometry"] = None
    out.append(case("geometry-empty/null", write(f), REFUSE, ["'sites'", "đối tượng 5"]))
    f = frame.copy()
    height = "Chiều cao cột (m)"
    uuid = f.loc[5, "UUID"]
    f.loc[5, height] = 43.25
    f = f.drop(columns=["Tên trạm", "Ghi chú"])
    out.append(case("attribute-missing/name+edit", write(f), IMPORT, expected={(uuid, "height_m"): 43.25}))
    f = frame.copy()
    f.loc[6, height] = float("nan")
    out.append(case("attribute/nan-is-null", write(f), IMPORT, expected={(f.loc[6, "UUID"], "height_m"): None},
                    note="SQLite stores a NaN as NULL: the GeoPackage holds an empty height, which clears it"))
    data = write(frame.copy())
    out.append(case("file-truncated", data[: len(data) // 2], REFUSE, ["case.gpkg"]))
    # An unknown CRS: a custom spatial reference the file defines only by a name.
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "case.gpkg"
        p.write_bytes(data)
        conn = sqlite3.connect(p)
        conn.execute("INSERT INTO gpkg_spatial_ref_sys VALUES ('Hệ tọa độ lạ', 990001, 'NONE', 990001, "
                     "'undefined', 'không ai biết')")
        conn.execute("UPDATE gpkg_geometry_columns SET srs_id = 990001")
        conn.execute("UPDATE gpkg_contents SET srs_id = 990001")
        conn.commit()
        conn.close()
        out.append(case("crs-unknown/undefined-srs", p.read_bytes(), REFUSE, ["sites"]))
    return out


# -- GIS attribute values drawn by Hypothesis ---------------------------------------------------

GIS_FUZZED = ("height_m", "name", "operator_code", "status", "permit_date", "in_passive_plan", "commune_code")


def _json_value(cell: Cell | None):
    """A cell as a GeoJSON property can hold it; None when a property cannot (error cells)."""
    if cell is None:
        return None, True
    if cell.f is not None or cell.t == "e":
        return None, False
    if cell.t == "inlineStr":
        return cell.text, True
    if cell.t == "b":
        return cell.v == "1", True
    if cell.s is not None and cell.v is not None and "." not in cell.v:  # a date cell
        return (EXCEL_EPOCH + dt.timedelta(days=int(cell.v))).isoformat(), True
    value = float(cell.v)
    return (int(value) if value.is_integer() and "." not in cell.v else value), True  # 3, not 3.0


@st.composite
def gis_plan(draw, src: Sources, key: str) -> CellPlan:
    features = src.states[SITES]
    order = sorted(features, key=lambda u: src.gis_order[u])
    i = draw(st.integers(0, len(order) - 1))
    uuid = order[i]
    edit = draw(value_strategy(src, SITES, key, uuid, "8").filter(lambda e: _json_value(e.cell)[1]))
    values = dict(src.states[SITES][uuid].values)
    values[key] = edit.stored
    ok = edit.ok and record_allowed(src.specs[SITES].form, values) and unique_allowed(src, SITES, {uuid: values})
    kind = "value" if ok else kind_of(edit.why) if not edit.ok else "record-rule"
    expected = {(uuid, key): edit.expected} if ok and edit.expected is not SAME else {}
    return CellPlan(SITES, key, [i], [edit], kind, [] if ok else [i + 1], expected)


def gis_value_case(src: Sources, plan: CellPlan, number: int) -> Case:
    base = _geojson(src)
    header = src.column(SITES, plan.key).header("vi")
    i, edit = plan.rows[0], plan.edits[0]
    value, _ = _json_value(edit.cell)
    base["features"][i]["properties"][header] = value
    ok = plan.kind == "value"
    case = _gis_case(f"value/{plan.key}/{number}", base, IMPORT if ok else REFUSE,
                     [] if ok else ["'case'", f"đối tượng {i + 1}"], plan.expected,
                     note=f"{header}: feature {i + 1}: {edit.why} ({str(value)[:60]!r})")
    case.kind = f"gis-cell:{plan.kind}"
    return case


def gis_hypothesis_cases(src: Sources, key: str, examples: int) -> list[Case]:
    """The same values as GeoJSON attributes of the sites layer, one feature per case."""
    plans = diverse(draw_plans(gis_plan(src, key)), examples)
    return [gis_value_case(src, p, n) for n, p in enumerate(plans)]


def all_cases(src: Sources, examples: int = 3) -> list[Case]:
    out = []
    for record, keys in FUZZED_COLUMNS.items():
        for key in keys:
            out += hypothesis_cases(src, record, key, examples)
    out += structure_cases(src) + merge_cases(src) + container_cases(src) + package_cases(src) + gis_cases(src)
    for key in GIS_FUZZED:
        out += gis_hypothesis_cases(src, key, examples)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from hatang_desktop.core.sample import generate_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the cases to")
    parser.add_argument("--examples", type=int, default=3, help="Hypothesis cases per fuzzed column")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    template = args.out / "template.db"
    if not template.exists():
        generate_sample(template, sites=300, seed=7)
    src = make_sources(template, args.out / "export")
    cases = all_cases(src, args.examples)
    folder = args.out / "cases"
    folder.mkdir(exist_ok=True)
    listing = []
    for c in cases:
        name = re.sub(r"[^\w.\-]+", "_", c.id) + "." + c.fmt
        (folder / name).write_bytes(c.data)
        listing.append(c.describe() | {"file": name})
    (args.out / "cases.json").write_text(json.dumps(listing, ensure_ascii=False, indent=1, default=str))
    print(f"{len(cases)} cases in {folder} (what each must do: {args.out / 'cases.json'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
