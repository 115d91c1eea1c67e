"""Lists typed by hand, as people really send them: a title block above the header, headers
merged over two rows, with or without diacritics or in English, no UUID column.

We find the header row, guess which record type the sheet holds from its headers, and say how
each column was understood so the preview can show it (and the user can correct it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import fold
from ..storage.dialect import bbox_filter, bbox_params, dialect_of
from .layout import ColumnSpec, SheetSpec

HEADER_SCAN_ROWS = 30
IGNORED_HEADERS = {"stt", "tt", "so tt", "so thu tu", "no", "no.", "ghi chu khac"}


@dataclass
class HeaderGuess:
    spec: SheetSpec
    header_row: int                  # 0-based index of the last header row
    header_rows: int                 # 1 or 2
    mapping: dict[int, ColumnSpec]   # sheet column index -> our column
    headers: dict[int, str]          # sheet column index -> header text as written
    unknown: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return len(self.mapping)


def header_key(text) -> str:
    """A header as written reduced to what identifies it: no diacritics, case, units in brackets
    or punctuation ("Chiều cao cột (m)" and "CHIEU CAO COT" give the same key)."""
    key = fold(str(text or ""))
    key = re.sub(r"\(.*?\)", " ", key)          # units and notes in brackets
    key = re.sub(r"[^a-z0-9 ]+", " ", key)
    return re.sub(r"\s+", " ", key).strip()


def _spellings(c: ColumnSpec) -> set[str]:
    out = {header_key(c.header("vi")), header_key(c.header("en")), header_key(c.label.vi), header_key(c.label.en)}
    if c.column is not None:
        out |= {header_key(a) for a in c.column.aliases}
    return {s for s in out if s}


def _headers_one(rows: list[list], r: int) -> dict[int, str]:
    return {j: str(v) for j, v in enumerate(rows[r]) if v not in (None, "")}


def _headers_two(rows: list[list], r: int) -> dict[int, str]:
    """Row r-1 is a merged group header ("Tọa độ" over "Kinh độ" and "Vĩ độ"): carry it right
    over the empty cells a merge leaves, and join it with row r where row r has text."""
    top, bottom = rows[r - 1], rows[r]
    out, carried = {}, None
    for j in range(max(len(top), len(bottom))):
        t = top[j] if j < len(top) else None
        b = bottom[j] if j < len(bottom) else None
        if t not in (None, ""):
            carried = str(t)
        elif b in (None, ""):
            carried = None
        if b not in (None, ""):
            out[j] = f"{carried} {b}" if carried else str(b)
        elif t not in (None, ""):
            out[j] = str(t)
    return out


def match_headers(headers: dict[int, str], spec: SheetSpec) -> tuple[dict[int, ColumnSpec], list[str]]:
    """Columns (by index) understood as the sheet's columns, and the headers left unknown."""
    table = {}
    for c in spec.columns:
        if c.kind in ("field", "system", "deleted"):
            for s in _spellings(c):
                table.setdefault(s, c)
    mapping, unknown, taken = {}, [], set()
    for j, text in sorted(headers.items()):
        key = header_key(text)
        candidates = [key]
        words = key.split()
        # "toa do kinh do" -> try the tail ("kinh do"), then the head ("toa do")
        candidates += [" ".join(words[k:]) for k in range(1, len(words))]
        c = next((table[k] for k in candidates if k in table and table[k].key not in taken), None)
        if c is None:
            if key not in IGNORED_HEADERS:
                unknown.append(text)
            continue
        mapping[j] = c
        taken.add(c.key)
    return mapping, unknown


