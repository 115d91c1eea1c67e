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
