"""Going back to a feature ("Đi tới"): how far and which way from the GPS position to a site or
a pole, geodesic on the WGS84 ellipsoid, and the compass point a walker understands."""

from __future__ import annotations

from .geo.geodesy import geodesic_inverse

_COMPASS = (("Bắc", "north"), ("Đông Bắc", "north-east"), ("Đông", "east"), ("Đông Nam", "south-east"),
            ("Nam", "south"), ("Tây Nam", "south-west"), ("Tây", "west"), ("Tây Bắc", "north-west"))


def compass_point(bearing_deg: float, lang: str = "vi") -> str:
    """The nearest of the eight compass points ("Đông Bắc" for 47°)."""
    vi, en = _COMPASS[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]
    return vi if lang == "vi" else en


def distance_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Geodesic distance (m) and the initial bearing (degrees clockwise from true north, 0-360)
    from point 1 to point 2 on the WGS84 ellipsoid: what "Đi tới" tells the walker."""
    distance, azimuth = geodesic_inverse(lat1, lon1, lat2, lon2)
    return distance, azimuth % 360.0


__all__ = ["compass_point", "distance_bearing"]
