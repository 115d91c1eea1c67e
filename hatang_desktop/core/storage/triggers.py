"""Triggers that keep the R*Tree index and the change log in step with every write.

They are generated from the table's columns as they are when a migration runs, so a migration
that adds a column calls `install_triggers` again and the log covers the new column too.
Triggers (rather than ORM events) are used because bulk imports go through plain SQL and
must be logged and indexed exactly like edits made in a form.
"""

from __future__ import annotations

import sqlite3

# Columns the change log leaves out: identity and bookkeeping that every change touches anyway,
# and bounding boxes derived from the geometry.
UNLOGGED = {"id", "uuid", "version", "updated_at", "updated_by", "source",
            "min_lon", "min_lat", "max_lon", "max_lat"}

# Per table: the bounding box (min_x, max_x, min_y, max_y) as SQL over the new row, and the
# columns whose update moves it.
_POINT = (("NEW.lon", "NEW.lon", "NEW.lat", "NEW.lat"), ("lon", "lat"))
_BBOX = (("NEW.min_lon", "NEW.max_lon", "NEW.min_lat", "NEW.max_lat"),
         ("min_lon", "max_lon", "min_lat", "max_lat"))
SPATIAL_TABLES: dict[str, tuple[tuple[str, str, str, str], tuple[str, ...]]] = {
    "sites": _POINT,
    "poles": _POINT,
    "findings": _POINT,
    "fibre_routes": _BBOX,
    "zones": _BBOX,
    # An admin unit is indexed by its boundary when it has one, else by its centre.
    "admin_units": (("coalesce(NEW.min_lon, NEW.centre_lon)", "coalesce(NEW.max_lon, NEW.centre_lon)",
                     "coalesce(NEW.min_lat, NEW.centre_lat)", "coalesce(NEW.max_lat, NEW.centre_lat)"),
                    _BBOX[1] + ("centre_lon", "centre_lat")),
}

LOGGED_TABLES = ("admin_units", "sites", "site_tenants", "poles", "pole_attachments",
                 "fibre_routes", "zones", "findings", "photos")


def rtree_name(table: str) -> str:
    return f"rtree_{table}"


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(row[1], row[2].upper()) for row in conn.execute(f"PRAGMA table_info({table})")]


def _rtree_sql(table: str) -> list[str]:
    rt = rtree_name(table)
    (x0, x1, y0, y1), watched = SPATIAL_TABLES[table]
    insert = (f"INSERT INTO {rt} SELECT NEW.id, {x0}, {x1}, {y0}, {y1} "
              f"WHERE NEW.deleted = 0 AND {x0} IS NOT NULL AND {y0} IS NOT NULL;")
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {rt} USING rtree(id, min_x, max_x, min_y, max_y)",
        f"DROP TRIGGER IF EXISTS {rt}_ai",
        f"CREATE TRIGGER {rt}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"DROP TRIGGER IF EXISTS {rt}_au",
        f"CREATE TRIGGER {rt}_au AFTER UPDATE OF {', '.join(watched + ('deleted',))} ON {table} "
        f"BEGIN DELETE FROM {rt} WHERE id = OLD.id; {insert} END",
        f"DROP TRIGGER IF EXISTS {rt}_ad",
        f"CREATE TRIGGER {rt}_ad AFTER DELETE ON {table} BEGIN DELETE FROM {rt} WHERE id = OLD.id; END",
    ]


def change_log_insert(versioned: bool) -> str:
    """The head of every change-log insert (the triggers', storage/setwise.py's and
    insert_replay_sql's set-wise ones)."""
    return ("INSERT INTO change_log(operation_id, table_name, record_uuid, action, field, "
            f"old_value, new_value, user, time, source{', version' if versioned else ''}) ")


def _versioned(conn: sqlite3.Connection) -> bool:
    # Schema 2 added change_log.version; migration 1 must still build the triggers it had.
    return "version" in {name for name, _ in _columns(conn, "change_log")}


