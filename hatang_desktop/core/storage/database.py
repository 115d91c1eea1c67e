"""Opening, creating and writing a Hạ tầng database.

Every write goes through `Database.operation()`: one immediate transaction, one row in
`operations`, sync bookkeeping filled on every record touched. SQLite runs in WAL mode with
synchronous=FULL and foreign keys on, so a laptop that dies mid-save loses nothing committed and
never leaves half a change behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import getpass
import itertools
import os
import re
import socket
import sqlite3
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..atomic import as_fault, fsync_dir, fsync_file, private_dir, publish_unique
from ..errors import DatabaseFileError, FileFault, environment_fault
from ..messages import Text
from ..model import SyncIdentity, utcnow
from .files import OpenFile, can_write, check_database_file, read_header, readonly_uri
from .migrations import current_version, migrate

BUSY_TIMEOUT_MS = 5000
BACKUPS_KEPT = 10  # per label (truoc-nhap, truoc-nhap-gis...): older ones go after a new one's commit
# The backups taken inside the operation running on this thread (Database.operation).
_operation_backups: contextvars.ContextVar[list | None] = contextvars.ContextVar("operation_backups", default=None)


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
    uri = readonly_uri(path) if readonly else path.resolve().as_uri() + "?mode=rw"
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
    """A fault of the machine (locked, read-only, disk full, I/O) on this database as the line a
    user reads; None for anything else (core/errors.py holds the messages)."""
    return environment_fault(exc, path)


class Database:
    dialect = "sqlite"  # a server database (server/database.py) says "postgresql"

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

    @property
    def name(self) -> str:
        """What messages show for this database (a server's is its URL)."""
        return str(self.path)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, *, overwrite: bool = False) -> Database:
        path = Path(path)
        if path.exists() and not overwrite:
            raise DatabaseFileError(path, Text.of("db_exists_use_force"))
        if not path.parent.exists():
            raise DatabaseFileError(path, Text.of("db_folder_missing"))
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
    def open(cls, path: str | Path, *, readonly: bool = False, upgrade: bool | None = None) -> Database:
        """Open an existing database, upgrading an older schema (after a backup) unless readonly.

        `upgrade=True` upgrades an older schema even for reading: exports and dry runs read the
        columns of the current schema, which an older file does not have yet. Such a file that
        cannot be written is refused with a message rather than read and failed on a column."""
        path = Path(path)
        header = check_database_file(path)
        upgrade = (not readonly) if upgrade is None else upgrade
        if readonly and upgrade and header.user_version < current_version():
            fault = can_write(path)
            if fault is not None:
                raise FileFault(path, fault, (
                    f"tệp có lược đồ cũ ({header.user_version}, phần mềm dùng {current_version()}) cần được "
                    "nâng cấp trước khi xuất; hãy chép tệp sang thư mục ghi được rồi chạy lại",
                    f"the file has an older schema ({header.user_version}; this version uses "
                    f"{current_version()}) and must be upgraded first; copy it to a writable folder and run again"))
        if not readonly:
            fault = can_write(path)
            if fault is not None:  # refused before anything is read, computed or backed up
                raise FileFault(path, fault, ("mở để xem được nhưng không sửa được, không ghi gì",
                                              "it can be read but not changed; nothing was written"))
        mark = OpenFile(path)  # before the backup's and the migration's connections
        try:
            if header.user_version < current_version() and upgrade:
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
                path, Text.of("db_cannot_open", detail=exc.orig)) from None
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

    def stop_reads_when(self, stopped, steps: int = 20_000) -> None:
        """A read on this database's reading connections ends (sqlite3.OperationalError
        "interrupted") once `stopped()` is true, checked every `steps` SQLite steps: a window
        that opened another file stops reading the poles of the one it left."""
        def watch(dbapi_connection, _record, _proxy) -> None:
            dbapi_connection.set_progress_handler(lambda: 1 if stopped() else 0, steps)

        event.listen(self._read_engine, "checkout", watch)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A write session: committed when the block ends, rolled back on any error; a fault of
        the machine (the lock held by another program, a read-only file, a full disk) comes out
        as the one line a user reads."""
        if self._write_sessions is None:
            raise DatabaseFileError(self.path, "cơ sở dữ liệu đang mở ở chế độ chỉ đọc",
                                    "the database is open read-only")
        session = self._write_sessions()
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            fault = _locked(self.path, exc) if isinstance(exc, (OperationalError, sqlite3.Error)) else None
            if fault is not None:
                raise fault from None
            raise
        finally:
            session.close()

    @contextlib.contextmanager
    def operation(self, description: str, *, user: str | None = None,
                  source: str | None = None) -> Iterator[Session]:
        """One user action: one transaction, logged under one `operations` row.

        A backup taken inside the block (`backup_file`, once the plan says something will be
        written) belongs to the operation: it is removed when the operation fails or is refused,
        so a backup always stands for a change made, and the older ones of its label beyond
        BACKUPS_KEPT are deleted only after the commit. A fault of the machine comes out as the
        one line a user reads (`_transaction`)."""
        taken: list[tuple[str, Path]] = []
        token = _operation_backups.set(taken)
        try:
            with self._transaction() as session:
                # BEGIN IMMEDIATE: from here on this operation holds the write lock.
                begin_operation(session, description, user or self.user, source or self.source)
                yield session
        except BaseException:
            for _label, copy in taken:
                copy.unlink(missing_ok=True)
            raise
        finally:
            _operation_backups.reset(token)
        for label in dict.fromkeys(label for label, _copy in taken):
            prune_backups(self.path, label, BACKUPS_KEPT)

    @contextlib.contextmanager
    def unlogged(self) -> Iterator[Session]:
        """A write transaction with no `operations` row and no change log: for what the file keeps
        for itself and never exchanges (the GPS track, core/gps_track.py), which must not show up
        as an operation to undo or to push. All or nothing, like `operation()`."""
        with self._transaction() as session:
            yield session

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


def begin_operation(session: Session, description: str, user: str, source: str) -> int:
    """The first statement of an operation, on either engine (the server's ServerDatabase too):
    its `operations` row, the user and source every flush stamps on the records it writes, and
    the operation's id in `session.info["operation_id"]`. What the operation logged is read back
    by that id (core.changes): the Changes a writer returns and the undo of the operation both
    come from the change log."""
    session.info.update(user=user, source=source)
    event.listen(session, "before_flush", _stamp_sync_fields)
    op = session.execute(text('INSERT INTO operations(started_at, "user", source, description) '
                              "VALUES (:t, :u, :s, :d) RETURNING id"),
                         {"t": str(utcnow()), "u": user, "s": source, "d": description}).scalar_one()
    session.info["operation_id"] = op
    return op


def open_for_exchange(path: str | Path, *, write: bool = False) -> Database:
    """Open a database for an exchange: an import (`write`), or a dry run or an export (read only).

    The one place that decides how an older file is met: exchanges read and write the columns of
    the current schema, which an older file does not have yet, so it is upgraded first (after a
    backup of its own) even when only read. Such a file that cannot be written is refused with
    a message (Database.open), its bytes unchanged."""
    return Database.open(path, readonly=not write, upgrade=True)


def set_meta(session: Session, key: str, value: str) -> None:
    session.execute(text("INSERT INTO meta(key, value) VALUES (:k, :v) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), {"k": key, "v": value})


BACKUP_NOTE = "note_backup_failed"  # a code of the core catalogue (locale/*/hatang_core.po)


def backup_name(path: Path, label: str, when: dt.datetime, n: int = 1) -> Path:
    """`<stem>.<label>-YYYYmmdd-HHMMSS-mmm[-n].bak<suffix>`: to the millisecond, and a counter when
    two backups fall in the same millisecond."""
    stamp = when.strftime("%Y%m%d-%H%M%S-") + f"{when.microsecond // 1000:03d}"
    return path.with_name(f"{path.stem}.{label}-{stamp}{f'-{n}' if n > 1 else ''}.bak{path.suffix}")


def backup_file(path: Path, label: str) -> Path:
    """A consistent, checked copy next to the database, under a name no other backup has.

    SQLite's backup API copies the last committed state (safe while others read; taken inside
    an operation, under its write lock, it is exactly what the operation starts from, and it is
    removed if the operation fails: see `Database.operation`) into a private temporary
    folder; the copy must pass `PRAGMA quick_check` and is synced before it gets its name, so a
    file with a backup's name is always a whole database. (quick_check reads every page and
    checks every record: what a cut copy or a bad write breaks; integrity_check's index cross-
    check would only find what the source itself holds, at a few times the cost.) A full disk
    or a kill leaves no backup at all (the temporary folder goes; a killed run's is removed
    by the next one). The copy gets the database's own mode: it holds the same data."""
    path = Path(path)
    when = dt.datetime.now()
    with OpenFile(path), contextlib.ExitStack() as stack:
        try:
            temp = stack.enter_context(private_dir(path.parent))
        except OSError as exc:
            raise as_fault(exc, path, note=BACKUP_NOTE) from exc
        copy = temp / path.name
        try:
            src = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                dst = sqlite3.connect(copy)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
            finally:
                src.close()
            check = sqlite3.connect(copy)
            try:
                verdict = check.execute("PRAGMA quick_check").fetchall()
            finally:
                check.close()
            if verdict != [("ok",)]:
                raise DatabaseFileError(path, f"bản sao lưu vừa chép không đạt kiểm tra ({verdict[0][0]}); "
                                        "không thay đổi gì", "the backup copy failed its check; nothing was changed")
            fsync_file(copy)
            os.chmod(copy, os.stat(path).st_mode & 0o7777)
            target = publish_unique(copy, (backup_name(path, label, when, n) for n in itertools.count(1)))
            fsync_dir(path.parent)
        except BaseException as exc:
            raised = as_fault(exc, path, temp, note=BACKUP_NOTE)
            if raised is exc:
                raise
            raise raised from exc
    registry = _operation_backups.get()
    if registry is not None:
        registry.append((label, target))
    return target


