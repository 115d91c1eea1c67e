"""The poles a route hangs on, kept by the editing core on each engine (engine_target): a vertex
moved off its pole drops it, undo brings it back, a moved pole takes its vertex along. The same
calls leave the same lists on the file and on the server."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hatang_desktop.core.editing import move_point, move_vertex, route_vertices
from hatang_desktop.core.storage.targets import open_database
from hatang_desktop.core.undo import undo_operation


def _q(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).all()


def _links(db, route):
    return [p for (p,) in _q(db, "SELECT pole_uuid FROM fibre_route_poles WHERE route_uuid = :r ORDER BY seq", r=route)]


def _alone(db, pole):
    return _q(db, "SELECT count(*) FROM poles a JOIN poles b ON abs(a.lon - b.lon) < 2e-7 AND abs(a.lat - b.lat) "
                  "< 2e-7 WHERE a.uuid = :u AND b.deleted = 0", u=pole)[0][0] == 1


def test_route_pole_lists_follow_edits_and_undo_on_each_engine(engine_target):
    with open_database(engine_target) as db:
        route, before = next((r, _links(db, r)) for (r,) in _q(
            db, "SELECT uuid FROM fibre_routes WHERE deleted = 0 AND method = 'aerial' ORDER BY id")
            if len(_links(db, r)) >= 3 and all(_alone(db, p) for p in _links(db, r)))
        lon, lat = _q(db, "SELECT lon, lat FROM poles WHERE uuid = :u", u=before[1])[0]
        k = next(i for i, v in enumerate(route_vertices(db, route)) if v == pytest.approx((lon, lat), abs=2e-7))

        off = move_vertex(db, route, k, lat + 0.0004, lon + 0.0004)
        assert _links(db, route) == [before[0]] + before[2:]
        undo_operation(db, off.operation_id)
        assert _links(db, route) == before

        moved = move_point(db, "poles", before[1], lat + 0.0002, lon - 0.0002)
        assert route in moved.changes.touched("fibre_routes")
        assert route_vertices(db, route)[k] == pytest.approx((lon - 0.0002, lat + 0.0002), abs=1e-7)
        assert _links(db, route) == before
        undo_operation(db, moved.operation_id)
        assert route_vertices(db, route)[k] == pytest.approx((lon, lat), abs=1e-7) and _links(db, route) == before
