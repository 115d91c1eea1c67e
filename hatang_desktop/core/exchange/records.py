"""Records as the exchange sees them: a row of field values keyed like the workbook's columns.

The same shape serves the export (what goes into the cells), the import (what came out of them)
and the merge (local, base and workbook states compared field by field).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..forms import TECH_COLUMNS, FormDef

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
                from ..coords import geodesic_area_m2, geodesic_length_m

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


_PARENT_CODE = {
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


def read_states(session: Session, form: FormDef, *, commune: str | None = None,
                uuids: list[str] | None = None, include_deleted: bool = True) -> dict[str, RecordState]:
    cols = db_columns(form)
    select = ", ".join(f"t.{c}" for c in cols)
    join, parent = "", ""
    if form.record in _PARENT_CODE:
        ptable, pkey, pshow = _PARENT_CODE[form.record]
        join = f" LEFT JOIN {ptable} p ON p.uuid = t.{pkey}"
        parent = f", p.{pshow} AS parent_code"
    where, params = [], {}
    if commune:
        where.append(_SCOPE[form.record])
        params["commune"] = commune
    if not include_deleted:
        where.append("t.deleted = 0")
    sql = (f"SELECT t.uuid, t.version, t.deleted, t.updated_at{parent}, {select} "
           f"FROM {form.record} t{join}" + (f" WHERE {' AND '.join(where)}" if where else "") +
           " ORDER BY t.id")
    out = {}
    reader = _db_reader(form)
    # The driver's own cursor: SQLAlchemy's Row objects cost more than the query at this size.
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        if uuids is not None and len(uuids) <= WHOLE_TABLE_ABOVE:
            for i in range(0, len(uuids), 900):  # SQLite's bound-parameter limit
                chunk = uuids[i:i + 900]
                marks = ", ".join(f":u{k}" for k in range(len(chunk)))
                chunk_sql = sql.replace(" ORDER BY", (" AND " if where else " WHERE ") + f"t.uuid IN ({marks}) ORDER BY")
                cursor.execute(chunk_sql, {**params, **{f"u{k}": u for k, u in enumerate(chunk)}})
                keys = [d[0] for d in cursor.description]
                for values in cursor.fetchall():
                    row = dict(zip(keys, values))
                    out[row["uuid"]] = _state(reader, row)
            return out
        # Many records asked for (a whole workbook): one scan of the table, kept where wanted, is
        # cheaper than thousands of bound parameters.
        cursor.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    wanted = set(uuids) if uuids is not None else None
    for values in fetched:
        if wanted is not None and values[0] not in wanted:
            continue
        row = dict(zip(keys, values))
        out[row["uuid"]] = _state(reader, row)
    return out


def _state(reader: list[tuple[str, str]], row: dict) -> RecordState:
    updated = row["updated_at"]
    if isinstance(updated, str):
        try:
            updated = dt.datetime.fromisoformat(updated)
        except ValueError:
            updated = None
    return RecordState(row["uuid"], row["version"], bool(row["deleted"]), _from_db(reader, row),
                       updated, row.get("parent_code"), {"row": row})


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


def _canonical(value):
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


# One encoder for every hash: json.dumps with keyword arguments builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_PLAIN = (str, int, bool, type(None))
_PLAIN_SET = set(_PLAIN)


def _sorted_dict_encoder():
    """JSON of a dict whose keys are already in sorted order, with `_ENCODER`'s output: the C
    encoder made once (`JSONEncoder.encode` makes one per call), no sorting, no circular check."""
    if json.encoder.c_make_encoder is None:
        return _ENCODER.encode
    enc = json.encoder.c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring,
                                      None, ": ", ", ", False, False, True)
    return lambda doc: "".join(enc(doc, 0))


def state_hash(values: dict[str, Any], deleted: bool) -> str:
    """A fingerprint of a record's content: two databases with the same hash at the same version
    hold the same state, so that version is a safe merge base.

    The document is the JSON of {"d": deleted, **values} (sorted keys, floats to 9 significant
    digits, dates in ISO form, tuples as lists); `StateHasher` gives the same over columns."""
    doc = {"d": bool(deleted)}
    for k, v in values.items():
        doc[k] = v if type(v) in _PLAIN else _canonical(v)
    return hashlib.sha1(_ENCODER.encode(doc).encode("utf-8")).hexdigest()[:16]


class StateHasher:
    """`state_hash` of many records at once, given as columns (field key -> values)."""

    def __init__(self, keys: list[str]):
        self.keys = sorted(set(keys) | {"d"})

    def hash_columns(self, columns: dict[str, list], deleted: list[bool]) -> list[str]:
        cols = []
        for k in self.keys:
            col = [bool(d) for d in deleted] if k == "d" else columns[k]
            if not set(map(type, col)) <= _PLAIN_SET:
                col = [v if type(v) in _PLAIN else _canonical(v) for v in col]
            cols.append(col)
        keys, encode, sha1 = self.keys, _sorted_dict_encoder(), hashlib.sha1
        return [sha1(encode(dict(zip(keys, row))).encode("utf-8")).hexdigest()[:16] for row in zip(*cols)]
