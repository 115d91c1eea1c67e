"""The department's database on PostgreSQL + PostGIS, offered as the same object as a file.

`ServerDatabase` has what core code uses of storage.database.Database: `session()` to read,
`operation()` for one user action in one transaction logged under one `operations` row, and the
facts (schema version, meta, database id). The operation id is also set as the transaction's
`hatang.operation_id`, which the PL/pgSQL change-log trigger reads (server/triggers.py), so the
change log and undo work exactly as on a file.

A lost connection is one line a user reads ("mất kết nối…"), never a traceback; the transaction
it cut is rolled back by the server, so nothing is half-written, and the next operation
reconnects (pool_pre_ping).
"""

from __future__ import annotations

import contextlib
import uuid as uuidlib
from collections.abc import Iterator

import psycopg
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..errors import DatabaseFileError
from ..model import utcnow
from ..storage.database import _app_version, begin_operation, default_source, default_user
from ..storage.migrations import current_version
from ..storage.targets import ServerUrl
from .ddl import (SERVER_TABLES, index_statements, seed_rows, server_index_statements, shape_statements,
                  table_statements)
from .security import security_statements
from .triggers import trigger_statements

APPLICATION_NAME = "hatang"


class ServerError(DatabaseFileError):
    """The server cannot be reached, refused us, or is not a Hạ tầng database."""


class RecordChangedError(DatabaseFileError):
    """An ORM write lost the race for a record (its version moved on): nothing was written."""


class PasswordNeeded(ServerError):
    """The server asks for a password that ~/.pgpass, PGPASSWORD and the service file did not
    give (or the one given was wrong): the app asks the user for it."""


# Passwords a user typed in the app, by server address (ServerUrl.uri): in this process's memory
# only, handed to libpq when connecting, never written to settings, files or logs.
_passwords: dict[str, str] = {}


def set_session_password(url: ServerUrl, password: str | None) -> None:
    if password:
        _passwords[url.uri] = password
    else:
        _passwords.pop(url.uri, None)


def _password_asked(message: str) -> bool:
    return "no password supplied" in message or "password authentication failed" in message


# SQLSTATEs of a connection that is gone: class 08, and the server ending the session
# (pg_terminate_backend, shutdown). A serialization failure or a lock timeout is an
# OperationalError too, but the connection is fine: those stay what they are.
_GONE_STATES = ("57P01", "57P02", "57P03")


def _connection_lost(exc: BaseException, orig: BaseException) -> bool:
    if not (isinstance(exc, OperationalError) or type(orig).__name__ in ("OperationalError", "ConnectionTimeout")):
        return False
    state = getattr(orig, "sqlstate", None)
    return state is None or state.startswith("08") or state in _GONE_STATES


def connection_fault(url: ServerUrl, exc: BaseException) -> ServerError | None:
    """A connection-level problem as the line a user reads; None for anything else."""
    orig = getattr(exc, "orig", exc)
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if _password_asked(message):
        return PasswordNeeded(url.display, "máy chủ cần mật khẩu (hoặc mật khẩu sai)",
                              "the server asks for a password (or the password was wrong)")
    if _connection_lost(exc, orig):
        return ServerError(url.display, f"không kết nối được máy chủ hoặc mất kết nối ({message}); không ghi gì, "
                                        "hãy kiểm tra mạng rồi thử lại",
                           f"cannot reach the server or the connection was lost ({message}); nothing was written, "
                           "check the network and try again")
    return None


