"""The poles a route hangs on (fibre_route_poles), written by the editing core in the operation
that writes the route or the pole, and brought back by undo."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.undo import undo_operation


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path) as database:
        database.user = "tester"
        yield database


def q(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).all()


def links(db, route):
    return [p for (p,) in q(db, "SELECT pole_uuid FROM fibre_route_poles WHERE route_uuid = :r ORDER BY seq",
                            r=route)]


def operations(db):
    return q(db, "SELECT count(*) FROM operations")[0][0]


def free_poles(db, n):
    """n live poles on no route, near each other (one commune)."""
    rows = q(db, "SELECT uuid, lon, lat, commune_code FROM poles p WHERE deleted = 0 AND NOT EXISTS "
                 "(SELECT 1 FROM fibre_route_poles l WHERE l.pole_uuid = p.uuid) ORDER BY commune_code, id")
    return rows[:n]


def alone(db, pole):
    """No other live pole stands on the pole's spot (the sample puts one where two routes meet)."""
    return q(db, "SELECT count(*) FROM poles a JOIN poles b ON abs(a.lon - b.lon) < 2e-7 AND "
                 "abs(a.lat - b.lat) < 2e-7 WHERE a.uuid = :u AND b.deleted = 0", u=pole)[0][0] == 1


def a_hung_route(db):
    """A sample route of at least three poles, each alone on its spot, and its list."""
    for (uuid,) in q(db, "SELECT uuid FROM fibre_routes WHERE deleted = 0 ORDER BY id"):
        got = links(db, uuid)
        if len(got) >= 3 and all(alone(db, p) for p in got):
            return uuid, got
    raise AssertionError("no route hangs on three poles in the sample")


def test_relinking_an_unchanged_line_keeps_every_sample_list(db):
    """Every pole of a sample list stands on a vertex, in order: the editing core finds them."""
    from hatang_desktop.core.editing.route_poles import _derive

    routes = q(db, "SELECT uuid, geom FROM fibre_routes WHERE deleted = 0 ORDER BY id LIMIT 60")
    stored = {uuid: links(db, uuid) for uuid, _ in routes}
    assert sum(map(len, stored.values())) > 20
    with db.session() as s:
        for uuid, geom in routes:
            coords = shapely.get_coordinates(shapely.from_wkb(geom))
            assert _derive(s, coords, coords, stored[uuid], []) == stored[uuid]


def test_a_new_route_through_poles_records_them_in_order_in_one_operation(db):
    poles = free_poles(db, 3)
    (p0, lon0, lat0, commune), (p1, lon1, lat1, _), (p2, lon2, lat2, _) = poles
    # Through two poles, a free vertex between them, then the third: the order is the line's.
    free = ((lon0 + lon1) / 2 + 0.0003, (lat0 + lat1) / 2)
    line = shapely.LineString([(lon1, lat1), free, (lon0, lat0), (lon2, lat2)])
    ops = operations(db)
    result = editing.save_record(db, "fibre_routes", {"code": "TEST-RP-1", "operator_code": "VNPT",
                                                      "method": "aerial", "geom": line.wkt,
                                                      "commune_code": commune})
    assert operations(db) == ops + 1
    assert links(db, result.uuid) == [p1, p0, p2]
    assert editing.poles_of_route(db, result.uuid)[0][0] == p1

    undo = undo_operation(db, result.operation_id)
    # A tombstoned route keeps its list (read through live routes only): redo finds it.
    assert q(db, "SELECT deleted FROM fibre_routes WHERE uuid = :u", u=result.uuid)[0][0] == 1
    assert editing.poles_of_route(db, result.uuid) == [] or links(db, result.uuid) == [p1, p0, p2]
    undo_operation(db, undo.operation_id, undo=False)
    assert links(db, result.uuid) == [p1, p0, p2]


def test_a_vertex_moved_off_its_pole_drops_the_link_and_undo_brings_it_back(db):
    route, before = a_hung_route(db)
    vertices = editing.route_vertices(db, route)
    pole_lonlat = q(db, "SELECT lon, lat FROM poles WHERE uuid = :u", u=before[1])[0]
    k = next(i for i, v in enumerate(vertices) if v == pytest.approx(tuple(pole_lonlat), abs=2e-7))
    ops = operations(db)
    moved = editing.move_vertex(db, route, k, pole_lonlat[1] + 0.0004, pole_lonlat[0] + 0.0004)
    assert operations(db) == ops + 1
    assert links(db, route) == [before[0]] + before[2:]
    undo_operation(db, moved.operation_id)
    assert links(db, route) == before


def test_moving_a_pole_takes_its_route_vertex_along(db):
    route, before = a_hung_route(db)
    pole = before[1]
    lon, lat = q(db, "SELECT lon, lat FROM poles WHERE uuid = :u", u=pole)[0]
    old_line = editing.route_vertices(db, route)
    result = editing.move_point(db, "poles", pole, lat + 0.0002, lon - 0.0001)
    assert result.changes.touched("fibre_routes") == {route}  # one operation: the pole and its route
    new_line = editing.route_vertices(db, route)
    assert len(new_line) == len(old_line)
    # The vertex on the pole went with it (the others stay, to the 7 decimals a line is stored with).
    differ = [k for k, (a, b) in enumerate(zip(old_line, new_line)) if a != pytest.approx(b, abs=1e-7)]
    assert len(differ) == 1 and new_line[differ[0]] == pytest.approx((lon - 0.0001, lat + 0.0002), abs=1e-7)
    assert links(db, route) == before
    undo_operation(db, result.operation_id)
    assert editing.route_vertices(db, route) == old_line and links(db, route) == before


def test_a_deleted_pole_leaves_the_list_and_undo_puts_it_back(db):
    route, before = a_hung_route(db)
    result = editing.delete_record(db, "poles", before[0])
    assert links(db, route) == before[1:]
    undo_operation(db, result.operation_id)
    assert links(db, route) == before


def test_an_attribute_edit_keeps_the_list(db):
    route, before = a_hung_route(db)
    editing.save_record(db, "fibre_routes", {"note": "đã kiểm tra"}, uuid=route)
    assert links(db, route) == before
