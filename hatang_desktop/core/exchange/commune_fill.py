"""A new record without a commune gets the one its position lies in, as an import plans it: the
commune whose boundary holds the point, else the nearest commune centre, and the plan keeps how
it was found so the preview can say so (exchange.preview). Used by every file import (a workbook,
a GIS file); a sync carries the sender's records as they are and is left alone."""

from __future__ import annotations

from typing import Any

import shapely

from ..forms import Forms
from ..geo.communes import CommuneFound, CommuneLocator

FOUND = "commune_found"   # RecordPlan.row.extra key: the CommuneFound the plan took


def position_of(values: dict[str, Any]) -> tuple[float, float] | None:
    """(lat, lon) standing for a record: its point, or a point on its line (half way along) or
    inside its area; None without either."""
    lat, lon = values.get("lat"), values.get("lon")
    if lat is not None and lon is not None:
        return float(lat), float(lon)
    wkt = values.get("geom")
    if not wkt:
        return None
    geom = shapely.from_wkt(wkt)
    if geom.is_empty:
        return None
    point = geom.interpolate(0.5, normalized=True) if geom.geom_type == "LineString" else geom.representative_point()
    return point.y, point.x


def fill_communes(here, plans, forms: Forms) -> int:
    """Give every planned insert with an empty commune field the commune of its position; returns
    how many were filled. `here` is the database or the import's transaction (HeldTransaction)."""
    wanted = []
    with_commune = {f.record for f in forms if any(d.key == "commune_code" for d in f.fields)}
    for p in plans:
        if p.action != "insert" or p.changes.get("deleted"):
            continue
        if p.row.record not in with_commune or p.changes.get("commune_code"):
            continue
        where = position_of(p.changes)
        if where is not None:
            wanted.append((p, where))
    if not wanted:
        return 0
    with here.session() as s:
        locator = CommuneLocator(s)
    filled = 0
    for p, (lat, lon) in wanted:
        found: CommuneFound | None = locator.find(lat, lon)
        if found is None:
            continue
        p.changes["commune_code"] = found.code
        p.row.extra[FOUND] = found
        filled += 1
    return filled
