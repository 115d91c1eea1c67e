"""Spatial joins for the indicators: STRtree candidates, then exact geodesic distances.

Points and lines are indexed in a local "scaled degrees" plane (x = lon * cos(lat0), y = lat,
lat0 the data's median latitude) where distances are nearly isotropic. The tree only proposes
candidates, with a search radius in plane units widened to be safe at every latitude of the
data; every decision is then taken on the WGS84 geodesic distance (pyproj, the same as
core/geo/geodesy.py), so a point exactly at the radius is in, whatever the plane's distortion.
"""

from __future__ import annotations

import numpy as np
import shapely

from ..geo.geodesy import geodesic_distance_m

# Metres per degree: the smallest meridian degree (at the equator) and the equatorial parallel.
_M_LAT_MIN = 110_574.0
_M_LON_EQ = 111_320.0
# Decisions at the radius tolerate a millimetre of floating-point noise in the geodesic solver.
TOLERANCE_M = 1e-3


class Plane:
    def __init__(self, lats: np.ndarray):
        finite = lats[np.isfinite(lats)]
        self.lat0 = float(np.median(finite)) if len(finite) else 0.0
        self.k = float(np.cos(np.radians(self.lat0)))

    def xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(lon, dtype=float) * self.k, np.asarray(lat, dtype=float)

    def points(self, lat, lon) -> np.ndarray:
        x, y = self.xy(lat, lon)
        return shapely.points(x, y)

    def lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(x) / self.k, np.asarray(y)

    def search_units(self, radius_m: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """A plane distance that contains every point within radius_m (geodesic) of a point at lat.

        Widened by the latitude the search can reach (a degree of longitude shrinks poleward) and
        by 1% more for the ellipsoid's small departures from these per-degree figures.
        """
        radius_m = np.asarray(radius_m, dtype=float)
        reach = np.abs(lat) + radius_m / _M_LAT_MIN + 0.01
        lon_m = _M_LON_EQ * np.cos(np.radians(np.minimum(reach, 89.0))) / self.k
        return radius_m / np.minimum(_M_LAT_MIN, lon_m) * 1.01


_A = 6_378_137.0
_E2 = 0.00669437999014


def local_distance_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Distance on the tangent plane at the mean latitude, with the ellipsoid's radii of curvature
    there: within 0.01 % of the geodesic for the few kilometres the coverage model works with."""
    phi = np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2)
    w = 1 - _E2 * np.sin(phi) ** 2
    m = _A * (1 - _E2) / w ** 1.5  # meridian radius of curvature
    n = _A / np.sqrt(w)  # prime vertical radius of curvature
    dy = np.radians(np.asarray(lat2) - np.asarray(lat1)) * m
    dx = np.radians(np.asarray(lon2) - np.asarray(lon1)) * n * np.cos(phi)
    return np.hypot(dx, dy)


# Pairs whose tangent-plane distance is this close to the radius (relative) are settled by the
# geodesic; the others are decided by the tangent-plane distance, 50 times wider than its error.
_BAND = 0.005


def within(lat1, lon1, lat2, lon2, radius_m) -> np.ndarray:
    """Elementwise: geodesic distance <= radius (+1 mm), computing the geodesic only near the edge."""
    radius_m = np.asarray(radius_m, dtype=float)
    approx = local_distance_m(lat1, lon1, lat2, lon2)
    inside = approx <= radius_m * (1 - _BAND)
    edge = np.flatnonzero(~inside & (approx <= radius_m * (1 + _BAND) + TOLERANCE_M))
    if len(edge):
        r = np.broadcast_to(radius_m, approx.shape)
        d = np.atleast_1d(geodesic_distance_m(np.asarray(lat1)[edge], np.asarray(lon1)[edge],
                                              np.asarray(lat2)[edge], np.asarray(lon2)[edge]))
        inside[edge] = d <= r[edge] + TOLERANCE_M
    return inside


def candidate_pairs(plane: Plane, pts: np.ndarray, p_lat, radius_m, tree: shapely.STRtree
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(point, tree item) pairs that may be within radius_m (per point): a superset, from the tree."""
    if not len(pts) or not len(tree):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return tree.query(pts, predicate="dwithin", distance=plane.search_units(radius_m, np.asarray(p_lat)))


def near_lines(plane: Plane, p_lat, p_lon, distance_m: float, lines_lonlat: np.ndarray) -> np.ndarray:
    """Per point: does any line pass within distance_m (geodesic, to the line's nearest point)?"""
    p_lat = np.asarray(p_lat, dtype=float)
    p_lon = np.asarray(p_lon, dtype=float)
    out = np.zeros(len(p_lat), dtype=bool)
    if not len(p_lat) or not len(lines_lonlat):
        return out
    lines = shapely.transform(lines_lonlat, lambda c: c * np.array([plane.k, 1.0]))
    tree = shapely.STRtree(lines)
    pts = plane.points(p_lat, p_lon)
    pi, li = tree.query(pts, predicate="dwithin",
                        distance=plane.search_units(np.full(len(p_lat), distance_m), p_lat))
    if not len(pi):
        return out
    # The nearest point in the plane, measured on the ellipsoid: at worst a little longer than the
    # true geodesic distance to the line (second order in the plane's slight anisotropy).
    nearest = shapely.line_interpolate_point(lines[li], shapely.line_locate_point(lines[li], pts[pi]))
    lon, lat = plane.lonlat(shapely.get_x(nearest), shapely.get_y(nearest))
    d = np.atleast_1d(geodesic_distance_m(p_lat[pi], p_lon[pi], lat, lon))
    out[pi[d <= distance_m + TOLERANCE_M]] = True
    return out


def points_in_polygons(lat, lon, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, polygon index) for every point inside or on the boundary of a polygon."""
    if not len(lat) or not len(polygons):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    tree = shapely.STRtree(polygons)
    return tree.query(shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
                      predicate="intersects")
