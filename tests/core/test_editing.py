"""Editing in the core: save, validate, move, reshape, tombstone, undo/redo, duplicates, history."""

import datetime as dt

import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.editing import DuplicateFound, StaleEdit, ValidationFailed
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.undo import undo_operation

BOOKKEEPING = {"version", "updated_at", "updated_by", "source"}
TABLES = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")
HERE = (18.3431, 105.9057)  # Hà Tĩnh city


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path) as database:
        database.user = "tester"
        yield database


def data_rows(db, table):
    """Every row of a table with its data columns (bookkeeping left out), keyed by uuid."""
    with db.session() as s:
        rows = s.execute(text(f"SELECT * FROM {table}")).mappings().all()
    return {r["uuid"]: {k: v for k, v in r.items() if k not in BOOKKEEPING} for r in rows}


def snapshot(db):
    return {t: data_rows(db, t) for t in TABLES}


def log_size(db):
    with db.session() as s:
        return (s.execute(text("SELECT count(*) FROM change_log")).scalar(),
                s.execute(text("SELECT count(*) FROM operations")).scalar())


def live(rows):
    return {u: r for u, r in rows.items() if not r["deleted"]}


def an_existing(db, table):
    with db.session() as s:
        return s.execute(text(f"SELECT uuid FROM {table} WHERE deleted = 0 ORDER BY id LIMIT 1")).scalar()


NEW_SITE = {"site_code": "HT-TEST-001", "operator_code": "Viettel", "name": "Trạm Thạch Trung",
            "address": "Xóm 3, Thạch Trung", "lat": "18°20'35\"N", "lon": "105.9057", "tower_type": "ground_tower",
            "height_m": "42,5", "permit_no": "GP-12/2024", "permit_date": "15/03/2024",
            "in_passive_plan": True, "status": "operating"}


def test_save_site_with_tenants_and_read_back(db):
    result = editing.save_record(db, "sites", NEW_SITE, children=[
        {"operator_code": "VTL", "technologies": ("4G", "5G"), "tenant_site_code": "VT-1"},
        {"operator_code": "MobiFone", "technologies": "2G/4G"}])
    values = editing.read_values(db, "sites", result.uuid)
    assert values["site_code"] == "HT-TEST-001" and values["operator_code"] == "VTL"
    assert values["name"] == "Trạm Thạch Trung"
    assert values["lat"] == pytest.approx(18 + 20 / 60 + 35 / 3600) and values["lon"] == pytest.approx(105.9057)
    assert values["height_m"] == 42.5 and values["permit_date"] == dt.date(2024, 3, 15)
    assert values["in_passive_plan"] is True and values["deleted"] is False
    tenants = editing.read_children(db, "sites", result.uuid)
    assert [(t["operator_code"], t["technologies"]) for t in tenants] == [("VTL", ("4G", "5G")), ("MBF", ("2G", "4G"))]
    with db.session() as s:
        op = s.execute(text("SELECT description, user FROM operations ORDER BY id DESC LIMIT 1")).one()
        logged = s.execute(text("SELECT count(*) FROM change_log WHERE action = 'insert' AND operation_id = "
                                "(SELECT max(id) FROM operations)")).scalar()
    assert op == ("Thêm trạm BTS HT-TEST-001", "tester")
    assert logged == 3  # the site and its two tenants, in one operation


def test_edit_site_sub_list_updates_adds_and_tombstones(db):
    site = editing.save_record(db, "sites", NEW_SITE, children=[
        {"operator_code": "VTL", "technologies": ("4G",)}, {"operator_code": "MBF", "technologies": ("2G",)}])
    vtl, mbf = editing.read_children(db, "sites", site.uuid)
    editing.save_record(db, "sites", {"height_m": 45}, uuid=site.uuid, children=[
        {"uuid": vtl["uuid"], "technologies": ("4G", "5G")}, {"operator_code": "VNPT", "technologies": "4G"}])
    tenants = editing.read_children(db, "sites", site.uuid)
    assert [(t["operator_code"], t["technologies"]) for t in tenants] == [("VTL", ("4G", "5G")), ("VNPT", ("4G",))]
    assert data_rows(db, "site_tenants")[mbf["uuid"]]["deleted"] == 1
    assert editing.read_values(db, "sites", site.uuid)["height_m"] == 45


