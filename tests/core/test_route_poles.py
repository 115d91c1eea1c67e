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
    """n live poles on no route, each alone on its spot, in one commune."""
    rows = q(db, "SELECT uuid, lon, lat, commune_code FROM poles p WHERE deleted = 0 AND NOT EXISTS "
                 "(SELECT 1 FROM fibre_route_poles l WHERE l.pole_uuid = p.uuid) ORDER BY commune_code, id")
    return [r for r in rows if alone(db, r[0])][:n]


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


def test_the_sample_lists_are_what_the_rule_derives(db):
    """The sample lists its routes' poles by the editing core's rule: a copy that derives them
    again from the lines and poles (an import, a sync) finds the same lists."""
    from hatang_desktop.core.editing.route_poles import HANGING, poles_on_line

    routes = q(db, "SELECT uuid, geom, method FROM fibre_routes WHERE deleted = 0 ORDER BY id")
    stored = {uuid: links(db, uuid) for uuid, _, _ in routes}
    assert sum(map(len, stored.values())) > 100
    assert all(not stored[u] for u, _, m in routes if m not in HANGING)
    with db.session() as s:
        for uuid, geom, method in routes:
            if method in HANGING:
                assert poles_on_line(s, shapely.from_wkb(geom)) == stored[uuid]


def test_a_route_turned_from_duct_to_aerial_hangs_on_its_poles(db):
    route, before = a_hung_route(db)
    result = editing.save_record(db, "fibre_routes", {"method": "duct"}, uuid=route)
    assert links(db, route) == []
    undo_operation(db, result.operation_id)
    assert links(db, route) == before


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
    hanging = {r for (r,) in q(db, "SELECT route_uuid FROM fibre_route_poles WHERE pole_uuid = :p", p=pole)}
    result = editing.move_point(db, "poles", pole, lat + 0.0002, lon - 0.0001)
    assert route in hanging and result.changes.touched("fibre_routes") == hanging  # one operation: pole, routes
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


def test_a_workbook_exchange_derives_the_same_lists_on_both_sides(db, tmp_path):
    """The lists travel in no workbook or sync package: each side derives them from the lines
    and poles it holds, when an import writes a route or a pole, as an edit does."""
    from hatang_desktop.core.exchange.export import export_workbook
    from hatang_desktop.core.exchange.importer import import_workbook
    from hatang_desktop.core.provinces_db import init_province_database

    commune = q(db, "SELECT t.commune_code FROM fibre_route_poles l JOIN fibre_routes t ON t.uuid = l.route_uuid "
                    "GROUP BY t.commune_code ORDER BY count(*) DESC LIMIT 1")[0][0]
    to_commune = tmp_path / "gui_xa.xlsx"
    export_workbook(db, to_commune, commune=commune)
    commune_db = init_province_database(tmp_path / "xa.db", "42", user="Cán bộ xã")
    try:
        assert import_workbook(commune_db, to_commune).applied
        theirs = {u for (u,) in q(commune_db, "SELECT uuid FROM poles WHERE deleted = 0")}
        compared = 0
        for (route,) in q(commune_db, "SELECT uuid FROM fibre_routes WHERE deleted = 0 ORDER BY id"):
            ours = links(db, route)
            if set(ours) <= theirs:  # a pole of a neighbouring commune is not in the commune's copy
                assert links(commune_db, route) == ours, (route, commune)
                compared += bool(ours)
        assert compared >= 3

        # The commune moves a vertex off its pole and sends the workbook back.
        route, before = next((r, links(commune_db, r)) for (r,) in q(
            commune_db, "SELECT uuid FROM fibre_routes WHERE deleted = 0 ORDER BY id") if len(links(commune_db, r)) >= 2)
        lon, lat = q(commune_db, "SELECT lon, lat FROM poles WHERE uuid = :u", u=before[0])[0]
        k = next(i for i, v in enumerate(editing.route_vertices(commune_db, route))
                 if v == pytest.approx((lon, lat), abs=2e-7))
        editing.move_vertex(commune_db, route, k, lat + 0.0003, lon + 0.0003)
        assert links(commune_db, route) == before[1:]
        back = tmp_path / "gui_so.xlsx"
        export_workbook(commune_db, back)
    finally:
        commune_db.close()
    department = links(db, route)  # may hold a pole of a neighbouring commune the commune's copy lacks
    assert import_workbook(db, back).applied
    assert links(db, route) == [p for p in department if p != before[0]]


def test_a_long_route_finds_its_poles_one_vertex_at_a_time(db, monkeypatch):
    """A route whose box is too big to read its poles in one query finds the same ones."""
    from hatang_desktop.core.editing import route_poles

    routes = q(db, "SELECT uuid, geom FROM fibre_routes WHERE deleted = 0 AND method = 'aerial' ORDER BY id LIMIT 40")
    with db.session() as s:
        once = [route_poles.poles_on_line(s, shapely.from_wkb(g)) for _, g in routes]
        monkeypatch.setattr(route_poles, "ONE_QUERY_DEG2", 0.0)
        assert [route_poles.poles_on_line(s, shapely.from_wkb(g)) for _, g in routes] == once
    assert sum(map(len, once)) > 20


def test_the_routes_at_many_spots_are_found_in_one_pass_as_one_by_one(db, monkeypatch):
    """An import writing a province's poles finds the routes standing on them in one pass."""
    from hatang_desktop.core.editing import route_poles

    spots = [(lon, lat) for lon, lat in q(db, "SELECT lon, lat FROM poles WHERE deleted = 0 ORDER BY id")][:400]
    with db.session() as s:
        one_by_one = set(route_poles.routes_at_spots(s, spots[:150]))
        monkeypatch.setattr(route_poles, "MANY_SPOTS", 10)
        assert set(route_poles.routes_at_spots(s, spots[:150])) == one_by_one
    assert len(one_by_one) > 5
