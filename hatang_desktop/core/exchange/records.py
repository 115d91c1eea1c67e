"""Records as the exchange sees them: a row of field values keyed like the workbook's columns.

The same shape serves the export (what goes into the cells), the import (what came out of them)
and the merge (local, base and workbook states compared field by field).
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy.orm import Session

from ..forms import TECH_COLUMNS, FormDef
from ..storage.dialect import raw
from .row_fingerprint import hex16

WKT_DECIMALS = 7
WHOLE_TABLE_ABOVE = 5000   # read_states: more uuids than this read the table once


@dataclass
class RecordState:
    uuid: str
    version: int
    deleted: bool
    values: dict[str, Any]
    updated_at: dt.datetime | None = None
    parent_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def value_keys(form: FormDef) -> list[str]:
    return [c.key for _, c in form.columns()]


def db_columns(form: FormDef) -> list[str]:
    """The table columns behind the form's fields."""
    cols = []
    for f in form.fields:
        if f.type == "position":
            cols += ["lat", "lon"]
        elif f.type == "technologies":
            cols += list(TECH_COLUMNS.values())
        else:
            cols.append(f.key)
    return cols


def to_wkt(geom) -> str:
    return shapely.to_wkt(geom, rounding_precision=WKT_DECIMALS, trim=True)


def from_db(form: FormDef, row: dict[str, Any]) -> dict[str, Any]:
    return _from_db(_db_reader(form), row)


def _from_db(reader: list[tuple[str, str]], row: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, kind in reader:
        if kind == "plain":
            values[key] = row[key]
        elif kind == "position":
            values["lat"], values["lon"] = row["lat"], row["lon"]
        elif kind == "technologies":
            values[key] = tuple(t for t, c in TECH_COLUMNS.items() if row[c])
        elif kind == "geometry":
            values[key] = to_wkt(shapely.from_wkb(row[key])) if row[key] is not None else None
        elif kind == "boolean":
            values[key] = None if row[key] is None else bool(row[key])
        elif kind == "date" and isinstance(row[key], str):
            values[key] = dt.date.fromisoformat(row[key][:10])
        else:
            values[key] = row[key]
    return values


_READERS: dict[int, tuple[FormDef, list[tuple[str, str]]]] = {}


def _db_reader(form: FormDef) -> list[tuple[str, str]]:
    """(field key, how to read it) for each field, worked out once per form (from_db runs per row)."""
    hit = _READERS.get(id(form))
    if hit is None or hit[0] is not form:
        special = {"position", "technologies", "geometry", "boolean", "date"}
        hit = _READERS[id(form)] = (form, [(f.key, f.type if f.type in special else "plain") for f in form.fields])
    return hit[1]


def to_db(form: FormDef, values: dict[str, Any]) -> dict[str, Any]:
    """Field values (as parsed from a workbook) as table columns, derived columns included."""
    out: dict[str, Any] = {}
    for f in form.fields:
        if f.type == "position":
            out["lat"], out["lon"] = values.get("lat"), values.get("lon")
        elif f.type == "technologies":
            techs = values.get(f.key) or ()
            out.update({c: int(t in techs) for t, c in TECH_COLUMNS.items()})
        elif f.type == "geometry":
            wkt = values.get(f.key)
            geom = shapely.from_wkt(wkt) if wkt else None
            out[f.key] = shapely.to_wkb(geom) if geom is not None else None
            if geom is not None:
                out.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), map(float, geom.bounds)))
                from ..geo.geodesy import geodesic_area_m2, geodesic_length_m

                if geom.geom_type == "LineString":
                    out["length_m"] = geodesic_length_m(geom)
                else:
                    out["area_m2"] = geodesic_area_m2(geom)
        elif f.type == "boolean":
            out[f.key] = None if values.get(f.key) is None else int(values[f.key])
        elif f.type == "date":
            v = values.get(f.key)
            out[f.key] = v.isoformat() if isinstance(v, dt.date) else v
        else:
            out[f.key] = values.get(f.key)
    return out


def to_db_columns(form: FormDef, rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[list]] | None:
    """to_db_many(form, rows) a column at a time, for a form without a geometry (whose rows all
    have the same columns): (column names, in to_db's order; one list of values per column).
    None for a form with a geometry: a row without one has fewer columns."""
    columns, geo = _field_columns(form, rows)
    if geo:
        return None
    return tuple(k for k, _ in columns), [c for _, c in columns]


