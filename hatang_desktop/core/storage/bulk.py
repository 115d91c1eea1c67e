"""Many new rows at once in a SQLite file, with the triggers' work done set-wise.

Row by row, every insert into a surveyed table fires two triggers (storage/triggers.py): one
change-log row and, for a table on the map, one R*Tree box. An import of a country's records
pays that a million times. Here the insert triggers are dropped inside the caller's
transaction, the rows written with one `executemany` per column set, the triggers' effect
replayed with one `INSERT … SELECT` each (triggers.insert_replay_sql: the same change-log rows
in the same order, the same boxes), and the triggers created again from their stored text. DDL
is transactional in SQLite: a failure anywhere rolls the triggers back with the rows, and other
connections never see the table without them (the write lock is held throughout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter

from .dialect import SQLITE, dialect_of, raw
from .triggers import insert_replay_sql, insert_trigger_names

BULK_ROWS = 500   # fewer rows than this go through the triggers: dropping them costs more
CACHE_KIB = -262144   # PRAGMA cache_size while writing: 256 MiB (negative: KiB, not pages)


def insert_many(s, table: str, batches: Mapping[tuple[str, ...], Sequence[Mapping]]) -> None:
    """INSERT the rows of `batches` ({column names: rows as dicts}) into `table`, in order, in
    the open transaction of session `s`: set-wise on SQLite when there are many and the table's
    insert triggers are the ones install_triggers gives it, else row by row through them."""
    if sum(len(b) for b in batches.values()) < BULK_ROWS or dialect_of(s) != SQLITE:
        _through_triggers(s, table, batches)
        return
    conn = raw(s)
    # sqlite-only: after the dialect test above
    triggers = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY rowid"  # sqlite-only
    fired = conn.execute(triggers, (table,)).fetchall()
    on_insert = [(n, sql) for n, sql in fired
                 if " AFTER INSERT ON " in sql.upper() or " BEFORE INSERT ON " in sql.upper()]
    if sorted(n for n, _ in on_insert) != sorted(insert_trigger_names(table)):
        _through_triggers(s, table, batches)   # a trigger this module does not know how to replay
        return
    after = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    # Rows keyed by random UUIDs land all over the unique indexes (the table's, the change
    # log's): a page cache that holds them saves re-reading pages from the WAL for every row.
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]  # sqlite-only: after the dialect test above
    conn.execute(f"PRAGMA cache_size = {CACHE_KIB}")  # sqlite-only: after the dialect test above
    try:
        for name, _sql in on_insert:
            conn.execute(f"DROP TRIGGER {name}")
        for names, rows in batches.items():
            # Positional parameters: sqlite3 binds a tuple faster than it looks names up in a dict.
            getter = itemgetter(*names) if len(names) > 1 else (lambda r, k=names[0]: (r[k],))
            conn.executemany(_insert_sql(table, names, positional=True), [getter(r) for r in rows])
        for sql in insert_replay_sql(conn.driver, table):
            conn.execute(sql, {"after": after})
        for _name, sql in on_insert:
            conn.execute(sql)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")  # sqlite-only: after the dialect test above


def _insert_sql(table: str, names: tuple[str, ...], positional: bool = False) -> str:
    marks = ", ".join("?" for _ in names) if positional else ", ".join(":" + c for c in names)
    return f"INSERT INTO {table}({', '.join(names)}) VALUES ({marks})"


def _through_triggers(s, table: str, batches: Mapping[tuple[str, ...], Sequence[Mapping]]) -> None:
    from sqlalchemy import text

    for names, rows in batches.items():   # one executemany per column set
        s.execute(text(_insert_sql(table, names)), list(rows))
