"""The few things the shared core says differently to SQLite and to PostgreSQL (issue 19).

Core SQL is written once, in the common subset of both engines (`IS DISTINCT FROM`, a quoted
`"user"`, no PRAGMA or sqlite_master). What cannot be shared is asked of this module with the
session (or connection) at hand: the engine's name, a raw cursor that takes `?` placeholders on
both drivers, a bounding-box filter (the R*Tree on SQLite, the GiST index on PostGIS), and a few
SQL expressions whose spelling differs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SQLITE, POSTGRESQL = "sqlite", "postgresql"


def dialect_of(obj: Any) -> str:
    """"sqlite" or "postgresql" for a Session, a SQLAlchemy Connection or Engine, a DBAPI
    connection (sqlite3 or psycopg), a `Raw` adapter, or anything with a `.dialect` name
    (a Database)."""
    if isinstance(obj, Raw):
        return obj.dialect
    name = getattr(obj, "dialect", None)
    if isinstance(name, str):
        return _normal(name)
    if name is not None and hasattr(name, "name"):  # Connection, Engine
        return _normal(name.name)
    if hasattr(obj, "get_bind"):  # Session
        return _normal(obj.get_bind().dialect.name)
    from .database import Database  # here: database.py must not need this module to load

    if isinstance(obj, Database):  # a SQLite file (the server's database names its dialect)
        return SQLITE
    if isinstance(obj, sqlite3.Connection):
        return SQLITE
    if any(c.__module__.split(".")[0] == "psycopg" for c in type(obj).__mro__):
        return POSTGRESQL
    raise TypeError(f"cannot tell the database engine of {obj!r}")


def _normal(name: str) -> str:
    if name in ("postgresql", "postgres"):
        return POSTGRESQL
    if name == "sqlite":
        return SQLITE
    raise ValueError(f"unsupported database engine {name!r}")


# -- raw DBAPI access --------------------------------------------------------------------------


def to_pyformat(sql: str, named: bool = False) -> str:
    """`?` placeholders (or `:name` ones when `named`) as psycopg's `%s` (`%(name)s`), outside string
    literals and quoted identifiers; every literal `%` doubled, as psycopg reads `%` everywhere."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            # A quoted run ends at the next lone quote of its kind ('' inside is an escaped quote).
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif c == "%":
            out.append("%%")
            i += 1
        elif c == "?" and not named:
            out.append("%s")
            i += 1
        elif c == ":" and named and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_") \
                and (i == 0 or sql[i - 1] != ":"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            i = j
        elif c == ":" and i + 1 < n and sql[i + 1] == ":":  # a ::cast, never a parameter
            out.append("::")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _value(v: Any) -> Any:
    # Flags are INTEGER 0/1 on both engines: psycopg would send a Python bool as boolean.
    return int(v) if isinstance(v, bool) else v


def _params(params: Sequence | Mapping) -> Sequence | Mapping:
    if isinstance(params, Mapping):
        return {k: _value(v) for k, v in params.items()}
    return tuple(_value(v) for v in params)


class Raw:
    """The DBAPI connection under a session's current transaction, spoken to in `?` SQL.

    On SQLite the statement goes to sqlite3 unchanged (the hot paths stay as fast as they were);
    on psycopg the placeholders are translated (`to_pyformat`). Parameters may be a sequence for
    `?` or a mapping for `:name`. `execute` returns the driver's cursor (fetchone, fetchall,
    iteration, `.description`, `.rowcount`)."""

    def __init__(self, driver_connection: Any, dialect: str):
        self.driver = driver_connection  # for what only one engine has (sqlite3.create_function)
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence | Mapping = ()):
        if self.dialect == SQLITE:
            return self.driver.execute(sql, params)
        cursor = self.driver.cursor()
        if params:
            cursor.execute(to_pyformat(sql, isinstance(params, Mapping)), _params(params))
        else:
            cursor.execute(sql)  # no parameters: psycopg leaves the text alone, % included
        return cursor

    def executemany(self, sql: str, seq: Iterable[Sequence | Mapping]):
        if self.dialect == SQLITE:
            return self.driver.executemany(sql, seq)
        rows = [_params(p) for p in seq]
        cursor = self.driver.cursor()
        if rows:
            cursor.executemany(to_pyformat(sql, isinstance(rows[0], Mapping)), rows)
        return cursor

    def cursor(self) -> RawCursor:
        """A cursor-like object with the same `?` translation (for code written against cursors)."""
        return RawCursor(self)


class RawCursor:
    """`execute` / `executemany` returning self, then fetch from it: a DBAPI cursor's shape."""

    def __init__(self, raw: Raw):
        self._raw = raw
        self._cursor = None

    def execute(self, sql: str, params: Sequence | Mapping = ()) -> RawCursor:
        self._cursor = self._raw.execute(sql, params)
        return self

    def executemany(self, sql: str, seq: Iterable[Sequence | Mapping]) -> RawCursor:
        self._cursor = self._raw.executemany(sql, seq)
        return self

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self):
        return self._cursor.fetchall()

    def fetchmany(self, size: int):
        return self._cursor.fetchmany(size)

    def __iter__(self):
        return iter(self._cursor)

    @property
    def description(self):
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()