def to_db_many(form: FormDef, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[to_db(form, values) for values in rows], built a field at a time: the same dicts, keys
    in the same order, with the geometries parsed and written as arrays."""
    columns, geo = _field_columns(form, rows)
    if not geo:
        keys = [k for k, _ in columns]
        return [dict(zip(keys, r)) for r in zip(*(c for _, c in columns))] if columns else [{} for _ in rows]
    from ..geo.geodesy import geodesic_area_m2, geodesic_length_m

    out = []
    for n in range(len(rows)):
        d: dict[str, Any] = {}
        for key, column in columns:
            if column is not None:
                d[key] = column[n]
                continue
            geoms, wkb, bounds = geo[key]
            g = geoms[n]
            d[key] = wkb[n] if g is not None else None
            if g is not None:
                d.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), map(float, bounds[n])))
                if g.geom_type == "LineString":
                    d["length_m"] = geodesic_length_m(g)
                else:
                    d["area_m2"] = geodesic_area_m2(g)
        out.append(d)
    return out


def _field_columns(form: FormDef, rows: list[dict[str, Any]]) -> tuple[list[tuple[str, list | None]], dict[str, tuple]]:
    """to_db's columns over `rows`, one list each, and the geometries (parsed, as WKB, their
    bounds) of the geometry fields, whose column stands as None."""
    columns: list[tuple[str, list | None]] = []
    geo: dict[str, tuple] = {}
    for f in form.fields:
        if f.type == "position":
            columns += [("lat", [v.get("lat") for v in rows]), ("lon", [v.get("lon") for v in rows])]
        elif f.type == "technologies":
            techs = [v.get(f.key) or () for v in rows]
            columns += [(c, [int(t in ts) for ts in techs]) for t, c in TECH_COLUMNS.items()]
        elif f.type == "geometry":
            wkts = [v.get(f.key) or None for v in rows]
            geoms = shapely.from_wkt(np.array(wkts, dtype=object))
            geo[f.key] = (geoms, shapely.to_wkb(geoms), shapely.bounds(geoms))
            columns.append((f.key, None))
        elif f.type == "boolean":
            columns.append((f.key, [None if v.get(f.key) is None else int(v[f.key]) for v in rows]))
        elif f.type == "date":
            columns.append((f.key, [x.isoformat() if isinstance(x := v.get(f.key), dt.date) else x for v in rows]))
        else:
            columns.append((f.key, [v.get(f.key) for v in rows]))
    return columns, geo


PARENT_CODE = {
    "site_tenants": ("sites", "site_uuid", "site_code"),
    "pole_attachments": ("poles", "pole_uuid", "code"),
}

# Which records belong to a commune's workbook.
_SCOPE = {
    "sites": "t.commune_code = :commune",
    "site_tenants": "t.site_uuid IN (SELECT uuid FROM sites WHERE commune_code = :commune)",
    "poles": "t.commune_code = :commune",
    "pole_attachments": "t.pole_uuid IN (SELECT uuid FROM poles WHERE commune_code = :commune)",
    "fibre_routes": "t.commune_code = :commune",
    "zones": "t.commune_code = :commune",
    "findings": "t.commune_code = :commune",
}


def parent_code_join(record: str) -> tuple[str, str]:
    """(join clause, select expression) for the parent's code shown beside a child record (the
    site code of a tenant, the pole code of an attachment); ("", "NULL") for the others."""
    if record not in PARENT_CODE:
        return "", "NULL"
    ptable, pkey, pshow = PARENT_CODE[record]
    return f" LEFT JOIN {ptable} p ON p.uuid = t.{pkey}", f"p.{pshow}"


def scope_where(record: str, commune: str | None) -> tuple[str, tuple]:
    """(" WHERE ...", parameters) restricting table alias `t` to one commune's records, for
    plain driver cursors (dialect.raw); ("", ()) for the whole database."""
    if not commune:
        return "", ()
    return " WHERE " + _SCOPE[record].replace(":commune", "?"), (commune,)


def read_states(session: Session, form: FormDef, *, commune: str | None = None,
                uuids: list[str] | None = None, include_deleted: bool = True) -> dict[str, RecordState]:
    cols = db_columns(form)
    select = ", ".join(f"t.{c}" for c in cols)
    join, parent = parent_code_join(form.record)
    parent = f", {parent} AS parent_code" if join else ""
    where, params = [], {}
    if commune:
        where.append(_SCOPE[form.record])
        params["commune"] = commune
    if not include_deleted:
        where.append("t.deleted = 0")
    sql = (f"SELECT t.uuid, t.version, t.deleted, t.updated_at{parent}, {select} "
           f"FROM {form.record} t{join}" + (f" WHERE {' AND '.join(where)}" if where else "") +
           " ORDER BY t.id")
    # The driver's own cursor: SQLAlchemy's Row objects cost more than the query at this size.
    cursor = raw(session).cursor()
    try:
        if uuids is not None and len(uuids) <= WHOLE_TABLE_ABOVE:
            fetched, keys = [], None
            for i in range(0, len(uuids), 900):  # SQLite's bound-parameter limit (PostgreSQL's is higher)
                chunk = uuids[i:i + 900]
                marks = ", ".join(f":u{k}" for k in range(len(chunk)))
                chunk_sql = sql.replace(" ORDER BY", (" AND " if where else " WHERE ") + f"t.uuid IN ({marks}) ORDER BY")
                cursor.execute(chunk_sql, {**params, **{f"u{k}": u for k, u in enumerate(chunk)}})
                keys = [d[0] for d in cursor.description]
                fetched += cursor.fetchall()
            return _states(form, keys, fetched) if keys is not None else {}
        # Many records asked for (a whole workbook): one scan of the table, kept where wanted, is
        # cheaper than thousands of bound parameters.
        cursor.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    if uuids is not None:
        wanted = set(uuids)
        fetched = [values for values in fetched if values[0] in wanted]
    return _states(form, keys, fetched)


def _states(form: FormDef, keys: list[str], fetched: list[tuple]) -> dict[str, RecordState]:
    """RecordStates of fetched rows (uuid first), each as `_from_db` reads one row,
    worked out a column at a time: a whole table of them is what an import compares with."""
    if not fetched:
        return {}
    at = {k: j for j, k in enumerate(keys)}
    columns = list(zip(*fetched))
    value_keys, value_columns = [], []
    for key, kind in _db_reader(form):
        if kind == "position":
            value_keys += ["lat", "lon"]
            value_columns += [columns[at["lat"]], columns[at["lon"]]]
            continue
        if kind == "technologies":
            techs = list(TECH_COLUMNS)
            flags = zip(*(columns[at[c]] for c in TECH_COLUMNS.values()))
            col = [tuple(t for t, on in zip(techs, row) if on) for row in flags]
        elif kind == "geometry":
            col = [to_wkt(shapely.from_wkb(v)) if v is not None else None for v in columns[at[key]]]
        elif kind == "boolean":
            col = [None if v is None else bool(v) for v in columns[at[key]]]
        elif kind == "date":
            col = [dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v for v in columns[at[key]]]
        else:
            col = columns[at[key]]
        value_keys.append(key)
        value_columns.append(col)
    values = [dict(zip(value_keys, row)) for row in zip(*value_columns)]
    stamps = columns[at["updated_at"]]
    seen = {v: _updated(v) for v in set(stamps)}  # one parse per distinct time (an import's stamps repeat)
    updated = list(map(seen.__getitem__, stamps))
    parents = columns[at["parent_code"]] if "parent_code" in at else [None] * len(fetched)
    out = {}
    for row, vals, upd, parent in zip(fetched, values, updated, parents):
        out[row[0]] = RecordState(row[0], row[1], bool(row[2]), vals, upd, parent, {"row": FetchedRow(at, row)})
    return out


class FetchedRow(collections.abc.Mapping):
    """A fetched row as a read-only mapping (column name -> value) over the row's tuple: the
    import reads every local record and looks at this only for the few it walks back through
    history, so a dict per record (~30 columns) was built for nothing."""

    __slots__ = ("_at", "_row")

    def __init__(self, at: dict[str, int], row: tuple):
        self._at, self._row = at, row

    def __getitem__(self, key: str):
        return self._row[self._at[key]]

    def __iter__(self):
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def __repr__(self) -> str:
        return f"FetchedRow({dict(self)!r})"


def _updated(value):
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


def gnss_cleared(changes: dict[str, Any], local: dict[str, Any], conflicts=()) -> dict[str, Any]:
    """The GPS figures to clear when a merge moves a point without new ones: a position changed
    in a workbook or GIS file (typed, dragged in QGIS) was set by hand, and the receiver's
    accuracy, HDOP... no longer describe it (as `editing.move_point` clears them). Empty when
    the position does not change or the file brings GPS figures of its own (or they conflict)."""
    from ..gps import GNSS_COLUMNS

    if "lat" not in changes and "lon" not in changes:
        return {}
    if any(k in changes for k in GNSS_COLUMNS) or any(c.field in GNSS_COLUMNS for c in conflicts):
        return {}
    return {k: None for k in GNSS_COLUMNS if local.get(k) is not None}


def same_value(a, b) -> bool:
    blank = (None, "", (), [])
    if a in blank or b in blank:
        return a in blank and b in blank
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return tuple(a) == tuple(b)
    return a == b


_SEP, _TAG = "\x1f", "\x1e"   # between values; before a value that is not text
_TEXT = {str, type(None)}


def _canonical(value) -> str:
    """A value as the state hash sees it. Text is itself and an empty value is ""; anything
    else is tagged, so a number never reads as the text that spells it. Floats keep 9
    significant digits and an integral float equals the integer: a REAL column and a parsed
    cell must agree on 5 and 5.0."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _TAG + ("T" if value else "F")
    if isinstance(value, int):
        return _TAG + str(value)
    if isinstance(value, float):
        return _TAG + f"{value:.9g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return _TAG + value.isoformat()
    if isinstance(value, (tuple, list)):
        return _TAG + "/".join(map(str, value))
    return _TAG + str(value)


