"""Backups before an import (issue 16, item 8): a name no other backup has, written under a
temporary name and published only whole and checked, never for an import that is refused, and
a broken file with a backup's name never counted among the ten kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import openpyxl
import pytest

from hatang_desktop.core.errors import DatabaseFileError
from hatang_desktop.core.exchange.importer import InvalidWorkbookError, import_workbook
from hatang_desktop.core.storage import database as database_module
from hatang_desktop.core.storage.database import Database, backup_file

from .fault_env import assert_one_clean_line, backups, dump, edited_book, hatang, small_disk, temporaries, whole

SITES = "Trạm BTS"


def test_two_backups_in_the_same_millisecond_are_both_kept(sample_db_path, monkeypatch):
    frozen = dt.datetime(2026, 3, 4, 5, 6, 7, 891000)
    monkeypatch.setattr(database_module, "dt", types.SimpleNamespace(
        datetime=types.SimpleNamespace(now=lambda *_a: frozen)))
    first = backup_file(sample_db_path, "truoc-nhap")
    conn = sqlite3.connect(sample_db_path)
    conn.execute("UPDATE meta SET value = 'changed' WHERE key = 'sample_note'")
    conn.commit()
    conn.close()
    second = backup_file(sample_db_path, "truoc-nhap")
    assert first != second and first.exists() and second.exists()
    assert "20260304-050607-891" in first.name            # to the millisecond, then a counter
    assert {p.name for p in backups(sample_db_path)} == {first.name, second.name}
    notes = [sqlite3.connect(p).execute("SELECT value FROM meta WHERE key = 'sample_note'").fetchone()[0]
             for p in (first, second)]
    assert notes[0] != "changed" and notes[1] == "changed"  # the state before each, both kept


def test_a_full_disk_during_the_backup_leaves_no_backup_and_changes_nothing(sample_db_path, tmp_path):
    book = edited_book(sample_db_path, tmp_path / "book.xlsx")
    size = sample_db_path.stat().st_size
    with small_disk(tmp_path / "disk", size + 1024 * 1024) as disk:  # room for the database, not a copy
        db = disk / "ht.db"
        shutil.copyfile(sample_db_path, db)
        before = dump(db)
        result = hatang("import-xlsx", db, book)
        assert_one_clean_line(result, str(db), "đầy", "full")
        assert dump(db) == before
        assert backups(db) == [] and temporaries(disk) == []


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@pytest.mark.parametrize("refusal", ["locked", "invalid workbook"])
def test_a_refused_import_writes_no_backup(refusal, sample_db_path, tmp_path, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 200)
    book = edited_book(sample_db_path, tmp_path / "book.xlsx")
    if refusal == "invalid workbook":
        wb = openpyxl.load_workbook(book)
        ws = wb[SITES]
        col = [c.value for c in ws[1]].index("Vĩ độ") + 1
        ws.cell(row=2, column=col).value = 95
        wb.save(book)
    holder = _hold_write_lock(sample_db_path) if refusal == "locked" else None
    try:
        with Database.open(sample_db_path) as db:
            with pytest.raises((DatabaseFileError, InvalidWorkbookError)):
                import_workbook(db, book)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    assert backups(sample_db_path) == []
    assert temporaries(sample_db_path.parent) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_broken_backups_are_not_counted_and_a_killed_runs_leftover_goes(sample_db_path, tmp_path):
    folder = sample_db_path.parent
    for i in range(10):
        shutil.copyfile(sample_db_path, folder / f"sample.truoc-nhap-20250101-0000{i:02d}.bak.db")
    # Newer than all of them, with a backup's name, but not a database: from a run killed or
    # starved of disk in the middle of its copy (as the backups were written before).
    (folder / "sample.truoc-nhap-20250102-000000.bak.db").write_bytes(b"")
    (folder / "sample.truoc-nhap-20250102-000001.bak.db").write_bytes(sample_db_path.read_bytes()[:8192])
    # A temporary folder left by a killed run of this machine (core/atomic.py's naming).
    host = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
    leftover = folder / f".hatang-{host}-{_dead_pid()}-0-deadbeef.tmp"
    leftover.mkdir()
    (leftover / "sample.db").write_bytes(b"half a copy")
    book = edited_book(sample_db_path, tmp_path / "book.xlsx")
    with Database.open(sample_db_path) as db:
        result = import_workbook(db, book)
    assert result.applied and result.backup is not None
    kept = [p for p in backups(sample_db_path) if whole(p)]
    assert len(kept) == 10, [p.name for p in backups(sample_db_path)]
    assert result.backup in kept and (folder / "sample.truoc-nhap-20250101-000001.bak.db") in kept
    assert not leftover.exists()
    assert temporaries(folder) == []


def test_a_backup_is_a_checked_whole_copy_with_the_databases_mode(sample_db_path):
    sample_db_path.chmod(0o640)
    copy = backup_file(sample_db_path, "truoc-nhap")
    assert whole(copy) and dump(copy) == dump(sample_db_path)
    assert copy.stat().st_mode & 0o777 == 0o640   # it holds the same data: no wider readable
    assert temporaries(sample_db_path.parent) == []
