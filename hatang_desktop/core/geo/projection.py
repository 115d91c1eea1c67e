"""Web Mercator (EPSG:3857), the plane the map is drawn on: lon/lat degrees <-> metres.

The spherical formulas, not PROJ: they are what every tile server uses, and a vectorised numpy
call over a national layer costs milliseconds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EARTH_RADIUS_M", "MAX_LAT", "lonlat_to_mercator", "mercator_to_lonlat"]

EARTH_RADIUS_M = 6378137.0  # the WGS84 semi-major axis, which EPSG:3857 uses as its sphere
MAX_LAT = 85.0511287798066  # Web Mercator is square at this latitude and undefined beyond it


def lonlat_to_mercator(lon, lat):
    """WGS84 degrees to EPSG:3857 metres; scalars or arrays."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LAT, MAX_LAT)
    x = EARTH_RADIUS_M * np.radians(lon)
    y = EARTH_RADIUS_M * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return x, y


def mercator_to_lonlat(x, y):
    """EPSG:3857 metres back to WGS84 degrees; scalars or arrays."""
    lon = np.degrees(np.asarray(x, dtype=float) / EARTH_RADIUS_M)
    lat = np.degrees(2 * np.arctan(np.exp(np.asarray(y, dtype=float) / EARTH_RADIUS_M)) - np.pi / 2)
    return lon, lat
