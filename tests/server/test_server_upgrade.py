"""The one migration list on both engines: a later migration has a server step, and
`hatang server upgrade` applies it; a server with an older schema is refused until then."""

from __future__ import annotations


import psycopg
import pytest

from hatang_desktop.core.server.database import ServerDatabase, ServerError, create_schema
from hatang_desktop.core.server.upgrade import upgrade_server
from hatang_desktop.core.storage import migrations
from hatang_desktop.core.storage.targets import parse_server_url


def test_every_migration_after_the_server_baseline_has_a_server_step():
    later = [m.version for m in migrations.MIGRATIONS if m.version > migrations.SERVER_BASELINE and m.server is None]
    assert later == []


def _add_column(conn) -> None:
    conn.execute("ALTER TABLE sites ADD COLUMN power_backup TEXT")


def test_a_new_migration_reaches_an_older_server(pg_server, monkeypatch):
    url = parse_server_url(pg_server.new_database())
    create_schema(url)
    fake = migrations.Migration(migrations.current_version() + 1, "power backup on sites",
                                apply=lambda conn: conn.execute("ALTER TABLE sites ADD COLUMN power_backup TEXT"),
                                server=_add_column)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, fake])
    with pytest.raises(ServerError, match="server upgrade"):
        ServerDatabase.open(url)
    assert upgrade_server(url) == [fake.version]
    assert upgrade_server(url) == []   # once only
    ServerDatabase.open(url).close()
    with psycopg.connect(url.sqlalchemy_url().replace("postgresql+psycopg", "postgresql")) as conn:
        uuid = conn.execute("INSERT INTO sites(operator_code, site_code, lat, lon) VALUES ('VTL', 'A', 18, 105) "
                            "RETURNING uuid").fetchone()[0]
        conn.execute("UPDATE sites SET power_backup = 'máy phát' WHERE uuid = %s", (uuid,))
        conn.commit()
        # The change log covers the new column with no trigger rewritten.
        assert conn.execute("SELECT new_value FROM change_log WHERE field = 'power_backup'").fetchone() == ("máy phát",)
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(fake.version),)


def test_a_failed_server_step_changes_nothing(pg_server, monkeypatch):
    url = parse_server_url(pg_server.new_database())
    create_schema(url)

    def broken(conn) -> None:
        conn.execute("ALTER TABLE sites ADD COLUMN half TEXT")
        conn.execute("ALTER TABLE nowhere ADD COLUMN x TEXT")

    fake = migrations.Migration(migrations.current_version() + 1, "broken", apply=lambda conn: None, server=broken)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, fake])
    with pytest.raises(ServerError, match="nothing changed"):
        upgrade_server(url)
    with psycopg.connect(url.sqlalchemy_url().replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'half'"
                            ).fetchone() == (0,)


def _columns(conn, table: str) -> list[tuple]:
    return conn.execute("SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                        "WHERE table_name = %s ORDER BY ordinal_position", (table,)).fetchall()


def test_a_server_made_at_version_5_gets_the_track_tables_of_a_new_one(pg_server, monkeypatch):
    """Migration 6 (GPS track): a server made before it is upgraded to the tables a new server
    is made with, and a track written there is not change-logged, as in a commune's file."""
    old = parse_server_url(pg_server.new_database())
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", [x for x in migrations.MIGRATIONS if x.version <= 5])
        create_schema(old)
    new = parse_server_url(pg_server.new_database())
    create_schema(new)
    assert upgrade_server(old) == [6]
    ServerDatabase.open(old).close()

    def connect(url):
        return psycopg.connect(url.sqlalchemy_url().replace("postgresql+psycopg", "postgresql"))

    with connect(old) as a, connect(new) as b:
        for table in ("tracks", "track_points"):
            assert _columns(a, table) == _columns(b, table) != []
        indexes = "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'track%%' ORDER BY 1"
        assert a.execute(indexes).fetchall() == b.execute(indexes).fetchall()
        logged = a.execute("SELECT count(*) FROM change_log").fetchone()[0]
        track = a.execute("INSERT INTO tracks(uuid, started_at, ended_at, point_count) "
                          "VALUES ('t1', '2025-03-14T01:30:06Z', '2025-03-14T01:32:03Z', 1) RETURNING id").fetchone()[0]
        a.execute("INSERT INTO track_points(track_id, seq, time, lat, lon, accuracy_m) "
                  "VALUES (%s, 0, '2025-03-14T01:30:06Z', 18.3435, 105.906, 1.5)", (track,))
        a.commit()
        assert a.execute("SELECT count(*) FROM change_log").fetchone()[0] == logged
        with pytest.raises(psycopg.errors.CheckViolation):
            a.execute("INSERT INTO track_points(track_id, seq, time, lat, lon) "
                      "VALUES (%s, 1, '2025-03-14T01:30:07Z', 91, 105.906)", (track,))