def test_save_pole_with_attachments_and_read_back(db):
    result = editing.save_record(db, "poles", {
        "code": "C-101", "owner_kind": "Điện lực", "material": "concrete", "height_m": "8,5",
        "lat": HERE[0], "lon": HERE[1], "road": "Đường Phan Đình Phùng", "carries_power": True},
        children=[{"operator_code": "VTL", "cable_count": 3, "cable_type": "fibre", "lowest_height_m": "5,2",
                   "situation": "crossing_road", "has_height_sign": False, "condition": "tangled"},
                  {"operator_code": "VNPT", "cable_count": "1"}])
    values = editing.read_values(db, "poles", result.uuid)
    assert (values["code"], values["owner_kind"], values["height_m"], values["road"]) == \
        ("C-101", "power", 8.5, "Đường Phan Đình Phùng")
    atts = editing.read_children(db, "poles", result.uuid)
    assert [(a["operator_code"], a["cable_count"], a["lowest_height_m"], a["condition"]) for a in atts] == \
        [("VTL", 3, 5.2, "tangled"), ("VNPT", 1, None, "ok")]
    assert atts[0]["has_height_sign"] is False and atts[1]["tagged"] is True  # the form's default


def test_save_route_and_read_back(db):
    line = shapely.LineString([(105.90, 18.34), (105.905, 18.345), (105.91, 18.343)])
    result = editing.save_record(db, "fibre_routes", {"code": "T-01", "operator_code": "VTL", "method": "aerial",
                                                      "core_count": "24", "geom": line})
    values = editing.read_values(db, "fibre_routes", result.uuid)
    assert values["method"] == "aerial" and values["core_count"] == 24 and values["level"] == "access"
    assert shapely.from_wkt(values["geom"]).equals_exact(line, 1e-7)
    row = data_rows(db, "fibre_routes")[result.uuid]
    assert row["length_m"] == pytest.approx(1480, rel=0.1)
    assert (row["min_lon"], row["max_lat"]) == (105.90, 18.345)


def test_save_finding_and_zone_and_read_back(db):
    f = editing.save_record(db, "findings", {"severity": "violation", "found_on": dt.date(2025, 5, 2),
                                             "note": "Cáp treo thấp hơn 4,5 m", "lat": HERE[0], "lon": HERE[1]})
    values = editing.read_values(db, "findings", f.uuid)
    assert (values["severity"], values["status"], values["found_on"]) == ("violation", "open", dt.date(2025, 5, 2))
    assert values["note"] == "Cáp treo thấp hơn 4,5 m"
    poly = shapely.Polygon([(105.90, 18.34), (105.91, 18.34), (105.91, 18.35), (105.90, 18.35)])
    z = editing.save_record(db, "zones", {"code": "KCN-X", "name": "Khu công nghiệp Thử", "kind": "industrial_park",
                                          "geom": poly.wkt})
    zv = editing.read_values(db, "zones", z.uuid)
    assert zv["kind"] == "industrial_park" and shapely.from_wkt(zv["geom"]).equals(poly)
    assert data_rows(db, "zones")[z.uuid]["area_m2"] == pytest.approx(1.17e6, rel=0.05)