def guess_header(rows: list[list], specs: list[SheetSpec]) -> HeaderGuess | None:
    """The best (record type, header row) for a sheet, or None if nothing looks like ours."""
    best: HeaderGuess | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(rows))):
        variants = [(1, _headers_one(rows, r))]
        if r > 0:
            variants.append((2, _headers_two(rows, r)))
        for n, headers in variants:
            if len(headers) < 2:
                continue
            for spec in specs:
                mapping, unknown = match_headers(headers, spec)
                guess = HeaderGuess(spec, r, n, mapping, headers, unknown)
                required = [c for c in spec.columns if c.kind == "field" and c.field.required
                            and c.field.type != "reference"]
                found = sum(1 for c in required if c in mapping.values())
                rank = (found, guess.score, -n)
                if best is None or rank > best_rank:
                    best, best_rank = guess, rank
    if best is None or best.score < 2:
        return None
    return best


def apply_mapping(guess: HeaderGuess, corrections: dict[str, str | None]) -> None:
    """The user's corrections of how columns were understood: header as written -> column key
    (None: ignore the column). A key given to one column is taken from any other."""
    by_key = {c.key: c for c in guess.spec.columns}
    for j, header in guess.headers.items():
        if header not in corrections:
            continue
        key = corrections[header]
        guess.mapping.pop(j, None)
        if key is None:
            continue
        if key not in by_key:
            raise KeyError(f"unknown column {key!r} for {guess.spec.record}")
        for other in [i for i, c in guess.mapping.items() if c.key == key]:
            del guess.mapping[other]
        guess.mapping[j] = by_key[key]
    guess.unknown = [h for j, h in guess.headers.items() if j not in guess.mapping and header_key(h) not in IGNORED_HEADERS]


def position_reader(province_code: str):
    """Read a position from two cells of a hand-typed list: decimal or DMS, possibly swapped,
    or VN-2000 X/Y in the province's zone. Returns (lat, lon, note for the preview or None)."""
    from ..field_values import FieldError
    from ..geo.parse import CoordinateError, check_in_vietnam, is_in_vietnam, parse_angle
    from ..geo.vn2000 import vn2000_to_wgs84

    def angle(raw) -> float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        text = str(raw).strip()
        try:
            return float(text.replace(" ", "").replace(",", "."))
        except ValueError:
            return parse_angle(text)

    def read(lat_raw, lon_raw):
        if lat_raw in (None, "") or lon_raw in (None, ""):
            raise FieldError("thiếu vĩ độ hoặc kinh độ / latitude or longitude missing")
        try:
            a, b = angle(lat_raw), angle(lon_raw)
        except CoordinateError as exc:
            raise FieldError(str(exc)) from None
        if max(abs(a), abs(b)) > 1000:
            north, east = max(a, b), min(a, b)  # X is the northing in VN-2000, whichever column
            try:
                lat, lon = vn2000_to_wgs84(north, east, province_code)
            except CoordinateError as exc:
                raise FieldError(str(exc)) from None
            check_in_vietnam(lat, lon)
            return float(lat), float(lon), "đã chuyển từ VN-2000 / converted from VN-2000"
        if is_in_vietnam(a, b):
            return a, b, None
        if is_in_vietnam(b, a):
            return b, a, "vĩ độ và kinh độ bị đảo, đã đổi lại / latitude and longitude were swapped"
        try:
            check_in_vietnam(a, b)
        except CoordinateError as exc:
            raise FieldError(str(exc)) from None
        return a, b, None

    return read


def hand_typed_specs(layout: list[SheetSpec], forms) -> list[SheetSpec]:
    """The record types a hand-typed list can hold. A BTS list often carries the technologies
    of its operator in one cell ("2G/3G/4G"): the sites sheet learns that column too."""
    by_record = {s.record: s for s in layout}
    tech = forms["site_tenants"].field("technologies")
    tech_col = ColumnSpec("technologies", tech.label, "field", tech, tech.columns()[0], (), 12)
    sites = by_record["sites"]
    sites = SheetSpec(sites.record, sites.title, sites.columns + (tech_col,), sites.form)
    return [sites, by_record["poles"], by_record["fibre_routes"]]


