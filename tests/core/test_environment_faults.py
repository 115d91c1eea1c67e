"""Faults of the machine are one clear line and exit 2, never a traceback, and nothing is left
half-written (issue 16, item 9): a read-only database file, a database in a read-only folder
(still readable), a full disk under `export-xlsx`, `import-xlsx` and `import`, and the output
closed early (`hatang ... | head -1`)."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.gis.export import export_gis

from .fault_env import (assert_one_clean_line, backups, dump, edited_book, fill, hatang, read_only, small_disk,
                        temporaries)


@pytest.fixture(scope="module")
def _inputs(_sample_template, tmp_path_factory) -> tuple[Path, Path]:
    """The edited workbook and GeoJSON of the sample, made once: every test's sample_db_path is a
    copy of the same template, so each test would make the same two files again (~2 s)."""
    folder = tmp_path_factory.mktemp("fault_inputs")
    db_path = folder / "sample.db"
    shutil.copyfile(_sample_template, db_path)
    book = edited_book(db_path, folder / "book.xlsx", rows=300)
    with Database.open(db_path, readonly=True) as db:
        export_gis(db, folder / "gis.geojson")
    path = folder / "gis_sites.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    name = next(k for k in data["features"][0]["properties"] if k.startswith("Tên trạm"))
    for i, f in enumerate(data["features"]):
        f["properties"][name] = f"Trạm số {i} " + "y" * 200
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return book, path


@pytest.fixture
def book(_inputs, tmp_path) -> Path:
    """The sample's workbook with the names of its 300 sites changed (a fresh copy)."""
    return Path(shutil.copyfile(_inputs[0], tmp_path / "book.xlsx"))


@pytest.fixture
def geojson(_inputs, tmp_path) -> Path:
    """The sample's sites as GeoJSON, every name changed (a fresh copy)."""
    return Path(shutil.copyfile(_inputs[1], tmp_path / "gis_sites.geojson"))


# -- a read-only database file -----------------------------------------------------------------

@pytest.mark.parametrize("command", ["import-xlsx", "import", "check"])
def test_read_only_database_file_is_refused_in_one_line(command, sample_db_path, book, geojson):
    before = dump(sample_db_path)
    args = {"import-xlsx": [book], "import": [geojson], "check": []}[command]
    with read_only(sample_db_path):
        result = hatang(command, sample_db_path, *args)
    assert_one_clean_line(result, str(sample_db_path), "chỉ cho phép đọc", "read-only")
    assert dump(sample_db_path) == before
    assert backups(sample_db_path) == []   # refused before any backup


# -- a database in a read-only folder --------------------------------------------------------

