"""What a rule can look at: per record type, the fields by name and how to read them in bulk.

The catalogue comes from the forms (forms/*.yaml: every field, its type and value list) plus the
derived fields below: a rule file names fields, and only names in the catalogue can be read, so no
text from a rule file ever reaches SQL. A record type is read into one pandas frame
with one query (derived fields such as `shared` or `photo_count` are scalar sub-queries), only
the columns the loaded rules need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..storage.database import Database
from ..storage.dialect import SQLITE, raw


@dataclass(frozen=True)
class FieldSpec:
    name: str
    column: str  # a column of the record's table, or of its group's query
    kind: str  # text, number, boolean, choice
    values: str | None = None  # value list (forms/value_lists.yaml) of a choice field
    group: str | None = None  # None: the record's own table; else a key of GROUPS


@dataclass(frozen=True)
class Group:
    """Derived columns, each a scalar sub-query on another table for the record `t`, selected
    only when a rule needs one of them. Correlated sub-queries seek the other table's index per
    record (measured on the national sites: a third less than joining grouped sub-queries,
    which SQLite materialises and indexes first)."""
    columns: dict  # column -> SQL expression over `t` ({table}: the record's table)
    fill: dict  # values for records the sub-query finds no row for


def _per(table: str, key: str, expr: str, extra: str = "") -> str:
    return f"(SELECT {expr} FROM {table} g WHERE g.{key} = t.uuid AND g.deleted = 0{extra})"


_TECH = "max(g.has_2g) + max(g.has_3g) + max(g.has_4g) + max(g.has_5g)"
GROUPS = {
    "tenants": Group({"tenant_count": _per("site_tenants", "site_uuid", "count(DISTINCT g.operator_code)"),
                      "technology_count": _per("site_tenants", "site_uuid", _TECH)},
                     {"tenant_count": 0, "technology_count": 0}),
    "pole_ops": Group({"operator_count": _per("pole_attachments", "pole_uuid", "count(DISTINCT g.operator_code)"),
                       "box_total": _per("pole_attachments", "pole_uuid", "sum(g.box_count)")},
                      {"operator_count": 0, "box_total": 0}),
    "photos": Group({"photo_count": _per("photos", "owner_uuid", "count(*)", " AND g.owner_table = '{table}'")},
                    {"photo_count": 0}),
}


@dataclass(frozen=True)
class RecordSpec:
    table: str
    label: dict  # vi, en
    fields: dict[str, FieldSpec]
    # What every frame carries (identity, position, scope, display) as SQL over the table `t`.
    label_sql: str = "t.code"
    operator_sql: str = "t.operator_code"
    point: bool = True  # lon/lat columns; else a WKB geometry in `geom`
    parent: str | None = None  # pole attachments sit on a pole: position and commune are the pole's
    # Live records the rules never see, as SQL over `t`: a site to verify (an imported reference
    # point nobody has checked) is not a survey record until an inspector verifies it.
    unchecked_sql: str | None = None

    @property
    def is_point(self) -> bool:
        return self.point


def _f(name: str, kind: str, values: str | None = None, column: str | None = None,
       group: str | None = None) -> FieldSpec:
    return FieldSpec(name, column or name, kind, values, group)


_PHOTO = _f("photo_count", "number", group="photos")
# How a rule reads each form field type (forms/*.yaml); technologies and geometries are read
# through derived fields and spatial conditions instead.
_KINDS = {"text": "text", "operator": "text", "operators": "text", "commune": "text", "reference": "text",
          "date": "text", "integer": "number", "decimal": "number", "boolean": "boolean", "choice": "choice"}


def _form_fields(record: str, prefix: str = "", group: str | None = None) -> list[FieldSpec]:
    """The fields a rule may name on a record type, from its form: its own fields (a position as
    lat and lon) and its derived columns; with a prefix, as read from the parent (`pole.`)."""
    form = schema.form(record)
    out = []
    for f in (*form.fields, *form.derived):
        if f.type == "position":
            out += [_f(prefix + c.key, "number", column=c.key, group=group) for c in f.columns()]
        elif f.type in _KINDS:
            out.append(_f(prefix + f.key, _KINDS[f.type], f.values, column=f.key, group=group))
    return out


def _spec(record: str, *extra: FieldSpec, **kw) -> RecordSpec:
    form = schema.form(record)
    fields = {f.name: f for f in (*_form_fields(record), *extra)}
    return RecordSpec(table=record, label={"vi": form.label.vi, "en": form.label.en},
                      label_sql=schema.title_sql(record), fields=fields, **kw)


RECORDS: dict[str, RecordSpec] = {
    "sites": _spec(
        "sites",
        _f("tenant_count", "number", group="tenants"),
        _f("shared", "boolean", column="tenant_count", group="tenants"),
        _f("technology_count", "number", group="tenants"), _PHOTO,
        unchecked_sql="t.status = 'to_verify'"),
    "poles": _spec(
        "poles",
        _f("operator_count", "number", group="pole_ops"),
        _f("shared", "boolean", column="operator_count", group="pole_ops"),
        _f("box_count", "number", column="box_total", group="pole_ops"), _PHOTO,
        operator_sql="t.owner_operator_code"),
    # An attachment's position and commune are its pole's.
    "pole_attachments": _spec(
        "pole_attachments",
        *[f for f in _form_fields("poles", "pole.", "pole") if f.name not in ("pole.lat", "pole.lon")],
        _f("commune_code", "text", column="commune_code", group="pole"),
        parent="poles"),
    "fibre_routes": _spec("fibre_routes", _PHOTO, point=False),
    "zones": _spec("zones", point=False, operator_sql="NULL"),
}


# Columns of every frame, ahead of the rule fields (prefixed so they cannot clash with a field).
BASE = ("_uuid", "_lat", "_lon", "_commune", "_label", "_operator")


def field_sql(record: str, name: str, local: bool = False) -> str | None:
    """The SQL of a field as read_frame selects it, or None for derived (grouped) fields, and
    with `local` for the parent's fields too."""
    f = RECORDS[record].fields[name]
    if f.group not in (None, "pole") or (local and f.group == "pole"):
        return None
    column = f"{'t' if f.group is None else 'p'}.{f.column}"
    return f"NULLIF(TRIM({column}), '')" if f.kind in ("text", "choice") else column


