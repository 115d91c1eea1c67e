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

import concurrent.futures
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence

from .dialect import SQLITE, dialect_of, raw
from .triggers import insert_replay_sql, insert_trigger_names

BULK_ROWS = 500   # fewer rows than this go through the triggers: dropping them costs more
CACHE_KIB = -262144   # PRAGMA cache_size while writing: 256 MiB (negative: KiB, not pages)


class Replays:
    """A worker thread for insert_many's replays of the insert triggers (a country's poles: their
    change log and R*Tree, seconds inside SQLite, which lets go of Python's lock while it works):
    the caller prepares its next rows meanwhile. One replay at a time, on the caller's
    connection; the caller must `wait()` before its next statement on that connection (the
    next insert_many does), and use it as a context manager, whose end waits too. A replay's error is
    raised by the wait that follows it, before anything else is written, so the caller's
    transaction rolls back as it would have. The statements and their order are those of
    insert_many without it: the same rows, ids, log and boxes."""

    def __init__(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay")
        self._pending: concurrent.futures.Future | None = None

    def run(self, work: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._pool.submit(work)

    def busy(self) -> bool:
        """Whether a replay is still running."""
        return self._pending is not None and not self._pending.done()

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> Replays:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if error is None:
                self.wait()
            elif self._pending is not None:
                # The statement under way ends before the caller's rollback; the error being
                # raised is the one to report.
                concurrent.futures.wait([self._pending])
                self._pending = None
        finally:
            self._pool.shutdown(wait=True)


def insert_many(s, table: str, batches: Mapping[tuple[str, ...], Sequence[Sequence]], *,
                replays: Replays | None = None) -> None:
    """INSERT the rows of `batches` ({column names: one list of values per column, each as long
    as the batch}) into `table`, in order, in the open transaction of session `s`: set-wise on
    SQLite when there are many and the table's insert triggers are the ones install_triggers
    gives it, else row by row through them. With `replays`, the triggers' work set-wise (and
    the triggers put back) runs on its thread after this returns (Replays)."""
    if replays is not None:
        replays.wait()   # the connection is this thread's again
    if sum(_length(c) for c in batches.values()) < BULK_ROWS or dialect_of(s) != SQLITE:
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
    replay = insert_replay_sql(conn.driver, table)

    def finish() -> None:
        try:
            # The R*Tree one insert each, not packed (rtree_bulk): on this thread SQLite's
            # inserts run without Python's lock beside the next table's rows being put together,
            # where packing holds the lock (a national GIS import, one run each: applying 60.1 s
            # through SQLite, 70.3 s packed).
            for sql in replay:
                conn.execute(sql, {"after": after})
            for _name, sql in on_insert:
                conn.execute(sql)
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache)}")  # sqlite-only: after the dialect test above

    try:
        for name, _sql in on_insert:
            conn.execute(f"DROP TRIGGER {name}")
        for names, columns in batches.items():
            _execute_batch(conn, table, names, columns)
    except BaseException:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")  # sqlite-only: after the dialect test above
        raise
    if replays is None:
        finish()
    else:
        replays.run(finish)


def _length(columns: Sequence[Sequence]) -> int:
    return len(columns[0]) if columns else 0


def _execute_batch(conn, table: str, names: tuple[str, ...], columns: Sequence[Sequence]) -> None:
    """One executemany of the rows `columns` hold; a column with one value in every row (the
    source, the user, the time, a column no row fills) is written into the statement as a
    literal instead of bound row by row. Binding is most of an executemany's time (~1 µs a
    value: a country's poles are 12 million values), and a literal of an integer, a text or
    NULL is stored exactly as the bound value is. Floats and blobs stay bound: a float's text
    need not read back bit for bit."""
    fixed = {}
    for c, column in zip(names, columns):
        lit = _literal(column[0]) if column else None
        # Compared in C (count, set of types): a column is read in a fraction of its binding.
        if lit is not None and column.count(column[0]) == len(column) and set(map(type, column)) == {type(column[0])}:
            fixed[c] = lit
    values = ", ".join(fixed[c] if c in fixed else "?" for c in names)
    sql = f"INSERT INTO {table}({', '.join(names)}) VALUES ({values})"
    bound = [column for c, column in zip(names, columns) if c not in fixed]
    # Positional parameters, the rows zipped from the columns in C.
    conn.executemany(sql, zip(*bound) if bound else [()] * _length(columns))


def _literal(v) -> str | None:
    """`v` as an SQL literal that stores what binding it stores; None when there is none."""
    if v is None:
        return "NULL"
    if type(v) is int:   # not bool: True binds as 1, but keep to the plain types
        return str(v)
    if type(v) is str and "\x00" not in v:
        return "'" + v.replace("'", "''") + "'"
    return None


def _insert_sql(table: str, names: tuple[str, ...]) -> str:
    return f"INSERT INTO {table}({', '.join(names)}) VALUES ({', '.join(':' + c for c in names)})"


def _through_triggers(s, table: str, batches: Mapping[tuple[str, ...], Sequence[Sequence]]) -> None:
    from sqlalchemy import text

    for names, columns in batches.items():   # one executemany per column set
        s.execute(text(_insert_sql(table, names)), [dict(zip(names, row)) for row in zip(*columns)])


@contextlib.contextmanager
def indexes_aside(s, tables: Sequence[str]) -> Iterator[None]:
    """The secondary indexes of `tables` (those with their own CREATE INDEX) dropped for the
    block and built again from their stored text after it, inside the caller's open write
    transaction, on SQLite. Building an index from all of a table's rows (one sort) costs a
    fraction of inserting each new row's entry at a random place, when the new rows outnumber
    those there. A UNIQUE index built again refuses a duplicate as an insert would have
    (sqlite3.IntegrityError, "UNIQUE constraint failed: …"). The indexes are put back only when
    the block ends normally: an error leaves them dropped for the transaction's rollback to
    restore, as it restores every row the block wrote (the caller must roll back then)."""
    conn = raw(s)
    if conn.dialect != SQLITE or not tables:
        yield
        return
    marks = ", ".join("?" for _ in tables)
    found = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # sqlite-only: after the dialect test above
                         f"AND tbl_name IN ({marks}) ORDER BY rowid", tuple(tables)).fetchall()
    for name, _sql in found:
        conn.execute(f"DROP INDEX {name}")
    yield
    for _name, sql in found:
        conn.execute(sql)


def outnumbered(s, incoming: Mapping[str, int]) -> list[str]:
    """The tables of `incoming` ({table: rows about to go in}) that will get at least BULK_ROWS
    rows and at least as many as they hold: those whose indexes are cheaper built again."""
    if dialect_of(s) != SQLITE:
        return []
    conn = raw(s)
    out = []
    for table, n in incoming.items():
        if n >= BULK_ROWS and n >= conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
            out.append(table)
    return out