def _log_sql(conn: sqlite3.Connection, table: str) -> list[str]:
    cols = [(name, typ) for name, typ in _columns(conn, table) if name not in UNLOGGED]
    versioned = _versioned(conn)
    head = change_log_insert(versioned)
    ver = ", NEW.version" if versioned else ""
    op = "(SELECT max(id) FROM operations)"
    # An insert is one row with no values: the record holds them, and every later change is
    # logged with its old value, so the first state can always be rebuilt. (A JSON copy of every
    # new row doubled the size of a freshly imported database.)
    stmts = [
        f"DROP TRIGGER IF EXISTS log_{table}_ai",
        f"CREATE TRIGGER log_{table}_ai AFTER INSERT ON {table} BEGIN {head} VALUES ({op}, '{table}', "
        f"NEW.uuid, 'insert', NULL, NULL, NULL, NEW.updated_by, NEW.updated_at, NEW.source{ver}); END",
    ]
    updates = []
    for name, _ in cols:
        if name == "deleted":
            action = "CASE WHEN NEW.deleted = 1 THEN 'delete' ELSE 'restore' END"
        else:
            action = "'update'"
        updates.append(
            f"{head} SELECT {op}, '{table}', NEW.uuid, {action}, '{name}', OLD.{name}, NEW.{name}, "
            f"NEW.updated_by, NEW.updated_at, NEW.source{ver} WHERE OLD.{name} IS NOT NEW.{name};"
        )
    stmts += [
        f"DROP TRIGGER IF EXISTS log_{table}_au",
        f"CREATE TRIGGER log_{table}_au AFTER UPDATE ON {table} BEGIN {' '.join(updates)} END",
        # Surveyed records are tombstoned, never deleted: a hard delete would lose the deletion
        # on its way to the department.
        f"DROP TRIGGER IF EXISTS no_delete_{table}",
        f"CREATE TRIGGER no_delete_{table} BEFORE DELETE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, '{table}: records are tombstoned (deleted = 1), never deleted'); END",
    ]
    return stmts


def install_triggers(conn: sqlite3.Connection) -> None:
    for table in SPATIAL_TABLES:
        for sql in _rtree_sql(table):
            conn.execute(sql)
    for table in LOGGED_TABLES:
        for sql in _log_sql(conn, table):
            conn.execute(sql)


# -- bulk inserts: the insert triggers' work done set-wise ---------------------------------------

def insert_trigger_names(table: str) -> list[str]:
    """The AFTER INSERT triggers install_triggers gives `table`, in the order they fire (SQLite
    fires a table's triggers newest first: the log's, then the R*Tree's)."""
    return [f"log_{table}_ai"] + ([f"{rtree_name(table)}_ai"] if table in SPATIAL_TABLES else [])


def insert_replay_sql(conn: sqlite3.Connection, table: str) -> list[str]:
    """Statements that do for the rows of `table` with `id > :after` what its AFTER INSERT
    triggers (_log_sql, _rtree_sql) did row by row: one change-log row each ('insert', no
    values, in id order, under the newest operation) and the live rows with a position boxed in
    the R*Tree. Built from the same pieces as the triggers, `NEW.` read as the table's columns."""
    versioned = _versioned(conn)
    out = [(change_log_insert(versioned) +
            f"SELECT (SELECT max(id) FROM operations), '{table}', uuid, 'insert', NULL, NULL, NULL, "
            f"updated_by, updated_at, source{', version' if versioned else ''} FROM {table} "
            "WHERE id > :after ORDER BY id")]
    if table in SPATIAL_TABLES:
        x0, x1, y0, y1 = (e.replace("NEW.", "") for e in SPATIAL_TABLES[table][0])
        out.append(f"INSERT INTO {rtree_name(table)} SELECT id, {x0}, {x1}, {y0}, {y1} FROM {table} "
                   f"WHERE id > :after AND deleted = 0 AND {x0} IS NOT NULL AND {y0} IS NOT NULL ORDER BY id")
    return out
