"""The core's writes on each engine (engine_target): a form's save with its sub-list, a move, a
route's vertex, a delete, each undone and redone from the change log, and a rules check with an
inspector's action. The same calls must leave the same data on the file and on the server."""

from __future__ import annotations

from sqlalchemy import text

from hatang_desktop.core.editing import (delete_record, move_point, move_vertex, read_children, read_values,
                                         record_history, route_vertices, save_record)
from hatang_desktop.core.rules.check import list_findings, run_check
from hatang_desktop.core.rules.store import set_status
from hatang_desktop.core.storage.targets import open_database
from hatang_desktop.core.undo import undo_operation


def _row(db, table: str, uuid: str) -> dict:
    with db.session() as s:
        row = dict(s.execute(text(f"SELECT * FROM {table} WHERE uuid = :u"), {"u": uuid}).mappings().one())
    return {k: v for k, v in row.items() if k not in ("id", "version", "updated_at", "updated_by", "source", "shape")}


def test_edits_undo_and_redo_on_each_engine(engine_target):
    with open_database(engine_target) as db:
        with db.session() as s:
            commune, lat, lon = s.execute(text(
                "SELECT code, centre_lat, centre_lon FROM admin_units WHERE level = 'commune' AND deleted = 0 "
                "AND centre_lat IS NOT NULL ORDER BY code LIMIT 1")).one()
            route = s.execute(text("SELECT uuid FROM fibre_routes WHERE deleted = 0 ORDER BY id LIMIT 1")).scalar()
        made = save_record(db, "sites", {"operator_code": "VTL", "site_code": "BOTH_1", "lat": lat + 0.001,
                                         "lon": lon + 0.001, "tower_type": "ground_tower", "status": "operating",
                                         "in_passive_plan": True, "commune_code": commune},
                           children=[{"operator_code": "VTL", "technologies": ["4G", "5G"]}], allow_duplicates=True)
        uuid = made.uuid
        assert made.changes.inserted == {"sites": {uuid}, "site_tenants": set(made.changes.inserted["site_tenants"])}
        assert read_values(db, "sites", uuid)["in_passive_plan"] is True
        assert tuple(read_children(db, "sites", uuid)[0]["technologies"]) == ("4G", "5G")
        created = _row(db, "sites", uuid)
        assert created["in_passive_plan"] == 1 and created["deleted"] == 0

        changed = save_record(db, "sites", {"name": "Trạm hai động cơ"}, uuid=uuid)
        moved = move_point(db, "sites", uuid, lat + 0.002, lon + 0.002)
        assert _row(db, "sites", uuid)["lat"] == lat + 0.002
        undo_operation(db, moved.operation_id)
        assert _row(db, "sites", uuid) == created | {"name": "Trạm hai động cơ"}
        undo_operation(db, changed.operation_id)
        assert _row(db, "sites", uuid) == created

        before = route_vertices(db, route)
        geom_before = _row(db, "fibre_routes", route)
        reshaped = move_vertex(db, route, 0, before[0][1] + 0.0005, before[0][0] + 0.0005)
        assert route_vertices(db, route)[0] != before[0]
        logged = [e for e in record_history(db, "fibre_routes", route) if e.field == "geom"]
        # The server logs jsonb, where bytes are "\\x<hex>" text: read back, they are bytes again.
        assert logged and all(isinstance(e.old_value, bytes) and isinstance(e.new_value, bytes) for e in logged)
        undone = undo_operation(db, reshaped.operation_id)
        assert route_vertices(db, route) == before and _row(db, "fibre_routes", route) == geom_before
        undo_operation(db, undone.operation_id, undo=False)  # redo: the moved vertex is back
        assert route_vertices(db, route)[0] != before[0]

        gone = delete_record(db, "sites", uuid)
        assert _row(db, "sites", uuid)["deleted"] == 1 and gone.changes.deleted["sites"] == {uuid}
        back = undo_operation(db, gone.operation_id)
        assert _row(db, "sites", uuid)["deleted"] == 0 and back.changes.inserted["sites"] == {uuid}


def test_a_rules_check_and_an_inspector_action_on_each_engine(engine_target):
    with open_database(engine_target) as db:
        first = run_check(db)
        open_ones = list_findings(db, statuses=["open"])
        assert len(open_ones) > 0
        picked = sorted(open_ones["uuid"])[:2]
        set_status(db, picked, "confirmed", reason="kiểm tra tại chỗ")
        frame = list_findings(db)
        assert set(frame[frame["uuid"].isin(picked)]["status"]) == {"confirmed"}
        again = run_check(db)  # nothing new: the same breaches are the same findings
        assert again.changes.new == 0 and first.changes.new >= 0


def test_a_form_saved_as_it_was_logs_nothing_on_each_engine(engine_target):
    """Lưu pressed with nothing edited: no version bump, no operation in the history, nothing to
    undo; the same record saved with its sub-list as it was, likewise."""
    with open_database(engine_target) as db:
        with db.session() as s:
            uuid = s.execute(text("SELECT s.uuid FROM sites s JOIN site_tenants t ON t.site_uuid = s.uuid "
                                  "WHERE s.deleted = 0 AND t.deleted = 0 ORDER BY s.id LIMIT 1")).scalar()
            ops = s.execute(text("SELECT count(*) FROM operations")).scalar()
        before = _row(db, "sites", uuid)
        same = save_record(db, "sites", read_values(db, "sites", uuid), uuid=uuid,
                           children=read_children(db, "sites", uuid), allow_duplicates=True)
        assert not same.changed and same.operation_id is None
        assert _row(db, "sites", uuid) == before
        with db.session() as s:
            assert s.execute(text("SELECT count(*) FROM operations")).scalar() == ops
        edited = save_record(db, "sites", {"note": "ghi chú mới"}, uuid=uuid)
        assert edited.changed and edited.operation_id is not None
