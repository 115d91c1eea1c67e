"""Each commune sees and edits its own: roles and row-level security on a real PostgreSQL.

Every test connects as a login role made here (`CREATE ROLE … LOGIN`, trust on 127.0.0.1, no
password anywhere) and put in its group with `hatang server grant` (the CLI, in a subprocess) or
security.grant_*; rows are written with plain SQL, as psql or QGIS would, and the app's own path
(ServerDatabase.operation) is used where its INSERT … RETURNING matters.
"""

from __future__ import annotations

import psycopg
import pytest

from hatang_desktop.core.server.database import ServerDatabase, create_schema
from hatang_desktop.core.server.security import POLICED, VIEWS, commune_role, grant_commune, grant_group
from hatang_desktop.core.storage.targets import parse_server_url
from tests.core.fault_env import assert_one_clean_line, hatang

A, B = "90001", "90002"
LOGINS = {"xa_a": "rls_xa_a", "xa_b": "rls_xa_b", "inspector": "rls_thanh_tra", "ministry": "rls_bo",
          "department": "rls_so"}
SHA = "0" * 64


def _insert(conn, table: str, **values) -> str:
    cols = ", ".join(values)
    marks = ", ".join("%s" for _ in values)
    return conn.execute(f"INSERT INTO {table}({cols}) VALUES ({marks}) RETURNING uuid",
                        tuple(values.values())).fetchone()[0]


def _commune_rows(conn, commune: str, n: int) -> dict[str, str]:
    """One record of every kind in the commune, written by the administrator."""
    lon, lat = 105.9 + n / 10, 18.3
    site = _insert(conn, "sites", operator_code="VTL", site_code=f"HT-{commune}", lat=lat, lon=lon,
                   commune_code=commune)
    pole = _insert(conn, "poles", code=f"C-{commune}", owner_kind="power", lat=lat, lon=lon + 0.001,
                   commune_code=commune)
    route = conn.execute(
        "INSERT INTO fibre_routes(code, operator_code, method, shape, min_lon, min_lat, max_lon, max_lat, length_m, "
        "commune_code) VALUES (%s, 'VTL', 'aerial', ST_GeomFromText(%s, 4326), 0, 0, 0, 0, 0, %s) RETURNING uuid",
        (f"T-{commune}", f"LINESTRING({lon} {lat}, {lon + 0.01} {lat})", commune)).fetchone()[0]
    zone = conn.execute(
        "INSERT INTO zones(code, name, kind, shape, min_lon, min_lat, max_lon, max_lat, area_m2, commune_code) "
        "VALUES (%s, 'Cụm công nghiệp', 'industrial_cluster', ST_GeomFromText(%s, 4326), 0, 0, 0, 0, 0, %s) "
        "RETURNING uuid",
        (f"Z-{commune}", f"MULTIPOLYGON((({lon} {lat}, {lon + 0.01} {lat}, {lon} {lat + 0.01}, {lon} {lat})))",
         commune)).fetchone()[0]
    return {
        "sites": site, "poles": pole, "fibre_routes": route, "zones": zone,
        "site_tenants": _insert(conn, "site_tenants", site_uuid=site, operator_code="VNPT"),
        "pole_attachments": _insert(conn, "pole_attachments", pole_uuid=pole, operator_code="VTL"),
        "findings": _insert(conn, "findings", severity="warning", found_on="2026-05-01", target_table="sites",
                            target_uuid=site, lat=lat, lon=lon, commune_code=commune),
        "photos": _insert(conn, "photos", owner_table="sites", owner_uuid=site, file_name="a.jpg", sha256=SHA),
        "route_pole": conn.execute("INSERT INTO fibre_route_poles(route_uuid, seq, pole_uuid) VALUES (%s, 0, %s) "
                                   "RETURNING route_uuid", (route, pole)).fetchone()[0],
    }


