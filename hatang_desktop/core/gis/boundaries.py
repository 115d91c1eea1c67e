"""Administrative boundaries as people's files have them.

A province's commune polygons come from many hands: codes unpadded (`5665` for `05665`), names
with or without "Xã"/"Phường"/"P.", a province code on every feature, pre-2025 codes and names,
a commune in several features (islands), a code with a typo. This module decides, from the
values and not the headers alone:

- which attribute holds the unit codes: the one whose values are unit codes *at the level of the
  polygons* (a polygon the size of a commune is matched against communes, so the province code
  column that every commune feature carries is never taken for the commune's code);
- which 2025 unit each polygon is: by code, by name, or through the 2025 merges table for
  pre-2025 codes and names; an unknown code is named with the likely unit, never written unless
  the user takes the suggestion;
- that a polygon fits the unit's level: a commune-sized polygon never replaces the province's
  boundary, a province-sized one never a commune's;
- what the admin unit keeps of the attributes (population, households, area type).

Nothing here writes; `importer` turns the matches into boundary updates.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import text

from .. import admin_units
from ..geo.geodesy import geodesic_area_m2
from ..exchange.handtyped import header_key
from ..exchange.workbook_rows import NOT_IN_FILE
from ..text import fold, format_decimal, split_tones

# No 2025 commune is this large (the largest in the official table is about 1,100 km²) and no
# province this small (the smallest, Hải Phòng, about 3,200 km²).
PROVINCE_SIZED_KM2 = 2000.0
# A province's polygon covers at least this share of the province's known area (the sum of its
# communes' areas in the official table, or its stored surveyed boundary).
PROVINCE_SHARE = 0.5

CODE_KEYS = {"ma don vi", "ma dvhc", "ma", "code", "ma xa", "ma phuong", "admin code", "ma hanh chinh", "ma so",
             "madvhc", "maxa", "ma xa phuong", "commune code", "ward code", "ma dv", "ma huyen"}
PROVINCE_CODE_KEYS = {"ma tinh", "matinh", "province code", "ma tinh thanh", "province id", "ma cap tren",
                      "parent code", "ma tinh tp", "province"}
NAME_KEYS = {"ten", "ten don vi", "ten dvhc", "name", "ten xa", "ten phuong", "tenxa", "ten xa phuong",
             "commune name", "ward name", "ten dv"}
PROVINCE_NAME_KEYS = {"ten tinh", "province name", "tinh", "ten cap tren", "tinh thanh", "ten tinh tp"}
NOT_CODES = {"uuid", "phien ban", "version", "fid", "objectid", "stt", "ogc fid"}
ATTRIBUTE_KEYS = {
    "population": {"population", "pop", "dan so", "danso", "so dan", "tong dan so", "so nhan khau", "nhan khau",
                   "dan so nguoi"},
    "households": {"households", "household", "so ho", "soho", "ho", "so ho gia dinh", "ho gia dinh", "tong so ho",
                   "ho dan", "so ho dan"},
    "area_type": {"area type", "loai dia ban", "dia ban", "khu vuc", "loai khu vuc", "vung", "area", "dia hinh"},
}
TARGETS = [("code", "Mã đơn vị hành chính"), ("name", "Tên đơn vị"), ("population", "Dân số (người)"),
           ("households", "Số hộ"), ("area_type", "Loại địa bàn (thành thị, nông thôn, miền núi)")]
AREA_TYPES = {"urban": {"urban", "thanh thi", "do thi", "noi thi", "thanh pho", "city"},
              "rural": {"rural", "nong thon", "dong bang", "plain"},
              "mountain": {"mountain", "mountainous", "mien nui", "vung nui", "nui", "vung cao", "trung du mien nui",
                           "highland"}}
AREA_TYPE_VI = {"urban": "thành thị", "rural": "nông thôn", "mountain": "miền núi"}
# A unit's type before its name, as written with its marks (or abbreviated with a dot), and as
# typed without marks: "phuong" may be "Phường" or the name "Phương Liệt", so both are tried.
_PREFIXES = (("thành", "phố"), ("đặc", "khu"), ("thị", "trấn"), ("xã",), ("phường",), ("tỉnh",), ("tp.",), ("p.",),
             ("x.",), ("tt.",), ("f.",))
_ASCII_PREFIXES = (("thanh", "pho"), ("dac", "khu"), ("thi", "tran"), ("xa",), ("phuong",), ("tinh",), ("tp",),
                   ("p",), ("x",), ("tt",), ("f",))
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})


# -- names and codes ------------------------------------------------------------------------

def _keys(words: list[str]) -> tuple[str, str]:
    strict = []
    for w in words:
        bare, tones = split_tones(w.casefold())
        strict.append(bare + "".join(sorted(tones)))
    return " ".join(strict), " ".join(fold(w) for w in words)


def name_variants(name: str) -> tuple[tuple[str, str], ...]:
    """(strict, loose) keys of a unit's name without its type prefix, best first. Strict keeps the
    vowels' marks and each syllable's tone wherever it was typed ("Thuỷ" = "Thủy", decomposed =
    composed, any case, ’ = '); loose drops every diacritic ("Văn Lăng" = "Van Lang" = "Văn
    Lang", which in Thái Nguyên is another commune: strict is asked first). The reading without
    the prefix comes first, then the whole name; a prefix typed without marks is no more than a
    guess ("Phuong Liet": Phường Liệt or Phương Liệt)."""
    return _variants(str(name))


@functools.lru_cache(maxsize=65536)
def _variants(name: str) -> tuple[tuple[str, str], ...]:
    # Remembered: matching a country's boundaries asks for each name many times (is it a
    # commune's name, an old unit's, does it agree with the code's unit).
    s = unicodedata.normalize("NFC", name).translate(_APOSTROPHES)
    s = re.sub(r"\s*-\s*", " - ", s)
    s = re.sub(r"\.(?=\S)", ". ", s)            # "P.Thành Sen", "TP.Huế"
    words = s.split()
    lower = [w.casefold() for w in words]
    for prefix in _PREFIXES:
        n = len(prefix)
        if len(words) > n and tuple(lower[:n]) == prefix:
            return (_keys(words[n:]), _keys(words))   # "Phường Đúc" was a ward's whole name
    for prefix in _ASCII_PREFIXES:
        n = len(prefix)
        if len(words) > n and tuple(w.rstrip(".") for w in lower[:n]) == prefix:
            return (_keys(words[n:]), _keys(words))
    return (_keys(words),)


def name_keys(name: str) -> tuple[str, str]:
    """The best reading of name_variants()."""
    return name_variants(name)[0]


def code_text(value) -> str | None:
    """The digits of a code as a file holds it (5665, 5665.0, "05665", " 5665 "), else None."""
    if value is None or value is NOT_IN_FILE or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or value != int(value) or value < 0:
            return None
        value = int(value)
    t = str(value).strip()
    if t.endswith(".0"):
        t = t[:-2]
    return t if t.isdigit() and len(t) <= 5 else None


def _pad(code: str | None, width: int) -> str | None:
    return code.zfill(width) if code is not None and len(code) <= width else None


def _shown(value) -> str:
    return "" if value is None or value is NOT_IN_FILE else str(value).strip()


# -- what the database and the official lists hold ------------------------------------------

@dataclass(frozen=True)
class OldUnit:
    """A pre-2025 unit and one 2025 commune it went into (a split unit has several rows)."""
    code: str
    name: str
    new_code: str
    kind: str           # full or partial


@functools.lru_cache(maxsize=1)
def _merges() -> tuple[OldUnit, ...]:
    with (admin_units.resources_path() / "commune_merges_2025.csv").open(encoding="utf-8", newline="") as f:
        return tuple(OldUnit(r["old_code"], r["old_name"], r["commune_code"], r["kind"]) for r in csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def _national() -> dict[str, tuple[str, str]]:
    """Every 2025 commune code: (name, province code)."""
    return {c.code: (c.name, c.province_code) for p in admin_units.provinces() for c in admin_units.communes(p.code)}


class AdminIndex:
    """The database's admin units with the official lists, for matching a boundary file."""

    def __init__(self, db):
        self._db = db
        with db.session() as s:
            rows = s.execute(text("SELECT code, name, level FROM admin_units WHERE deleted = 0")).all()
            province = s.execute(text("SELECT value FROM meta WHERE key = 'province_code'")).scalar() or ""
        self.units = {r.code: (r.name, r.level) for r in rows}
        self.province = province if province in self.units else next(
            (c for c, (_n, lv) in self.units.items() if lv == "province"), "")
        self.communes = {c: n for c, (n, lv) in self.units.items() if lv == "commune"}
        self.national = _national()
        self.provinces = {p.code: p for p in admin_units.provinces()}
        self.strict: dict[str, list[str]] = {}
        self.loose: dict[str, list[str]] = {}
        for code, name in self.communes.items():
            s_key, l_key = name_keys(name)
            self.strict.setdefault(s_key, []).append(code)
            self.loose.setdefault(l_key, []).append(code)
        self.old_by_code: dict[str, list[OldUnit]] = {}
        self.old_strict: dict[str, list[OldUnit]] = {}
        self.old_loose: dict[str, list[OldUnit]] = {}
        self.constituents: dict[str, list[OldUnit]] = {}
        for o in _merges():
            self.old_by_code.setdefault(o.code, []).append(o)
            if o.new_code in self.communes:
                s_key, l_key = name_keys(o.name)
                self.old_strict.setdefault(s_key, []).append(o)
                self.old_loose.setdefault(l_key, []).append(o)
                self.constituents.setdefault(o.new_code, []).append(o)
        p = self.provinces.get(self.province)
        self.province_keys = {name_keys(n) for n in ((p.name, *p.former_names) if p else ())}
        if self.province in self.units:
            self.province_keys.add(name_keys(self.units[self.province][0]))

    @functools.cached_property
    def current(self) -> dict:
        """The units' stored boundaries and figures (read when a boundary layer asks)."""
        with self._db.session() as s:
            return {r.code: r for r in s.execute(text(
                "SELECT code, boundary, boundary_synthetic, population, households, area_type FROM admin_units "
                "WHERE deleted = 0 AND level IN ('province', 'commune')"))}

    @functools.cached_property
    def province_km2(self) -> float:
        row = self.current.get(self.province)
        if row is not None and row.boundary and not row.boundary_synthetic:
            return geodesic_area_m2(shapely.from_wkb(row.boundary)) / 1e6
        return sum(c.area_km2 or 0.0 for c in admin_units.communes(self.province))

    def label(self, code: str) -> str:
        return f"{code} {self.units[code][0]}" if code in self.units else code

    def province_sized(self, km2: float) -> bool:
        return km2 >= min(PROVINCE_SIZED_KM2, PROVINCE_SHARE * self.province_km2) if self.province_km2 else \
            km2 >= PROVINCE_SIZED_KM2

    # names ----------------------------------------------------------------------------------

    @staticmethod
    def _lookup(name: str, strict: dict, loose: dict) -> list:
        variants = name_variants(name)
        for table, k in ((strict, 0), (loose, 1)):
            found = [x for v in variants for x in table.get(v[k], ())]
            if found:
                return list(dict.fromkeys(found))
        return []

    def communes_named(self, name: str) -> list[str]:
        return self._lookup(name, self.strict, self.loose)

    def old_named(self, name: str) -> list[OldUnit]:
        return self._lookup(name, self.old_strict, self.old_loose)

    def names_agree(self, name: str, official: str) -> bool:
        b = name_keys(official)
        return any(a[0] == b[0] or a[1] == b[1] for a in name_variants(name))

    def is_province_name(self, name: str) -> bool:
        return any(v[0] == s or v[1] == lo for v in name_variants(name) for s, lo in self.province_keys)

    def near_communes(self, name: str) -> list[str]:
        """Communes whose name is close to `name` (a typo, a letter missing)."""
        _s, l_key = name_keys(name)
        if len(l_key) < 3:
            return []
        close = difflib.get_close_matches(l_key, list(self.loose), n=3, cutoff=0.8)
        return [c for key in close for c in self.loose[key]]


# -- which attribute holds what -------------------------------------------------------------

@dataclass
class Columns:
    code: str | None
    name: str | None
    attributes: dict[str, str]          # source attribute -> population / households / area_type
    share: float                        # features whose code or name names a unit
    strong: float                       # features whose name names a unit (or code, without names)


def _areas(g, rows: Sequence[int] | None = None) -> dict[int, float]:
    """Geodesic area in km² of the group's features (kept with the group: asked more than once)."""
    known = g.extra.setdefault("area_km2", {})
    for i in (range(len(g)) if rows is None else rows):
        if i in known:
            continue
        geom = g.geometries[i]
        try:
            known[i] = geodesic_area_m2(geom) / 1e6 if getattr(geom, "geom_type", "") in ("Polygon", "MultiPolygon") \
                else 0.0
        except Exception:  # a broken geometry is reported by the geometry check, not here
            known[i] = 0.0
    return {i: known[i] for i in (range(len(g)) if rows is None else rows)}


def _code_strength(index: AdminIndex, value, province_level: bool) -> tuple[int, str | None]:
    """How surely a value is a unit code at the feature's level, with the unit's official name."""
    digits = code_text(value)
    if digits is None:
        return 0, None
    if province_level:
        code = _pad(digits, 2)
        if code == index.province:
            return 3, index.units[code][0]
        if code in index.provinces:
            return 1, index.provinces[code].name
        return 0, None
    code = _pad(digits, 5)
    if code in index.communes:
        return 3, index.communes[code]
    old = [o for o in index.old_by_code.get(code, ()) if o.new_code in index.communes]
    if old:
        return 2, old[0].name
    if code in index.national:
        return 1, index.national[code][0]
    return 0, None


def _name_hit(index: AdminIndex, value, province_level: bool) -> bool:
    name = _shown(value)
    if not name or code_text(name) is not None:
        return False
    if province_level:
        return index.is_province_name(name)
    return bool(index.communes_named(name) or index.old_named(name))


def find_columns(g, index: AdminIndex) -> Columns:
    areas = _areas(g)
    level = {i: index.province_sized(km2) for i, km2 in areas.items()}
    skip = {c for c in g.columns if header_key(c) in NOT_CODES}
    # Names first: a code column is the one whose units agree with the names.
    name_col, best = None, (0, 0)
    for c in g.columns:
        if c in skip:
            continue
        values = g.column(c)
        hits = sum(_name_hit(index, v, level[i]) for i, v in enumerate(values))
        key = header_key(c)
        rank = (hits, key in NAME_KEYS)
        if hits and rank > best:
            name_col, best = c, rank
    if name_col is None:
        name_col = next((c for c in g.columns if header_key(c) in NAME_KEYS), None)
    names = g.column(name_col) if name_col else [None] * len(g)
    code_col, best = None, (0, 0, 0, 0)
    for c in g.columns:
        if c in skip or c == name_col:
            continue
        values = g.column(c)
        agree = weight = 0
        for i, v in enumerate(values):
            strength, official = _code_strength(index, v, level[i])
            agrees = bool(strength and _shown(names[i]) and index.names_agree(_shown(names[i]), official))
            agree += agrees
            # Another province's code counts when the name says so too: numbers 1, 2, 3... (a
            # feature id) read as Hà Nội's communes 00001, 00002...
            weight += strength if strength > 1 or agrees or not _shown(names[i]) else 0
        distinct = len({code_text(v) for v in values} - {None})
        key = header_key(c)
        header = 1 if key in CODE_KEYS else -1 if key in PROVINCE_CODE_KEYS else 0
        rank = (agree, weight, distinct, header)
        if weight and rank > best:
            code_col, best = c, rank
    if code_col is None:
        # No values name a unit: take the column headed as a unit code, never a province code
        # column, nor one holding nothing but the province's code.
        for c in g.columns:
            key = header_key(c)
            if c in skip or c == name_col or key not in CODE_KEYS:
                continue
            values = {code_text(v) for v in g.column(c)} - {None}
            if values and all(_pad(v, 2) in index.provinces for v in values):
                continue
            code_col = c
            break
    attributes = {}
    for c in g.columns:
        key = header_key(c)
        for target, keys in ATTRIBUTE_KEYS.items():
            if key in keys and c not in (code_col, name_col) and target not in attributes.values():
                attributes[c] = target
    hit = strong = 0
    codes = g.column(code_col) if code_col else [None] * len(g)
    coded = [_code_strength(index, codes[i], level[i])[0] > 0 for i in range(len(g))]
    # Codes alone, repeated on several features, are rather a commune column of other records
    # (zones in a commune); a unit in several parts says so by its names.
    repeated = len({code_text(codes[i]) for i in range(len(g)) if coded[i]}) < sum(coded)
    for i in range(len(g)):
        named = _name_hit(index, names[i], level[i])
        hit += named or (coded[i] and not repeated)
        strong += named or (coded[i] and not repeated and name_col is None)
    n = max(1, len(g))
    return Columns(code_col, name_col, attributes, hit / n, strong / n)


def ignored_note(mapping: dict[str, str | None]) -> str | None:
    ignored = [src for src, key in mapping.items() if key is None]
    if not ignored:
        return None
    return (f"thuộc tính không lưu vào đơn vị hành chính: {', '.join(ignored)} (chỉ lưu mã, tên, dân số, số hộ, "
            f"loại địa bàn) / attributes ignored: {', '.join(ignored)} (an admin unit keeps code, name, population, "
            "households and area type)")


# -- which unit each polygon is -------------------------------------------------------------

@dataclass
class Issue:
    """A problem with one feature (or the layer when `i` is None): nothing is written."""
    i: int | None
    name: str | None
    attribute: str | None
    value: Any
    message: str
    suggestion: tuple[str, str] | None = None     # (code, official name) the user may take


@dataclass
class BoundaryMatch:
    code: str
    name: str
    geometry: Any
    rows: list[int]                     # the group's feature positions it was made from
    label: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Matching:
    matches: list[BoundaryMatch]
    issues: list[Issue]
    warnings: list[str]


@dataclass
class _Feature:
    i: int
    km2: float
    code: str | None            # digits as the file has them
    name: str                   # as the file has it ("" when none)
    target: str | None = None   # the 2025 unit it is
    how: str = ""               # code, name, former, accepted, province
    old: OldUnit | None = None
    note: str | None = None

    @property
    def shown(self) -> str:
        return " ".join(p for p in (self.code or "", f"'{self.name}'" if self.name else "") if p)


def _km2(v: float, lang: str = "vi") -> str:
    return format_decimal(v, 0 if v >= 10 else 1, lang)


def match_features(g, mapping: dict[str, str | None], index: AdminIndex, rows: Sequence[int], *,
                   accept_name_match: bool = False, label=None) -> Matching:
    """Which 2025 unit of the database each of the group's features `rows` (valid polygons) is,
    its polygons unioned per unit, the attributes it keeps; problems and notes per feature."""
    label = label or (lambda i: None)
    code_src = next((s for s, k in mapping.items() if k == "code"), None)
    name_src = next((s for s, k in mapping.items() if k == "name"), None)
    attr_src = {k: s for s, k in mapping.items() if k in ATTRIBUTE_KEYS}
    issues: list[Issue] = []
    warnings: list[str] = []
    if code_src is None and name_src is None and not any(
            _province_claim(_Feature(i, 0.0, None, ""), index, g) for i in rows):
        issues.append(Issue(None, None, None, None,
                            "không có thuộc tính mã hoặc tên đơn vị hành chính để khớp ranh giới / no admin-unit "
                            "code or name attribute to match boundaries"))
        return Matching([], issues, warnings)
    areas = _areas(g, rows)
    features = []
    for i in rows:
        raw_code = _shown(g.values[i][g.columns.index(code_src)]) if code_src else ""
        code = code_text(raw_code) if raw_code else None
        name = _shown(g.values[i][g.columns.index(name_src)]) if name_src else ""
        f = _Feature(i, areas[i], code or (raw_code or None), name)
        features.append(f)
        if raw_code and code is None:
            issues.append(Issue(i, name or raw_code, code_src, raw_code,
                                "không phải mã đơn vị hành chính (chỉ gồm chữ số) / not an admin-unit code "
                                "(digits only)"))
            f.how = "bad"
    era = _era([f for f in features if f.how != "bad" and not index.province_sized(f.km2)], index)
    if era == "pre":
        warnings.append("các mã và tên là của trước 2025: khớp theo bảng sáp nhập 2025 / pre-2025 codes and "
                        "names: matched through the 2025 merges table")
    for f in features:
        if f.how == "bad":
            continue
        if index.province_sized(f.km2):
            _resolve_province(f, index, issues, g)
        else:
            _resolve_commune(f, index, issues, accept_name_match, g, era)
    others = [f for f in features if f.how == "other"]
    if others:
        shown = "; ".join(f"{f.shown} ({f.note})" for f in others[:5]) + (" ..." if len(others) > 5 else "")
        warnings.append(f"{len(others)} đối tượng thuộc tỉnh khác, bỏ qua / {len(others)} features of other "
                        f"provinces, skipped: {shown}")
    matched = [f for f in features if f.target]
    if others and not matched and not issues:
        issues.append(Issue(None, None, code_src, None,
                            f"không đối tượng nào thuộc {index.label(index.province)} của cơ sở dữ liệu này / no "
                            f"feature belongs to this database's province"))
    for f in matched:
        if f.note:
            warnings.append(f"đối tượng {g.index[f.i]}, {f.note}")
    by_unit: dict[str, list[_Feature]] = {}
    for f in matched:
        by_unit.setdefault(f.target, []).append(f)
    matches = []
    for code, parts in by_unit.items():
        if not _check_parts(code, parts, index, issues, g):
            continue
        geometry = _union([g.geometries[f.i] for f in parts])
        numbers = ", ".join(str(g.index[f.i]) for f in parts)
        if len(parts) > 1:
            warnings.append(
                f"{index.label(code)}: {len(parts)} đối tượng ({numbers}) được hợp thành một ranh giới"
                f"{' nhiều phần (MultiPolygon)' if geometry.geom_type == 'MultiPolygon' else ''} / {len(parts)} "
                f"features ({numbers}) unioned into one boundary"
                f"{' (MultiPolygon)' if geometry.geom_type == 'MultiPolygon' else ''}")
        attributes = _attributes(g, parts, attr_src, index, issues, code)
        first = parts[0]
        matches.append(BoundaryMatch(code, index.units[code][0], geometry, [f.i for f in parts],
                                     label(first.i) or first.name or code, attributes))
    return Matching(matches, issues, warnings)


def _union(geoms: list) -> Any:
    from .reader import single

    if len(geoms) == 1:
        return single(geoms[0])
    merged = shapely.union_all([shapely.force_2d(g) for g in geoms])
    if merged.geom_type == "GeometryCollection":  # touching parts may leave a line: keep the area
        polys = [p for p in merged.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        merged = shapely.union_all(polys)
    return single(merged)


def _issue(f: _Feature, message: str, suggestion=None) -> Issue:
    return Issue(f.i, f.name or f.code, None, None, message, suggestion)


def _province_claim(f: _Feature, index: AdminIndex, g) -> str | None:
    """What on a feature says it is the province: its code, its name, or any attribute holding the
    province's code or name (a province code column on a commune's polygon)."""
    if f.code is not None and len(f.code) <= 2 and _pad(f.code, 2) == index.province:
        return f"mã / code {f.code}"
    if f.name and index.is_province_name(f.name):
        return f"tên / name '{f.name}'"
    for c, v in zip(g.columns, g.values[f.i]):
        shown = _shown(v)
        if not shown:
            continue
        digits = code_text(v)
        if (digits is not None and len(digits) <= 2 and _pad(digits, 2) == index.province) or (
                digits is None and index.is_province_name(shown)):
            return f"{c} = {shown}"
    return None


def _resolve_province(f: _Feature, index: AdminIndex, issues: list[Issue], g) -> None:
    """A polygon the size of a province: this province (if large enough), another one, or a
    problem; never a commune."""
    claim = _province_claim(f, index, g)
    if claim:
        if f.km2 < PROVINCE_SHARE * index.province_km2:
            issues.append(_issue(f, _too_small(f, index, claim)))
            return
        f.target, f.how = index.province, "province"
        return
    code = _pad(f.code, 2) if f.code else None
    other = index.provinces.get(code) if code else next(
        (p for p in index.provinces.values() if f.name and index.names_agree(f.name, p.name)), None)
    if other is not None:
        f.how, f.note = "other", other.name
        return
    unit = _pad(f.code, 5) if f.code else None
    commune = unit if unit in index.communes else next(iter(index.communes_named(f.name)), None) if f.name else None
    if commune:
        issues.append(_issue(f, f"{f.shown}: vùng rộng {_km2(f.km2)} km², cỡ một tỉnh, không thể là ranh giới "
                                f"{index.label(commune)}; không ghi / {_km2(f.km2, 'en')} km², the size of a province: "
                                f"not the boundary of commune {commune}; not written"))
        return
    issues.append(_issue(f, f"{f.shown}: không khớp đơn vị hành chính nào của cơ sở dữ liệu / matches no admin "
                            "unit of this database"))


def _too_small(f: _Feature, index: AdminIndex, claim: str) -> str:
    who = f"{f.shown}: " if f.shown else ""
    return (f"{who}{claim} là của {index.label(index.province)}, nhưng vùng chỉ rộng {_km2(f.km2)} km² (tỉnh khoảng "
            f"{_km2(index.province_km2)} km²): ranh giới một xã không bao giờ thay ranh giới tỉnh; không ghi / "
            f"{claim} names the province, but the polygon is {_km2(f.km2, 'en')} km² (the province about "
            f"{_km2(index.province_km2, 'en')} km²): a commune's polygon never replaces the province's boundary; not "
            "written")


def _suggest(f: _Feature, index: AdminIndex, issues: list[Issue], accept: bool, code: str, head: str,
             why: str = "") -> None:
    if accept:
        f.target, f.how = code, "accepted"
        f.note = f"{head}; nhận theo tên / taken by name: {index.label(code)}{why}"
        return
    issues.append(_issue(f, f"{head}; có phải / did you mean {index.label(code)}?{why}",
                         (code, index.units[code][0])))


def _era(features: list[_Feature], index: AdminIndex) -> str | None:
    """Whether the layer's codes and names are pre-2025 ("pre") or 2025 ("2025"), when some of its
    features say so and none says otherwise; None when nothing tells (a commune that kept its
    code and name is both)."""
    pre = new = False
    for f in features:
        code = _pad(f.code, 5) if f.code else None
        if code and f.name:
            current = code in index.communes and index.names_agree(f.name, index.communes[code])
            former = bool(_old_pair(index, code, f.name))
        elif f.name:
            current, former = bool(index.communes_named(f.name)), bool(index.old_named(f.name))
        else:
            continue
        # A pre-2025 unit under a name no 2025 commune has (a 2025 name with an old code, "23938
        # Ia Mơ", may as well be the 2025 commune with a wrong code: it tells nothing).
        pre |= former and not current and not index.communes_named(f.name)
        new |= current and not former
    return "pre" if pre and not new else "2025" if new and not pre else None


def _resolve_commune(f: _Feature, index: AdminIndex, issues: list[Issue], accept: bool, g,
                     era: str | None = None) -> None:
    """A polygon the size of a commune: a 2025 commune of this province by code, name or the
    merges table; a suggestion when only the name fits; never the province."""
    code = _pad(f.code, 5) if f.code else None
    name = f.name
    by_name = index.communes_named(name) if name else []
    if era == "pre" and name:
        # A pre-2025 layer: its codes and names are the old units' (codes were reused since).
        old = _old_pair(index, code, name) if code else (
            index.old_named(name) if len({o.code for o in index.old_named(name)}) == 1 else [])
        if old:
            _former(f, old, index, issues)
            return
    if code in index.communes:
        official = index.communes[code]
        if not name or index.names_agree(name, official):
            f.target, f.how = code, "code"
            return
        old = _old_pair(index, code, name)
        if old:  # a pre-2025 code reused by another 2025 commune, with its pre-2025 name
            _former(f, old, index, issues)
            return
        if len(by_name) == 1:
            _suggest(f, index, issues, accept, by_name[0],
                     f"{f.shown}: mã {code} là {official}, còn tên là của {index.label(by_name[0])} / code {code} is "
                     f"{official}, the name is {by_name[0]}'s")
            return
        f.target, f.how = code, "code"
        f.note = (f"{f.shown}: tên trong tệp khác tên chính thức '{official}'; khớp theo mã / the file's name "
                  "differs from the official one; matched by code")
        return
    if code is not None:
        national = index.national.get(code)
        if national and national[1] != index.province and (not name or index.names_agree(name, national[0])):
            f.how, f.note = "other", f"{national[0]}, {index.provinces[national[1]].name}"
            return
        head = f"{f.shown}: không có mã này trong danh mục 2025 / no such code in 2025"
        old = _old_pair(index, code, name) if name else [
            o for o in index.old_by_code.get(code, ()) if o.new_code in index.communes]
        if len(by_name) == 1:
            # The name is a 2025 commune's: the code is wrong, or that commune's pre-2025 code.
            why = ""
            if old and {o.new_code for o in old} == {by_name[0]}:
                why = f" ({code} là mã trước 2025 của {old[0].name} / {code} was its pre-2025 code)"
            _suggest(f, index, issues, accept, by_name[0], head, why)
            return
        if old:
            _former(f, old, index, issues)
            return
        if len(by_name) > 1:
            issues.append(_issue(f, f"{head}; tên trùng nhiều xã / the name fits several communes: " + ", ".join(
                index.label(c) for c in by_name)))
            return
        _unknown(f, index, issues, accept, head, g)
        return
    if len(by_name) == 1:
        f.target, f.how = by_name[0], "name"
        return
    if len(by_name) > 1:
        issues.append(_issue(f, f"'{name}': tên trùng nhiều xã, cần mã để phân biệt / the name fits several "
                                "communes, a code is needed: " + ", ".join(index.label(c) for c in by_name)))
        return
    old = index.old_named(name) if name else []
    if old:
        codes = sorted({o.code for o in old})
        if len(codes) == 1:
            _former(f, old, index, issues)
            return
        issues.append(_issue(f, f"'{name}': tên trước 2025 của nhiều đơn vị ({', '.join(codes)}), cần mã để phân "
                                "biệt / a pre-2025 name of several units, a code is needed"))
        return
    head = f"'{name}': không có tên này trong danh mục 2025 / no such name in 2025" if name else \
        "không có mã hay tên đơn vị / no unit code or name"
    _unknown(f, index, issues, accept, head, g)


def _unknown(f: _Feature, index: AdminIndex, issues: list[Issue], accept: bool, head: str, g) -> None:
    """Nothing names a commune: a near name is suggested; a province code or name on a commune's
    polygon is refused as such."""
    near = index.near_communes(f.name) if f.name else []
    if len(near) == 1:
        _suggest(f, index, issues, accept, near[0], head)
        return
    claim = _province_claim(f, index, g)
    if claim:
        issues.append(_issue(f, _too_small(f, index, claim)))
        return
    more = f"; gần giống / close to: {', '.join(index.label(c) for c in near)}" if near else ""
    issues.append(_issue(f, head + more))


def _old_pair(index: AdminIndex, code: str, name: str) -> list[OldUnit]:
    """The pre-2025 unit with this code and name, in this province (its rows per 2025 commune)."""
    return [o for o in index.old_by_code.get(code, ())
            if o.new_code in index.communes and index.names_agree(name, o.name)]


def _former(f: _Feature, old: list[OldUnit], index: AdminIndex, issues: list[Issue]) -> None:
    new = sorted({o.new_code for o in old})
    first = old[0]
    if len(new) > 1 or any(o.kind != "full" for o in old):
        issues.append(_issue(f,
                             f"{f.shown}: {first.code} {first.name} (trước 2025) nay được chia cho "
                             f"{', '.join(index.label(c) for c in new)}; không tách được ranh giới của nó, hãy dùng "
                             f"tệp ranh giới 2025 / a pre-2025 unit now split between {', '.join(new)}: its boundary "
                             "cannot be divided; use a 2025 boundary file"))
        return
    f.target, f.how, f.old = new[0], "former", first
    if first.code == new[0] and len(index.constituents.get(new[0], ())) == 1 and \
            index.names_agree(first.name, index.communes[new[0]]):
        return  # a commune the reform left as it was: nothing to say
    f.note = (f"{f.shown}: đơn vị trước 2025 ({first.code} {first.name}), nay thuộc {index.label(new[0])} theo bảng "
              f"sáp nhập 2025 / a pre-2025 unit, now part of {new[0]} (2025 merges table)")


def _check_parts(code: str, parts: list[_Feature], index: AdminIndex, issues: list[Issue], g) -> bool:
    """A unit's polygons make its whole boundary: pre-2025 pieces all there, nothing mixed."""
    former = [f for f in parts if f.how == "former"]
    if code != index.province:
        for f in parts:
            if index.province_sized(f.km2):
                issues.append(_issue(f, f"{f.shown}: vùng rộng {_km2(f.km2)} km², cỡ một tỉnh, không thể "
                                                 f"là ranh giới {index.label(code)} / the size of a province"))
                return False
    if not former:
        return True
    if len(former) < len(parts):
        numbers = ", ".join(str(g.index[f.i]) for f in parts)
        issues.append(Issue(parts[0].i, index.label(code), None, None,
                            f"{index.label(code)}: tệp có cả ranh giới 2025 và ranh giới các đơn vị trước 2025 của "
                            f"nó (đối tượng {numbers}) / the file holds both the 2025 boundary and its pre-2025 "
                            "units'"))
        return False
    have = {f.old.code for f in former}
    missing = [o for o in index.constituents.get(code, ()) if o.code not in have]
    if missing:
        listed = ", ".join(f"{o.code} {o.name}{' (một phần / part)' if o.kind != 'full' else ''}" for o in missing)
        issues.append(Issue(former[0].i, index.label(code), None, None,
                            f"{index.label(code)} (2025) gồm cả {listed} mà tệp không có: ranh giới sẽ thiếu, "
                            f"không ghi / the 2025 commune also takes in {listed}, which the file lacks: its "
                            "boundary would be incomplete; not written"))
        return False
    return True


def _number(raw) -> int | None:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, (int, float)):
        if raw != raw or raw < 0 or raw != int(raw):
            raise ValueError
        return int(raw)
    t = re.sub(r"[\s\u00a0\u202f]", "", str(raw))
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", t):
        t = re.sub(r"[.,]", "", t)
    elif re.fullmatch(r"\d+[.,]0+", t):
        t = re.split(r"[.,]", t)[0]
    if not t.isdigit():
        raise ValueError
    return int(t)


def _attribute_value(key: str, raw):
    if key == "area_type":
        folded = fold(str(raw))
        for value, spellings in AREA_TYPES.items():
            if folded in spellings:
                return value
        raise ValueError
    return _number(raw)


def _attributes(g, parts: list[_Feature], sources: dict[str, str], index: AdminIndex, issues: list[Issue],
                code: str) -> dict[str, Any]:
    """The values the admin unit keeps. Several parts of one unit repeat its figures (they must
    agree); pre-2025 units add up to the 2025 commune's population and households."""
    out: dict[str, Any] = {}
    summed = any(f.how == "former" for f in parts)
    for key, src in sources.items():
        values = []
        for f in parts:
            raw = g.values[f.i][g.columns.index(src)]
            if raw is None or raw is NOT_IN_FILE or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                values.append((f, _attribute_value(key, raw)))
            except (ValueError, TypeError):
                allowed = "; ".join(f"{AREA_TYPE_VI[k]} ({k})" for k in AREA_TYPES) if key == "area_type" else None
                issues.append(Issue(f.i, f.name or f.code, src, raw,
                                    f"cần {allowed} / expected one of these" if allowed else
                                    "cần một số nguyên không âm / a whole number, not negative, is expected"))
        if not values:
            continue   # nothing given: the stored value stays
        if summed and key != "area_type":
            out[key] = sum(v for _f, v in values)
            continue
        distinct = {v for _f, v in values}
        if len(distinct) > 1:
            shown = ", ".join(f"{v} (đối tượng {g.index[f.i]})" for f, v in values)
            issues.append(Issue(parts[0].i, index.label(code), src, None,
                                f"các phần của {index.label(code)} ghi khác nhau: {shown} / the parts of one unit "
                                "disagree"))
            continue
        out[key] = values[0][1]
    return out


def boundary_changes(row, geometry, synthetic: bool, attributes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (stored, new)} of what writing this boundary would change in the admin unit `row`
    (code, boundary, boundary_synthetic, population, households, area_type): the shape as
    `boundary_km2` (areas), then the figures the file gives. The same shape in another vertex
    order or ring direction (GeoJSON turns outer rings counter-clockwise) is no change."""
    out: dict[str, tuple[Any, Any]] = {}
    stored = shapely.from_wkb(row.boundary) if row is not None and row.boundary is not None else None
    same = stored is not None and bool(row.boundary_synthetic) == bool(synthetic) and \
        shapely.normalize(stored).equals_exact(shapely.normalize(geometry), 1e-9)
    if not same:
        out["boundary_km2"] = (None if stored is None else round(geodesic_area_m2(stored) / 1e6, 2),
                               round(geodesic_area_m2(geometry) / 1e6, 2))
    for key, value in attributes.items():
        if getattr(row, key, None) != value:
            out[key] = (getattr(row, key, None), value)
    return out