@pytest.mark.parametrize("table, values, field, words", [
    ("sites", NEW_SITE | {"site_code": ""}, "site_code", "bắt buộc"),
    ("sites", NEW_SITE | {"height_m": "350"}, "height_m", "ngoài khoảng"),
    ("sites", NEW_SITE | {"site_code": "HT 001 ☎"}, "site_code", "định dạng"),
    ("sites", NEW_SITE | {"tower_type": "rooftop_pole"}, "permit_no", "chỉ ghi khi"),
    ("sites", NEW_SITE | {"lat": "", "lon": ""}, "position", "bắt buộc"),
    ("sites", NEW_SITE | {"lat": 48.85, "lon": 2.35}, "position", "ngoài Việt Nam"),
    ("sites", NEW_SITE | {"status": "broken"}, "status", "không có trong danh sách"),
    ("poles", {"code": "C-1", "owner_kind": "power", "owner_operator_code": "VTL", "lat": HERE[0], "lon": HERE[1]},
     "owner_operator_code", "chỉ ghi khi"),
    ("fibre_routes", {"code": "T", "operator_code": "VTL", "method": "aerial",
                      "geom": "LINESTRING (105.9 18.34, 105.91 18.35)", "core_count": 0}, "core_count", "ngoài khoảng"),
    ("findings", {"severity": "violation", "found_on": "31/02/2025"}, "found_on", "không phải ngày"),
    ("zones", {"code": "Z", "name": "Z", "kind": "undergrounding", "geom": "POLYGON ((0 0, 1 0, 1 1, 0 0))"},
     "geom", "ngoài lãnh thổ"),
])
def test_rules_reject_and_nothing_is_written(db, table, values, field, words):
    before, log = snapshot(db), log_size(db)
    with pytest.raises(ValidationFailed) as exc:
        editing.save_record(db, table, values)
    assert any(k == field and words in m for k, m in exc.value.problems), exc.value.problems
    assert snapshot(db) == before and log_size(db) == log


def test_sub_list_rules_name_the_row(db):
    with pytest.raises(ValidationFailed) as exc:
        editing.save_record(db, "poles", {"code": "C-2", "owner_kind": "power", "lat": HERE[0], "lon": HERE[1]},
                            children=[{"operator_code": "VTL", "cable_count": 500},
                                      {"operator_code": "VTL", "lowest_height_m": 1.2}])
    keys = [k for k, _ in exc.value.problems]
    assert "pole_attachments[0].cable_count" in keys and "pole_attachments[1].operator_code" in keys


def test_a_partial_change_is_checked_as_a_whole(db):
    site = editing.save_record(db, "sites", NEW_SITE)
    with pytest.raises(ValidationFailed) as exc:  # the permit stays, but a rooftop has none
        editing.save_record(db, "sites", {"tower_type": "rooftop_pole"}, uuid=site.uuid)
    assert [k for k, _ in exc.value.problems] == ["permit_no", "permit_date"]
    editing.save_record(db, "sites", {"tower_type": "rooftop_pole", "permit_no": None, "permit_date": None,
                                      "building_height_m": 21}, uuid=site.uuid)
    assert editing.read_values(db, "sites", site.uuid)["building_height_m"] == 21


def test_route_code_must_be_unique_per_operator(db):
    line = "LINESTRING (105.9 18.34, 105.91 18.35)"
    editing.save_record(db, "fibre_routes", {"code": "T-9", "operator_code": "VTL", "method": "duct", "geom": line})
    with pytest.raises(ValidationFailed) as exc:
        editing.save_record(db, "fibre_routes", {"code": "T-9", "operator_code": "VTL", "method": "duct", "geom": line})
    assert exc.value.problems[0][0] == "code"
    editing.save_record(db, "fibre_routes", {"code": "T-9", "operator_code": "MBF", "method": "duct", "geom": line})


def _undo_restores(db, edit):
    before = snapshot(db)
    result = edit()
    after = snapshot(db)
    assert after != before
    undone = undo_operation(db, result.operation_id)
    restored = snapshot(db)
    for table in TABLES:
        # Rows that existed are back exactly; a row the edit created is a tombstone (never hard-deleted).
        assert {u: r for u, r in restored[table].items() if u in before[table]} == before[table], table
        assert live(restored[table]) == live(before[table]), table
    undo_operation(db, undone.operation_id, undo=False)
    assert snapshot(db) == after  # redo brings back the very same rows, same UUIDs
    return result


def test_undo_and_redo_of_a_new_site_with_tenants(db):
    _undo_restores(db, lambda: editing.save_record(db, "sites", NEW_SITE, children=[
        {"operator_code": "VTL", "technologies": ("4G",)}]))


