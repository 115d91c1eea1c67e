"""Schema versions: a first-version file upgrades, a newer one is refused, ORM and SQL agree."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from hatang_desktop.core.errors import SchemaTooNewError
from hatang_desktop.core.model import Base, Site
from hatang_desktop.core.storage import migrations
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.migrations import Migration, current_version

V1 = Path(__file__).parent.parent / "data" / "schema_v1.db"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_schema_file_opens_with_current_code(tmp_path):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)
    with Database.open(path) as db:
        assert db.schema_version == current_version() >= 2
        with db.session() as s:
            from sqlalchemy import text
            # Schema 2 backfilled the versions of old inserts in the change log.
            assert s.execute(text("SELECT count(*) FROM change_log WHERE action = 'insert' "
                                  "AND version IS NULL")).scalar_one() == 0
            assert s.execute(text("SELECT count(*) FROM conflicts")).scalar_one() == 0
        with db.session() as s:
            site = s.scalars(select(Site)).one()
            assert site.name == "Trạm Đồng Đăng" and site.is_shared and site.has_5g


def test_pending_migration_upgrades_keeps_data_and_backs_up(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)

    def add_column(conn):
        conn.execute("ALTER TABLE sites ADD COLUMN power_backup_hours REAL")
        migrations.install_triggers(conn)  # the change log must cover the new column

    upgraded = migrations.MIGRATIONS + [Migration(current_version() + 1, "test", add_column)]
    monkeypatch.setattr(migrations, "MIGRATIONS", upgraded)
    with Database.open(path) as db:
        assert db.schema_version == current_version()
        with db.operation("edit") as s:
            from sqlalchemy import text
            s.execute(text("UPDATE sites SET power_backup_hours = 4, updated_by = 'x'"))
        with db.session() as s:
            assert s.scalars(select(Site)).one().site_code == "LSN0001"
            logged = s.execute(text("SELECT new_value FROM change_log WHERE field = "
                                    "'power_backup_hours'")).scalar_one()
            assert logged == 4
    backups = list(tmp_path.glob("old.v1-*.bak.db"))
    assert len(backups) == 1 and sqlite3.connect(backups[0]).execute(
        "PRAGMA user_version").fetchone()[0] == 1


def test_newer_schema_is_refused_and_file_untouched(tmp_path):
    path = tmp_path / "future.db"
    shutil.copyfile(V1, path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {current_version() + 5}")
    conn.close()
    before = _digest(path)
    with pytest.raises(SchemaTooNewError, match="mới hơn"):
        Database.open(path)
    assert _digest(path) == before


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)

    last_good = current_version()

    def broken(conn):
        conn.execute("ALTER TABLE sites ADD COLUMN x REAL")
        raise RuntimeError("power cut")

    monkeypatch.setattr(migrations, "MIGRATIONS",
                        migrations.MIGRATIONS + [Migration(current_version() + 1, "broken", broken)])
    with pytest.raises(RuntimeError):
        Database.open(path)
    conn = sqlite3.connect(path)
    # Every migration before the broken one stays applied; the broken one left no trace.
    assert conn.execute("PRAGMA user_version").fetchone()[0] == last_good
    assert "x" not in [r[1] for r in conn.execute("PRAGMA table_info(sites)")]
    conn.close()


def test_orm_model_matches_migrated_schema(empty_db):
    conn = sqlite3.connect(empty_db.path)
    for table in Base.metadata.sorted_tables:
        db_cols = {r[1]: (r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({table.name})")}
        assert db_cols, f"{table.name} missing from the migrated schema"
        assert set(db_cols) == set(table.columns.keys()), table.name
        for col in table.columns:
            if col.primary_key:
                continue
            notnull = bool(db_cols[col.name][0])
            assert notnull == (not col.nullable), f"{table.name}.{col.name} nullability differs"
    conn.close()


def test_migrations_are_numbered_without_gaps():
    """A gap would make a database skip a later-added migration forever (user_version only grows)."""
    from hatang_desktop.core.storage.migrations import MIGRATIONS

    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