def raw(session: Any) -> Raw:
    """A `Raw` over the DBAPI connection of `session`'s current transaction (a Session or a
    SQLAlchemy Connection; a DBAPI connection or a Raw is taken as it is)."""
    if isinstance(session, Raw):
        return session
    if hasattr(session, "get_bind") or hasattr(session, "exec_driver_sql"):
        conn = session.connection() if hasattr(session, "get_bind") else session
        return Raw(conn.connection.driver_connection, dialect_of(conn))
    return Raw(session, dialect_of(session))


# -- SQL that is spelled differently -----------------------------------------------------------


def bbox_filter(dialect: str, table: str, alias: str | None = None) -> str:
    """A WHERE fragment keeping the rows of `table` (as `alias`) whose bounding box meets the box
    of the named parameters :west, :south, :east, :north (degrees). On SQLite it goes through the
    table's R*Tree, which holds live rows only and rounds outwards (a superset: callers that need
    the exact test add it); on PostGIS through the GiST index on `shape`, which also holds
    tombstones, so callers keep their `deleted = 0`."""
    a = alias or table
    if dialect == SQLITE:
        return (f"{a}.id IN (SELECT id FROM rtree_{table} WHERE max_x >= :west AND min_x <= :east "
                f"AND max_y >= :south AND min_y <= :north)")
    if dialect == POSTGRESQL:
        box = f"{a}.shape && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
        if table == "admin_units":  # a village has no shape: the R*Tree boxes it by its centre
            return (f"({box} OR ({a}.shape IS NULL AND {a}.centre_lon BETWEEN :west AND :east "
                    f"AND {a}.centre_lat BETWEEN :south AND :north))")
        return box
    raise ValueError(f"unsupported database engine {dialect!r}")


def bbox_params(west: float, south: float, east: float, north: float) -> dict[str, float]:
    return {"west": west, "south": south, "east": east, "north": north}


def text_agg(dialect: str, expr: str, separator: str = ",") -> str:
    """An aggregate joining the text of `expr` with `separator`: SQLite's group_concat,
    PostgreSQL's string_agg."""
    sep = separator.replace("'", "''")
    if dialect == SQLITE:
        return f"group_concat({expr}, '{sep}')"
    return f"string_agg(CAST({expr} AS text), '{sep}')"


def in_values(dialect: str, column: str, values: Iterable[Any], named: str | None = None) -> tuple[str, Any]:
    """(`column` is one of `values`, its one parameter): a list of any length in a single
    parameter, so the statement never outgrows the engine's limit on parameters. The SQL uses
    `?`, or `:named` when `named` is given."""
    mark = f":{named}" if named else "?"
    if dialect == SQLITE:
        return f"{column} IN (SELECT value FROM json_each({mark}))", json.dumps(sorted(values))
    return f"{column} = ANY({mark})", sorted(values)


def iso_seconds(dialect: str, expr: str) -> str:
    """A stored time (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`, or with a `T`) as ISO text to the second,
    `YYYY-MM-DDTHH:MM:SS`."""
    if dialect == SQLITE:
        return f"strftime('%Y-%m-%dT%H:%M:%S', {expr})"
    return f"to_char(CAST({expr} AS timestamp), 'YYYY-MM-DD\"T\"HH24:MI:SS')"


def excel_serial(dialect: str, expr: str) -> str:
    """A stored time as Excel's day number (1900 date system, whole seconds)."""
    if dialect == SQLITE:
        return f"julianday(strftime('%Y-%m-%d %H:%M:%S', {expr})) - 2415018.5"
    return (f"CAST(EXTRACT(EPOCH FROM date_trunc('second', CAST({expr} AS timestamp))) AS double precision) "
            f"/ 86400.0 + 25569")


# -- facts about the database ------------------------------------------------------------------


def has_table(session: Any, name: str) -> bool:
    """Whether table `name` exists (a Session, SQLAlchemy or DBAPI connection, or Raw)."""
    r = raw(session)
    if r.dialect == SQLITE:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT 1 WHERE to_regclass(?) IS NOT NULL"
    return r.execute(sql, (name,)).fetchone() is not None


def schema_version(session: Any) -> int:
    """The schema version: SQLite's user_version; on the server the `schema_version` meta key."""
    r = raw(session)
    if r.dialect == SQLITE:
        return int(r.execute("PRAGMA user_version").fetchone()[0])
    row = r.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def table_columns(session: Any, table: str) -> list[str]:
    """The column names of `table`, in order."""
    r = raw(session)
    if r.dialect == SQLITE:
        return [row[1] for row in r.execute(f"PRAGMA table_info({table})")]
    return [row[0] for row in r.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position", (table,))]


__all__ = ["SQLITE", "POSTGRESQL", "Raw", "RawCursor", "bbox_filter", "bbox_params", "dialect_of", "excel_serial",
           "text_agg", "has_table", "in_values", "raw", "schema_version",
           "iso_seconds", "table_columns", "to_pyformat"]