def test_undo_of_an_attribute_and_sub_list_edit_restores_rows_exactly(db):
    pole = an_existing(db, "poles")
    atts = editing.read_children(db, "poles", pole)
    changed = [{"uuid": a["uuid"], "cable_count": (a["cable_count"] or 0) + 1} for a in atts[1:]]
    _undo_restores(db, lambda: editing.save_record(db, "poles", {"height_m": 11.5, "road": "Đường Hà Huy Tập"},
                                                   uuid=pole, children=changed + [{"operator_code": "GTEL"}]))


def test_undo_of_moves_vertex_edits_and_delete(db):
    site, route = an_existing(db, "sites"), an_existing(db, "fibre_routes")
    _undo_restores(db, lambda: editing.move_point(db, "sites", site, 18.3401, 105.9102))
    n = len(editing.route_vertices(db, route))
    _undo_restores(db, lambda: editing.move_vertex(db, route, 0, 18.3402, 105.9103))
    _undo_restores(db, lambda: editing.insert_vertex(db, route, 1, 18.3405, 105.9105))
    assert len(editing.route_vertices(db, route)) == n + 1
    if n > 2:
        _undo_restores(db, lambda: editing.delete_vertex(db, route, -1))
    _undo_restores(db, lambda: editing.delete_record(db, "sites", site))


def test_vertex_edits_change_geometry_and_length(db):
    line = shapely.LineString([(105.90, 18.34), (105.91, 18.34)])
    r = editing.save_record(db, "fibre_routes", {"code": "T-V", "operator_code": "VTL", "method": "buried", "geom": line})
    length = data_rows(db, "fibre_routes")[r.uuid]["length_m"]
    editing.insert_vertex(db, r.uuid, 1, 18.35, 105.905)
    assert editing.route_vertices(db, r.uuid) == [(105.90, 18.34), (105.905, 18.35), (105.91, 18.34)]
    assert data_rows(db, "fibre_routes")[r.uuid]["length_m"] > length
    editing.move_vertex(db, r.uuid, -1, 18.345, 105.92)
    editing.delete_vertex(db, r.uuid, 0)
    assert editing.route_vertices(db, r.uuid) == [(105.905, 18.35), (105.92, 18.345)]
    with pytest.raises(ValidationFailed):
        editing.delete_vertex(db, r.uuid, 0)  # a route keeps two vertices
    with pytest.raises(ValidationFailed):
        editing.move_vertex(db, r.uuid, 0, 40.0, 10.0)  # outside Vietnam


def test_delete_is_a_tombstone_with_the_sub_list(db):
    site = editing.save_record(db, "sites", NEW_SITE, children=[{"operator_code": "VTL"}, {"operator_code": "MBF"}])
    tenants = [t["uuid"] for t in editing.read_children(db, "sites", site.uuid)]
    editing.delete_record(db, "sites", site.uuid)
    assert data_rows(db, "sites")[site.uuid]["deleted"] == 1
    assert all(data_rows(db, "site_tenants")[u]["deleted"] == 1 for u in tenants)
    with db.session() as s:
        actions = s.execute(text("SELECT action FROM change_log WHERE operation_id = (SELECT max(id) FROM operations)")).all()
    assert sorted(a for (a,) in actions) == ["delete", "delete", "delete"]
    # The code is free again for a new live site.
    editing.save_record(db, "sites", NEW_SITE)


def test_undo_is_refused_when_the_record_changed_since(db):
    site = an_existing(db, "sites")
    first = editing.save_record(db, "sites", {"note": "một"}, uuid=site)
    editing.save_record(db, "sites", {"note": "hai"}, uuid=site)
    before = snapshot(db)
    with pytest.raises(StaleEdit):
        undo_operation(db, first.operation_id)
    assert snapshot(db) == before


