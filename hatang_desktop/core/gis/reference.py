"""Reference points that are not yet survey records: sites to verify.

A department that starts a survey from an OpenStreetMap extract of masts, or from an operator's or
the ministry's list of coordinates, has points without an operator or without a site code. They
are imported as **sites to verify**: status `to_verify` ("Cần xác minh"), operator `UNKNOWN`
("Chưa xác định") when the source names none we know, a code made from the source's id
(`OSM-n123456`, `<file>-<id>`), the source's id in `source_ref` and its tags or attributes as a
JSON object in `source_tags`. The indicators and the rules never count them; an inspector who
chooses the operator, the code and the status in the site's form makes one an ordinary site.

Which layers: a point layer that looks like OpenStreetMap (`@id`, `node/123` ids, `man_made`,
`tower:type`), or one whose best reading as sites lacks only the operator or the code column.
OSM tags are read for what they say about a mast; points that are not clearly telecom are skipped
with a reason (a mast or tower with no type only unless `include_untyped`).

Importing the same source again changes nothing: a point is matched by its source id (even to a
site verified or deleted since), else to any live site within 10 m, and a matched point is left
as the database has it (the survey, not the reference, is the truth).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ..exchange.handtyped import header_key
from ..exchange.workbook_rows import NOT_IN_FILE, WorkbookRow
from ..field_values import MAX_TEXT_CHARS
from ..operators import UNKNOWN, normalise_operator
from ..storage.dialect import bbox_filter, bbox_params, dialect_of
from .reader import FeatureGroup, single

STATUS = "to_verify"
MATCH_RADIUS_M = 10.0
OSM_ID = re.compile(r"^(node|way|relation)/(\d+)$")
OSM_TAGS = {"man_made", "tower:type", "communication:mobile_phone", "tower:construction"}
ID_KEYS = {"id", "stt", "fid", "objectid", "object id", "so thu tu", "ma so", "ma diem", "so hieu", "osm id"}
# Synthetic attributes a reference layer's rows are built from (never in a source file).
SOURCE_CODE = "(mã theo nguồn)"
SOURCE_OPERATOR = "(doanh nghiệp theo nguồn)"
SOURCE_STATUS = "(trạng thái: cần xác minh)"
SOURCE_REF = "(nguồn tham chiếu)"
SOURCE_TAGS = "(thuộc tính nguồn)"
SOURCE_NOTE = "(ghi chú nguồn)"
SOURCE_NAME = "(tên theo nguồn)"
SOURCE_HEIGHT = "(chiều cao theo nguồn)"
SOURCE_TOWER = "(loại cột theo nguồn)"
OWN_KEYS = {"site_code", "operator_code", "status", "source_ref", "source_tags"}
# OSM tower:construction and location values that name one of our tower types.
OSM_CONSTRUCTION = {"guyed_mast": "guyed_mast", "guyed": "guyed_mast", "freestanding": "ground_tower",
                    "lattice": "ground_tower", "self_supporting": "ground_tower", "concealed": "camouflaged",
                    "hidden": "camouflaged", "dissimulated": "camouflaged", "tree": "camouflaged"}
OSM_ROOF = {"roof", "rooftop"}


@dataclass
class Skipped:
    """A feature of a reference layer left out, and why (listed, never a reason to refuse)."""
    layer: str
    feature: int
    name: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"layer": self.layer, "feature": self.feature, "name": self.name, "reason": self.reason}

    def __str__(self) -> str:
        named = f" '{self.name}'" if self.name else ""
        return f"lớp '{self.layer}', đối tượng {self.feature}{named}: {self.reason}"


# -- which layers ------------------------------------------------------------------------------

def _present(v) -> bool:
    return v is not None and v is not NOT_IN_FILE and str(v).strip() != ""


def is_osm(g: FeatureGroup) -> bool:
    """An OpenStreetMap extract as overpass-turbo, QuickOSM or ogr2ogr write it."""
    if g.kind != "point":
        return False
    cols = set(g.columns)
    if "@id" in cols or {"man_made", "tower:type"} & cols or {"osm_id", "osm_type"} <= cols:
        return True
    for c in ("id", "osm_id", "@osm_id"):
        if c in cols:
            values = [v for v in g.column(c) if _present(v)]
            if values and all(OSM_ID.match(str(v)) for v in values):
                return True
    return False


def osm_mapping(g: FeatureGroup) -> dict[str, str | None]:
    """What the preview shows for an OSM layer: the tags read, each under the field it feeds."""
    shown = {"@id": "source_ref", "id": "source_ref", "name": "name", "operator": "operator_code",
             "height": "height_m", "ref": "note", "tower:construction": "tower_type"}
    out = {c: shown.get(c, "source_tags") for c in g.columns}   # every tag is kept in the JSON
    if "@id" in out and "id" in out:
        out["id"] = None
    return out


def lacks_identity(mapping: dict[str, str | None], folder_operator: str | None) -> bool:
    """A sites reading without a code column, or without an operator (column or folder name):
    a list of reference points, not survey records."""
    keys = set(mapping.values())
    return "site_code" not in keys or ("operator_code" not in keys and not folder_operator)


def list_mapping(g: FeatureGroup, mapping: dict[str, str | None]) -> dict[str, str | None]:
    """A reference list's own attributes: its status is the source's, not ours (kept in the
    tags); a KML placemark name taken as the code is the point's name."""
    out = dict(mapping)
    for src, key in out.items():
        if key == "status":
            out[src] = None
    names = [src for src, key in out.items() if key == "site_code" and src.strip().lower() == "name"]
    if names and "name" not in out.values():
        out[names[0]] = "name"
    return out