class ServerDatabase:
    dialect = "postgresql"
    path = None  # no file: backups are the server's own (pg_dump, base backups)

    def __init__(self, url: ServerUrl, readonly: bool = False):
        self.url = url
        self.name = url.display
        self.readonly = readonly
        connect_args = {"application_name": APPLICATION_NAME, "connect_timeout": 10}
        if url.uri in _passwords:  # typed in the app; libpq gets it, the URL never carries it
            connect_args["password"] = _passwords[url.uri]
        self._engine = create_engine(
            url.sqlalchemy_url(), pool_pre_ping=True, pool_size=2, max_overflow=4, connect_args=connect_args)
        @event.listens_for(self._engine, "handle_error")
        def _as_user_message(ctx):
            # A cut or refused connection reaches callers as a ServerError (a HatangError every
            # window and command already shows as one line), not a driver traceback. The pool's
            # own liveness check is left alone: it reconnects on it.
            if ctx.is_pre_ping:
                return None
            return connection_fault(self.url, ctx.sqlalchemy_exception or ctx.original_exception)

        if readonly:
            @event.listens_for(self._engine, "begin")
            def _readonly(conn):
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self.user = default_user()
        self.source = default_source()

    # -- creating and opening ------------------------------------------------------------------

    @classmethod
    def open(cls, url: ServerUrl, *, readonly: bool = False) -> ServerDatabase:
        db = cls(url, readonly=readonly)
        try:
            with db.session() as s:
                found = s.execute(text("SELECT to_regclass('public.meta') IS NOT NULL")).scalar_one()
                version = s.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar() \
                    if found else None
        except DBAPIError as exc:
            db.close()
            raise connection_fault(url, exc) or ServerError(url.display, f"máy chủ từ chối ({exc.orig})",
                                                  f"the server refused ({exc.orig})") from None
        if version is None:
            db.close()
            raise ServerError(url.display, "chưa phải cơ sở dữ liệu Hạ tầng; hãy chạy `hatang server init`",
                              "not a Hạ tầng database yet; run `hatang server init`")
        if int(version) < current_version():
            db.close()
            raise ServerError(url.display, f"lược đồ máy chủ ({version}) cũ hơn phần mềm ({current_version()}); người "
                                           "quản trị cần chạy `hatang server upgrade` (sau khi sao lưu)",
                              f"the server's schema ({version}) is older than this software's ({current_version()}); "
                              "the administrator must run `hatang server upgrade` (after a backup)")
        if int(version) > current_version():
            db.close()
            raise ServerError(url.display, f"lược đồ máy chủ ({version}) mới hơn phần mềm ({current_version()}); "
                                           "hãy cập nhật phần mềm",
                              f"the server's schema ({version}) is newer than this software's ({current_version()}); "
                              "update the software")
        return db

    def close(self) -> None:
        self._engine.dispose()

    def reconnect(self) -> None:
        """Drop every pooled connection (one the server cut included) and prove a new one works;
        a ServerError when the server still cannot be reached."""
        self._engine.dispose()
        try:
            with self.session() as s:
                s.execute(text("SELECT 1")).scalar_one()
        except DBAPIError as exc:
            raise connection_fault(self.url, exc) or ServerError(self.name, f"máy chủ từ chối ({exc.orig})",
                                                                 f"the server refused ({exc.orig})") from None

    def __enter__(self) -> ServerDatabase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading and writing ---------------------------------------------------------------------

    def session(self) -> Session:
        return self._sessions()

    @contextlib.contextmanager
    def operation(self, description: str, *, user: str | None = None,
                  source: str | None = None) -> Iterator[Session]:
        """One user action: one transaction, logged under one `operations` row (see Database.operation)."""
        if self.readonly:
            raise ServerError(self.name, "cơ sở dữ liệu đang mở ở chế độ chỉ đọc", "the database is open read-only")
        session = self._sessions()
        try:
            op = begin_operation(session, description, user or self.user, source or self.source)
            # The PL/pgSQL change-log trigger logs this transaction's writes under it.
            session.execute(text("SELECT set_config('hatang.operation_id', :op, true)"), {"op": str(op)})
            yield session
            session.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                session.rollback()
            # DBAPIError through SQLAlchemy, psycopg's own from a raw cursor (dialect.raw).
            fault = connection_fault(self.url, exc) if isinstance(exc, (DBAPIError, psycopg.Error)) else None
            if fault is not None:
                raise fault from None
            if isinstance(exc, StaleDataError):
                # The ORM's optimistic update (version_id_col) found the row at another version:
                # another analyst, an import or a sync wrote it first. Theirs stays; ours is undone.
                raise RecordChangedError(self.name, "bản ghi vừa được người khác thay đổi (nhập sổ, đồng bộ hoặc "
                                                    "sửa cùng lúc); không ghi gì, hãy mở lại và thử lại",
                                         "the record was just changed by someone else (an import, a sync or "
                                         "another edit); nothing was written, reopen it and try again") from None
            raise
        finally:
            session.close()

    # -- facts -----------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version") or 0)

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self.session() as s:
            value = s.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar()
        return default if value is None else value

    def database_id(self) -> str:
        return self.meta("database_id") or ""