def test_duplicate_guard_finds_same_code_and_near_sites(db):
    site = editing.save_record(db, "sites", NEW_SITE)
    lat, lon = editing.read_values(db, "sites", site.uuid)["lat"], 105.9057
    with pytest.raises(DuplicateFound) as exc:
        editing.save_record(db, "sites", NEW_SITE | {"lat": lat + 0.01}, allow_duplicates=True)
    assert [(d.uuid, d.same_code, d.blocking) for d in exc.value.duplicates] == [(site.uuid, True, True)]
    near = NEW_SITE | {"site_code": "HT-TEST-002", "lat": lat + 0.00006}  # about 6.6 m north
    with pytest.raises(DuplicateFound) as exc:
        editing.save_record(db, "sites", near)
    (dup,) = exc.value.duplicates
    assert dup.uuid == site.uuid and not dup.same_code and 5 < dup.distance_m < 8
    saved = editing.save_record(db, "sites", near, allow_duplicates=True)  # the user said so
    assert editing.read_values(db, "sites", saved.uuid)["site_code"] == "HT-TEST-002"
    # 15 m away, or another operator at the same spot, is not a duplicate; nor is the site itself.
    assert editing.find_duplicate_sites(db, "VTL", "X", lat + 0.000135, lon - 0.0002) == []
    assert editing.find_duplicate_sites(db, "MBF", "HT-TEST-001", lat, lon) == []
    assert editing.find_duplicate_sites(db, "VTL", "HT-TEST-001", lat, lon, exclude_uuid=site.uuid) == \
        [d for d in editing.find_duplicate_sites(db, "VTL", "HT-TEST-001", lat, lon) if d.uuid != site.uuid]
    editing.save_record(db, "sites", {"note": "không trùng chính nó"}, uuid=site.uuid)


def test_history_lists_the_changes_with_who_and_old_values(db):
    site = editing.save_record(db, "sites", NEW_SITE, children=[{"operator_code": "VTL"}])
    editing.save_record(db, "sites", {"height_m": 50}, uuid=site.uuid, user="thanh.tra")
    editing.move_point(db, "sites", site.uuid, 18.35, 105.91)
    history = editing.record_history(db, "sites", site.uuid)
    assert history[0].action == "update" and {h.field for h in history[:2]} == {"lat", "lon"}
    height = next(h for h in history if h.field == "height_m")
    assert (height.old_value, height.new_value, height.user) == (42.5, 50.0, "thanh.tra")
    assert height.description == "Sửa trạm BTS HT-TEST-001"
    assert {h.table for h in history if h.action == "insert"} == {"sites", "site_tenants"}


def test_saving_unchanged_values_writes_nothing(db):
    site = an_existing(db, "sites")
    values = editing.read_values(db, "sites", site)
    before = snapshot(db)
    result = editing.save_record(db, "sites", values, uuid=site)
    assert not result.changed and snapshot(db) == before


def test_chained_undo_of_several_edits_on_one_record(db):
    route = an_existing(db, "fibre_routes")
    before = snapshot(db)
    edits = [editing.insert_vertex(db, route, 1, 18.3405, 105.9105), editing.delete_vertex(db, route, 0),
             editing.save_record(db, "fibre_routes", {"core_count": 96}, uuid=route)]
    for e in reversed(edits):  # what the undo stack does: last first
        undo_operation(db, e.operation_id)
    assert snapshot(db)["fibre_routes"] == before["fibre_routes"]


def test_gps_metadata_is_kept_with_a_gps_position_and_cleared_by_a_move(db):
    gnss = {"gnss_accuracy_m": 3.2, "gnss_hdop": 0.9, "gnss_satellites": 11,
            "gnss_fix_time": "2025-05-02T03:04:05Z", "gnss_source": "nmea:walk.nmea", "gnss_fix_count": 10}
    pole = editing.save_record(db, "poles", {"code": "C-GPS", "owner_kind": "power", "lat": HERE[0],
                                             "lon": HERE[1]}, gnss=gnss)
    row = data_rows(db, "poles")[pole.uuid]
    assert {k: row[k] for k in gnss} == gnss
    editing.save_record(db, "poles", {"road": "Đường Trần Phú"}, uuid=pole.uuid)  # position unchanged: kept
    assert data_rows(db, "poles")[pole.uuid]["gnss_accuracy_m"] == 3.2
    moved = editing.move_point(db, "poles", pole.uuid, HERE[0] + 0.001, HERE[1])
    assert all(data_rows(db, "poles")[pole.uuid][k] is None for k in gnss)
    undo_operation(db, moved.operation_id)
    assert {k: data_rows(db, "poles")[pole.uuid][k] for k in gnss} == gnss