def split_tenants(rows):
    """Turn a hand-typed site row's operator and technologies into its tenant row."""
    import uuid

    from ..operators import UNKNOWN
    from .workbook_rows import WorkbookRow

    out = []
    for r in rows:
        techs = r.values.pop("technologies", None) if r.record == "sites" else None
        out.append(r)
        # An operator nobody has checked (a site to verify) is on no site yet: no tenant for it.
        if r.record == "sites" and r.values.get("operator_code") and r.values["operator_code"] != UNKNOWN:
            out.append(WorkbookRow("site_tenants", r.row, str(uuid.uuid4()), True, None, False,
                                   {"site_uuid": r.uuid, "operator_code": r.values["operator_code"],
                                    "tenant_site_code": None, "technologies": techs},
                                   matched_by="new", extra={"parent_row": r, "notes": []}))
    return out


MATCH_ONE_BY_ONE = 2000   # more new rows than this: match_bulk's joins


def match_existing(db, rows) -> None:
    """Give hand-typed rows (no UUID) the identity of the record they describe, if there is one:
    operator + site code, else the same operator within 10 m; pole code; route operator + code."""
    import uuid as uuidlib

    from sqlalchemy import text

    from ..geo.geodesy import geodesic_distance_m

    with db.session() as s:
        if sum(1 for r in rows if r.is_new) > MATCH_ONE_BY_ONE:
            from .match_bulk import match_existing_bulk

            match_existing_bulk(s, rows)   # a query per row is too many: hash joins, one spatial query
            return
        for r in rows:
            if not r.is_new or r.record == "site_tenants":
                continue
            v, found, how = r.values, None, None
            if r.record == "sites":
                found = s.execute(text("SELECT uuid FROM sites WHERE deleted = 0 AND operator_code = :o "
                                       "AND site_code = :c"), {"o": v.get("operator_code"),
                                                                "c": v.get("site_code")}).scalar()
                how = "operator+code"
                if found is None and v.get("lat") is not None:
                    # The nearest within 10 m: two sites of one operator 4 m apart (a rooftop
                    # pole beside a tower) each match their own, never both the first one found.
                    d, nearest = 0.0002, 10.0
                    for uuid, lat, lon in s.execute(text(
                            f"SELECT t.uuid, t.lat, t.lon FROM sites t WHERE {bbox_filter(dialect_of(s), 'sites', 't')} "
                            "AND t.deleted = 0 AND t.operator_code = :o"),
                            bbox_params(v["lon"] - d, v["lat"] - d, v["lon"] + d, v["lat"] + d)
                            | {"o": v.get("operator_code")}):
                        distance = geodesic_distance_m(v["lat"], v["lon"], lat, lon)
                        if distance <= nearest:
                            found, how, nearest = uuid, "position", distance
            elif r.record == "poles":
                found = s.execute(text("SELECT uuid FROM poles WHERE deleted = 0 AND code = :c"),
                                  {"c": v.get("code")}).scalar()
                how = "code"
            elif r.record == "fibre_routes":
                found = s.execute(text("SELECT uuid FROM fibre_routes WHERE deleted = 0 AND operator_code = :o "
                                       "AND code = :c"), {"o": v.get("operator_code"), "c": v.get("code")}).scalar()
                how = "operator+code"
            if found:
                r.uuid, r.is_new, r.matched_by = found, False, how
        for r in rows:
            if r.record != "site_tenants" or "parent_row" not in r.extra:
                continue
            parent = r.extra["parent_row"]
            r.values["site_uuid"] = parent.uuid
            found = s.execute(text("SELECT uuid FROM site_tenants WHERE deleted = 0 AND site_uuid = :s AND "
                                   "operator_code = :o"), {"s": parent.uuid, "o": r.values["operator_code"]}).scalar()
            r.uuid = found or str(uuidlib.uuid4())
            r.is_new, r.matched_by = found is None, parent.matched_by if found else "new"
