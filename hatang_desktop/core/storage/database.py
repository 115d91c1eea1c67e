"""Opening, creating and writing a Hạ tầng database.

Every write goes through `Database.operation()`: one immediate transaction, one row in
`operations`, sync bookkeeping filled on every record touched. SQLite runs in WAL mode with
synchronous=FULL and foreign keys on, so a laptop that dies mid-save loses nothing committed and
never leaves half a change behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import socket
import sqlite3
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseFileError
from ..model import SyncIdentity, utcnow
from .files import OpenFile, check_database_file
from .migrations import current_version, migrate

BUSY_TIMEOUT_MS = 5000


def default_user() -> str:
    """Who a change is recorded as: HATANG_USER (set by scripts, or by a shared field laptop's
    login script), else the login name."""
    named = os.environ.get("HATANG_USER", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except Exception:  # no login name on some Windows service accounts
        return "unknown"


def default_source() -> str:
    return f"device:{socket.gethostname()}"


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + ("?mode=ro" if readonly else "?mode=rw")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if not readonly:
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def _engine(path: Path, readonly: bool, immediate: bool) -> Engine:
    engine = create_engine("sqlite://", creator=lambda: _connect(path, readonly))

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A writer takes the write lock up front: a deferred transaction that upgrades later can
        # fail with SQLITE_BUSY regardless of the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _stamp_sync_fields(session: Session, _flush_context, _instances) -> None:
    user, source, now = session.info["user"], session.info["source"], utcnow()
    for obj in list(session.new) + [o for o in session.dirty if session.is_modified(o)]:
        if isinstance(obj, SyncIdentity):
            obj.updated_at, obj.updated_by, obj.source = now, user, source


def _locked(path: Path, exc: Exception) -> DatabaseFileError | None:
    if "locked" in str(exc) or "busy" in str(exc):
        return DatabaseFileError(path, "cơ sở dữ liệu đang bị chương trình khác khóa; hãy đóng "
                                 "chương trình đó rồi thử lại", "the database is locked by another "
                                 "program; close it and try again")
    return None


class Database:
    def __init__(self, path: Path, readonly: bool, open_mark: OpenFile | None = None):
        self.path = Path(path)
        self.readonly = readonly
        # This process must not open the file outside SQLite while connected: marked before the
        # first connection, released after close() (see storage/files.py).
        self._open_mark = open_mark or OpenFile(self.path)
        self._read_engine = _engine(self.path, readonly, immediate=False)
        self._write_engine = None if readonly else _engine(self.path, False, immediate=True)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        self._write_sessions = (sessionmaker(self._write_engine, expire_on_commit=False)
                                if self._write_engine else None)
        self.user = default_user()
        self.source = default_source()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, *, overwrite: bool = False) -> Database:
        path = Path(path)
        if path.exists() and not overwrite:
            raise DatabaseFileError(path, "tệp đã tồn tại; dùng --force để ghi đè",
                                    "the file already exists; use --force to overwrite")
        if not path.parent.exists():
            raise DatabaseFileError(path, "thư mục chứa tệp không tồn tại",
                                    "the folder does not exist")
        # Build next to the target and move into place: an interrupted init never leaves a
        # half-made database under the name the user asked for.
        tmp = path.with_name(f".{path.name}.{uuidlib.uuid4().hex[:8]}.tmp")
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA foreign_keys = ON")
                migrate(conn)
                now = utcnow().isoformat(timespec="seconds") + "Z"
                conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
                    ("database_id", str(uuidlib.uuid4())),
                    ("created_at", now),
                    ("created_by_version", _app_version()),
                ])
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
        return cls(path, readonly=False)

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> Database:
        """Open an existing database, upgrading an older schema (after a backup) unless readonly."""
        path = Path(path)
        header = check_database_file(path)
        mark = OpenFile(path)  # before the backup's and the migration's connections
        try:
            if header.user_version < current_version() and not readonly:
                backup_file(path, f"v{header.user_version}")
                conn = _connect(path, readonly=False)
                try:
                    migrate(conn)
                except sqlite3.OperationalError as exc:
                    raise _locked(path, exc) or exc
                finally:
                    conn.close()
        except BaseException:
            mark.release()
            raise
        db = cls(path, readonly=readonly, open_mark=mark)
        try:
            with db.session() as s:
                s.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
        except OperationalError as exc:
            db.close()
            raise _locked(path, exc) or DatabaseFileError(
                path, f"không mở được cơ sở dữ liệu ({exc.orig})", f"cannot open ({exc.orig})") from None
        except Exception as exc:
            db.close()
            raise DatabaseFileError(path, f"cơ sở dữ liệu bị hỏng ({exc})",
                                    f"the database is damaged ({exc})") from None
        return db

    def close(self) -> None:
        self._read_engine.dispose()
        if self._write_engine is not None:
            self._write_engine.dispose()
        self._open_mark.release()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading and writing ---------------------------------------------------------------

    def session(self) -> Session:
        """A session for reading. Use `operation()` for anything that writes."""
        return self._read_sessions()

    @contextlib.contextmanager
    def operation(self, description: str, *, user: str | None = None,
                  source: str | None = None) -> Iterator[Session]:
        """One user action: one transaction, logged under one `operations` row."""
        if self._write_sessions is None:
            raise DatabaseFileError(self.path, "cơ sở dữ liệu đang mở ở chế độ chỉ đọc",
                                    "the database is open read-only")
        session = self._write_sessions()
        session.info.update(user=user or self.user, source=source or self.source)
        event.listen(session, "before_flush", _stamp_sync_fields)
        try:
            session.execute(
                text("INSERT INTO operations(started_at, user, source, description) "
                     "VALUES (:t, :u, :s, :d)"),
                {"t": str(utcnow()), "u": session.info["user"], "s": session.info["source"],
                 "d": description},
            )
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise _locked(self.path, exc) or exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # -- facts about the database ------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self.session() as s:
            return s.execute(text("PRAGMA user_version")).scalar_one()

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self.session() as s:
            value = s.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar()
        return default if value is None else value

    def database_id(self) -> str:
        return self.meta("database_id") or ""


def set_meta(session: Session, key: str, value: str) -> None:
    session.execute(text("INSERT INTO meta(key, value) VALUES (:k, :v) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), {"k": key, "v": value})


def backup_file(path: Path, label: str) -> Path:
    """A consistent copy next to the database (SQLite's backup API, safe while others read)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.{label}-{stamp}.bak{path.suffix}")
    src = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target


def _app_version() -> str:
    from ... import __version__

    return __version__


__all__ = ["Database", "backup_file", "set_meta", "default_user", "default_source"]