@pytest.fixture(scope="module")
def province(pg_server):
    """A province database with two communes, a record of every kind in each, and five logins."""
    url = pg_server.new_database("rls")
    create_schema(parse_server_url(url))
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO admin_units(code, name, level, unit_type) VALUES ('42', 'Hà Tĩnh', 'province', 'Tỉnh')")
        for code, name in ((A, "Xã Thạch Hà"), (B, "Xã Cẩm Xuyên")):
            conn.execute("INSERT INTO admin_units(code, name, level, unit_type, parent_code) "
                         "VALUES (%s, %s, 'commune', 'Xã', '42')", (code, name))
        rows = {A: _commune_rows(conn, A, 0), B: _commune_rows(conn, B, 1)}
        for login in LOGINS.values():
            conn.execute(f"CREATE ROLE {login} LOGIN")
        grant_commune(conn, LOGINS["xa_b"], B)
        for kind in ("inspector", "ministry", "department"):
            grant_group(conn, LOGINS[kind], kind)
    # The administrator's way: the command, in its own process.
    done = hatang("server", "grant", url, LOGINS["xa_a"], "--role", "commune", "--commune", A)
    assert done.returncode == 0, done.stderr
    assert commune_role(A) in done.stdout

    def connect(kind: str) -> psycopg.Connection:
        return psycopg.connect(pg_server.url(dbname, user=LOGINS[kind]))

    return {"url": url, "dbname": dbname, "rows": rows, "connect": connect}


def _uuids(conn, table: str) -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT uuid FROM {table}")}


def _refused(conn, sql: str, params=(), *, why: str = "row-level security") -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=why):
        conn.execute(sql, params)
    conn.rollback()


def test_row_security_is_forced_and_the_views_run_as_the_reader(province):
    with psycopg.connect(province["url"]) as conn:
        flags = dict((name, (on, forced)) for name, on, forced in conn.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            (list(POLICED),)))
        options = dict(conn.execute("SELECT relname, reloptions FROM pg_class WHERE relkind = 'v' "
                                    "AND relname = ANY(%s)", (list(VIEWS),)).fetchall())
        groups = dict(conn.execute("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'hatang\\_%'"))
    assert flags == {t: (True, True) for t in POLICED}
    assert options == {v: ["security_invoker=true"] for v in VIEWS}
    assert {"hatang_department", "hatang_inspector", "hatang_ministry", "hatang_commune", commune_role(A),
            commune_role(B)} <= set(groups)
    assert not any(groups.values())   # group roles never log in


def test_a_commune_reads_only_its_own_rows_and_views(province):
    own, other = province["rows"][A], province["rows"][B]
    with province["connect"]("xa_a") as conn:
        for table in ("sites", "poles", "fibre_routes", "zones", "site_tenants", "pole_attachments", "findings",
                      "photos"):
            assert _uuids(conn, table) == {own[table]}, table
        assert {r[0] for r in conn.execute("SELECT route_uuid FROM fibre_route_poles")} == {own["route_pole"]}
        for view, table in (("v_sites", "sites"), ("v_poles", "poles"), ("v_site_tenants", "site_tenants"),
                            ("v_pole_attachments", "pole_attachments"), ("v_fibre_routes", "fibre_routes"),
                            ("v_zones", "zones"), ("v_findings", "findings")):
            assert _uuids(conn, view) == {own[table]}, view
        # The names a person reads, joined in by the view.
        assert conn.execute("SELECT commune_name, operator_name FROM v_sites").fetchone()[0] == "Xã Thạch Hà"
        # The change log shows its own records (and the shared admin units), never the other commune's.
        logged = {r[0] for r in conn.execute("SELECT DISTINCT record_uuid FROM change_log "
                                             "WHERE table_name <> 'admin_units'")}
        assert logged == {v for k, v in own.items() if k != "route_pole"}
        assert not logged & set(other.values())
        # Communes, operators and meta are everyone's.
        assert conn.execute("SELECT count(*) FROM v_communes").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM operators").fetchone()[0] > 0


