"""Checks on a database file before SQLite opens it, and the list of files this process has open.

Reading the 100-byte header tells a missing, foreign, truncated or too-new file apart without
writing a byte: opening a file in SQLite for writing (or switching it to WAL) changes it.

But a file this process already has open through SQLite must never be opened any other way.
POSIX locks belong to a (process, file) pair, not to a descriptor: closing ANY descriptor of
the file releases every lock the process holds on it, SQLite's included (sqlite.org, "How To
Corrupt An SQLite Database File", 2.2). Another process's `sqlite3` or `hatang info` then finds
no reader left, checkpoints and deletes the -wal and -shm files under the open connection, whose
next write goes to an unlinked WAL ("disk I/O error", or a save no other process ever sees).
SQLite's own connections of one process are safe together: the library keeps one table of
locks per inode and defers closing a descriptor while another connection holds a lock.

So every SQLite connection to a database (`Database`, `indicators.data.connect_readonly`)
marks its file here first (`OpenFile`), by (device, inode) so another name (a symlink, a
relative path) or a rename still finds it; `read_header` asks SQLite for a marked file's header
and reads the bytes itself only for a file nobody here has open. One lock makes the byte read and
the marking exclusive, so a connection opened on another thread cannot be caught between a
header read's open and close.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatabaseFileError, SchemaTooNewError
from ..messages import Text
from .migrations import APPLICATION_ID, current_version

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class FileHeader:
    page_size: int
    page_count: int
    user_version: int
    application_id: int
    open_here: bool = False  # read through SQLite: the file is open in this process


# -- database files open in this process ---------------------------------------------------

_open_files: Counter[tuple[int, int]] = Counter()  # (st_dev, st_ino) -> how many marks
_open_lock = threading.Lock()  # held while marking and during a plain read of a header


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class OpenFile:
    """Marks `path` as open through SQLite in this process until `release()` (idempotent).

    Take it before the first connection opens and release it after the last one closes."""

    def __init__(self, path: str | Path):
        with _open_lock:
            self._key = _file_key(Path(path))
            if self._key is not None:
                _open_files[self._key] += 1

    def release(self) -> None:
        with _open_lock:
            if self._key is not None:
                _open_files[self._key] -= 1
                if _open_files[self._key] <= 0:
                    del _open_files[self._key]
                self._key = None

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_open_here(path: str | Path) -> bool:
    """Whether this process has `path` open through SQLite (a marked file)."""
    key = _file_key(Path(path))
    with _open_lock:
        return key is not None and key in _open_files


# -- the header ------------------------------------------------------------------------------

def read_header(path: Path) -> FileHeader:
    if not path.exists():
        raise DatabaseFileError(path, Text.of("db_not_found"))
    if path.is_dir():
        raise DatabaseFileError(path, Text.of("db_is_directory"))
    with _open_lock:
        key = _file_key(path)
        if key is None or key not in _open_files:
            return _read_header_bytes(path)  # under the lock: no connection opens meanwhile
    return _read_header_through_sqlite(path)


def _read_header_bytes(path: Path) -> FileHeader:
    try:
        with path.open("rb") as f:
            head = f.read(100)
    except PermissionError:
        raise DatabaseFileError(path, Text.of("db_no_read_permission")) from None
    except OSError as exc:
        raise DatabaseFileError(path, Text.of("db_cannot_read_file", reason=exc.strerror)) from None
    if len(head) == 0:
        raise DatabaseFileError(path, Text.of("db_empty"))
    if not head.startswith(SQLITE_MAGIC):
        raise DatabaseFileError(path, Text.of("db_not_sqlite"))
    if len(head) < 100:
        raise DatabaseFileError(path, Text.of("db_truncated"))
    page_size = struct.unpack(">H", head[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    page_count, = struct.unpack(">I", head[28:32])
    user_version, application_id = struct.unpack(">I", head[60:64])[0], struct.unpack(">I", head[68:72])[0]
    return FileHeader(page_size, page_count, user_version, application_id)


def readonly_uri(path: Path) -> str:
    """The URI that opens `path` for reading only, also where its folder cannot be written.

    `mode=ro` is the safe way: SQLite still takes its locks and reads what the -wal holds. But a
    WAL database needs its -shm (and -wal) beside it even to be read, and a reader creates them:
    in a folder it cannot write (a read-only share, a CD, a colleague's folder) with no -shm
    there, `mode=ro` fails ("unable to open database file"). Then, and only when no -wal holding
    changes is there, `immutable=1` opens it without the -shm: every committed change is in the
    main file, and nobody can start a new one through SQLite without creating a -wal in that
    folder. (Someone who may write the folder while we read would go unseen: immutable takes no
    locks. The reads here are short: `hatang info`, an export.) A -wal with changes but no -shm
    in a read-only folder cannot be read correctly at all: that is refused, never read stale."""
    path = Path(path)
    uri = path.resolve().as_uri() + "?mode=ro"
    folder = path.resolve().parent
    if os.access(folder, os.W_OK):
        return uri
    wal, shm = Path(str(path) + "-wal"), Path(str(path) + "-shm")
    if wal.exists() and shm.exists():
        return uri  # SQLite 3.22+ reads a WAL database through existing -wal and -shm files
    try:
        wal_size = wal.stat().st_size if wal.exists() else 0
    except OSError:
        wal_size = 1
    if wal_size == 0:
        return uri + "&immutable=1"
    raise DatabaseFileError(path, Text.of("db_wal_read_only"))


def can_write(path: Path) -> str | None:
    """None when SQLite can write `path` (the file, and the folder for its -wal and -shm), else
    the fault kind that stops it ("read_only" or "permission")."""
    path = Path(path)
    folder = path.resolve().parent
    if not os.access(path, os.W_OK):
        return "read_only"
    if os.access(folder, os.W_OK):
        return None
    sidecars = [Path(str(path) + s) for s in ("-wal", "-shm")]
    if all(p.exists() and os.access(p, os.W_OK) for p in sidecars):
        return None
    return "read_only"


def _read_header_through_sqlite(path: Path) -> FileHeader:
    """The same facts from a read-only connection: safe on a file this process has open (see
    the module's docstring), and it sees the last committed state, WAL included."""
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True)
        try:
            values = [conn.execute(f"PRAGMA {name}").fetchone()[0]
                      for name in ("page_size", "page_count", "user_version", "application_id")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseFileError(path, Text.of("db_cannot_read", detail=exc)) from None
    return FileHeader(*values, open_here=True)


def check_database_file(path: Path) -> FileHeader:
    """Raise DatabaseFileError unless `path` looks like a whole Hạ tầng database we can open."""
    header = read_header(path)
    # The size check holds for a file at rest only: while open, pages may sit in the WAL.
    if not header.open_here:
        size = path.stat().st_size
        if (header.page_size < 512 or size % header.page_size
                or size < header.page_size * header.page_count):
            raise DatabaseFileError(path, Text.of("db_truncated_size", size=size,
                                                          needed=header.page_size * header.page_count))
    if header.application_id != APPLICATION_ID:
        raise DatabaseFileError(path, Text.of("db_not_ours"))
    if header.user_version > current_version():
        raise SchemaTooNewError(path, header.user_version, current_version())
    return header