def create_schema(url: ServerUrl, *, force: bool = False, fill=None) -> None:
    """The whole schema in one transaction on an empty database (or, with `force`, after dropping
    what a previous init made): PostGIS, the tables of the one migration list, the shapes and
    their GiST indexes, the triggers, the roles, policies and views (server/security.py), the seed
    rows (operators) and the meta facts.

    `fill(conn)` writes the first data in the same transaction (server/load.py), so a failure
    leaves the database as it was. It runs after the tables and before the indexes and the
    triggers: a bulk copy then neither maintains secondary indexes row by row nor logs the rows
    it copies as new (they come with their own history); constraints and foreign keys, part of
    the tables, are checked on every row all the same."""
    engine = create_engine(url.sqlalchemy_url(), connect_args={"application_name": APPLICATION_NAME,
                                                                "connect_timeout": 10})
    try:
        with engine.begin() as conn:
            tables = conn.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('spatial_ref_sys')")).scalar_one()
            if tables and not force:
                raise ServerError(url.display, f"cơ sở dữ liệu đã có {tables} bảng; không ghi gì (dùng --force để "
                                               "xóa và tạo lại)",
                                  f"the database already has {tables} tables; nothing was written "
                                  "(use --force to drop and re-create)")
            if tables:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            raw = conn.connection.driver_connection  # no parameters: PL/pgSQL's own % stays as written
            for statement in table_statements() + shape_statements() + SERVER_TABLES:
                raw.execute(statement)
            if fill is None:
                _copy_seed_rows(conn)
            else:
                fill(conn)
            for statement in (index_statements() + server_index_statements() + trigger_statements()
                              + security_statements()):
                raw.execute(statement)
            now = utcnow().isoformat(timespec="seconds") + "Z"
            conn.execute(text("INSERT INTO meta(key, value) VALUES (:k, :v)"), [
                {"k": "database_id", "v": str(uuidlib.uuid4())},
                {"k": "created_at", "v": now},
                {"k": "created_by_version", "v": _app_version()},
                {"k": "schema_version", "v": str(current_version())},
                {"k": "engine", "v": "postgresql"},
            ])
    except DBAPIError as exc:
        raise connection_fault(url, exc) or ServerError(url.display, f"máy chủ từ chối tạo lược đồ ({exc.orig})",
                                              f"the server refused to create the schema ({exc.orig})") from None
    finally:
        engine.dispose()


def _copy_seed_rows(conn) -> None:
    """Rows the migrations write into a new file (the operators), written to the server too."""
    for name, (cols, rows) in seed_rows().items():
        quoted = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join(f":{c}" for c in cols)
        conn.execute(text(f"INSERT INTO {name}({quoted}) VALUES ({marks})"), [dict(zip(cols, row)) for row in rows])


def init_server_database(url: ServerUrl, province: str, *, force: bool = False,
                         user: str | None = None) -> ServerDatabase:
    """`hatang server init`: the schema, then the province's communes, as `hatang init` does for a
    file (provinces_db.init_province_database). A bad province code writes nothing."""
    from ..admin_units import SOURCE, find_province, install_province
    from ..storage.database import set_meta

    chosen = find_province(province)
    create_schema(url, force=force)
    db = ServerDatabase(url)
    try:
        with db.operation(f"Khởi tạo cơ sở dữ liệu Sở {chosen.name}", user=user, source=SOURCE) as s:
            install_province(s, chosen)
            set_meta(s, "scope", "province")
            set_meta(s, "province_code", chosen.code)
            set_meta(s, "province_name", chosen.name)
    except BaseException:
        db.close()
        raise
    return db


