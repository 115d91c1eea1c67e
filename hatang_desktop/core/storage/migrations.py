"""The ordered list of schema migrations, applied by PRAGMA user_version.

A small ordered list rather than Alembic: our schema is SQLite-specific DDL (R*Tree virtual
tables, triggers, partial unique indexes) that Alembic's autogenerate cannot express anyway, the
version lives in the database header where it can be read without opening the file for writing,
and the PyInstaller bundle carries one dependency less. `hatang init` builds a new database through
this same list, so a new database and an upgraded one cannot drift apart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..operators import OPERATORS, UNKNOWN
from .triggers import _log_sql, install_triggers

# "HTSD" in the header's application_id field: tells our databases from any other SQLite file
# (an MBTiles basemap, a GeoPackage) before anything is read or written.
APPLICATION_ID = 0x48545344

_HERE = Path(__file__).parent


def split_sql(script: str) -> list[str]:
    """Statements of a script, so a migration can run inside one transaction (executescript commits)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer[:80]!r}")
    return statements


def run_script(conn: sqlite3.Connection, name: str) -> None:
    for statement in split_sql((_HERE / name).read_text(encoding="utf-8")):
        conn.execute(statement)


def _m0001_initial(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0001.sql")
    install_triggers(conn)
    conn.executemany(
        "INSERT INTO operators(code, name, brand, mncs, colour) VALUES (?, ?, ?, ?, ?)",
        [(op.code, op.name, op.brand, ",".join(f"{m:02d}" for m in op.mncs), op.colour)
         for op in OPERATORS if op.code != UNKNOWN],   # UNKNOWN came with schema 5
    )


def _m0002_sync(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0002.sql")
    install_triggers(conn)


def _m0003_field(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0003.sql")
    install_triggers(conn)  # the change log must cover the new columns


def _m0004_indicator_figures(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0004.sql")
    # Logged like a surveyed table (and never hard-deleted), without touching the other tables'
    # triggers: the figures are not in triggers.LOGGED_TABLES' R*Tree or form machinery.
    for sql in _log_sql(conn, "indicator_figures"):
        conn.execute(sql)


# The sites' status CHECK as schema 1 wrote it, and as schema 5 widens it.
_STATUS_CHECK_1 = "CHECK (status IN ('operating', 'planned', 'dismantled'))"
_STATUS_CHECK_5 = "CHECK (status IN ('operating', 'planned', 'dismantled', 'to_verify'))"
_UNKNOWN_CHECK_5 = f"CHECK (operator_code <> '{UNKNOWN}' OR status = 'to_verify')"


def _m0005_reference_sites(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0005.sql")
    # SQLite cannot ALTER a CHECK. Widening one (a value more in an IN list) and adding one that
    # no stored row can break (no site has the operator this migration creates) is the edit of
    # the table's text in sqlite_master that sqlite.org documents for removing constraints
    # ("Making Other Kinds Of Table Schema Changes"): every row still holds, the file format is
    # unchanged, and no table is copied (120k sites nationally). The schema version is bumped
    # so every connection reloads the schema.
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sites'").fetchone()[0]
    body = sql.rstrip()
    if sql.count(_STATUS_CHECK_1) != 1 or not body.endswith(")"):
        raise sqlite3.DatabaseError("bảng sites không như lược đồ 1-4 tạo ra / the sites table is not as "
                                    "schemas 1-4 made it")
    if conn.execute("SELECT count(*) FROM sites WHERE operator_code = ?", (UNKNOWN,)).fetchone()[0]:
        raise sqlite3.DatabaseError("sites already use the UNKNOWN operator")
    new = body[:-1].rstrip().replace(_STATUS_CHECK_1, _STATUS_CHECK_5) + f",\n    {_UNKNOWN_CHECK_5}\n)"
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'sites'", (new,))
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    install_triggers(conn)  # the change log must cover the new columns


def _m0006_tracks(conn: sqlite3.Connection) -> None:
    run_script(conn, "schema_0006.sql")
    # No triggers: tracks are not change-logged (schema_0006.sql says why).


def _m0006_tracks_server(conn) -> None:
    # The same tables on the department's server, translated as a new server's are (server/ddl.py),
    # so a server upgraded from 5 and one made at 6 have one schema. They stay empty there: tracks
    # do not travel by sync; they exist so that both engines hold one schema.
    from ..server.ddl import table_sql

    for statement in split_sql((_HERE / "schema_0006.sql").read_text(encoding="utf-8")):
        words = statement.split(None, 3)
        conn.execute(table_sql(words[2], statement) if words[:2] == ["CREATE", "TABLE"] else statement)


@dataclass(frozen=True)
class Migration:
    """One step of the schema, for both engines.

    `apply` runs it on a SQLite file. `server` runs it on the department's PostgreSQL (a psycopg
    connection inside the upgrade's transaction, server/upgrade.py). A new server is built from
    the whole list at once (server/ddl.py translates the file's schema), so migrations up to
    SERVER_BASELINE need no server step; every later one must have one, and a test checks it."""
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]
    server: Callable[[object], None] | None = None


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema: admin units, operators, sites, poles, routes, zones, findings, "
                 "photos, change log, R*Tree index", _m0001_initial),
    Migration(2, "Excel sync: versions in the change log, conflicts table", _m0002_sync),
    Migration(3, "field recording: GNSS metadata on sites, poles, findings; photo names and sizes",
              _m0003_field),
    Migration(4, "plan indicators: figures the department enters per commune and year",
              _m0004_indicator_figures),
    Migration(5, "reference sites to verify: status to_verify, operator UNKNOWN, source id and tags",
              _m0005_reference_sites),
    Migration(6, "GPS track: the inspector's breadcrumbs with time and accuracy (not change-logged)",
              _m0006_tracks, server=_m0006_tracks_server),
]


# The schema the first servers were made with: later migrations carry a `server` step.
SERVER_BASELINE = 5


def current_version() -> int:
    return MIGRATIONS[-1].version


def migrate(conn: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply every pending migration, each in its own transaction with its version bump.

    `conn` must be in autocommit mode (isolation_level=None). Returns the versions applied.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    applied = []
    for m in migrations:
        if m.version <= found:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            m.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(m.version)}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied
