"""Sites that look like the one being saved: same operator and code, or standing close by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..errors import InvalidInputError
from ..geo.geodesy import geodesic_distance_m
from ..text import format_decimal
from ..storage.dialect import bbox_filter, bbox_params, dialect_of


DUPLICATE_RADIUS_M = 10.0


@dataclass(frozen=True)
class Duplicate:
    """Another live site that looks like the one being saved."""
    uuid: str
    site_code: str
    operator_code: str
    name: str | None
    lat: float
    lon: float
    distance_m: float
    same_code: bool  # the same operator already has this code: the database refuses a second one

    @property
    def blocking(self) -> bool:
        return self.same_code


class DuplicateFound(InvalidInputError):
    """Saving would make a duplicate site; the caller asks the user (or refuses a same-code one)."""

    def __init__(self, duplicates: list[Duplicate]):
        self.duplicates = list(duplicates)
        def where(d: Duplicate, lang: str) -> str:
            if d.same_code:
                return "cùng mã" if lang == "vi" else "same code"
            distance = format_decimal(d.distance_m, 1, lang)
            return f"cách {distance} m" if lang == "vi" else f"{distance} m away"

        def listed(lang: str) -> str:
            return ", ".join(f"{d.operator_code} {d.site_code} ({where(d, lang)})" for d in self.duplicates)

        super().__init__("trạm có thể bị trùng với: " + listed("vi"), "possible duplicate of: " + listed("en"))


def find_duplicate_sites(db_or_session, operator_code: str | None, site_code: str | None,
                         lat: float | None, lon: float | None, *, exclude_uuid: str | None = None,
                         radius_m: float = DUPLICATE_RADIUS_M) -> list[Duplicate]:
    """Live sites of the same operator with the same code, or within `radius_m` of the position."""
    if not operator_code:
        return []
    # A Database of either engine (a file or the server) has session(); a Session has execute().
    session = db_or_session.session() if not isinstance(db_or_session, Session) else None
    s = session or db_or_session
    try:
        found: dict[str, Duplicate] = {}
        cols = "t.uuid, t.site_code, t.operator_code, t.name, t.lat, t.lon"
        rows = []
        if site_code:
            rows += [(r, True) for r in s.execute(text(
                f"SELECT {cols} FROM sites t WHERE t.deleted = 0 AND t.operator_code = :op "
                "AND t.site_code = :code"), {"op": operator_code, "code": site_code.strip()}).all()]
        if lat is not None and lon is not None:
            dlat = radius_m / 111_000 * 1.5
            dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
            rows += [(r, False) for r in s.execute(text(
                f"SELECT {cols} FROM sites t WHERE {bbox_filter(dialect_of(s), 'sites', 't')} "
                # "|| ''" keeps the operator's index out (SQLite's "+" would, but PostgreSQL has no
                # unary + on text): the spatial index first. With the operator's index SQLite read
                # all 30,000 of an operator's sites nationally (120 ms per save) to keep the few nearby.
                "AND t.deleted = 0 AND t.operator_code || '' = :op"),
                bbox_params(lon - dlon, lat - dlat, lon + dlon, lat + dlat) | {"op": operator_code}).all()]
        for (uuid, code, op, name, slat, slon), by_code in rows:
            if uuid == exclude_uuid:
                continue
            dist = (float(geodesic_distance_m(lat, lon, slat, slon))
                    if lat is not None and lon is not None else math.nan)
            if not by_code and not dist <= radius_m:
                continue
            prev = found.get(uuid)
            found[uuid] = Duplicate(uuid, code, op, name, slat, slon, dist, by_code or bool(prev and prev.same_code))
        return sorted(found.values(), key=lambda d: (not d.same_code, 0.0 if math.isnan(d.distance_m) else d.distance_m))
    finally:
        if session is not None:
            session.close()