def read_frame(db: Database, record: str, fields: set[str], *, with_geometry: bool = False,
               prefilter: list[tuple[str, list]] | None = None) -> pd.DataFrame:
    """Live records of one type with the base columns and the named fields, in one query.

    The pole of an attachment is joined in SQL (measured: no dearer than the scan itself, and
    far cheaper than a pandas merge on UUID strings); derived sub-queries are selected only when
    a field needs them. Every name comes from the catalogue above, never from a rule file."""
    spec = RECORDS[record]
    select = ["t.uuid", spec.label_sql, spec.operator_sql]
    joins = []
    if spec.parent:
        select[1] = f"p.code || ' · ' || {spec.label_sql}"
        select += ["p.lat", "p.lon", "p.commune_code"]
        joins.append("JOIN poles p ON p.uuid = t.pole_uuid AND p.deleted = 0")
    else:
        select += ["t.lat", "t.lon"] if spec.point else ["NULL", "NULL"]
        select.append("t.commune_code")
    names = ["_uuid", "_label", "_operator", "_lat", "_lon", "_commune"]
    for name in sorted(fields):
        f = spec.fields[name]
        if f.group in (None, "pole"):
            column = f"{'t' if f.group is None else 'p'}.{f.column}"
            # A blank text is no value: made NULL here, once, rather than stripped row by row later.
            select.append(f"NULLIF(TRIM({column}), '')" if f.kind in ("text", "choice") else column)
        else:
            group = GROUPS[f.group]
            select.append(f"coalesce({group.columns[f.column].format(table=spec.table)}, {group.fill[f.column]})")
        names.append(name)
    if with_geometry and not spec.point:
        select.append("t.geom")
        names.append("_geom")
    where, params = "t.deleted = 0", []
    if spec.unchecked_sql:
        where += f" AND NOT ({spec.unchecked_sql})"
    for term, values in prefilter or ():
        # Rows no rule can flag are never fetched: turning rows into Python objects is most of a
        # national run. The rules still evaluate every fetched row in full.
        where += f" AND ({term})"
        params += values
    with db.session() as s:
        conn = raw(s)
        # NOT INDEXED (SQLite's own syntax): a scan in table order. Left to itself SQLite walks a
        # partial index (`WHERE deleted = 0`) and then fetches every row from a random page
        # (measured: twice the CPU on the national attachments).
        scan = " NOT INDEXED" if conn.dialect == SQLITE else ""
        rows = conn.execute(
            f"SELECT {', '.join(select)} FROM {spec.table} t{scan} {' '.join(joins)} WHERE {where}",
            params).fetchall()
    # Plain object columns: pandas' string dtype costs seconds per million rows to build and
    # compare, and the conditions only test equality and membership.
    frame = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    for name in fields:
        f = spec.fields[name]
        if name == "shared":
            frame[name] = (pd.to_numeric(frame[name]) >= 2).astype("float64")
        elif f.kind in ("boolean", "number"):
            # 0/1/NULL from SQLite: keep NULL apart from false ("not recorded" is not "no").
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if "_geom" in frame:
        frame["_geom"] = shapely.from_wkb(frame["_geom"].to_numpy())
    for col in ("_lat", "_lon"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


# Below both WGS84 radii of curvature everywhere (the meridian radius is smallest, 6,335,439 m,
# at the equator), so plane distances under-estimate true ones.
PLANE_RADIUS_M = 6_335_000.0


def plane(lon: np.ndarray, lat: np.ndarray, lat_ref: float) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat to metres on an equirectangular plane scaled at `lat_ref`.

    With `lat_ref` the largest |latitude| of the data, plane distances never exceed true ones, so
    a "within d" query on the plane returns every true pair (and a few more, dropped by
    `distance_m`).
    """
    r = PLANE_RADIUS_M
    return r * np.radians(lon) * np.cos(np.radians(lat_ref)), r * np.radians(lat)


WGS84_A = 6_378_137.0
WGS84_E2 = 6.69437999014e-3


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distance between point pairs on the WGS84 ellipsoid, with the local radii of curvature at
    the pair's mean latitude: within millimetres of the geodesic at the tens to hundreds of
    metres the proximity rules use."""
    phi = np.radians((np.asarray(lat1, float) + np.asarray(lat2, float)) / 2)
    w = 1 - WGS84_E2 * np.sin(phi) ** 2
    meridian = WGS84_A * (1 - WGS84_E2) / w ** 1.5
    normal = WGS84_A / np.sqrt(w)
    dx = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float)) * normal * np.cos(phi)
    dy = np.radians(np.asarray(lat2, float) - np.asarray(lat1, float)) * meridian
    return np.hypot(dx, dy)
