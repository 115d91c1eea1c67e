"""Which poles a fibre route hangs on (`fibre_route_poles`), kept in step with the route's line.

The list is derived, never typed: an aerial route hangs on the live poles standing on its
vertices (within VERTEX_ON_POLE_DEG, the ~1 cm a line is stored with: WKT_DECIMALS), in vertex
order; a duct or buried route on none. Snapping puts a vertex on its pole's position, and the
sample lists its routes' poles by the same rule. Every write that moves a route's vertices or a
pole, or changes a route's method (a form's save, a vertex edit, a pole moved or deleted, an
undo, an import or a sync) brings the lists of the routes it touched in step, in its own
transaction: one save stays one operation, and undoing it (which writes the old line back)
brings the old list back with it. The change log therefore needs no copy of the list, and
neither does a workbook or a sync package: each side derives it from the lines and poles it holds.

Only what an edit moved is looked at again: a vertex left where it was keeps what it had (data
from elsewhere, a server a QGIS user edited, keeps its lists until its vertices are edited).

Moving a pole takes the vertices standing on it along (`follow_pole`): a route hangs on its
poles, so a pole whose position is corrected corrects where the cable runs; leaving the vertex
behind would silently break the link the next time the route is saved.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..exchange.records import to_wkt
from ..geo.geodesy import geodesic_length_m
from ..storage.dialect import bbox_filter, bbox_params, dialect_of, in_values, raw
from ..storage.bulk import indexes_aside, outnumbered

VERTEX_ON_POLE_DEG = 1.5e-7  # a vertex rounded to 7 decimals is within 0.5e-7 of its pole; ~1.6 cm
HANGING = ("aerial",)  # the methods whose cable hangs on poles
ONE_QUERY_DEG2 = 1e-3  # a route's box up to ~3.5 km square: its poles read in one query
MANY_SPOTS = 200  # more poles written at once (an import): their routes found in one pass


def _poles_in_box(s: Session, west: float, south: float, east: float, north: float) -> list[tuple]:
    pad = VERTEX_ON_POLE_DEG
    return s.execute(text(
        f"SELECT p.uuid, p.lon, p.lat FROM poles p WHERE {bbox_filter(dialect_of(s), 'poles', 'p')} "
        "AND p.deleted = 0 AND p.lat IS NOT NULL ORDER BY p.id"),
        bbox_params(west - pad, south - pad, east + pad, north + pad)).all()


def standing(s: Session, coords: np.ndarray, prefer: Iterable[str] = ()) -> list[str | None]:
    """Per vertex (lon/lat rows), the live pole standing on it, or None. Where two poles share a
    spot (two routes that met at one spot each put up a pole there, in the sample), one of
    `prefer` (the route's list so far) wins, else the older pole."""
    if not len(coords):
        return []
    (west, south), (east, north) = coords.min(axis=0), coords.max(axis=0)
    prefer = set(prefer)

    def pick(poles: list[tuple], lon: float, lat: float) -> str | None:
        uuids = [u for u, plon, plat in poles if abs(plon - lon) <= VERTEX_ON_POLE_DEG
                 and abs(plat - lat) <= VERTEX_ON_POLE_DEG]
        return next((u for u in uuids if u in prefer), uuids[0]) if uuids else None

    if (east - west) * (north - south) > ONE_QUERY_DEG2:
        # A long route (a backbone across provinces): its box holds a country's poles; ask the
        # index about each vertex's spot instead.
        return [pick(_poles_in_box(s, lon, lat, lon, lat), lon, lat) for lon, lat in coords.tolist()]
    poles = _poles_in_box(s, float(west), float(south), float(east), float(north))
    if not poles:
        return [None] * len(coords)
    xy = np.array([(lon, lat) for _, lon, lat in poles], dtype=float)
    out: list[str | None] = []
    for lon, lat in coords:
        hit = np.flatnonzero((np.abs(xy[:, 0] - lon) <= VERTEX_ON_POLE_DEG)
                             & (np.abs(xy[:, 1] - lat) <= VERTEX_ON_POLE_DEG))
        out.append(pick([poles[int(i)] for i in hit], lon, lat))
    return out


def poles_on_line(s: Session, line: shapely.Geometry, prefer: Iterable[str] = ()) -> list[str]:
    """The live poles standing on the line's vertices, in vertex order (lon/lat line)."""
    return [p for p in standing(s, shapely.get_coordinates(line), prefer) if p is not None]


def read_route_poles(s: Session, route_uuid: str) -> list[str]:
    return [u for (u,) in s.execute(text("SELECT pole_uuid FROM fibre_route_poles WHERE route_uuid = :r "
                                         "ORDER BY seq"), {"r": route_uuid}).all()]


def _key(lon: float, lat: float) -> tuple[int, int]:
    return round(lon * 1e7), round(lat * 1e7)


def _spot_keys(spots: Iterable[tuple[float, float]]) -> set[tuple[int, int]]:
    """The keys (_key) a vertex standing on one of `spots` can have: its own and its neighbours'."""
    out = set()
    for lon, lat in spots:
        kx, ky = _key(lon, lat)
        out.update((kx + dx, ky + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    return out


def _packed(keys) -> np.ndarray:
    k = np.asarray(list(keys), dtype=np.int64).reshape(-1, 2)
    return k[:, 0] * (1 << 32) + k[:, 1]


def _pole_positions(s: Session, uuids: list[str]) -> dict[str, tuple[float, float]]:
    if not uuids:
        return {}
    among, param = in_values(dialect_of(s), "uuid", uuids, named="poles")
    return {u: (lon, lat) for u, lon, lat in s.execute(text(
        f"SELECT uuid, lon, lat FROM poles WHERE deleted = 0 AND lat IS NOT NULL AND {among}"),
        {"poles": param}).all()}


def _derive(s: Session, coords: np.ndarray, old_coords: np.ndarray, old_list: list[str],
            fresh_at: set[tuple[int, int]]) -> list[str]:
    """The list for a line `coords` that was `old_coords` hanging on `old_list`: a vertex the
    edit left where it was keeps what it had (a pole, or none: a duct route ending by another
    route's pole does not hang on it); a vertex new or moved, or at one of `fresh_at` (the
    _spot_keys of where poles were just put), takes the pole it stands on."""
    positions = _pole_positions(s, old_list)
    listed = list(positions)
    xy = np.array([positions[u] for u in listed], dtype=float).reshape(-1, 2)
    had: dict[tuple[int, int], str | None] = {}
    for lon, lat in old_coords:
        hit = np.flatnonzero((np.abs(xy[:, 0] - lon) <= VERTEX_ON_POLE_DEG)
                             & (np.abs(xy[:, 1] - lat) <= VERTEX_ON_POLE_DEG))
        had.setdefault(_key(lon, lat), listed[int(hit[0])] if len(hit) else None)
    now = standing(s, coords, old_list)
    out = []
    for (lon, lat), pole in zip(coords, now):
        key = _key(lon, lat)
        if key in had and key not in fresh_at:
            pole = had[key] if had[key] in positions or had[key] is None else None
        if pole is not None:
            out.append(pole)
    return out


def relink_routes(s: Session, route_uuids: Iterable[str], old_lines: dict[str, bytes | str | None] | None = None,
                  fresh_at: Iterable[tuple[float, float]] = ()) -> set[str]:
    """Bring the pole lists of these routes in step with their lines (inside the caller's
    transaction). `old_lines` holds the line (WKB or WKT) a route had before this write (None:
    a new route; left out: the line did not change); `fresh_at` are spots where a pole was just
    put, moved or brought back. A tombstoned route keeps the list it had (undoing its deletion
    finds it). Returns the routes whose list changed."""
    old_lines = old_lines or {}
    fresh_at = _spot_keys(fresh_at)
    changed: set[str] = set()
    for uuid in dict.fromkeys(route_uuids):
        row = s.execute(text("SELECT geom, deleted, method FROM fibre_routes WHERE uuid = :u"), {"u": uuid}).first()
        if row is None or row[1] or row[0] is None:
            continue
        now = read_route_poles(s, uuid)
        if row[2] not in HANGING:
            wanted = []  # a duct or buried cable passes by poles, it does not hang on them
        else:
            coords = shapely.get_coordinates(shapely.from_wkb(row[0]))
            old = old_lines.get(uuid, row[0]) if now else None  # nothing listed: every vertex is looked at
            old_coords = np.zeros((0, 2)) if old is None else shapely.get_coordinates(
                shapely.from_wkt(old) if isinstance(old, str) else shapely.from_wkb(old))
            wanted = _derive(s, coords, old_coords, now, fresh_at)
        if wanted == now:
            continue
        s.execute(text("DELETE FROM fibre_route_poles WHERE route_uuid = :r"), {"r": uuid})
        if wanted:
            s.execute(text("INSERT INTO fibre_route_poles(route_uuid, seq, pole_uuid) VALUES (:r, :k, :p)"),
                      [{"r": uuid, "k": k, "p": p} for k, p in enumerate(wanted)])
        changed.add(uuid)
    return changed


def routes_at(s: Session, lon: float, lat: float) -> list[str]:
    """Live routes with a vertex on (lon, lat)."""
    pad = VERTEX_ON_POLE_DEG
    rows = s.execute(text(
        f"SELECT t.uuid, t.geom FROM fibre_routes t WHERE {bbox_filter(dialect_of(s), 'fibre_routes', 't')} "
        "AND t.deleted = 0 ORDER BY t.id"), bbox_params(lon - pad, lat - pad, lon + pad, lat + pad)).all()
    out = []
    for uuid, wkb in rows:
        c = shapely.get_coordinates(shapely.from_wkb(wkb))
        if np.any((np.abs(c[:, 0] - lon) <= pad) & (np.abs(c[:, 1] - lat) <= pad)):
            out.append(uuid)
    return out


def routes_of_poles(s: Session, pole_uuids: Iterable[str]) -> list[str]:
    """Live routes whose stored list names any of these poles."""
    pole_uuids = list(pole_uuids)
    if not pole_uuids:
        return []
    among, param = in_values(dialect_of(s), "l.pole_uuid", pole_uuids, named="poles")
    return [u for (u,) in s.execute(text(
        f"SELECT DISTINCT l.route_uuid FROM fibre_route_poles l JOIN fibre_routes t ON t.uuid = l.route_uuid "
        f"WHERE t.deleted = 0 AND {among} ORDER BY l.route_uuid"), {"poles": param}).all()]


def follow_pole(s: Session, tracker, pole_uuid: str, old: tuple[float, float], new: tuple[float, float]) -> list[str]:
    """Move the vertices that stand on pole `pole_uuid` at `old` (lon, lat) to `new`, in the
    routes hanging on it, through `tracker` (the edit's _Tracker: logged, versioned, in its
    operation). Returns the routes reshaped."""
    pad = VERTEX_ON_POLE_DEG
    moved = []
    for uuid in routes_of_poles(s, [pole_uuid]):
        wkb = s.execute(text("SELECT geom FROM fibre_routes WHERE uuid = :u"), {"u": uuid}).scalar()
        coords = shapely.get_coordinates(shapely.from_wkb(wkb))
        on = (np.abs(coords[:, 0] - old[0]) <= pad) & (np.abs(coords[:, 1] - old[1]) <= pad)
        if not on.any():
            continue
        coords[on] = new
        line = shapely.from_wkt(to_wkt(shapely.LineString(coords)))  # stored as a form stores it
        west, south, east, north = line.bounds
        tracker.update("fibre_routes", uuid, {"geom": shapely.to_wkb(line), "min_lon": west, "min_lat": south,
                                              "max_lon": east, "max_lat": north,
                                              "length_m": geodesic_length_m(line)})
        moved.append(uuid)
    return moved


def routes_at_spots(s: Session, spots: list[tuple[float, float]]) -> list[str]:
    """Live routes with a vertex on any of `spots` (lon, lat): one query a spot for a few, one
    pass over the routes in their box for many (an import of a province's poles)."""
    if len(spots) <= MANY_SPOTS:
        return [u for spot in spots for u in routes_at(s, *spot)]
    pad = VERTEX_ON_POLE_DEG
    xy = np.asarray(spots, dtype=float)
    (west, south), (east, north) = xy.min(axis=0) - pad, xy.max(axis=0) + pad
    rows = s.execute(text(
        f"SELECT t.uuid, t.geom FROM fibre_routes t WHERE {bbox_filter(dialect_of(s), 'fibre_routes', 't')} "
        "AND t.deleted = 0 ORDER BY t.id"), bbox_params(float(west), float(south), float(east), float(north))).all()
    if not rows:
        return []
    coords, owner = shapely.get_coordinates(shapely.from_wkb([g for _, g in rows]), return_index=True)
    keys = np.round(coords * 1e7).astype(np.int64)
    hit = np.isin(keys[:, 0] * (1 << 32) + keys[:, 1], _packed(_spot_keys(spots)))
    return [rows[i][0] for i in np.unique(owner[hit])]


def relink_after_pole_moves(s: Session, moves: Iterable[tuple[str, tuple[float, float] | None,
                                                               tuple[float, float] | None]]) -> set[str]:
    """Poles moved, deleted or brought back ((uuid, old lon/lat, new lon/lat); None for no
    position): derive again the lists of the routes that named them or stand on where they are now."""
    moves = list(moves)
    routes = routes_of_poles(s, [u for u, _, _ in moves])
    fresh = [new for _, _, new in moves if new is not None]
    routes += routes_at_spots(s, fresh)
    return relink_routes(s, routes, fresh_at=fresh)


def pole_written(s: Session, tracker, uuid: str, old: tuple[float, float] | None,
                 new: tuple[float, float] | None) -> None:
    """After a pole was added, moved or tombstoned in an edit (lon/lat before and after, None
    for none or for a tombstone): its routes' vertices follow it, and their lists are derived again."""
    if old is not None and new is not None and old != new:
        follow_pole(s, tracker, uuid, old, new)
    relink_after_pole_moves(s, [(uuid, old, new)])


def poles_of_route(db, route_uuid: str) -> list[tuple[str, str]]:
    """(uuid, code) of the live poles a route hangs on, in order along it."""
    with db.session() as s:
        return [(u, c or "") for u, c in s.execute(text(
            "SELECT p.uuid, p.code FROM fibre_route_poles l JOIN poles p ON p.uuid = l.pole_uuid "
            "WHERE l.route_uuid = :r AND p.deleted = 0 ORDER BY l.seq"), {"r": route_uuid}).all()]


def link_new_routes(s: Session, route_uuids: Iterable[str]) -> set[str]:
    """The lists of routes that have none yet and whose every vertex is to be looked at (an
    import of new routes into a file with no other live route), set-wise: what relink_routes
    derives for each of them (the live pole standing on each vertex, within VERTEX_ON_POLE_DEG
    on both axes, the older pole where two share a spot), from one read of the live poles and
    one index query for every vertex. Returns the routes given a list."""
    wanted = set(route_uuids)
    if not wanted:
        return set()
    among, param = in_values(dialect_of(s), "uuid", wanted, named="routes")
    routes = [(u, g) for u, g, deleted, method in s.execute(text(
        f"SELECT uuid, geom, deleted, method FROM fibre_routes WHERE {among} ORDER BY id"), {"routes": param}).all()
        if not deleted and g is not None and method in HANGING]
    # The driver's cursor: a country's poles are half a million rows.
    poles = raw(s).execute("SELECT uuid, lon, lat FROM poles WHERE deleted = 0 AND lat IS NOT NULL "
                           "ORDER BY id").fetchall()
    if not routes or not poles:
        return set()
    coords, owner = shapely.get_coordinates(shapely.from_wkb([g for _, g in routes]), return_index=True)
    uuids, lon, lat = zip(*poles)
    xy = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    # Candidates by box (padded: the exact test below decides), then the test `standing` makes.
    tree = shapely.STRtree(shapely.points(xy))
    pad = 2 * VERTEX_ON_POLE_DEG
    vertex, pole = tree.query(shapely.box(coords[:, 0] - pad, coords[:, 1] - pad, coords[:, 0] + pad,
                                          coords[:, 1] + pad))
    near = ((np.abs(xy[pole, 0] - coords[vertex, 0]) <= VERTEX_ON_POLE_DEG)
            & (np.abs(xy[pole, 1] - coords[vertex, 1]) <= VERTEX_ON_POLE_DEG))
    vertex, pole = vertex[near], pole[near]
    # Poles are in id order: the smallest index per vertex is the older pole.
    order = np.lexsort((pole, vertex))
    vertex, pole = vertex[order], pole[order]
    first = np.ones(len(vertex), dtype=bool)
    first[1:] = vertex[1:] != vertex[:-1]
    vertex, pole = vertex[first], pole[first]   # vertices in order along each route, routes in id order
    route = owner[vertex]
    # Each pole's place in its route's list: the vertex's rank among its route's hits.
    starts = np.flatnonzero(np.r_[True, route[1:] != route[:-1]])
    seq = np.arange(len(route)) - np.repeat(starts, np.diff(np.r_[starts, len(route)]))
    rows = [(routes[v][0], k, uuids[p]) for v, k, p in zip(route.tolist(), seq.tolist(), pole.tolist())]
    if rows:
        # Into an empty list table: its pole index built once after, not entry by entry.
        with indexes_aside(s, outnumbered(s, {"fibre_route_poles": len(rows)})):
            raw(s).executemany("INSERT INTO fibre_route_poles(route_uuid, seq, pole_uuid) VALUES (?, ?, ?)", rows)
    return {routes[v][0] for v in set(route.tolist())}
