"""Moving a point, replacing a route's line or a zone's polygon, and a route's vertex edits.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInputError
from ..exchange.records import to_db, to_wkt
from ..field_values import FieldError, parse_value
from ..forms import Forms, load_forms
from ..geo.errors import CoordinateError
from ..geo.parse import check_in_vietnam
from ..storage.database import Database
from .route_poles import pole_written, relink_routes
from .writes import (GEOMETRY_TABLES, POINT_TABLES, EditResult, ValidationFailed, _code, _form, _gnss_columns,
                     _record_name, _Tracker, edit_result)


def _set_columns(db: Database, table: str, uuid: str, cols: dict[str, Any], description: str,
                 user: str | None, source: str | None) -> EditResult:
    try:
        with db.operation(description, user=user, source=source) as s:
            t = _Tracker(s)
            before = t.row(table, uuid)
            if before is None:
                raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
            if t.update(table, uuid, cols):
                # In the same operation: one edit, one undo step (route_poles.py).
                if table == "fibre_routes":
                    relink_routes(s, [uuid], {uuid: before["geom"]})
                elif table == "poles" and not before["deleted"]:
                    old = None if before["lat"] is None else (before["lon"], before["lat"])
                    pole_written(s, t, uuid, old, (float(cols["lon"]), float(cols["lat"])))
            operation_id = s.info["operation_id"]
    except IntegrityError as exc:
        raise ValidationFailed([("", f"cơ sở dữ liệu từ chối giá trị ({exc.orig}) / the database refused "
                                     "a value")]) from None
    return edit_result(db, table, uuid, description, operation_id)


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
