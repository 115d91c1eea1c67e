"""Area queries through the R*Tree bounding-box index.

The R*Tree stores 32-bit floats rounded outwards, so it returns a superset; the exact bounding-box
test on the table's own columns follows in the same query.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .storage.triggers import SPATIAL_TABLES, rtree_name

_EXACT = {
    "point": "t.lon BETWEEN :x0 AND :x1 AND t.lat BETWEEN :y0 AND :y1",
    "bbox": "t.max_lon >= :x0 AND t.min_lon <= :x1 AND t.max_lat >= :y0 AND t.min_lat <= :y1",
    "admin_units": ("coalesce(t.max_lon, t.centre_lon) >= :x0 AND coalesce(t.min_lon, t.centre_lon) <= :x1 "
                    "AND coalesce(t.max_lat, t.centre_lat) >= :y0 AND coalesce(t.min_lat, t.centre_lat) <= :y1"),
}


def _exact_clause(table: str) -> str:
    if table == "admin_units":
        return _EXACT["admin_units"]
    return _EXACT["point"] if SPATIAL_TABLES[table][1] == ("lon", "lat") else _EXACT["bbox"]


def uuids_in_bbox(session: Session, table: str, min_lon: float, min_lat: float,
                  max_lon: float, max_lat: float) -> list[str]:
    """UUIDs of live records of `table` whose bounding box intersects the given box."""
    if table not in SPATIAL_TABLES:
        raise ValueError(f"{table} has no spatial index")
    rt = rtree_name(table)
    sql = (f"SELECT t.uuid FROM {rt} r JOIN {table} t ON t.id = r.id "
           f"WHERE r.max_x >= :x0 AND r.min_x <= :x1 AND r.max_y >= :y0 AND r.min_y <= :y1 "
           f"AND t.deleted = 0 AND {_exact_clause(table)}")
    params = {"x0": min_lon, "x1": max_lon, "y0": min_lat, "y1": max_lat}
    return [row[0] for row in session.execute(text(sql), params)]