# -- rows of a reference layer -------------------------------------------------------------------

def _json_tags(g: FeatureGroup, i: int) -> str | None:
    tags: dict[str, Any] = {}
    for c, v in zip(g.columns, g.values[i]):
        if _present(v) and not (isinstance(v, str) and len(v) > 2000):
            tags[c] = v if isinstance(v, (str, int, float, bool)) else str(v)
    if "id" in tags and tags.get("id") == tags.get("@id"):
        del tags["id"]   # GDAL repeats an OSM feature's id as an attribute
    if not tags:
        return None
    out = json.dumps(tags, ensure_ascii=False, default=str)
    while len(out) > MAX_TEXT_CHARS and tags:  # never more than a workbook cell holds
        tags.pop(next(reversed(tags)))
        out = json.dumps(tags, ensure_ascii=False, default=str)
    return out or None


def _code_part(value) -> str:
    s = str(int(value)) if isinstance(value, float) and value == int(value) else str(value).strip()
    return re.sub(r"[^\w.\-/ ]+", "-", s).strip("- ") or "x"


def _file_prefix(path: Path) -> str:
    return re.sub(r"[^\w.\-]+", "_", Path(path).stem).strip("_.-")[:20] or "DS"


def _height(raw) -> float | None:
    """OSM `height`: "30", "30 m", "30.5", "98 ft"; the first of "30;25"."""
    if not _present(raw):
        return None
    s = str(raw).split(";")[0].strip().lower().replace(",", ".")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(m|meter|meters|metre|metres|ft|feet|')?", s)
    if not m:
        return None
    value = float(m.group(1)) * (0.3048 if m.group(2) in ("ft", "feet", "'") else 1.0)
    return round(value, 1) if 1 <= value <= 300 else None


def _operators(raw) -> tuple[list[str], list[str]]:
    """Operator codes named by an OSM `operator` (or a list's operator cell), and the names not
    understood. "Viettel;VNPT" names two."""
    known, unknown = [], []
    if not _present(raw):
        return known, unknown
    for part in re.split(r"[;,/]", str(raw)):
        part = part.strip()
        if not part:
            continue
        code = normalise_operator(part)
        if code is None:   # "VNPT Hà Tĩnh", "Viettel Nghệ An": the operator's provincial branch
            words = [w for w in re.split(r"[\s\-_.()]+", part) if w]
            code = next((c for w in words if (c := normalise_operator(w))), None)
        if code and code not in (UNKNOWN, "OTHER"):
            if code not in known:
                known.append(code)
        else:
            unknown.append(part)
    return known, unknown


def _osm_id(at_id, full_id, osm_type, osm_id) -> tuple[str, str] | None:
    """(type, number) of an OSM element: overpass-turbo's "@id"/"id" ("node/123"), QuickOSM's
    "full_id" ("n123") or its "osm_type" and "osm_id"."""
    m = OSM_ID.match(str(at_id).strip()) if at_id else None
    if m:
        return m.group(1), m.group(2)
    m = re.fullmatch(r"([nwr])(\d+)", str(full_id).strip()) if full_id else None
    if m:
        return {"n": "node", "w": "way", "r": "relation"}[m.group(1)], m.group(2)
    kind = str(osm_type or "").strip().lower()
    number = _code_part(osm_id) if osm_id is not None else ""
    if kind in ("node", "way", "relation") and number.isdigit():
        return kind, number
    return None


def _osm_telecom(tags: dict[str, Any], include_untyped: bool) -> str | None:
    """Why an OSM point is not taken as a telecom site, or None when it is."""
    tower = str(tags.get("tower:type") or "").strip().lower()
    man_made = str(tags.get("man_made") or "").strip().lower()
    mobile = str(tags.get("communication:mobile_phone") or "").strip().lower()
    comms = [k for k, v in tags.items() if k.startswith("communication:") and _present(v)
             and str(v).strip().lower() not in ("no", "0", "false")]
    if tower == "communication" or comms or man_made == "communications_tower":
        return None
    if tower:
        return (f"tower:type={tags['tower:type']}: không phải cột viễn thông / not a telecom tower")
    if mobile in ("no", "false", "0"):
        return "communication:mobile_phone=no: không có thiết bị di động / no mobile equipment"
    if man_made in ("mast", "tower"):
        if include_untyped:
            return None
        return (f"man_made={tags['man_made']} không có tower:type, chưa rõ là cột viễn thông (dùng "
                "--include-untyped để nhập) / no tower:type: not clearly telecom (use --include-untyped)")
    return "không phải cột hoặc tháp (man_made=mast|tower) / not a mast or tower"


def prepare(db, g: FeatureGroup, mapping: dict[str, str | None], path: Path, *, osm: bool,
            folder_operator: str | None, include_untyped: bool,
            skipped: list[Skipped]) -> tuple[FeatureGroup, dict[str, str | None], list[str]]:
    """The group to parse (kept features, with the synthetic attributes that make each a site to
    verify) and its mapping, plus notes for the preview. Features left out go to `skipped`."""
    from ..geo.parse import OutsideVietnamError, check_in_vietnam

    province = _province_shape(db) if osm else None
    cols = {c: j for j, c in enumerate(g.columns)}
    src_of = {key: src for src, key in mapping.items() if key}
    id_col = next((c for c in ("@id", "id") if osm and c in cols), None) or next(
        (c for c in g.columns if header_key(c) in ID_KEYS), None)
    prefix = _file_prefix(path)
    what = "điểm tham chiếu OpenStreetMap" if osm else "danh sách điểm không có mã trạm hoặc doanh nghiệp"
    notes = [f"{what}: nhập thành trạm 'Cần xác minh', không tính vào chỉ tiêu và quy tắc / reference points: "
             "imported as sites to verify, not counted in indicators or rules"]
    extra_cols = [SOURCE_CODE, SOURCE_OPERATOR, SOURCE_STATUS, SOURCE_REF, SOURCE_TAGS, SOURCE_NOTE]
    if osm:
        extra_cols += [SOURCE_NAME, SOURCE_HEIGHT, SOURCE_TOWER]
    values, geoms, index = [], [], []
    tenants: list[list[str]] = []
    own_refs: list[str | None] = []   # OSM `ref`: perhaps the named operator's own site code
    seen_refs: set[str] = set()
    for i in range(len(g)):
        row = g.values[i]

        def get(c):
            return row[cols[c]] if c in cols and _present(row[cols[c]]) else None

        name = get("name") if osm else (get(src_of["name"]) if "name" in src_of else None)
        tags = {c: row[j] for c, j in cols.items() if _present(row[j])}
        note: list[str] = []
        if osm:
            why = _osm_telecom(tags, include_untyped)
            geom = g.geometries[i]
            if why is None and g.kind == "point" and hasattr(geom, "is_empty") and not geom.is_empty:
                p = single(geom) if geom.geom_type != "MultiPoint" else geom.geoms[0]
                try:
                    check_in_vietnam(float(p.y), float(p.x))
                except OutsideVietnamError as exc:
                    why = f"ngoài lãnh thổ Việt Nam / outside Vietnam ({exc})"
                if why is None and province is not None and not province.covers(p):
                    why = ("ngoài ranh giới tỉnh của cơ sở dữ liệu này / outside this database's province "
                           f"({p.y:.5f}, {p.x:.5f})")
            if why is not None:
                skipped.append(Skipped(g.layer, g.index[i], str(name) if name else None, why))
                continue
            osm_id = _osm_id(get(id_col) if id_col else None, get("full_id"), get("osm_type"), get("osm_id"))
            if osm_id:
                ref = f"osm:{osm_id[0]}/{osm_id[1]}"
                code = f"OSM-{osm_id[0][0]}{osm_id[1]}"
            else:
                ref = f"{path.name}#{g.index[i]}"
                code = f"OSM-{prefix}-{g.index[i]}"
            ops, unknown = _operators(get("operator"))
            note.append(f"OpenStreetMap {ref[4:] if ref.startswith('osm:') else ref}")
            if get("ref"):
                note.append(f"ref {get('ref')}")
            if unknown:
                note.append(f"doanh nghiệp theo nguồn / operator in the source: {'; '.join(unknown)}")
            height = _height(get("height"))
            if get("height") and height is None:
                note.append(f"height {get('height')} (không đọc được / not understood)")
            construction = str(get("tower:construction") or "").strip().lower()
            tower = OSM_CONSTRUCTION.get(construction)
            if str(get("location") or "").strip().lower() in OSM_ROOF:
                tower = "rooftop_pole"
            extra = [name, height, tower]
            own_ref = str(get("ref")).strip() if get("ref") else None
        else:
            raw_id = get(id_col) if id_col else None
            own_code = get(src_of["site_code"]) if "site_code" in src_of else None
            key = raw_id if raw_id is not None else own_code if own_code is not None else g.index[i]
            ref = f"{path.name}#{_code_part(key)}"
            code = str(own_code).strip() if own_code is not None else f"{prefix}-{_code_part(key)}"[:40]
            ops, unknown = _operators(get(src_of["operator_code"]) if "operator_code" in src_of else None)
            if unknown:
                note.append(f"doanh nghiệp theo nguồn / operator in the source: {'; '.join(unknown)}")
            note.append(f"danh sách / list {path.name}")
            extra = []
            own_ref = None
        if not ops and not osm and folder_operator not in (None, UNKNOWN, "OTHER"):
            ops = [folder_operator]   # an operator's own list, named after it
        if ref in seen_refs:
            skipped.append(Skipped(g.layer, g.index[i], str(name) if name else None,
                                   f"trùng mã nguồn {ref} với một đối tượng trước / same source id as an "
                                   "earlier feature"))
            continue
        seen_refs.add(ref)
        operator = ops[0] if ops else UNKNOWN
        values.append(list(row) + [code, operator, STATUS, ref, _json_tags(g, i), "; ".join(note)] + extra)
        geoms.append(g.geometries[i])
        index.append(g.index[i])
        tenants.append(ops)
        own_refs.append(own_ref)
    own = OWN_KEYS | {"note"}
    new_mapping = {c: (None if osm or mapping.get(c) in own else mapping.get(c)) for c in g.columns}
    new_mapping.update({SOURCE_CODE: "site_code", SOURCE_OPERATOR: "operator_code", SOURCE_STATUS: "status",
                        SOURCE_REF: "source_ref", SOURCE_TAGS: "source_tags", SOURCE_NOTE: "note"})
    if osm:
        new_mapping.update({SOURCE_NAME: "name", SOURCE_HEIGHT: "height_m", SOURCE_TOWER: "tower_type"})
    elif "note" in src_of:  # the list's own note goes first, then where the point came from
        for k, row in enumerate(values):
            own = row[cols[src_of["note"]]]
            if _present(own):
                row[len(g.columns) + 5] = f"{own}; {row[len(g.columns) + 5]}"
    group = FeatureGroup(g.layer, g.kind, list(g.columns) + extra_cols, values, geoms, index, g.crs_note,
                         {**g.extra, "reference_tenants": tenants, "reference_refs": own_refs})
    return group, new_mapping, notes


def _province_shape(db):
    """The province's surveyed boundary, widened by ~500 m, when the database has one (an OSM
    extract by bounding box takes the neighbours' masts too); None for a drawn or missing one."""
    import shapely

    with db.session() as s:
        row = s.execute(text("SELECT a.boundary FROM admin_units a JOIN meta m ON m.key = 'province_code' AND "
                             "m.value = a.code WHERE a.level = 'province' AND a.deleted = 0 AND "
                             "a.boundary IS NOT NULL AND a.boundary_synthetic = 0")).first()
    if row is None:
        return None
    shape = shapely.from_wkb(row[0]).buffer(0.005)
    shapely.prepare(shape)
    return shape


def finish(db, g: FeatureGroup, rows: list[WorkbookRow]) -> list[WorkbookRow]:
    """Mark parsed rows as reference points: their tenants are the operators the source names
    (none for an unknown operator), their commune the one their position lies in."""
    from ..editing import commune_at

    tenants = dict(zip(g.index, g.extra.get("reference_tenants", ())))
    refs = dict(zip(g.index, g.extra.get("reference_refs", ())))
    for r in rows:
        r.extra["reference"] = True
        r.extra["own_ref"] = refs.get(r.extra.get("feature"))
        r.extra["tenants"] = [(op, None, ()) for op in tenants.get(r.extra.get("feature"), [])]
        v = r.values
        if not v.get("commune_code") and v.get("lat") is not None and v.get("lon") is not None:
            v["commune_code"] = commune_at(db, v["lat"], v["lon"])
    return rows


# -- matching ------------------------------------------------------------------------------------

def match(db, rows: list[WorkbookRow]) -> int:
    """Drop the reference rows (and their tenant rows) the database already has: by source id
    (live or deleted: an inspector who deleted a mast that is not there does not get it back),
    by an OSM `ref` that is the named operator's site code, else any live site within 10 m.
    Returns how many were dropped (they count as unchanged)."""
    from ..geo.geodesy import geodesic_distance_m

    known: set[int] = set()
    with db.session() as s:
        for k, r in enumerate(rows):
            if r.record != "sites" or not r.extra.get("reference") or not r.is_new:
                continue
            v = r.values
            found = s.execute(text("SELECT uuid FROM sites WHERE source_ref = :r LIMIT 1"),
                              {"r": v.get("source_ref")}).scalar()
            own_ref = r.extra.get("own_ref")
            if found is None and own_ref and v.get("operator_code") not in (None, UNKNOWN):
                found = s.execute(text("SELECT uuid FROM sites WHERE deleted = 0 AND operator_code = :o AND "
                                       "site_code = :c"), {"o": v["operator_code"], "c": own_ref}).scalar()
            if found is None and v.get("lat") is not None and v.get("lon") is not None:
                d = 0.0002
                for uuid, lat, lon in s.execute(text(
                        f"SELECT t.uuid, t.lat, t.lon FROM sites t WHERE {bbox_filter(dialect_of(s), 'sites', 't')} "
                        "AND t.deleted = 0"), bbox_params(v["lon"] - d, v["lat"] - d, v["lon"] + d, v["lat"] + d)):
                    if geodesic_distance_m(v["lat"], v["lon"], lat, lon) <= MATCH_RADIUS_M:
                        found = uuid
                        break
            if found is not None:
                known.add(id(r))
    if not known:
        return 0
    rows[:] = [r for r in rows if id(r) not in known and id(r.extra.get("parent_row")) not in known]
    return len(known)