def test_a_commune_cannot_write_another_communes_rows(province):
    other = province["rows"][B]
    with province["connect"]("xa_a") as conn:
        for table in ("sites", "poles", "site_tenants", "pole_attachments", "fibre_routes", "zones", "findings",
                      "photos"):
            assert conn.execute(f"UPDATE {table} SET deleted = 1 WHERE uuid = %s", (other[table],)).rowcount == 0
            assert conn.execute(f"UPDATE {table} SET version = version WHERE uuid = %s",
                                (other[table],)).rowcount == 0
        assert conn.execute("UPDATE sites SET name = 'x' WHERE commune_code = %s", (B,)).rowcount == 0
        assert conn.execute("DELETE FROM fibre_route_poles WHERE route_uuid = %s", (other["fibre_routes"],)).rowcount == 0
        conn.commit()
        _refused(conn, "INSERT INTO sites(operator_code, site_code, lat, lon, commune_code) "
                       "VALUES ('VTL', 'HT-X', 18.3, 105.9, %s)", (B,))
        _refused(conn, "INSERT INTO poles(code, owner_kind, lat, lon, commune_code) "
                       "VALUES ('C-X', 'power', 18.3, 105.9, %s)", (B,))
        _refused(conn, "INSERT INTO site_tenants(site_uuid, operator_code) VALUES (%s, 'MBF')", (other["sites"],))
        _refused(conn, "INSERT INTO pole_attachments(pole_uuid, operator_code) VALUES (%s, 'MBF')",
                 (other["poles"],))
        _refused(conn, "INSERT INTO photos(owner_table, owner_uuid, file_name, sha256) VALUES ('sites', %s, 'b.jpg', %s)",
                 (other["sites"], SHA))
        # Nor move its own rows into the other commune, nor hang its tenant on the other's site.
        own = province["rows"][A]
        _refused(conn, "UPDATE sites SET commune_code = %s WHERE uuid = %s", (B, own["sites"]))
        _refused(conn, "UPDATE poles SET commune_code = %s WHERE uuid = %s", (B, own["poles"]))
        _refused(conn, "UPDATE site_tenants SET site_uuid = %s WHERE uuid = %s", (other["sites"], own["site_tenants"]))
        # The views are for reading; the other commune's rows are not there to change anyway.
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="cannot update view"):
            conn.execute("UPDATE v_sites SET name = 'x'")
        conn.rollback()
    with psycopg.connect(province["url"]) as conn:
        for table in ("sites", "poles", "site_tenants", "pole_attachments", "fibre_routes", "zones", "findings"):
            assert conn.execute(f"SELECT version, deleted FROM {table} WHERE uuid = %s",
                                (other[table],)).fetchone() == (1, 0), table
        assert conn.execute("SELECT count(*) FROM sites").fetchone()[0] == 2


