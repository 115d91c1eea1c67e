"""Area queries through the bounding-box index (the R*Tree on SQLite, GiST on PostGIS).

The R*Tree stores 32-bit floats rounded outwards, so it returns a superset; the exact bounding-box
test on the table's own columns follows in the same query.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .storage.dialect import bbox_filter, bbox_params, dialect_of
from .storage.triggers import SPATIAL_TABLES

_EXACT = {
    "point": "t.lon BETWEEN :west AND :east AND t.lat BETWEEN :south AND :north",
    "bbox": "t.max_lon >= :west AND t.min_lon <= :east AND t.max_lat >= :south AND t.min_lat <= :north",
    "admin_units": ("coalesce(t.max_lon, t.centre_lon) >= :west AND coalesce(t.min_lon, t.centre_lon) <= :east "
                    "AND coalesce(t.max_lat, t.centre_lat) >= :south AND coalesce(t.min_lat, t.centre_lat) <= :north"),
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
    sql = (f"SELECT t.uuid FROM {table} t WHERE {bbox_filter(dialect_of(session), table, 't')} "
           f"AND t.deleted = 0 AND {_exact_clause(table)}")
    params = bbox_params(min_lon, min_lat, max_lon, max_lat)
    return [row[0] for row in session.execute(text(sql), params)]
