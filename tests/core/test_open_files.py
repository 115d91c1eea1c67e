"""A database file this process has open is never opened outside SQLite (storage/files.py).

Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
included; /proc/locks shows whether the connection's lock on the file survived."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from hatang_desktop.core.errors import SchemaTooNewError
from hatang_desktop.core.indicators.data import connect_readonly
from hatang_desktop.core.storage import files
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.files import check_database_file, is_open_here
from hatang_desktop.core.storage.migrations import current_version

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/locks")


def held_locks(path: Path) -> list[str]:
    """This process's POSIX locks on `path`'s inode."""
    st = os.stat(path)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pid = str(os.getpid())
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if line.split()[-3:-2] == [inode] and pid in line.split()]


def _connected(db: Database) -> None:
    with db.session() as s:  # the first connection takes its lock on the file (WAL: kept)
        s.execute(text("SELECT count(*) FROM sites")).scalar_one()


@linux_only
def test_checks_while_open_keep_the_connections_lock(sample_db_path):
    db = Database.open(sample_db_path)
    try:
        _connected(db)
        assert held_locks(sample_db_path)
        header = check_database_file(sample_db_path)
        assert header.open_here and header.user_version == current_version()
        second = Database.open(sample_db_path, readonly=True)  # the export dialog's own connection
        second.close()
        conn = connect_readonly(sample_db_path)  # the dashboard's
        conn.close()
        assert held_locks(sample_db_path), "a check closed a descriptor of the open database"
    finally:
        db.close()


def test_marks_follow_the_connections(sample_db_path, tmp_path):
    assert not is_open_here(sample_db_path)
    db = Database.open(sample_db_path)
    link = tmp_path / "other-name.db"
    link.symlink_to(sample_db_path)
    assert is_open_here(sample_db_path) and is_open_here(link)  # by inode, whatever the name
    conn = connect_readonly(link)
    db.close()
    assert is_open_here(sample_db_path)
    conn.close()
    assert not is_open_here(sample_db_path) and not files._open_files
    db.close()  # twice is harmless


def test_a_failed_open_leaves_no_mark(tmp_path):
    path = tmp_path / "newer.db"
    Database.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {current_version() + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        Database.open(path)
    assert not files._open_files


def test_an_open_file_is_still_checked(sample_db_path):
    """Through SQLite the check still refuses a database newer than this program."""
    db = Database.open(sample_db_path)
    try:
        with db.operation("test") as s:
            s.execute(text(f"PRAGMA user_version = {current_version() + 1}"))
        with pytest.raises(SchemaTooNewError):
            check_database_file(sample_db_path)
    finally:
        db.close()