def state_hash(values: dict[str, Any], deleted: bool) -> str:
    """A fingerprint of a record's content: two databases with the same hash at the same version
    hold the same state, so that version is a safe merge base.

    The SHA-1 of the sorted field names and then the values (see `_canonical`), "d" (deleted)
    among them; `StateHasher` gives the same over columns."""
    return StateHasher(list(values)).hash_columns({k: [v] for k, v in values.items()}, [deleted])[0]


def _canonical_column(col: list) -> list[str]:
    """`_canonical` over a column, without a call per value in the usual one-type columns (and
    without bytecode per value where the column has no blank: `%` mapped in C)."""
    types = set(map(type, col))
    if types == _FLOAT:
        return list(map(_FLOAT_CANON.__mod__, col))
    if types == _INT:
        return list(map(_INT_CANON.__mod__, col))
    types.discard(type(None))
    if types <= {str}:
        return list(map(_BLANK_AS_EMPTY.get, col, col))
    if types == {float}:
        return ["" if v is None else _TAG + f"{v:.9g}" for v in col]
    if types == {int}:
        return ["" if v is None else _TAG + str(v) for v in col]
    if types == {bool}:
        return list(map(_BOOL_CANON.__getitem__, col))
    if types == {tuple}:   # the technologies
        return ["" if v is None else _TAG + "/".join(map(str, v)) for v in col]
    if types == {dt.date} or types == {dt.datetime}:
        return ["" if v is None else _TAG + v.isoformat() for v in col]
    return [_canonical(v) for v in col]


_FLOAT, _INT = {float}, {int}
_FLOAT_CANON, _INT_CANON = _TAG + "%.9g", _TAG + "%d"   # as _TAG + f"{v:.9g}", _TAG + str(v)
_BLANK_AS_EMPTY = {None: ""}
_DELETED_CANON = {True: _TAG + "T", False: _TAG + "F"}
_BOOL_CANON = {None: "", **_DELETED_CANON}


class StateHasher:
    """`state_hash` of many records at once, given as columns (field key -> values)."""

    def __init__(self, keys: list[str]):
        self.keys = sorted(set(keys) | {"d"})
        self._head = _SEP.join(self.keys) + "\x1d"

    def hash_columns(self, columns: dict[str, list], deleted: list[bool]) -> list[str]:
        cols = []
        for k in self.keys:
            if k == "d":
                cols.append(list(map(_DELETED_CANON.__getitem__, map(bool, deleted))))
                continue
            cols.append(_canonical_column(columns[k]))
        return hex16(map(str.encode, map(self._head.__add__, map(_SEP.join, zip(*cols)))))
