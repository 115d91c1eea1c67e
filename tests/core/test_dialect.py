"""core/storage/dialect.py: one `?` SQL for both drivers, and the engine-specific fragments."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from hatang_desktop.core.storage import dialect
from hatang_desktop.core.storage.dialect import Raw, bbox_filter, bbox_params, dialect_of, to_pyformat


class _FakePsycopgCursor:
    """Records what psycopg would be given."""

    def __init__(self, log):
        self.log = log
        self.description = (("a",),)
        self.rowcount = 1

    def execute(self, sql, params=None):
        self.log.append(("execute", sql, params))

    def executemany(self, sql, seq):
        self.log.append(("executemany", sql, list(seq)))

    def fetchone(self):
        return (1,)


class _FakePsycopgConnection:
    def __init__(self):
        self.log = []

    def cursor(self):
        return _FakePsycopgCursor(self.log)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
    ("SELECT '?' || ?, \"odd?name\" FROM t", "SELECT '?' || %s, \"odd?name\" FROM t"),
    ("SELECT 'it''s ?' FROM t WHERE x = ?", "SELECT 'it''s ?' FROM t WHERE x = %s"),
    ("SELECT a FROM t WHERE b LIKE '%x%' AND c LIKE ?", "SELECT a FROM t WHERE b LIKE '%%x%%' AND c LIKE %s"),
    ("SELECT a % 2 FROM t WHERE b = ?", "SELECT a %% 2 FROM t WHERE b = %s"),
    ("SELECT a::text FROM t WHERE b = ?", "SELECT a::text FROM t WHERE b = %s"),
])
def test_question_marks_become_psycopg_placeholders_outside_quotes(sql, expected):
    assert to_pyformat(sql) == expected


def test_named_parameters_become_pyformat_and_casts_stay():
    assert (to_pyformat("SELECT ':west', a::text FROM t WHERE x >= :west AND y <= :north_2", named=True)
            == "SELECT ':west', a::text FROM t WHERE x >= %(west)s AND y <= %(north_2)s")


def test_raw_on_psycopg_translates_and_sends_flags_as_integers():
    conn = _FakePsycopgConnection()
    r = Raw(conn, "postgresql")
    cursor = r.execute("UPDATE t SET done = ? WHERE note LIKE '50%' AND id = ?", (True, 7))
    assert conn.log[-1] == ("execute", "UPDATE t SET done = %s WHERE note LIKE '50%%' AND id = %s", (1, 7))
    assert cursor.fetchone() == (1,) and cursor.rowcount == 1
    r.execute("SELECT 100 % 7")  # no parameters: psycopg does not read %, nothing to escape
    assert conn.log[-1] == ("execute", "SELECT 100 % 7", None)
    r.executemany("INSERT INTO t(a, b) VALUES (?, ?)", [(1, False), (2, "x")])
    assert conn.log[-1] == ("executemany", "INSERT INTO t(a, b) VALUES (%s, %s)", [(1, 0), (2, "x")])
    r.execute("SELECT 1 FROM t WHERE a = :a", {"a": True})
    assert conn.log[-1] == ("execute", "SELECT 1 FROM t WHERE a = %(a)s", {"a": 1})


def test_raw_on_sqlite_runs_the_same_sql(sample_db_path):
    from hatang_desktop.core.storage.database import Database

    with Database.open(sample_db_path, readonly=True) as db:
        version = db.schema_version  # a session of its own: one at a time on a thread
        s = db.session()
        r = dialect.raw(s)
        assert r.dialect == "sqlite" and dialect_of(s) == "sqlite"
        cursor = r.execute("SELECT count(*) FROM sites WHERE deleted = ? AND site_code LIKE '%'", (0,))
        assert cursor.description[0][0] == "count(*)"
        live = cursor.fetchone()[0]
        assert live == s.execute(text("SELECT count(*) FROM sites WHERE deleted = 0")).scalar_one() > 0
        assert dialect.has_table(s, "sites") and not dialect.has_table(s, "no_such_table")
        assert dialect.schema_version(s) == version > 0
        assert "uuid" in dialect.table_columns(s, "sites")
        s.close()


def test_dialect_of_drivers_and_connections():
    conn = sqlite3.connect(":memory:")
    assert dialect_of(conn) == "sqlite"
    assert dialect_of(Raw(_FakePsycopgConnection(), "postgresql")) == "postgresql"
    with pytest.raises(TypeError):
        dialect_of(object())


def test_bbox_filter_sqlite_uses_the_rtree():
    assert bbox_filter("sqlite", "sites", "t") == (
        "t.id IN (SELECT id FROM rtree_sites WHERE max_x >= :west AND min_x <= :east "
        "AND max_y >= :south AND min_y <= :north)")
    assert bbox_filter("sqlite", "poles").startswith("poles.id IN (SELECT id FROM rtree_poles ")


def test_bbox_filter_postgresql_uses_the_gist_index():
    assert bbox_filter("postgresql", "fibre_routes", "r") == (
        "r.shape && ST_MakeEnvelope(:west, :south, :east, :north, 4326)")
    with pytest.raises(ValueError):
        bbox_filter("oracle", "sites")


def test_bbox_filter_selects_the_records_in_the_box(sample_db_path):
    from hatang_desktop.core.storage.database import Database

    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        lon, lat = s.execute(text("SELECT lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")).one()
        box = bbox_params(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
        found = set(s.execute(text(f"SELECT t.uuid FROM sites t WHERE {bbox_filter('sqlite', 'sites', 't')}"),
                              box).scalars())
        exact = set(s.execute(text("SELECT uuid FROM sites WHERE deleted = 0 AND lon BETWEEN :west AND :east "
                                   "AND lat BETWEEN :south AND :north"), box).scalars())
        assert exact and exact <= found


def test_engine_specific_expressions():
    assert dialect.text_agg("sqlite", "n.code") == "group_concat(n.code, ',')"
    assert dialect.text_agg("postgresql", "n.code", ", ") == "string_agg(CAST(n.code AS text), ', ')"
    assert dialect.in_values("sqlite", "uuid", {"b", "a"}) == ("uuid IN (SELECT value FROM json_each(?))", '["a", "b"]')
    assert dialect.in_values("postgresql", "uuid", {"b", "a"}, "ids") == ("uuid = ANY(:ids)", ["a", "b"])
    conn = sqlite3.connect(":memory:")
    stamp = "2025-03-04 05:06:07.123456"
    assert conn.execute(f"SELECT {dialect.iso_seconds('sqlite', '?')}", (stamp,)).fetchone()[0] == "2025-03-04T05:06:07"
    assert conn.execute(f"SELECT {dialect.iso_seconds('sqlite', '?')}", ("2025-03-04",)).fetchone()[0] == (
        "2025-03-04T00:00:00")
    assert conn.execute(f"SELECT {dialect.excel_serial('sqlite', '?')}", (stamp,)).fetchone()[0] == pytest.approx(
        45720 + (5 * 3600 + 6 * 60 + 7) / 86400)
