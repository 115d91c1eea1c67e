"""The server's schema on a real PostgreSQL + PostGIS: the same tables as a file, and the triggers
that log, version and shape every write, whoever makes it (psql here, as QGIS would)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from hatang_desktop.core.server.database import ServerError, create_schema
from hatang_desktop.core.server.triggers import OUTSIDE_APP
from hatang_desktop.core.storage.migrations import migrate
from hatang_desktop.core.storage.targets import parse_server_url

SITE = ("INSERT INTO sites(operator_code, site_code, lat, lon, commune_code) "
        "VALUES ('VTL', 'HT-001', 18.34, 105.9, NULL) RETURNING uuid")


@pytest.fixture
def schema_url(pg_server):
    url = pg_server.new_database()
    create_schema(parse_server_url(url))
    return url


def _columns_sqlite() -> dict[str, set[str]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'rtree_%'")]
    return {t: {row[1] for row in conn.execute(f"PRAGMA table_info({t})")} for t in tables}


def test_every_table_and_column_of_a_file_is_on_the_server(schema_url):
    with psycopg.connect(schema_url) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public'").fetchall()
    server: dict[str, set[str]] = {}
    for table, column in rows:
        server.setdefault(table, set()).add(column)
    for table, columns in _columns_sqlite().items():
        assert columns <= server.get(table, set()), (table, columns - server.get(table, set()))
    for table in ("sites", "poles", "findings", "fibre_routes", "zones", "admin_units"):
        assert "shape" in server[table]


def test_shapes_are_postgis_columns_with_gist_indexes(schema_url):
    with psycopg.connect(schema_url) as conn:
        # The tables' own columns (the QGIS views over them are listed too: server/security.py).
        types = dict(conn.execute("SELECT f_table_name, type FROM geometry_columns WHERE srid = 4326 "
                                  "AND f_table_name IN (SELECT tablename FROM pg_tables)").fetchall())
        gist = {r[0] for r in conn.execute("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist (shape)%'")}
    assert types == {"sites": "POINT", "poles": "POINT", "findings": "POINT", "fibre_routes": "LINESTRING",
                     "zones": "MULTIPOLYGON", "admin_units": "MULTIPOLYGON"}
    assert gist == set(types)


def test_the_operators_of_a_new_file_are_on_the_server(schema_url):
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    expected = set(conn.execute("SELECT code, colour FROM operators").fetchall())
    with psycopg.connect(schema_url) as pg:
        assert set(pg.execute("SELECT code, colour FROM operators").fetchall()) == expected


def test_a_write_from_psql_is_logged_versioned_and_shaped(schema_url):
    with psycopg.connect(schema_url) as conn:
        uuid = conn.execute(SITE).fetchone()[0]
        conn.commit()
        shape = conn.execute("SELECT ST_AsText(shape) FROM sites WHERE uuid = %s", (uuid,)).fetchone()[0]
        assert shape == "POINT(105.9 18.34)"
        # QGIS moves the point: lat/lon follow, the version goes up, the change is logged.
        conn.execute("UPDATE sites SET shape = ST_SetSRID(ST_MakePoint(105.95, 18.3), 4326) WHERE uuid = %s", (uuid,))
        conn.commit()
        lat, lon, version, by = conn.execute("SELECT lat, lon, version, updated_by FROM sites WHERE uuid = %s",
                                             (uuid,)).fetchone()
        assert (lat, lon, version, by) == (18.3, 105.95, 2, "postgres")
        log = conn.execute("SELECT action, field, old_value, new_value, version, o.description "
                           "FROM change_log c JOIN operations o ON o.id = c.operation_id "
                           "WHERE record_uuid = %s ORDER BY c.id", (uuid,)).fetchall()
    assert log[0][:2] == ("insert", None) and log[0][5] == OUTSIDE_APP
    assert sorted(r[1:5] for r in log[1:]) == [("lat", 18.34, 18.3, 2), ("lon", 105.9, 105.95, 2)]
    # Both fields of the one UPDATE belong to one operation, not one each.
    assert len({r[5] for r in log}) == 1


def test_an_app_operation_id_is_used_and_not_replaced(schema_url):
    with psycopg.connect(schema_url) as conn:
        op = conn.execute("INSERT INTO operations(started_at, \"user\", source, description) "
                          "VALUES ('t', 'an', 'device:x', 'sửa trạm') RETURNING id").fetchone()[0]
        conn.execute("SELECT set_config('hatang.operation_id', %s, true)", (str(op),))
        uuid = conn.execute(SITE).fetchone()[0]
        conn.commit()
        ops = conn.execute("SELECT DISTINCT operation_id FROM change_log WHERE record_uuid = %s", (uuid,)).fetchall()
        assert ops == [(op,)]
        assert conn.execute("SELECT count(*) FROM operations").fetchone()[0] == 1


def test_records_are_tombstoned_never_deleted_and_the_log_is_append_only(schema_url):
    with psycopg.connect(schema_url) as conn:
        uuid = conn.execute(SITE).fetchone()[0]
        conn.commit()
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute("DELETE FROM sites WHERE uuid = %s", (uuid,))
        conn.rollback()
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute("DELETE FROM change_log")
        conn.rollback()
        conn.execute("UPDATE sites SET deleted = 1 WHERE uuid = %s", (uuid,))
        conn.commit()
        assert conn.execute("SELECT action FROM change_log WHERE field = 'deleted'").fetchone() == ("delete",)


def test_a_route_drawn_in_qgis_gets_its_wkb_box_and_length(schema_url):
    with psycopg.connect(schema_url) as conn:
        conn.execute("INSERT INTO fibre_routes(code, operator_code, method, shape, min_lon, min_lat, max_lon, "
                     "max_lat, length_m) VALUES ('T1', 'VTL', 'aerial', "
                     "ST_GeomFromText('LINESTRING(105.9 18.3, 105.91 18.3)', 4326), 0, 0, 0, 0, 0)")
        conn.commit()
        geom, box, length = conn.execute("SELECT geom, ARRAY[min_lon, min_lat, max_lon, max_lat], length_m "
                                         "FROM fibre_routes").fetchone()
    import shapely

    assert shapely.from_wkb(bytes(geom)).equals(shapely.LineString([(105.9, 18.3), (105.91, 18.3)]))
    assert box == [105.9, 18.3, 105.91, 18.3]
    assert 1050 < length < 1060   # 0.01 degree of longitude at 18.3 N, on the ellipsoid


def test_init_refuses_a_database_that_is_not_empty(pg_server, schema_url):
    with pytest.raises(ServerError, match="--force"):
        create_schema(parse_server_url(schema_url))
    create_schema(parse_server_url(schema_url), force=True)  # re-created, empty again
    with psycopg.connect(schema_url) as conn:
        assert conn.execute("SELECT count(*) FROM sites").fetchone() == (0,)
