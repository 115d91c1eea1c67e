"""Lengths, areas and distances in metres on the WGS84 ellipsoid, from lon/lat."""

from __future__ import annotations

import numpy as np
from pyproj import Geod

from .errors import OutOfRangeError

__all__ = ["geodesic_area_m2", "geodesic_distance_m", "geodesic_inverse", "geodesic_length_m"]


_GEOD = Geod(ellps="WGS84")


def _line_parts(coords) -> list[np.ndarray]:
    geom_type = getattr(coords, "geom_type", None)
    if geom_type == "LineString":
        return [np.asarray(coords.coords, dtype=float)[:, :2]]
    if geom_type == "MultiLineString":
        return [np.asarray(part.coords, dtype=float)[:, :2] for part in coords.geoms]
    if geom_type is not None:
        raise TypeError(f"geodesic_length_m needs a line, not a {geom_type}")
    return [np.asarray(list(coords), dtype=float).reshape(-1, 2)]


def _check_lonlat(array: np.ndarray) -> None:
    if array.size and (np.any(np.abs(array[:, 0]) > 180) or np.any(np.abs(array[:, 1]) > 90)):
        raise OutOfRangeError(
            "Tọa độ đường/vùng phải là (kinh độ, vĩ độ) với kinh độ -180..180, vĩ độ -90..90",
            "line/polygon coordinates must be (lon, lat) with lon -180..180, lat -90..90",
        )


def geodesic_length_m(coords) -> float:
    """Length in metres on the WGS84 ellipsoid of (lon, lat) points or a (Multi)LineString."""
    total = 0.0
    for part in _line_parts(coords):
        _check_lonlat(part)
        if len(part) >= 2:
            total += _GEOD.line_length(part[:, 0], part[:, 1])
    return float(total)


def _ring_area(ring) -> float:
    array = np.asarray(ring.coords, dtype=float)[:, :2]
    _check_lonlat(array)
    area, _ = _GEOD.polygon_area_perimeter(array[:, 0], array[:, 1])
    return abs(area)


def geodesic_area_m2(polygon) -> float:
    """Area in m² on the WGS84 ellipsoid of a (Multi)Polygon in lon/lat, any ring orientation."""
    geom_type = getattr(polygon, "geom_type", None)
    if geom_type == "MultiPolygon":
        return float(sum(geodesic_area_m2(part) for part in polygon.geoms))
    if geom_type != "Polygon":
        raise TypeError(f"geodesic_area_m2 needs a Polygon or MultiPolygon, not {geom_type}")
    if polygon.is_empty:
        return 0.0
    holes = sum(_ring_area(ring) for ring in polygon.interiors)
    return float(_ring_area(polygon.exterior) - holes)


def geodesic_distance_m(lat1, lon1, lat2, lon2):
    """Distance in metres between two points on the WGS84 ellipsoid (arrays work too)."""
    _, _, distance = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(distance) if np.ndim(distance) == 0 else np.asarray(distance)


def geodesic_inverse(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """(distance in metres, forward azimuth in degrees -180..180 at point 1) on the WGS84 ellipsoid."""
    azimuth, _, distance = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(distance), float(azimuth)
