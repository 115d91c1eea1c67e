"""handtyped.match_existing for many rows at once: hash joins and one spatial query.

A file without UUIDs (an office's survey, a GIS layer of its own) names each record by its
operator and code, a pole by its code, or a site by where it stands. Asking the database once per
row costs a query each, a country's poles a million of them. Here each table's live keys are read
once and joined in dicts, and the sites left without a code match find their neighbours within
10 m with one STRtree query over the live sites. The outcome is match_existing's row by row: the
same record for every row (the first live pole of a code by id, as its index returns it; the
nearest site of the operator within 10 m; on an exact tie of distance, the later one by id).
"""

from __future__ import annotations

import uuid as uuidlib

import numpy as np
import shapely
from sqlalchemy import text

NEAR_M = 10.0
BOX_DEG = 0.0002   # match_existing's search box around a site, wider than 10 m everywhere in Vietnam


def match_existing_bulk(s, rows) -> None:
    """match_existing's matching, set-wise, in session `s`."""
    wanted = [r for r in rows if r.is_new and r.record in ("sites", "poles", "fibre_routes")]
    sites_by_code = _keys(s, "SELECT uuid, operator_code, site_code FROM sites WHERE deleted = 0 ORDER BY id") \
        if any(r.record == "sites" for r in wanted) else {}
    poles_by_code = _keys(s, "SELECT uuid, code FROM poles WHERE deleted = 0 ORDER BY id") \
        if any(r.record == "poles" for r in wanted) else {}
    routes_by_code = _keys(s, "SELECT uuid, operator_code, code FROM fibre_routes WHERE deleted = 0 ORDER BY id") \
        if any(r.record == "fibre_routes" for r in wanted) else {}
    nearby = []
    for r in wanted:
        v, found, how = r.values, None, None
        if r.record == "sites":
            found, how = sites_by_code.get((v.get("operator_code"), v.get("site_code"))), "operator+code"
            if found is None and v.get("lat") is not None:
                nearby.append(r)
                continue
        elif r.record == "poles":
            found, how = poles_by_code.get((v.get("code"),)), "code"
        else:
            found, how = routes_by_code.get((v.get("operator_code"), v.get("code"))), "operator+code"
        if found:
            r.uuid, r.is_new, r.matched_by = found, False, how
    if nearby:
        _match_nearby(s, nearby)
    tenants = [r for r in rows if r.record == "site_tenants" and "parent_row" in r.extra]
    if tenants:
        live = _keys(s, "SELECT uuid, site_uuid, operator_code FROM site_tenants WHERE deleted = 0 ORDER BY id")
        for r in tenants:
            parent = r.extra["parent_row"]
            r.values["site_uuid"] = parent.uuid
            found = live.get((parent.uuid, r.values["operator_code"]))
            r.uuid = found or str(uuidlib.uuid4())
            r.is_new, r.matched_by = found is None, parent.matched_by if found else "new"


def _keys(s, sql: str) -> dict[tuple, str]:
    """{key columns: the first uuid by id} of a query selecting uuid, then the key columns."""
    out: dict[tuple, str] = {}
    for uuid, *key in s.execute(text(sql)).all():
        out.setdefault(tuple(key), uuid)
    return out


def _match_nearby(s, rows) -> None:
    """Each row's nearest live site of its operator within 10 m, if any."""
    from ..geo.geodesy import geodesic_distance_m

    sites = s.execute(text("SELECT uuid, lat, lon, operator_code FROM sites WHERE deleted = 0 "
                           "AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id")).all()
    if not sites:
        return
    lat = np.array([x[1] for x in sites], dtype=float)
    lon = np.array([x[2] for x in sites], dtype=float)
    tree = shapely.STRtree(shapely.points(lon, lat))
    rlat = np.array([float(r.values["lat"]) for r in rows])
    rlon = np.array([float(r.values["lon"]) for r in rows])
    row, site = tree.query(shapely.box(rlon - BOX_DEG, rlat - BOX_DEG, rlon + BOX_DEG, rlat + BOX_DEG))
    same_operator = np.array([sites[j][3] == rows[i].values.get("operator_code")
                              for i, j in zip(row.tolist(), site.tolist())], dtype=bool)
    row, site = row[same_operator], site[same_operator]
    if not len(row):
        return
    distance = np.asarray(geodesic_distance_m(rlat[row], rlon[row], lat[site], lon[site]), dtype=float)
    best: dict[int, tuple[float, int]] = {}
    # In id order per row: a later site at the same distance wins (`<=`, as the loop it replaces).
    for i, j, d in sorted(zip(row.tolist(), site.tolist(), distance.tolist())):
        if d <= best.get(i, (NEAR_M, -1))[0]:
            best[i] = (d, j)
    for i, (_d, j) in best.items():
        r = rows[i]
        r.uuid, r.is_new, r.matched_by = sites[j][0], False, "position"
