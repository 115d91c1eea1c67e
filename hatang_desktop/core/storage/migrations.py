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

from ..operators import OPERATORS
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
         for op in OPERATORS],
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


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema: admin units, operators, sites, poles, routes, zones, findings, "
                 "photos, change log, R*Tree index", _m0001_initial),
    Migration(2, "Excel sync: versions in the change log, conflicts table", _m0002_sync),
    Migration(3, "field recording: GNSS metadata on sites, poles, findings; photo names and sizes",
              _m0003_field),
    Migration(4, "plan indicators: figures the department enters per commune and year",
              _m0004_indicator_figures),
]


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