def test_a_commune_edits_its_own_and_the_edit_is_logged_under_its_login(province):
    own, login = province["rows"][A], LOGINS["xa_a"]
    with province["connect"]("xa_a") as conn:
        assert conn.execute("UPDATE sites SET name = 'Trạm Thạch Hà' WHERE uuid = %s", (own["sites"],)).rowcount == 1
        assert conn.execute("UPDATE pole_attachments SET cable_count = 3 WHERE uuid = %s",
                            (own["pole_attachments"],)).rowcount == 1
        conn.commit()
        # It reads back its own change and the operation it made.
        row = conn.execute("SELECT c.\"user\", c.db_role, c.new_value, o.\"user\", o.db_role FROM change_log c "
                           "JOIN operations o ON o.id = c.operation_id "
                           "WHERE c.record_uuid = %s AND c.field = 'name'", (own["sites"],)).fetchone()
        assert row == (login, login, "Trạm Thạch Hà", login, login)
        # No direct way into the log, even for a row it may see.
        _refused(conn, "INSERT INTO change_log(table_name, record_uuid, action, \"user\", time, source) "
                       "VALUES ('sites', %s, 'update', 'x', 't', 's')", (own["sites"],), why="permission denied")
    with province["connect"]("xa_b") as conn:
        assert conn.execute("SELECT count(*) FROM change_log WHERE record_uuid = %s",
                            (own["sites"],)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM operations WHERE db_role = %s", (login,)).fetchone() == (0,)


def test_the_app_works_as_a_commune_login(pg_server, province):
    """ServerDatabase.operation: INSERT INTO operations … RETURNING id, then the edit, under one id."""
    own = province["rows"][A]
    url = parse_server_url(pg_server.url(province["dbname"], user=LOGINS["xa_a"]))
    with ServerDatabase(url) as db, db.operation("Sửa độ cao cột", user="Nguyễn Văn A") as s:
        from sqlalchemy import text

        op = s.info["operation_id"]
        changed = s.execute(text("UPDATE poles SET height_m = 9.5, version = version + 1 WHERE uuid IN (:a, :b)"),
                            {"a": own["poles"], "b": province["rows"][B]["poles"]}).rowcount
    assert changed == 1
    with psycopg.connect(province["url"]) as conn:
        assert conn.execute("SELECT DISTINCT operation_id, db_role FROM change_log WHERE field = 'height_m'"
                            ).fetchall() == [(op, LOGINS["xa_a"])]
        assert conn.execute('SELECT "user", db_role FROM operations WHERE id = %s', (op,)).fetchone() == \
            ("Nguyễn Văn A", LOGINS["xa_a"])


def test_an_inspector_reads_the_province_and_writes_findings_only(province):
    rows = province["rows"]
    with province["connect"]("inspector") as conn:
        assert _uuids(conn, "sites") == {rows[A]["sites"], rows[B]["sites"]}
        assert conn.execute("UPDATE findings SET status = 'confirmed', inspector = 'Lê Thị B' WHERE uuid = %s",
                            (rows[B]["findings"],)).rowcount == 1
        _insert(conn, "findings", severity="violation", found_on="2026-05-02", commune_code=A, note="cáp chùng")
        _insert(conn, "photos", owner_table="findings", owner_uuid=rows[B]["findings"], file_name="c.jpg", sha256=SHA)
        conn.commit()
        logged = conn.execute("SELECT \"user\" FROM change_log WHERE record_uuid = %s AND field = 'status'",
                              (rows[B]["findings"],)).fetchone()
        assert logged == (LOGINS["inspector"],)
        _refused(conn, "UPDATE sites SET name = 'x' WHERE uuid = %s", (rows[A]["sites"],), why="permission denied")
        _refused(conn, "UPDATE site_tenants SET has_5g = 1", why="permission denied")
        _refused(conn, "INSERT INTO poles(code, owner_kind, lat, lon) VALUES ('C', 'power', 18, 105)",
                 why="permission denied")
    with psycopg.connect(province["url"]) as conn:
        assert conn.execute("SELECT status FROM findings WHERE uuid = %s", (rows[B]["findings"],)).fetchone() == \
            ("confirmed",)


def test_the_ministry_reads_everything_and_writes_nothing(province):
    rows = province["rows"]
    with province["connect"]("ministry") as conn:
        assert _uuids(conn, "v_sites") == {rows[A]["sites"], rows[B]["sites"]}
        assert conn.execute("SELECT count(*) FROM change_log").fetchone()[0] > 0
        for sql in ("UPDATE sites SET name = 'x'", "UPDATE findings SET status = 'resolved'",
                    "UPDATE photos SET caption = 'x'", "UPDATE admin_units SET name = 'x'",
                    "INSERT INTO operations(started_at, \"user\", source) VALUES ('t', 'u', 's')",
                    "INSERT INTO findings(severity, found_on) VALUES ('info', '2026-01-01')",
                    "INSERT INTO conflicts(uuid, table_name, record_uuid, field, workbook, created_at) "
                    "VALUES (gen_random_uuid(), 'sites', 'x', 'name', 'w', 't')",
                    "DELETE FROM fibre_route_poles", "UPDATE meta SET value = 'x'"):
            _refused(conn, sql, why="permission denied")


def test_the_department_does_everything_but_write_the_log_itself(province):
    rows = province["rows"]
    with province["connect"]("department") as conn:
        assert _uuids(conn, "site_tenants") == {rows[A]["site_tenants"], rows[B]["site_tenants"]}
        assert conn.execute("UPDATE sites SET owner = 'Viettel' WHERE uuid IN (%s, %s)",
                            (rows[A]["sites"], rows[B]["sites"])).rowcount == 2
        assert conn.execute("UPDATE pole_attachments SET deleted = 1 WHERE uuid = %s",
                            (rows[B]["pole_attachments"],)).rowcount == 1
        _insert(conn, "sites", operator_code="MBF", site_code="HT-SO", lat=18.3, lon=105.9, commune_code=B)
        conn.execute("UPDATE admin_units SET population = 12000 WHERE code = %s", (A,))
        conn.commit()
        assert conn.execute("SELECT count(*) FROM change_log WHERE db_role = %s", (LOGINS["department"],)
                            ).fetchone()[0] >= 5
        _refused(conn, "INSERT INTO change_log(table_name, record_uuid, action, \"user\", time, source) "
                       "VALUES ('sites', 'x', 'update', 'x', 't', 's')", why="permission denied")
        _refused(conn, "INSERT INTO role_communes VALUES ('hatang_ministry', %s)", (A,), why="permission denied")
    # The new site of commune B is B's, and only B's.
    with province["connect"]("xa_b") as conn:
        assert "HT-SO" in {r[0] for r in conn.execute("SELECT site_code FROM sites")}
    with province["connect"]("xa_a") as conn:
        assert "HT-SO" not in {r[0] for r in conn.execute("SELECT site_code FROM sites")}


def test_a_commune_role_sees_nothing_where_it_works_for_no_commune(pg_server, province):
    """Roles are the cluster's; which commune a role works for is each database's own."""
    url = pg_server.new_database("rls_other")
    create_schema(parse_server_url(url))   # the roles exist already: made once, kept
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO admin_units(code, name, level, unit_type) VALUES ('44', 'Quảng Trị', 'province', 'Tỉnh')")
        conn.execute("INSERT INTO admin_units(code, name, level, unit_type, parent_code) "
                     "VALUES (%s, 'Xã khác', 'commune', 'Xã', '44')", (A,))
        _insert(conn, "sites", operator_code="VTL", site_code="QT-1", lat=16.8, lon=107.1, commune_code=A)
    with psycopg.connect(pg_server.url(url.rsplit("/", 1)[1], user=LOGINS["xa_a"])) as conn:
        assert conn.execute("SELECT count(*) FROM v_sites").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM v_communes").fetchone() == (1,)


def test_grant_refuses_in_one_line(province):
    url = province["url"]
    assert_one_clean_line(hatang("server", "grant", url, LOGINS["xa_a"], "--role", "commune", "--commune", "99999"),
                          "99999")
    assert_one_clean_line(hatang("server", "grant", url, "rls_nobody", "--role", "ministry"), "rls_nobody")
    assert_one_clean_line(hatang("server", "grant", url, LOGINS["xa_a"], "--role", "commune"), "--commune")
    assert_one_clean_line(hatang("server", "grant", url, "hatang_inspector", "--role", "department"),
                          "hatang_inspector")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT role_name, commune_code FROM role_communes ORDER BY 1").fetchall() == \
            [(commune_role(A), A), (commune_role(B), B)]
        assert conn.execute("SELECT pg_has_role(%s, 'hatang_department', 'MEMBER')",
                            (LOGINS["xa_a"],)).fetchone() == (False,)


def test_an_owner_who_is_not_a_superuser_is_checked_too_and_works_as_the_department(pg_server):
    """FORCE ROW LEVEL SECURITY: the tables' owner is no exception, so init makes it a department member."""
    pg_server.sql("CREATE ROLE rls_owner LOGIN CREATEROLE")
    pg_server.sql("CREATE DATABASE rls_owned OWNER rls_owner")
    pg_server.sql("CREATE EXTENSION postgis", dbname="rls_owned")   # a superuser's job, done once
    url = pg_server.url("rls_owned", user="rls_owner")
    create_schema(parse_server_url(url))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT rolsuper, pg_has_role('hatang_department', 'MEMBER') FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (False, True)
        conn.execute("INSERT INTO admin_units(code, name, level, unit_type) VALUES ('42', 'Hà Tĩnh', 'province', 'Tỉnh')")
        site = _insert(conn, "sites", operator_code="VTL", site_code="HT-1", lat=18.3, lon=105.9)
        conn.execute("UPDATE sites SET name = 'Trạm 1' WHERE uuid = %s", (site,))
        conn.commit()
        assert conn.execute("SELECT action, db_role FROM change_log WHERE record_uuid = %s ORDER BY id",
                            (site,)).fetchall() == [("insert", "rls_owner"), ("update", "rls_owner")]
