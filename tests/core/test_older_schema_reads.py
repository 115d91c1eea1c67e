"""A database of an older schema (made by an earlier version, still on users' disks) can be
exported and dry-run imported: these read the current schema's columns, so the file is upgraded
first (with its backup), as opening it for writing does; where it cannot be written, a clear
message, never a traceback."""

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hatang_desktop.core.storage.migrations import current_version

from .fault_env import read_only

HATANG = str(Path(sys.executable).parent / "hatang")
V1 = Path(__file__).parent.parent / "data" / "schema_v1.db"


def run(*args):
    return subprocess.run([HATANG, *map(str, args)], capture_output=True, text=True, timeout=300)


def version(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


@pytest.fixture
def old_db(tmp_path):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)
    assert version(path) < current_version()
    return path


@pytest.mark.parametrize("verb", [("export-xlsx", "out.xlsx"), ("export", "out.gpkg"), ("export", "out.geojson")])
def test_an_older_database_exports_after_its_upgrade(old_db, tmp_path, verb):
    name, out = verb
    done = run(name, old_db, tmp_path / out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert version(old_db) == current_version()
    assert list(tmp_path.glob("old.v1-*.bak.db")), "the upgrade keeps a backup of the old file"


def test_an_older_database_dry_runs_an_import(old_db, tmp_path):
    book = tmp_path / "w.xlsx"
    assert run("export-xlsx", old_db, book).returncode == 0
    shutil.copyfile(V1, old_db)
    for p in tmp_path.glob("old.db-*"):
        p.unlink()
    done = run("import-xlsx", old_db, book, "--dry-run")
    assert done.returncode in (0, 3), done.stderr
    assert "Traceback" not in done.stderr


def test_an_older_read_only_database_is_a_message(old_db, tmp_path):
    folder = old_db.parent / "ro"
    folder.mkdir()
    target = folder / old_db.name
    shutil.move(old_db, target)
    before = target.read_bytes()
    with read_only(folder):
        done = run("export-xlsx", target, tmp_path / "out.xlsx")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "old.db" in done.stderr and "copy it to a writable folder" in done.stderr
    assert target.read_bytes() == before
