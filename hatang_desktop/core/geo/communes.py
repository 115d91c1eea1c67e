"""Which commune a position belongs to: the one whose boundary holds it, else the nearest commune
centre (and how far it is, so whoever fills the commune can say it was a guess).

One lookup for every caller: a form's new record (editing.commune_at), an import's new records
without a commune (exchange.commune_fill), a reference point (gis.reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import text

from ..storage.dialect import bbox_filter, bbox_params, dialect_of
from .geodesy import geodesic_distance_m


@dataclass(frozen=True)
class CommuneFound:
    code: str
    name: str
    inside: bool                    # the boundary holds the point
    distance_m: float | None = None  # to the nearest centre, when no boundary holds it


class CommuneLocator:
    """Commune boundaries and centres read once, then asked for many points (an import's new
    records). `near` (lat, lon, degrees) reads only the communes around one point (a form's)."""

    def __init__(self, session, near: tuple[float, float, float] | None = None) -> None:
        dialect = dialect_of(session)
        where = "t.deleted = 0 AND t.level = 'commune'"
        params: dict = {}
        if near is not None:
            lat, lon, d = near
            params = bbox_params(lon, lat, lon, lat)
            shapes = session.execute(text(
                f"SELECT t.code, t.name, t.boundary FROM admin_units t WHERE {bbox_filter(dialect, 'admin_units', 't')} "
                f"AND {where} AND t.boundary IS NOT NULL"), params).all()
            centres = session.execute(text(
                f"SELECT t.code, t.name, t.centre_lat, t.centre_lon FROM admin_units t WHERE {where} "
                "AND t.centre_lat BETWEEN :y0 AND :y1 AND t.centre_lon BETWEEN :x0 AND :x1"),
                {"y0": lat - d, "y1": lat + d, "x0": lon - d, "x1": lon + d}).all()
        else:
            shapes = session.execute(text(
                f"SELECT t.code, t.name, t.boundary FROM admin_units t WHERE {where} AND t.boundary IS NOT NULL")).all()
            centres = session.execute(text(
                f"SELECT t.code, t.name, t.centre_lat, t.centre_lon FROM admin_units t WHERE {where} "
                "AND t.centre_lat IS NOT NULL")).all()
        self._shapes = [(code, name) for code, name, _ in shapes]
        self._tree = shapely.STRtree(shapely.from_wkb([bytes(b) for _, _, b in shapes])) if shapes else None
        self._centres = [(code, name) for code, name, _, _ in centres]
        self._lat = np.array([c[2] for c in centres], float)
        self._lon = np.array([c[3] for c in centres], float)

    def find(self, lat: float, lon: float, max_distance_m: float | None = None) -> CommuneFound | None:
        """The commune whose boundary covers (lat, lon); else the one with the nearest centre
        (within `max_distance_m` when given); None when there is none."""
        point = shapely.Point(lon, lat)
        if self._tree is not None:
            hits = self._tree.query(point, predicate="covered_by")
            if len(hits):
                code, name = self._shapes[int(min(hits))]
                return CommuneFound(code, name, True)
        if not self._centres:
            return None
        n = len(self._lat)
        d = np.atleast_1d(geodesic_distance_m(np.full(n, lat), np.full(n, lon), self._lat, self._lon))
        i = int(np.argmin(d))
        if max_distance_m is not None and d[i] > max_distance_m:
            return None
        return CommuneFound(*self._centres[i], False, float(d[i]))


def commune_of(session, lat: float, lon: float, max_distance_m: float | None = None) -> CommuneFound | None:
    """One point's commune (see CommuneLocator.find), reading only the communes around it when
    the distance is bounded."""
    near = None if max_distance_m is None else (lat, lon, max_distance_m / 100_000 + 0.01)
    return CommuneLocator(session, near).find(lat, lon, max_distance_m)