def test_database_in_a_read_only_folder_can_be_read(sample_db_path, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    db = folder / "ht.db"
    shutil.copyfile(sample_db_path, db)
    expected = hatang("info", sample_db_path, "--json")
    assert expected.returncode == 0, expected.stderr
    with read_only(folder):
        info = hatang("info", db, "--json")
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["counts"] == json.loads(expected.stdout)["counts"]
        out = tmp_path / "so.xlsx"
        export = hatang("export-xlsx", db, out, "--json")
        assert export.returncode == 0, export.stderr
        assert sum(json.loads(export.stdout)["rows"].values()) > 300 and out.exists()
        assert sorted(p.name for p in folder.iterdir()) == ["ht.db"]   # nothing written there


def test_read_only_folder_with_unmerged_wal_is_refused_not_read_stale(sample_db_path, tmp_path):
    """A -wal holding committed changes but no -shm, in a folder that cannot be written: SQLite
    cannot read it correctly, and reading the main file alone would show old data."""
    folder = tmp_path / "share"
    folder.mkdir()
    db = folder / "ht.db"
    shutil.copyfile(sample_db_path, db)
    writer = ("import os, sqlite3, sys\n"
              "c = sqlite3.connect(sys.argv[1])\n"
              "c.execute('PRAGMA wal_autocheckpoint = 0')\n"
              "c.execute('UPDATE sites SET deleted = 1')\n"
              "c.commit()\n"
              "os._exit(0)\n")   # killed before the checkpoint: the changes stay in the -wal
    subprocess.run([sys.executable, "-c", writer, str(db)], check=True)
    Path(str(db) + "-shm").unlink()
    assert Path(str(db) + "-wal").stat().st_size > 0
    with read_only(folder):
        result = hatang("info", db, "--json")
    assert_one_clean_line(result, str(db), "-wal")
    assert result.stdout == ""


# -- a full disk -------------------------------------------------------------------------------

def test_export_xlsx_on_a_full_disk_keeps_the_old_file(sample_db_path, tmp_path):
    with small_disk(tmp_path / "disk", 256 * 1024) as disk:
        out = disk / "so.xlsx"
        out.write_bytes(b"the previous good workbook")
        result = hatang("export-xlsx", sample_db_path, out)
        assert_one_clean_line(result, str(out), "đầy", "full")
        assert out.read_bytes() == b"the previous good workbook"
        assert temporaries(disk) == []


@pytest.mark.parametrize("command", ["import-xlsx", "import"])
def test_import_on_a_full_disk_changes_nothing(command, sample_db_path, book, geojson, tmp_path):
    """Room for the backup, not for the change: the write fails, rolls back, and the backup
    of a database that did not change goes with it."""
    size = sample_db_path.stat().st_size
    with small_disk(tmp_path / "disk", 2 * size + 4 * 1024 * 1024) as disk:
        db = disk / "ht.db"
        shutil.copyfile(sample_db_path, db)
        before = dump(db)
        fill(disk, leave=size + 160 * 1024)
        result = hatang(command, db, book if command == "import-xlsx" else geojson)
        assert_one_clean_line(result, str(db), "đầy", "full")
        assert dump(db) == before
        assert backups(db) == [] and temporaries(disk) == []


# -- the output closed early ---------------------------------------------------------------------

@pytest.mark.parametrize("command", ["info", "export-xlsx"])
def test_output_closed_early_is_one_line_not_a_traceback(command, sample_db_path, tmp_path):
    """`hatang ... | head -1`: the reader is gone before the command prints."""
    args = [sys.executable, "-m", "hatang_desktop", command, str(sample_db_path)]
    if command == "export-xlsx":
        args.append(str(tmp_path / "so.xlsx"))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()   # as `head -1` after its line, or before anything came
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    result = subprocess.CompletedProcess(args, proc.returncode, "", stderr)
    assert_one_clean_line(result, "head")


# -- the one mapping ---------------------------------------------------------------------------------

@pytest.mark.parametrize("exc, kind", [
    (OSError(errno.ENOSPC, "No space left on device", "/x/so.xlsx"), "disk_full"),
    (OSError(errno.EROFS, "Read-only file system", "/x/so.xlsx"), "read_only"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/so.xlsx"), "permission"),
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), "broken_pipe"),
    (sqlite3.OperationalError("database or disk is full"), "disk_full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "read_only"),
    (sqlite3.OperationalError("database is locked"), "locked"),
    (sqlite3.OperationalError("disk I/O error"), "io_error"),
])
def test_one_mapping_from_os_and_sqlite_errors_to_messages(exc, kind):
    from hatang_desktop.core.errors import FileFault, environment_fault

    fault = environment_fault(exc, "/x/ht.db")
    assert isinstance(fault, FileFault) and fault.kind == kind
    text = str(fault)
    assert "\n" not in text and " / " in text
    assert kind == "broken_pipe" or "/x/ht.db" in text


def test_sqlalchemy_wraps_are_seen_through_and_bugs_are_not_faults():
    from sqlalchemy.exc import OperationalError

    from hatang_desktop.core.errors import environment_fault

    wrapped = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database or disk is full"))
    assert environment_fault(wrapped, "ht.db").kind == "disk_full"
    assert environment_fault(sqlite3.OperationalError("no such column: x"), "ht.db") is None
    assert environment_fault(KeyError("x")) is None
