"""Reading records for a form, and finding what lies at a place: the commune around a point,
the fibre route under the pointer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..errors import InvalidInputError
from ..exchange.records import from_db
from ..forms import FormDef, Forms
from ..geo.communes import commune_of
from ..storage.database import Database
from ..storage.dialect import bbox_filter, bbox_params, dialect_of
from .writes import CHILDREN, _form, _row


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
    with db.session() as s:
        found = commune_of(s, lat, lon, max_distance_m=5000)
    return found.code if found is not None else None


def route_near(db: Database, x: float, y: float, tolerance_m: float) -> str | None:
    """The live fibre route nearest to map point (x, y) in EPSG:3857 metres, within the tolerance.

    Unlike identify, a site or pole standing on the route does not win: this is for picking a
    route to reshape."""
    from ..geo.projection import lonlat_to_mercator, mercator_to_lonlat

    (lon0, lon1), (lat0, lat1) = mercator_to_lonlat([x - tolerance_m, x + tolerance_m],
                                                    [y - tolerance_m, y + tolerance_m])
    with db.session() as s:
        rows = s.execute(text(
            f"SELECT t.uuid, t.geom FROM fibre_routes t WHERE {bbox_filter(dialect_of(s), 'fibre_routes', 't')} "
            "AND t.deleted = 0"), bbox_params(float(lon0), float(lat0), float(lon1), float(lat1))).all()
    if not rows:
        return None
    geoms = shapely.transform(shapely.from_wkb([g for _, g in rows]),
                              lambda xy: np.column_stack(lonlat_to_mercator(xy[:, 0], xy[:, 1])))
    dist = shapely.distance(geoms, shapely.Point(x, y))
    i = int(np.argmin(dist))
    return rows[i][0] if dist[i] <= tolerance_m else None
