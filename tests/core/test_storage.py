"""The database file: pragmas, constraints, tombstones, the change log and the R*Tree."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString
from sqlalchemy import select, text

from hatang_desktop.core.model import FibreRoute, Site, SiteTenant
from hatang_desktop.core.spatial import uuids_in_bbox
from hatang_desktop.core.storage.migrations import APPLICATION_ID, current_version

SYNC = ("uuid, version, updated_at, updated_by, source, deleted",
        "'{u}', 1, '2025-01-01', 't', 't', 0")


def _raw(db):
    conn = sqlite3.connect(db.path)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _site_sql(uuid="00000000-0000-4000-8000-000000000001", **over):
    values = {"operator_code": "'VTL'", "site_code": "'A1'", "lat": "18.3", "lon": "105.9",
              "tower_type": "'ground_tower'", "status": "'operating'", **over}
    cols = ", ".join(values)
    return (f"INSERT INTO sites({SYNC[0]}, {cols}) VALUES ({SYNC[1].format(u=uuid)}, "
            f"{', '.join(values.values())})")


def test_new_database_pragmas(empty_db):
    conn = _raw(empty_db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == current_version()
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    with empty_db.session() as s:
        assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    assert conn.execute("SELECT count(*) FROM admin_units WHERE level = 'commune'").fetchone()[0] == 69
    conn.close()


@pytest.mark.parametrize("override, reason", [
    ({"lat": "95"}, "CHECK"),
    ({"lon": "-190"}, "CHECK"),
    ({"tower_type": "'tree'"}, "CHECK"),
    ({"status": "'maybe'"}, "CHECK"),
    ({"height_m": "-5"}, "CHECK"),
    ({"operator_code": "'ACME'"}, "FOREIGN KEY"),
    ({"commune_code": "'99999'"}, "FOREIGN KEY"),
    ({"site_code": "'  '"}, "CHECK"),
])
def test_database_rejects_bad_sites(empty_db, override, reason):
    conn = _raw(empty_db)
    with pytest.raises(sqlite3.IntegrityError, match=reason):
        conn.execute(_site_sql(**override))
    conn.close()


def test_site_code_unique_per_operator_among_live_records(empty_db):
    conn = _raw(empty_db)
    conn.execute(_site_sql("00000000-0000-4000-8000-000000000001"))
    conn.execute(_site_sql("00000000-0000-4000-8000-000000000002", operator_code="'MBF'"))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(_site_sql("00000000-0000-4000-8000-000000000003"))
    conn.execute("UPDATE sites SET deleted = 1 WHERE uuid = '00000000-0000-4000-8000-000000000001'")
    conn.execute(_site_sql("00000000-0000-4000-8000-000000000003"))  # a tombstone frees the code
    conn.close()


def test_records_are_tombstoned_never_deleted(empty_db):
    conn = _raw(empty_db)
    conn.execute(_site_sql())
    with pytest.raises(sqlite3.IntegrityError, match="tombstoned"):
        conn.execute("DELETE FROM sites")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM change_log")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE change_log SET user = 'x'")
    conn.close()


def test_tenant_must_belong_to_an_existing_site(empty_db):
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with empty_db.operation("bad tenant") as s:
            s.add(SiteTenant(site_uuid="00000000-0000-4000-8000-00000000dead", operator_code="VTL"))


def test_an_edit_writes_the_change_log(empty_db):
    with empty_db.operation("add", user="Nguyễn Văn A", source="device:laptop-xa") as s:
        site = Site(operator_code="VTL", site_code="HT001", lat=18.34, lon=105.90,
                    commune_code="18073")
        s.add(site)
    with empty_db.operation("edit", user="Trần Thị B", source="workbook:xa.xlsx") as s:
        site = s.scalars(select(Site)).one()
        site.name, site.height_m = "Trạm Thành Sen", 42.0
    with empty_db.operation("delete", user="Trần Thị B") as s:
        s.scalars(select(Site)).one().deleted = True

    with empty_db.session() as s:
        site = s.scalars(select(Site)).one()
        assert site.version == 3 and site.deleted and site.updated_by == "Trần Thị B"
        log = s.execute(text(
            "SELECT action, field, old_value, new_value, user, source, operation_id FROM change_log "
            "WHERE record_uuid = :u ORDER BY id"), {"u": site.uuid}).all()
    assert log[0][:2] == ("insert", None) and log[0][4:6] == ("Nguyễn Văn A", "device:laptop-xa")
    updates = {row[1]: row for row in log if row[0] == "update"}
    assert updates["name"][2:6] == (None, "Trạm Thành Sen", "Trần Thị B", "workbook:xa.xlsx")
    assert updates["height_m"][3] == 42.0
    assert log[-1][:4] == ("delete", "deleted", 0, 1)
    assert len({row[6] for row in log}) == 3  # one operation per user action
    assert "version" not in updates and "updated_at" not in updates


def test_failed_operation_writes_nothing(empty_db):
    with pytest.raises(RuntimeError):
        with empty_db.operation("half") as s:
            s.add(Site(operator_code="VTL", site_code="X", lat=18.3, lon=105.9))
            s.flush()
            raise RuntimeError("laptop died")
    with empty_db.session() as s:
        assert s.execute(text("SELECT count(*) FROM sites")).scalar_one() == 0
        assert s.execute(text("SELECT count(*) FROM change_log WHERE table_name = 'sites'")).scalar_one() == 0


def test_route_geometry_sets_bbox_and_geodesic_length(empty_db):
    line = LineString([(105.90, 18.30), (105.91, 18.30), (105.91, 18.31)])
    with empty_db.operation("route") as s:
        r = FibreRoute(code="R1", operator_code="VNPT", method="aerial")
        r.set_shape(line)
        s.add(r)
    with empty_db.session() as s:
        r = s.scalars(select(FibreRoute)).one()
        assert (r.min_lon, r.min_lat, r.max_lon, r.max_lat) == (105.90, 18.30, 105.91, 18.31)
        assert r.shape.equals(line)
        assert 2150 < r.length_m < 2170  # ~1056 m east + ~1107 m north at 18.3°N


lon_st = st.floats(105.0, 107.0, allow_nan=False)
lat_st = st.floats(17.5, 19.5, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.tuples(lon_st, lat_st), min_size=1, max_size=40),
       lines=st.lists(st.lists(st.tuples(lon_st, lat_st), min_size=2, max_size=5), max_size=15),
       boxes=st.lists(st.tuples(lon_st, lon_st, lat_st, lat_st), min_size=1, max_size=6),
       moves=st.lists(st.tuples(st.integers(0, 39), lon_st, lat_st), max_size=8),
       deletions=st.lists(st.integers(0, 39), max_size=5))
def test_rtree_answers_exactly_what_a_scan_finds(tmp_path_factory, points, lines, boxes, moves, deletions):
    from hatang_desktop.core.provinces_db import init_province_database

    db = init_province_database(tmp_path_factory.mktemp("rt") / "rt.db", "42")
    try:
        with db.operation("fill") as s:
            for i, (x, y) in enumerate(points):
                s.add(Site(operator_code="VTL", site_code=f"S{i}", lat=y, lon=x))
            for i, coords in enumerate(lines):
                r = FibreRoute(code=f"R{i}", operator_code="MBF", method="duct")
                r.set_shape(LineString(coords) if len(set(coords)) > 1 else LineString(coords + [(coords[0][0] + 1e-4, coords[0][1])]))
                s.add(r)
        with db.operation("edit") as s:  # updates and tombstones must move the index too
            sites = s.scalars(select(Site).order_by(Site.id)).all()
            for i, x, y in moves:
                if i < len(sites):
                    sites[i].lon, sites[i].lat = x, y
            for i in deletions:
                if i < len(sites):
                    sites[i].deleted = True
        with db.session() as s:
            all_sites = s.scalars(select(Site)).all()
            all_routes = s.scalars(select(FibreRoute)).all()
            for ax, bx, ay, by in boxes:
                x0, x1, y0, y1 = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
                expect = {p.uuid for p in all_sites
                          if not p.deleted and x0 <= p.lon <= x1 and y0 <= p.lat <= y1}
                assert set(uuids_in_bbox(s, "sites", x0, y0, x1, y1)) == expect
                expect = {r.uuid for r in all_routes
                          if r.max_lon >= x0 and r.min_lon <= x1 and r.max_lat >= y0 and r.min_lat <= y1}
                assert set(uuids_in_bbox(s, "fibre_routes", x0, y0, x1, y1)) == expect
            n_index = s.execute(text("SELECT count(*) FROM rtree_sites")).scalar_one()
            assert n_index == sum(not p.deleted for p in all_sites)
    finally:
        db.close()