def backups_of(path: Path, label: str) -> list[Path]:
    """This database's whole backups with `label`, oldest first (a file with a backup's name that
    is not a whole database, e.g. left by an older version killed mid-copy, is not one)."""
    path = Path(path)
    pattern = re.compile(rf"^{re.escape(path.stem)}\.{re.escape(label)}-(\d{{8}}-\d{{6}})(?:-(\d{{3}}))?"
                         rf"(?:-(\d+))?\.bak{re.escape(path.suffix)}$")
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            m = pattern.match(entry.name)
            if m is not None and _whole(Path(entry.path)):
                found.append(((m.group(1), int(m.group(2) or -1), int(m.group(3) or 1)), Path(entry.path)))
    return [p for _key, p in sorted(found)]


def _whole(path: Path) -> bool:
    try:
        header = read_header(path)
        size = path.stat().st_size
    except (DatabaseFileError, OSError):
        return False
    return (header.open_here or (header.page_size >= 512 and size % header.page_size == 0
                                 and size >= header.page_size * header.page_count))


def prune_backups(path: Path, label: str, keep: int) -> None:
    """Keep the newest `keep` whole backups with `label`; delete the older ones."""
    for old in backups_of(path, label)[:-keep]:
        old.unlink(missing_ok=True)


def _app_version() -> str:
    from ... import __version__

    return __version__


__all__ = ["Database", "backup_file", "backups_of", "open_for_exchange", "prune_backups", "set_meta", "default_user",
           "default_source"]
