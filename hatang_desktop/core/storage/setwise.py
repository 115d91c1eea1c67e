"""Writing many rows of one logged table at once, the triggers' work done set-wise.

Per row, the triggers of triggers.py add the row's change-log rows and, on a spatial table, its
R*Tree entry: on the national sample that was two thirds of a finding's insert (~60 µs a row).
Inside `set_aside(conn, table)` the table's triggers do not fire: what each of them would have
written is written for the whole batch by one `INSERT … SELECT`, in the order the triggers would
have written it (so even the change log's ids come out the same). A large batch's R*Tree entries
are packed into the tree in one pass instead (rtree_bulk.py: the same entries).

How the triggers are set aside, and why that is safe:
- DROP TRIGGER and CREATE TRIGGER are part of the writer's transaction (SQLite's schema is a
  table like any other). The writer holds the write lock (`BEGIN IMMEDIATE`), so no other writer
  can write the table meanwhile, and readers see the last commit, triggers included. The block
  puts the same SQL text back before the commit; a rollback (an error, a kill, a power cut)
  restores the triggers with everything else. Every other writer, and this one after the block,
  meets the schema's own triggers.
- Only a table whose triggers are exactly those this version of triggers.py makes is written this
  way (their SQL is compared). A table with any other trigger (an older or newer program's, a
  user's own) gives None, and the caller writes row by row through the triggers.
SQLite only: the server's triggers are its own (server/triggers.py).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Sequence

from . import rtree_bulk
from .dialect import SQLITE, Raw, raw
from .triggers import (SPATIAL_TABLES, UNLOGGED, _columns, _log_sql, _rtree_sql, _versioned, change_log_insert,
                       rtree_name)

_OPERATION = "(SELECT max(id) FROM operations)"  # the operation the triggers log under
_ROWS, _OLD, _NEW = "temp.setwise_rows", "temp.setwise_old", "temp.setwise_new"


def expected_triggers(conn, table: str) -> dict[str, str]:
    """The triggers triggers.py makes for `table` on this schema, name -> CREATE statement."""
    driver = raw(conn).driver
    statements = (_rtree_sql(table) if table in SPATIAL_TABLES else []) + _log_sql(driver, table)
    out = {}
    for sql in statements:
        m = re.match(r"CREATE TRIGGER (\w+) ", sql)
        if m:
            out[m.group(1)] = sql
    return out


def _triggers(conn: Raw, table: str) -> list[tuple[str, str]]:
    return conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "  # sqlite-only: the schema's own triggers
                        "ORDER BY rowid", (table,)).fetchall()


@contextlib.contextmanager
def set_aside(session, table: str) -> Iterator[SetWise | None]:
    """`table`'s triggers not firing for the block (a SetWise writes with their effect), inside the
    open write transaction; None when they cannot be set aside (see the module text)."""
    conn = raw(session)
    # UPDATE … FROM (SetWise.update) came with SQLite 3.33.
    if conn.dialect != SQLITE or not conn.driver.in_transaction or sqlite3.sqlite_version_info < (3, 33):
        yield None
        return
    found = _triggers(conn, table)
    if dict(found) != expected_triggers(conn, table):
        yield None
        return
    for name, _sql in found:
        conn.execute(f"DROP TRIGGER {name}")
    try:
        yield SetWise(conn, table)
    finally:
        # In their first order (the order SQLite fires them in follows it). After an
        # error that already rolled the transaction back they are there again: left alone.
        there = {name for name, _sql in _triggers(conn, table)}
        for name, sql in found:
            if name not in there:
                conn.execute(sql)


class SetWise:
    """Inserts and updates of one table with the effect of its triggers (while set aside)."""

    def __init__(self, conn: Raw, table: str):
        self.conn, self.table = conn, table
        self.columns = [name for name, _type in _columns(conn.driver, table)]
        self.logged = [name for name in self.columns if name not in UNLOGGED]
        self.versioned = _versioned(conn.driver)

    # -- what the triggers write ---------------------------------------------------------------

    def _log_head(self) -> str:
        return change_log_insert(self.versioned)

    def _rtree_insert(self, source: str, order: str) -> str | None:
        """The R*Tree rows of the new state of the rows `source` (FROM … WHERE) names as `n`."""
        if self.table not in SPATIAL_TABLES:
            return None
        (x0, x1, y0, y1), _watched = SPATIAL_TABLES[self.table]
        box = ", ".join(e.replace("NEW.", "n.") for e in (x0, x1, y0, y1))
        return (f"INSERT INTO {rtree_name(self.table)} SELECT n.id, {box} {source} AND n.deleted = 0 "
                f"AND {x0.replace('NEW.', 'n.')} IS NOT NULL AND {y0.replace('NEW.', 'n.')} IS NOT NULL "
                f"ORDER BY {order}")

    # -- writing -----------------------------------------------------------------------------

    def insert(self, columns: Sequence[str], rows: list[tuple], constants: dict | None = None) -> int:
        """`rows` (values of `columns`) inserted as new rows, in their order, each logged and
        indexed as the insert triggers do; `constants` (column -> value) the same in every row.
        Returns how many."""
        if not rows:
            return 0
        t, conn, names = self.table, self.conn, ", ".join(columns)
        constants = constants or {}
        before = conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
        # Through a temporary table with no types (values kept as bound; the table's own
        # affinities apply on the way in, as for a direct insert) and one INSERT … SELECT:
        # measured on the national sample's 237k findings, a third less CPU than inserting each
        # row (one statement keeps its cursors on the table and its indexes open). The values
        # every row shares are bound once, in that statement (8 of a finding's 17 columns:
        # binding 237k rows of 9 values instead of 17 measured 0.82 -> 0.52 s).
        conn.execute(f"DROP TABLE IF EXISTS {_NEW}")
        conn.execute(f"CREATE TABLE {_NEW} ({names})")
        conn.executemany(f"INSERT INTO {_NEW} VALUES ({', '.join('?' * len(columns))})", rows)
        shared = "".join(", ?" for _ in constants)
        conn.execute(f"INSERT INTO {t}({', '.join([*columns, *constants])}) SELECT {names}{shared} FROM {_NEW} "
                     "ORDER BY rowid", tuple(constants.values()))
        conn.execute(f"DROP TABLE {_NEW}")
        # A new row without an id gets one above the largest: this batch is exactly id > before
        # (checked: no other writer can write while this transaction holds the lock).
        made = conn.execute(f"SELECT count(*) FROM {t} WHERE id > ?", (before,)).fetchone()[0]
        if made != len(rows):
            raise RuntimeError(f"{t}: {made} rows above id {before} after inserting {len(rows)}")
        ver = ", n.version" if self.versioned else ""
        conn.execute(f"{self._log_head()} SELECT {_OPERATION}, '{t}', n.uuid, 'insert', NULL, NULL, NULL, "
                     f"n.updated_by, n.updated_at, n.source{ver} FROM {t} n WHERE n.id > ? ORDER BY n.id",
                     (before,))
        # Packed in one pass where that pays (rtree_bulk: a national first check's 237k
        # findings measured 3.4 s inserted one by one), else one insert each.
        if t in SPATIAL_TABLES and not rtree_bulk.fill_new_rows(conn, t, before, made):
            conn.execute(self._rtree_insert(f"FROM {t} n WHERE n.id > ?", self._spatial_order()), (before,))
        return len(rows)

    def _spatial_order(self) -> str:
        """The order new entries go into the R*Tree: by commune where the table has one (its
        records lie together, so consecutive entries land in the same leaves; measured: a fifth
        less CPU than in id order). The R*Tree holds the same entries either way; only the shape
        of its tree depends on the order, as it does on the order of any edits."""
        return "n.commune_code, n.id" if "commune_code" in self.columns else "n.id"

    def update(self, assignments: dict[str, str], params: Sequence[str], rows: list[tuple]) -> int:
        """Each row `(id, *values of params)` updated by `assignments` (column -> SQL over the
        row's columns and `:param`), logged and re-indexed as the update triggers do, in the
        order of `rows`. Returns how many rows were updated."""
        if not rows:
            return 0
        t, conn = self.table, self.conn
        conn.execute(f"DROP TABLE IF EXISTS {_ROWS}")
        # A row twice in one batch breaks UNIQUE: the triggers would log two updates of it.
        conn.execute(f"CREATE TABLE {_ROWS} (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE"
                     f"{''.join(', ' + p for p in params)})")
        conn.executemany(f"INSERT INTO {_ROWS}(seq, id{''.join(', ' + p for p in params)}) "
                         f"VALUES ({', '.join('?' * (len(params) + 2))})",
                         [(k, *r) for k, r in enumerate(rows)])
        # The old values of the columns that can change, as the update trigger's OLD.
        changed = [c for c in self.logged if c in assignments]
        conn.execute(f"DROP TABLE IF EXISTS {_OLD}")
        conn.execute(f"CREATE TABLE {_OLD} AS SELECT u.seq, o.id"
                     f"{''.join(', o.' + c for c in changed)} FROM {_ROWS} u JOIN {t} o ON o.id = u.id")
        sets = ", ".join(f"{c} = {_params_of(e, params)}" for c, e in assignments.items())
        done = conn.execute(f"UPDATE {t} SET {sets} FROM {_ROWS} u WHERE {t}.id = u.id").rowcount
        self._log_updates(changed)
        _x, watched = SPATIAL_TABLES.get(t, (None, ()))
        # The R*Tree trigger fires on an update OF these columns, whatever their values.
        if set(assignments) & set(watched + ("deleted",)):
            rt = rtree_name(t)
            conn.execute(f"DELETE FROM {rt} WHERE id IN (SELECT id FROM {_ROWS})")
            conn.execute(self._rtree_insert(f"FROM {_ROWS} u JOIN {t} n ON n.id = u.id WHERE 1", "u.seq"))
        conn.execute(f"DROP TABLE {_OLD}")
        conn.execute(f"DROP TABLE {_ROWS}")
        return done

    def _log_updates(self, changed: list[str]) -> None:
        if not changed:
            return
        t, ver = self.table, ", n.version" if self.versioned else ""
        parts = []
        for k, c in enumerate(changed):
            action = "CASE WHEN n.deleted = 1 THEN 'delete' ELSE 'restore' END" if c == "deleted" else "'update'"
            parts.append(f"SELECT o.seq AS seq, {k} AS k, n.uuid AS uuid, {action} AS action, '{c}' AS field, "
                         f"o.{c} AS old_value, n.{c} AS new_value, n.updated_by AS by, n.updated_at AS at, "
                         f"n.source AS source{ver.replace('n.version', 'n.version AS version')} "
                         f"FROM {_OLD} o JOIN {t} n ON n.id = o.id WHERE o.{c} IS NOT n.{c}")  # sqlite-only: the update trigger's own test
        self.conn.execute(f"{self._log_head()} SELECT {_OPERATION}, '{t}', uuid, action, field, old_value, "
                          f"new_value, by, at, source{', version' if ver else ''} FROM "
                          f"({' UNION ALL '.join(parts)}) ORDER BY seq, k")


def _params_of(expr: str, params: Sequence[str]) -> str:
    """`:name` of a parameter as the column of the batch's rows (`u.name`)."""
    for p in params:
        expr = re.sub(rf":{p}\b", f"u.{p}", expr)
    return expr


class RowByRow:
    """The same writes as SetWise, one statement per row with the triggers firing: PostgreSQL's
    way (its triggers are its own), and SQLite's when the triggers cannot be set aside."""

    def __init__(self, conn, table: str):
        self.conn, self.table = raw(conn), table

    def insert(self, columns: Sequence[str], rows: list[tuple], constants: dict | None = None) -> int:
        constants = constants or {}
        if rows:
            shared = tuple(constants.values())
            names = [*columns, *constants]
            self.conn.executemany(f"INSERT INTO {self.table}({', '.join(names)}) "
                                  f"VALUES ({', '.join('?' * len(names))})", [(*r, *shared) for r in rows])
        return len(rows)

    def update(self, assignments: dict[str, str], params: Sequence[str], rows: list[tuple]) -> int:
        if rows:
            sets = ", ".join(f"{c} = {e}" for c, e in assignments.items())
            self.conn.executemany(f"UPDATE {self.table} SET {sets} WHERE id = :id",
                                  [{"id": r[0], **dict(zip(params, r[1:]))} for r in rows])
        return len(rows)


@contextlib.contextmanager
def writer(session, table: str, *, setwise: bool = True) -> Iterator[SetWise | RowByRow]:
    """A SetWise for `table` when its triggers can be set aside (and `setwise`), else a RowByRow."""
    if not setwise:
        yield RowByRow(session, table)
        return
    with set_aside(session, table) as fast:
        yield fast or RowByRow(session, table)
