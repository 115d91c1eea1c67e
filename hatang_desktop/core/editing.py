"""Editing surveyed records: save from a form, move, reshape, tombstone, duplicates, history.

Every edit is one transaction (`Database.operation`), so the change log attributes it to one user
action, and returns an `EditResult` naming that operation and what it changed (`core.changes`,
read back from the change log). Undo and redo work on those operations (core/undo.py): the log
holds every old value, so no edit keeps a copy of its own. Rows are never hard-deleted (the
schema refuses), so undoing the creation of a record tombstones it, and redoing brings the same
UUID back.

Values are validated against the form definition (forms/*.yaml) before anything is written: a
save is refused with every problem at once, as (field key, message) pairs; a sub-list row's key is
"site_tenants[2].operator_code".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import schema
from .geo.errors import CoordinateError
from .geo.geodesy import geodesic_distance_m
from .geo.parse import check_in_vietnam
from .changes import Changes, changes_of_operation
from .errors import InvalidInputError
from .messages import in_language
from .exchange.records import from_db, to_db, to_wkt
from .field_values import FieldError, parse_value
from .forms import FieldDef, FormDef, Forms, load_forms
from .model import new_uuid, utcnow
from .storage.database import Database

# Record types by what their forms (forms/*.yaml) hold.
EDITABLE = schema.top_level()  # sites, poles, fibre_routes, zones, findings
CHILDREN = schema.children()  # sites -> site_tenants, poles -> pole_attachments
POINT_TABLES = schema.having("position")  # sites, poles, findings
GEOMETRY_TABLES = schema.having("geometry")  # fibre_routes, zones
BOOKKEEPING = ("id", "uuid", "version", "updated_at", "updated_by", "source")
DUPLICATE_RADIUS_M = 10.0
POSITION_DECIMALS = 7   # what the form shows of a latitude or longitude (ui/editing/fields.PositionField)


def _record_name(table: str) -> str:
    """A record type inside a sentence (an operation's description, a message): "trạm BTS", "cột"."""
    short = schema.record_label(table, "vi", short=True)
    return short[:1].lower() + short[1:]


# -- errors ------------------------------------------------------------------------------------

class ValidationFailed(InvalidInputError):
    """Values that do not fit the form: nothing was written. `problems` are (field key, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = list(problems)

        def line(lang: str) -> str:
            return "; ".join(f"{k}: {in_language(m, lang)}" if k else in_language(m, lang)
                             for k, m in self.problems)
        super().__init__(line("vi"), line("en"))


class StaleEdit(InvalidInputError):
    """The record changed after the edit (another edit, an import): undoing would overwrite it."""


class EditConflict(InvalidInputError):
    """The record changed since its form was opened (an import, another window), in a field this
    edit changes too, to another value. Nothing is written: the user sees both values and decides.
    `fields` holds (field key, value when the form opened, value now, value typed); the key
    `SUB_LIST` stands for the whole sub-list (tenants, attachments)."""

    SUB_LIST = "*children"

    def __init__(self, fields: list[tuple[str, Any, Any, Any]], current: dict[str, Any],
                 current_children: list[dict[str, Any]] | None, changed: set[str] = frozenset()):
        self.fields = fields
        self.changed = set(changed)  # every field the user changed, clashing or not
        self.current = current
        self.current_children = current_children
        names = ", ".join(k for k, *_ in fields)
        super().__init__(f"bản ghi đã thay đổi từ lúc mở biểu mẫu ({names}) / the record changed since "
                         f"the form was opened ({names})")


@dataclass(frozen=True)
class Duplicate:
    """Another live site that looks like the one being saved."""
    uuid: str
    site_code: str
    operator_code: str
    name: str | None
    lat: float
    lon: float
    distance_m: float
    same_code: bool  # the same operator already has this code: the database refuses a second one

    @property
    def blocking(self) -> bool:
        return self.same_code


class DuplicateFound(InvalidInputError):
    """Saving would make a duplicate site; the caller asks the user (or refuses a same-code one)."""

    def __init__(self, duplicates: list[Duplicate]):
        self.duplicates = list(duplicates)
        parts = [f"{d.operator_code} {d.site_code} ({'cùng mã' if d.same_code else f'cách {d.distance_m:.1f} m'})"
                 for d in self.duplicates]
        super().__init__("trạm có thể bị trùng với: " + ", ".join(parts) + " / possible duplicate site")


# -- results -----------------------------------------------------------------------------------

@dataclass
class EditResult:
    """One edit done: its operation in the change log and what it changed there."""
    table: str
    uuid: str
    description: str
    operation_id: int | None = None
    changes: Changes = field(default_factory=Changes)

    @property
    def changed(self) -> bool:
        """False: the values were already so, nothing was written (nothing to undo)."""
        return bool(self.changes)


def edit_result(db: Database, table: str, uuid: str, description: str, operation_id: int | None) -> EditResult:
    """The result of operation `operation_id` (committed), its changes read from the change log."""
    return EditResult(table, uuid, description, operation_id, changes_of_operation(db, operation_id))


class _Tracker:
    """Writes within one operation, stamped with its user, source and time."""

    def __init__(self, session: Session):
        self.s = session
        self.now = str(utcnow())

    def row(self, table: str, uuid: str) -> dict | None:
        r = self.s.execute(text(f"SELECT * FROM {table} WHERE uuid = :u"), {"u": uuid}).mappings().first()
        return None if r is None else dict(r)

    def data(self, table: str, uuid: str) -> dict | None:
        r = self.row(table, uuid)
        return None if r is None else {k: v for k, v in r.items() if k not in BOOKKEEPING}

    def insert(self, table: str, uuid: str, cols: dict[str, Any]) -> None:
        cols = dict(cols) | {"uuid": uuid, "version": 1, "updated_at": self.now,
                             "updated_by": self.s.info["user"], "source": self.s.info["source"]}
        cols.setdefault("deleted", 0)
        self.s.execute(text(f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                       cols)

    def update(self, table: str, uuid: str, cols: dict[str, Any]) -> bool:
        """Write the columns that differ; False when none do (no version bump, nothing logged)."""
        current = self.row(table, uuid)
        if current is None:
            raise InvalidInputError(f"không có bản ghi {uuid} trong {table} / no such record")
        changed = {c: v for c, v in cols.items() if not _same(current.get(c), v)}
        if not changed:
            return False
        params = changed | {"_now": self.now, "_user": self.s.info["user"], "_source": self.s.info["source"],
                            "_uuid": uuid}
        sets = ", ".join(f"{c} = :{c}" for c in changed)
        self.s.execute(text(f"UPDATE {table} SET {sets}, version = version + 1, updated_at = :_now, "
                            "updated_by = :_user, source = :_source WHERE uuid = :_uuid"), params)
        return True


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        try:
            return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is not None and b is not None and int(a) == int(b)
    return a == b


# -- validation --------------------------------------------------------------------------------

class _Communes(Mapping):
    """The communes, code -> name, read as asked. A form sends a code, and looking one code up
    is an index read, where loading every commune of the country (3,300 among 58,000 villages
    in admin_units) cost 15 ms of each save; a name typed instead loads them all once."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._all: dict[str, str] | None = None

    def __getitem__(self, code: str) -> str:
        if self._all is not None:
            return self._all[code]
        name = self.s.execute(text("SELECT name FROM admin_units WHERE code = :c AND level = 'commune' "
                                   "AND deleted = 0"), {"c": code}).scalar()
        if name is None:
            raise KeyError(code)
        return name

    def __contains__(self, code) -> bool:
        try:
            self[code]
        except KeyError:
            return False
        return True

    def _load(self) -> dict[str, str]:
        if self._all is None:
            self._all = dict(self.s.execute(text(
                "SELECT code, name FROM admin_units WHERE level = 'commune' AND deleted = 0")).all())
        return self._all

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def items(self):
        return self._load().items()


def _communes(session: Session) -> Mapping:
    return _Communes(session)


def _raw_for(f: FieldDef, raw):
    if f.type == "technologies" and isinstance(raw, (list, tuple, set)):
        return "/".join(sorted(raw))
    if f.type == "geometry" and isinstance(raw, shapely.Geometry):
        return to_wkt(raw)
    if f.type == "date" and isinstance(raw, str) and len(raw) >= 10 and raw[4] == "-":
        return dt.date.fromisoformat(raw[:10])
    return raw


def validate(form: FormDef, raw: dict[str, Any], *, lists=None, communes: dict[str, str] | None = None,
             prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse a record's raw values (as typed, or as stored) against its form.

    Returns (values keyed like the exchange's columns: lat/lon for a position, WKT for a
    geometry, codes for choices) and the problems as (field key, message)."""
    lists = lists if lists is not None else load_forms().lists
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    bad: set[str] = set()
    for f in form.fields:
        if f.type == "position":
            pos = raw.get(f.key)
            lat_raw, lon_raw = (pos if isinstance(pos, (tuple, list)) else (raw.get("lat"), raw.get("lon")))
            try:
                lat = parse_value(f, lat_raw, lists=lists, column="lat")
                lon = parse_value(f, lon_raw, lists=lists, column="lon")
                if (lat is None) != (lon is None):
                    raise FieldError("cần cả vĩ độ và kinh độ", "both latitude and longitude are needed")
                # Inside Vietnam: form.problems below, the rule every import applies too.
            except (FieldError, CoordinateError) as exc:
                problems.append((prefix + f.key, exc.text))
                bad.add(f.key)
                lat = lon = None
            values["lat"], values["lon"] = lat, lon
            continue
        try:
            value = parse_value(f, _raw_for(f, raw.get(f.key)), lists=lists, communes=communes)
        except FieldError as exc:
            problems.append((prefix + f.key, exc.text))
            bad.add(f.key)
            value = None
        if f.type == "geometry" and value is not None:
            value = to_wkt(value)
        values[f.key] = value
    for key, message in form.problems(values):
        if key not in bad:
            problems.append((prefix + key, message))
    return values, problems


def _keep_stored_position(start: dict[str, Any], parsed: dict[str, Any]) -> None:
    """A coordinate that reads the same at the form's 7 decimals (about 1 cm) as the stored one
    is the stored one: the form shows a rounded position and sends it back with every save, and
    that must not rewrite it, log "105,8889539 → 105,8889539" or send it in the next workbook."""
    for k in ("lat", "lon"):
        old, new = start.get(k), parsed.get(k)
        if old is not None and new is not None and \
                f"{float(old):.{POSITION_DECIMALS}f}" == f"{float(new):.{POSITION_DECIMALS}f}":
            parsed[k] = old


def defaults(form: FormDef) -> dict[str, Any]:
    """A new record's starting values: each field's default from the form (None elsewhere)."""
    out: dict[str, Any] = {}
    for f in form.fields:
        if f.type == "position":
            out["lat"] = out["lon"] = None
        else:
            out[f.key] = f.default
    return out


# -- reading records for a form ----------------------------------------------------------------

def _form(forms: Forms | None, table: str) -> FormDef:
    if table not in EDITABLE and table not in CHILDREN.values():
        raise InvalidInputError(f"không sửa được bảng {table} / {table} is not editable")
    return (forms or load_forms())[table]


def _row(session: Session, table: str, uuid: str) -> dict | None:
    r = session.execute(text(f"SELECT * FROM {table} WHERE uuid = :u"), {"u": uuid}).mappings().first()
    return None if r is None else dict(r)


def read_values(db: Database, table: str, uuid: str, *, forms: Forms | None = None) -> dict[str, Any]:
    """A record's field values as the form shows them (position as lat/lon, geometry as WKT)."""
    with db.session() as s:
        row = _row(s, table, uuid)
    if row is None:
        raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
    return from_db(_form(forms, table), row) | {"uuid": uuid, "deleted": bool(row["deleted"]),
                                               "version": row["version"]}


def read_children(db: Database, table: str, uuid: str, *, forms: Forms | None = None) -> list[dict[str, Any]]:
    """The live sub-list rows (tenants of a site, attachments of a pole), each with its uuid."""
    child = CHILDREN.get(table)
    if child is None:
        return []
    with db.session() as s:
        return read_children_in(s, _form(forms, child), uuid)


def read_children_in(s: Session, form: FormDef, uuid: str) -> list[dict[str, Any]]:
    key = form.parent["key"]
    rows = s.execute(text(f"SELECT * FROM {form.record} WHERE {key} = :u AND deleted = 0 ORDER BY id"),
                     {"u": uuid}).mappings().all()
    return [from_db(form, dict(r)) | {"uuid": r["uuid"]} for r in rows]


def commune_at(db: Database, lat: float, lon: float) -> str | None:
    """The commune whose boundary holds the point, else the nearest commune centre within 5 km."""
    here = shapely.Point(lon, lat)
    with db.session() as s:
        rows = s.execute(text(
            "SELECT t.code, t.boundary FROM rtree_admin_units r JOIN admin_units t ON t.id = r.id "
            "WHERE r.min_x <= :x AND r.max_x >= :x AND r.min_y <= :y AND r.max_y >= :y "
            "AND t.deleted = 0 AND t.level = 'commune' AND t.boundary IS NOT NULL"), {"x": lon, "y": lat}).all()
        for code, wkb in rows:
            if shapely.from_wkb(wkb).covers(here):
                return code
        centres = s.execute(text(
            "SELECT code, centre_lat, centre_lon FROM admin_units WHERE level = 'commune' AND deleted = 0 "
            "AND centre_lat BETWEEN :y - 0.05 AND :y + 0.05 AND centre_lon BETWEEN :x - 0.05 AND :x + 0.05"),
            {"x": lon, "y": lat}).all()
    best = None
    for code, clat, clon in centres:
        d = float(geodesic_distance_m(lat, lon, clat, clon))
        if d <= 5000 and (best is None or d < best[0]):
            best = (d, code)
    return best[1] if best else None


def route_near(db: Database, x: float, y: float, tolerance_m: float) -> str | None:
    """The live fibre route nearest to map point (x, y) in EPSG:3857 metres, within the tolerance.

    Unlike identify, a site or pole standing on the route does not win: this is for picking a
    route to reshape."""
    from .geo.projection import lonlat_to_mercator, mercator_to_lonlat

    (lon0, lon1), (lat0, lat1) = mercator_to_lonlat([x - tolerance_m, x + tolerance_m],
                                                    [y - tolerance_m, y + tolerance_m])
    with db.session() as s:
        rows = s.execute(text(
            "SELECT t.uuid, t.geom FROM rtree_fibre_routes r JOIN fibre_routes t ON t.id = r.id "
            "WHERE r.max_x >= :x0 AND r.min_x <= :x1 AND r.max_y >= :y0 AND r.min_y <= :y1 AND t.deleted = 0"),
            {"x0": float(lon0), "x1": float(lon1), "y0": float(lat0), "y1": float(lat1)}).all()
    if not rows:
        return None
    geoms = shapely.transform(shapely.from_wkb([g for _, g in rows]),
                              lambda xy: np.column_stack(lonlat_to_mercator(xy[:, 0], xy[:, 1])))
    dist = shapely.distance(geoms, shapely.Point(x, y))
    i = int(np.argmin(dist))
    return rows[i][0] if dist[i] <= tolerance_m else None


# -- duplicates --------------------------------------------------------------------------------

def find_duplicate_sites(db_or_session, operator_code: str | None, site_code: str | None,
                         lat: float | None, lon: float | None, *, exclude_uuid: str | None = None,
                         radius_m: float = DUPLICATE_RADIUS_M) -> list[Duplicate]:
    """Live sites of the same operator with the same code, or within `radius_m` of the position."""
    if not operator_code:
        return []
    session = db_or_session.session() if isinstance(db_or_session, Database) else None
    s = session or db_or_session
    try:
        found: dict[str, Duplicate] = {}
        cols = "t.uuid, t.site_code, t.operator_code, t.name, t.lat, t.lon"
        rows = []
        if site_code:
            rows += [(r, True) for r in s.execute(text(
                f"SELECT {cols} FROM sites t WHERE t.deleted = 0 AND t.operator_code = :op "
                "AND t.site_code = :code"), {"op": operator_code, "code": site_code.strip()}).all()]
        if lat is not None and lon is not None:
            dlat = radius_m / 111_000 * 1.5
            dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
            rows += [(r, False) for r in s.execute(text(
                f"SELECT {cols} FROM rtree_sites r JOIN sites t ON t.id = r.id "
                "WHERE r.max_x >= :x0 AND r.min_x <= :x1 AND r.max_y >= :y0 AND r.min_y <= :y1 "
                # "+": the R*Tree first. With the operator's index SQLite read all 30,000 of an
                # operator's sites nationally (120 ms per save) to keep the few nearby.
                "AND t.deleted = 0 AND +t.operator_code = :op"),
                {"x0": lon - dlon, "x1": lon + dlon, "y0": lat - dlat, "y1": lat + dlat, "op": operator_code}).all()]
        for (uuid, code, op, name, slat, slon), by_code in rows:
            if uuid == exclude_uuid:
                continue
            dist = (float(geodesic_distance_m(lat, lon, slat, slon))
                    if lat is not None and lon is not None else math.nan)
            if not by_code and not dist <= radius_m:
                continue
            prev = found.get(uuid)
            found[uuid] = Duplicate(uuid, code, op, name, slat, slon, dist, by_code or bool(prev and prev.same_code))
        return sorted(found.values(), key=lambda d: (not d.same_code, 0.0 if math.isnan(d.distance_m) else d.distance_m))
    finally:
        if session is not None:
            session.close()


# -- saving ------------------------------------------------------------------------------------

def _label_of(values: dict[str, Any], table: str) -> str:
    return f"{_record_name(table)} {schema.title(table, values)}".strip()


def _unique_problems(s: Session, table: str, values: dict, uuid: str | None) -> list[tuple[str, str]]:
    checks = {"fibre_routes": (("operator_code", "code"), "code"), "zones": (("code",), "code")}
    if table not in checks:
        return []
    cols, key = checks[table]
    if any(values.get(c) in (None, "") for c in cols):
        return []
    where = " AND ".join(f"{c} = :{c}" for c in cols)
    other = s.execute(text(f"SELECT uuid FROM {table} WHERE deleted = 0 AND {where} AND uuid IS NOT :me"),
                      {c: values[c] for c in cols} | {"me": uuid}).scalar()
    if other:
        return [(key, f"mã '{values[key]}' đã có ở một {_record_name(table)} khác / this code is already used")]
    return []


def _child_problems(child_form: FormDef, rows: list[dict]) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    out = []
    for i, r in enumerate(rows):
        op = r.get("operator_code")
        if op and op in seen:
            out.append((f"{child_form.record}[{i}].operator_code",
                        f"doanh nghiệp {op} đã có ở dòng {seen[op] + 1} / operator listed twice"))
        elif op:
            seen[op] = i
    return out


def save_record(db: Database, table: str, values: dict[str, Any], *, uuid: str | None = None,
                children: list[dict[str, Any]] | None = None, allow_duplicates: bool = False,
                gnss: dict[str, Any] | None = None, forms: Forms | None = None, user: str | None = None,
                source: str | None = None, description: str | None = None,
                base: dict[str, Any] | None = None, base_children: list[dict[str, Any]] | None = None
                ) -> EditResult:
    """Create (uuid None) or change a record from field values, with its sub-list, in one transaction.

    `values` may be partial: an existing record's other fields keep their values, a new record's
    take the form's defaults. `children` (tenants of a site, attachments of a pole), when given, is
    the whole sub-list: rows with a "uuid" are updated, rows without are added, live rows left out
    are tombstoned. Raises ValidationFailed (nothing written) or, for a site that looks like another
    of the same operator, DuplicateFound unless `allow_duplicates` (a same-code duplicate is always
    refused: the database keeps one live site per operator and code).

    `gnss` is the GPS metadata of the position (core.gps.GNSS_COLUMNS) when it came from the
    receiver; a point placed or moved by hand gets those columns cleared, so an accuracy figure
    never stays on a position it does not describe.

    `base` (and `base_children`) are the values the form was opened with (read_values,
    read_children). With them, only the fields the user changed are written: a field the user left
    alone never puts back what it showed over a value written since (an import while the form was
    open). A field changed both here and there, to different values, raises EditConflict and
    nothing is written. The check is repeated inside the write transaction."""
    for _attempt in range(3):
        try:
            return _save_record(db, table, values, uuid=uuid, children=children,
                                allow_duplicates=allow_duplicates, gnss=gnss, forms=forms, user=user,
                                source=source, description=description, base=base,
                                base_children=base_children)
        except _MovedOn:
            continue  # written by someone else between our read and our write: plan again
    raise StaleEdit("bản ghi đang được thay đổi liên tục; thử lại / the record keeps changing; try again")


class _MovedOn(Exception):
    """The row's version changed between planning a save and writing it."""


def _field_same(key: str, a, b) -> bool:
    if key in ("lat", "lon") and a is not None and b is not None:
        return f"{float(a):.{POSITION_DECIMALS}f}" == f"{float(b):.{POSITION_DECIMALS}f}"
    return _same(a, b)


def _rebase(form: FormDef, lists, communes, base: dict, values: dict, start: dict
            ) -> tuple[dict, list[tuple[str, Any, Any, Any]]]:
    """The user's changes relative to `base`, and the ones that clash with what `start` holds now."""
    parsed_base, _ = validate(form, base, lists=lists, communes=communes)
    parsed_mine, _ = validate(form, base | values, lists=lists, communes=communes)
    parsed_now, _ = validate(form, start, lists=lists, communes=communes)
    mine = {k: v for k, v in parsed_mine.items() if not _field_same(k, v, parsed_base.get(k))}
    clashes = [(k, parsed_base.get(k), parsed_now.get(k), v) for k, v in mine.items()
               if not _field_same(k, parsed_now.get(k), parsed_base.get(k))
               and not _field_same(k, parsed_now.get(k), v)]
    return mine, clashes


def _children_key(cform: FormDef, lists, communes, rows: list[dict] | None):
    if rows is None:
        return None
    out = []
    for r in rows:
        parsed, _ = validate(cform, r, lists=lists, communes=communes)
        out.append((r.get("uuid"), tuple(sorted((k, repr(v)) for k, v in parsed.items()))))
    return sorted(out, key=lambda x: (x[0] or "", x[1]))


def _save_record(db: Database, table: str, values: dict[str, Any], *, uuid, children, allow_duplicates,
                 gnss, forms, user, source, description, base, base_children) -> EditResult:
    forms = forms or load_forms()
    form = _form(forms, table)
    if table not in EDITABLE:
        raise InvalidInputError(f"{table} được sửa trong biểu mẫu của bản ghi cha / edited in its parent's form")
    with db.session() as s:
        communes = _communes(s)
        if uuid is not None:
            row = _row(s, table, uuid)
            if row is None:
                raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
            start = from_db(form, row)
            planned_version = row["version"]
        else:
            start = defaults(form)
        values = {k: v for k, v in values.items() if k not in ("uuid", "deleted", "version")}
        if uuid is not None and base is not None:
            mine, clashes = _rebase(form, forms.lists, communes, base, values, start)
            cform = forms[CHILDREN[table]] if table in CHILDREN else None
            now_children = None
            if cform is not None and base_children is not None and children is not None:
                now_children = read_children_in(s, cform, uuid)
                then = _children_key(cform, forms.lists, communes, base_children)
                if _children_key(cform, forms.lists, communes, now_children) != then:
                    if _children_key(cform, forms.lists, communes, children) != then:
                        clashes.append((EditConflict.SUB_LIST, base_children, now_children, children))
                    else:
                        children = None  # left alone here, changed there: keep theirs
            if clashes:
                if now_children is None and cform is not None:
                    now_children = read_children_in(s, cform, uuid)
                raise EditConflict(clashes, start | {"uuid": uuid, "deleted": bool(row["deleted"]),
                                                     "version": row["version"]}, now_children, set(mine))
            values = mine
        raw = start | values
        parsed, problems = validate(form, raw, lists=forms.lists, communes=communes)
        if uuid is not None:
            _keep_stored_position(start, parsed)
        problems += _unique_problems(s, table, parsed, uuid)
        child_rows: list[tuple[str | None, dict]] = []
        if children is not None and table in CHILDREN:
            cform = forms[CHILDREN[table]]
            pkey = cform.parent["key"]
            parent_uuid = uuid or "00000000-0000-0000-0000-000000000000"
            for i, c in enumerate(children):
                cuuid = c.get("uuid")
                cstart = defaults(cform)
                if cuuid:
                    crow = _row(s, cform.record, cuuid)
                    if crow is None or crow[pkey] != uuid:
                        problems.append((f"{cform.record}[{i}]", "dòng không thuộc bản ghi này / row "
                                                                 "belongs to another record"))
                        continue
                    cstart = from_db(cform, crow)
                craw = cstart | {k: v for k, v in c.items() if k != "uuid"} | {pkey: parent_uuid}
                cvals, cprobs = validate(cform, craw, lists=forms.lists, communes=communes,
                                         prefix=f"{cform.record}[{i}].")
                problems += cprobs
                child_rows.append((cuuid, cvals))
            problems += _child_problems(cform, [v for _, v in child_rows])
        if problems:
            raise ValidationFailed(problems)
        # An edit that keeps the code and the place does not ask again about a neighbour the
        # user already accepted.
        moved = uuid is None or any(not _same(start.get(k), parsed.get(k))
                                    for k in ("operator_code", "site_code", "lat", "lon"))
        if table == "sites" and moved:
            dups = find_duplicate_sites(s, parsed.get("operator_code"), parsed.get("site_code"),
                                        parsed.get("lat"), parsed.get("lon"), exclude_uuid=uuid)
            if dups and (not allow_duplicates or any(d.blocking for d in dups)):
                raise DuplicateFound(dups)
    label = _label_of(parsed, table)
    description = description or (f"Sửa {label}" if uuid else f"Thêm {label}")
    new = uuid is None
    uuid = uuid or new_uuid()
    try:
        with db.operation(description, user=user, source=source) as s:
            if not new:
                now = s.execute(text(f"SELECT version FROM {table} WHERE uuid = :u"), {"u": uuid}).scalar()
                if now != planned_version:
                    raise _MovedOn()
            t = _Tracker(s)
            cols = to_db(form, parsed)
            if table in POINT_TABLES:
                placed = new or not (_same(start.get("lat"), parsed.get("lat"))
                                     and _same(start.get("lon"), parsed.get("lon")))
                if gnss or placed:
                    cols |= _gnss_columns(s, table, gnss)
            if new:
                t.insert(table, uuid, cols)
            else:
                t.update(table, uuid, cols)
            if children is not None and table in CHILDREN:
                cform = forms[CHILDREN[table]]
                pkey = cform.parent["key"]
                keep = {cuuid for cuuid, _ in child_rows if cuuid}
                # Left-out rows are tombstoned first: the unique (parent, operator) index only
                # concerns live rows, so a row removed and re-added for the same operator is fine.
                live = [u for (u,) in s.execute(text(f"SELECT uuid FROM {cform.record} WHERE {pkey} = :p "
                                                     "AND deleted = 0"), {"p": uuid}).all()]
                for cuuid in live:
                    if cuuid not in keep:
                        t.update(cform.record, cuuid, {"deleted": 1})
                for cuuid, cvals in child_rows:
                    ccols = to_db(cform, cvals | {pkey: uuid})
                    if cuuid:
                        t.update(cform.record, cuuid, ccols | {"deleted": 0})
                    else:
                        t.insert(cform.record, new_uuid(), ccols)
            operation_id = s.info["operation_id"]
    except IntegrityError as exc:
        raise ValidationFailed([("", f"cơ sở dữ liệu từ chối giá trị ({exc.orig}) / the database refused "
                                     "a value")]) from None
    return edit_result(db, table, uuid, description, operation_id)


def _gnss_columns(s: Session, table: str, gnss: dict[str, Any] | None) -> dict[str, Any]:
    """The GNSS metadata columns the table has (schema 3), from `gnss` or cleared."""
    from .gps import GNSS_COLUMNS

    have = {r[1] for r in s.execute(text(f"PRAGMA table_info({table})")).all()}
    return {c: (gnss or {}).get(c) for c in GNSS_COLUMNS if c in have}


def _set_columns(db: Database, table: str, uuid: str, cols: dict[str, Any], description: str,
                 user: str | None, source: str | None) -> EditResult:
    try:
        with db.operation(description, user=user, source=source) as s:
            t = _Tracker(s)
            if t.row(table, uuid) is None:
                raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
            t.update(table, uuid, cols)
            operation_id = s.info["operation_id"]
    except IntegrityError as exc:
        raise ValidationFailed([("", f"cơ sở dữ liệu từ chối giá trị ({exc.orig}) / the database refused "
                                     "a value")]) from None
    return edit_result(db, table, uuid, description, operation_id)


def _code(db: Database, table: str, uuid: str) -> str:
    """What names the record (its form's title fields), read from the database."""
    with db.session() as s:
        return s.execute(text(f"SELECT {schema.title_sql(table)} FROM {table} t WHERE t.uuid = :u"),
                         {"u": uuid}).scalar() or ""


def move_point(db: Database, table: str, uuid: str, lat: float, lon: float, *, user: str | None = None,
               source: str | None = None) -> EditResult:
    """Move a site, pole or finding to (lat, lon)."""
    if table not in POINT_TABLES:
        raise InvalidInputError(f"{table} không phải lớp điểm / not a point layer")
    try:
        check_in_vietnam(lat, lon)
    except CoordinateError as exc:
        raise ValidationFailed([("position", exc.text)]) from None
    desc = f"Di chuyển {_record_name(table)} {_code(db, table, uuid)}".strip()
    with db.session() as s:
        cleared = _gnss_columns(s, table, None)  # dragged by hand: no GPS accuracy applies
    return _set_columns(db, table, uuid, {"lat": float(lat), "lon": float(lon)} | cleared, desc, user, source)


def read_geometry(db: Database, table: str, uuid: str) -> shapely.Geometry:
    with db.session() as s:
        wkb = s.execute(text(f"SELECT geom FROM {table} WHERE uuid = :u"), {"u": uuid}).scalar()
    if wkb is None:
        raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
    return shapely.from_wkb(wkb)


def set_geometry(db: Database, table: str, uuid: str, geometry: shapely.Geometry, *,
                 description: str | None = None, forms: Forms | None = None, user: str | None = None,
                 source: str | None = None) -> EditResult:
    """Replace a route's line or a zone's polygon (lon/lat), checked like the form's geometry field."""
    if table not in GEOMETRY_TABLES:
        raise InvalidInputError(f"{table} không có hình học đường/vùng / no line or polygon")
    form = _form(forms, table)
    f = form.field("geom")
    try:
        geom = parse_value(f, to_wkt(geometry), lists=(forms or load_forms()).lists)
    except FieldError as exc:
        raise ValidationFailed([("geom", exc.text)]) from None
    cols = {k: v for k, v in to_db(form, {"geom": to_wkt(geom)}).items()
            if k in ("geom", "min_lon", "min_lat", "max_lon", "max_lat", "length_m", "area_m2")}
    desc = description or f"Sửa hình học {_record_name(table)} {_code(db, table, uuid)}".strip()
    return _set_columns(db, table, uuid, cols, desc, user, source)


def route_vertices(db: Database, uuid: str) -> list[tuple[float, float]]:
    """A route's vertices as (lon, lat)."""
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(read_geometry(db, "fibre_routes", uuid))]


def _reshape(db: Database, uuid: str, vertices: list[tuple[float, float]], what: str, **kw) -> EditResult:
    if len(vertices) < 2:
        raise ValidationFailed([("geom", "tuyến cáp cần ít nhất hai đỉnh / a route needs at least two vertices")])
    desc = f"{what} tuyến cáp {_code(db, 'fibre_routes', uuid)}".strip()
    return set_geometry(db, "fibre_routes", uuid, shapely.LineString(vertices), description=desc, **kw)


def _index(vertices: list, index: int, *, end_ok: bool = False) -> int:
    n = len(vertices) + (1 if end_ok else 0)
    if not -n <= index < n:
        raise InvalidInputError(f"không có đỉnh số {index} / no vertex {index}")
    return index % n


def move_vertex(db: Database, uuid: str, index: int, lat: float, lon: float, **kw) -> EditResult:
    v = route_vertices(db, uuid)
    v[_index(v, index)] = (float(lon), float(lat))
    return _reshape(db, uuid, v, "Di chuyển đỉnh", **kw)


def insert_vertex(db: Database, uuid: str, index: int, lat: float, lon: float, **kw) -> EditResult:
    """Insert a vertex so that it becomes vertex `index` (len(vertices) appends)."""
    v = route_vertices(db, uuid)
    v.insert(_index(v, index, end_ok=True), (float(lon), float(lat)))
    return _reshape(db, uuid, v, "Thêm đỉnh", **kw)


def delete_vertex(db: Database, uuid: str, index: int, **kw) -> EditResult:
    v = route_vertices(db, uuid)
    del v[_index(v, index)]
    return _reshape(db, uuid, v, "Xóa đỉnh", **kw)


def delete_record(db: Database, table: str, uuid: str, *, user: str | None = None,
                  source: str | None = None) -> EditResult:
    """Tombstone a record (deleted = 1) and its live sub-list rows; nothing is ever hard-deleted."""
    if table not in EDITABLE:
        raise InvalidInputError(f"không xóa được bảng {table} / {table} cannot be deleted here")
    desc = f"Xóa {_record_name(table)} {_code(db, table, uuid)}".strip()
    with db.operation(desc, user=user, source=source) as s:
        t = _Tracker(s)
        if t.row(table, uuid) is None:
            raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
        t.update(table, uuid, {"deleted": 1})
        child = CHILDREN.get(table)
        if child:
            pkey = load_forms()[child].parent["key"]
            for (cuuid,) in s.execute(text(f"SELECT uuid FROM {child} WHERE {pkey} = :p AND deleted = 0"),
                                      {"p": uuid}).all():
                t.update(child, cuuid, {"deleted": 1})
        operation_id = s.info["operation_id"]
    return edit_result(db, table, uuid, desc, operation_id)


# -- history -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    time: str
    user: str
    source: str
    action: str  # insert, update, delete, restore
    table: str
    record_uuid: str
    field: str | None
    old_value: Any
    new_value: Any
    description: str
    operation_id: int | None
    version: int | None


def record_history(db: Database, table: str, uuid: str, *, limit: int = 1000) -> list[HistoryEntry]:
    """The record's changes and its sub-list rows' changes from the change log, newest first."""
    uuids = [uuid]
    child = CHILDREN.get(table)
    with db.session() as s:
        if child:
            pkey = load_forms()[child].parent["key"]
            uuids += [u for (u,) in s.execute(text(f"SELECT uuid FROM {child} WHERE {pkey} = :p"),
                                              {"p": uuid}).all()]
        marks = ", ".join(f":u{i}" for i in range(len(uuids)))
        rows = s.execute(text(
            "SELECT c.time, c.user, c.source, c.action, c.table_name, c.record_uuid, c.field, c.old_value, "
            "c.new_value, coalesce(o.description, ''), c.operation_id, c.version FROM change_log c "
            f"LEFT JOIN operations o ON o.id = c.operation_id WHERE c.record_uuid IN ({marks}) "
            "ORDER BY c.id DESC LIMIT :limit"), {f"u{i}": u for i, u in enumerate(uuids)} | {"limit": limit}).all()
    return [HistoryEntry(*r) for r in rows]


__all__ = [
    "EDITABLE", "CHILDREN", "POINT_TABLES", "DUPLICATE_RADIUS_M", "ValidationFailed", "StaleEdit", "EditConflict",
    "Duplicate", "DuplicateFound", "EditResult", "edit_result", "validate",
    "defaults", "read_values", "read_children", "commune_at", "route_near", "find_duplicate_sites", "save_record",
    "move_point", "read_geometry", "set_geometry", "route_vertices", "move_vertex", "insert_vertex",
    "delete_vertex", "delete_record", "HistoryEntry", "record_history",
]
