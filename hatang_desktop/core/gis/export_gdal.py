"""A record type's rows read by GDAL's SQLite driver straight into Arrow columns.

The GIS export's reading was mostly Python's sqlite3 making a Python object per value (1.4 M
records × ~20 columns on national data) and transposing the rows. GDAL runs the same SELECT
(exchange/export_rows.select_sql) on the database file, opened read-only, and hands back Arrow
arrays: no Python object per value.

GDAL types each column from its declared type (TEXT, INTEGER, REAL, DATE, BLOB) and coerces the
values to it, where Python's sqlite3 returns each value as stored (a hand-edited database may
hold 'n/a' in a REAL column, 2.5 in an INTEGER one). So the same statement also counts, per row,
the values not stored as their column's type says (dates not YYYY-MM-DD text, integers beyond 32
bits too), and the non-null dates and blobs (GDAL makes null what it cannot read); the columns
are taken only when none is odd, no count differs and GDAL warned of nothing. Otherwise, and on
any GDAL error, the caller reads through sqlite3 (`None`). GDAL reads through its own
connection: the statement's `_mark` (the last logged change) must equal the caller's mark, or
the rows may differ from those the caller's transaction sees.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..exchange.export_rows import select_sql
from ..exchange.records import PARENT_CODE
from ..storage.dialect import SQLITE

log = logging.getLogger(__name__)

MARK, ODD, PRESENT = "_hatang_mark", "_hatang_odd", "_hatang_present_"
INT32 = (-2**31, 2**31 - 1)
BATCH = 1 << 30
DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


def _storage(declared: str) -> str | None:
    """The storage class every value of a column must have for the type GDAL gives it (from
    its declared type) to hold the value; None for an unknown type."""
    d = declared.upper()
    if "INT" in d:
        return "integer"
    if d == "DATE":
        return "date"
    if any(k in d for k in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if d == "BLOB":
        return "blob"
    if any(k in d for k in ("REAL", "FLOA", "DOUB")):
        return "real"
    return None


def _arrow_holds(storage: str, t: pa.DataType) -> bool:
    if storage in ("text", "date") and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return True
    return {"integer": pa.types.is_integer, "real": pa.types.is_floating, "date": pa.types.is_date32,
            "blob": lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)}.get(storage, lambda _t: False)(t)


def _odd(expr: str, storage: str) -> str:
    """1 where a value is not stored as its column's type says (a date not YYYY-MM-DD text, an
    integer beyond 32 bits), else 0. Text is not looked at: SQLite stores a number given to a
    TEXT column as text, so it holds text alone (a blob only when written as one on purpose)."""
    kind = "text" if storage == "date" else storage
    extra = {"date": f" WHEN {expr} NOT GLOB '{DATE_GLOB}' THEN 1",
             "integer": f" WHEN {expr} < {INT32[0]} OR {expr} > {INT32[1]} THEN 1"}.get(storage, "")
    return f"CASE WHEN {expr} IS NULL THEN 0 WHEN typeof({expr}) <> '{kind}' THEN 1{extra} ELSE 0 END"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _declared(conn, table: str) -> dict[str, str]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()  # sqlite-only: GDAL reads SQLite files alone
    return {name: kind for _cid, name, kind, *_rest in rows}


def gdal_columns(conn, path: Path, form, commune: str | None, mark: int, **options) -> dict[str, pa.Array] | None:
    """The columns `export_rows.read_columns(conn, form, commune, live_only=True,
    excel_times=False, **options)` reads, as Arrow arrays of the same values, or None where GDAL
    cannot give exactly those (see the module's doc).

    A child's rows are read without SQLite's join to its parent (a lookup per row in the
    parent's uuid index: half the read of 600 k cables): the live parents' uuids and codes are
    read apart and matched by Arrow, which keeps the rows the join kept (a live parent's
    children) with the same parent code."""
    names, sql, params = select_sql(SQLITE, form, commune, live_only=True, excel_times=False, **options)
    parent = None if options.get("bare") else PARENT_CODE.get(form.record)
    if parent is not None:
        _names, sql, params = select_sql(SQLITE, form, commune, live_only=True, excel_times=False, parent=False,
                                         **options)
    for p in params:   # GDAL takes no bound parameters: the commune code, quoted
        sql = sql.replace("?", _literal(p), 1)
    own = _read(conn, path, form.record, sql, mark)
    if own is None or parent is None:
        return own
    table, key, shown = parent
    parents = _read(conn, path, table, f"SELECT t.uuid, t.{shown} FROM {table} t WHERE t.deleted = 0", mark)
    if parents is None:
        return None
    where = pc.index_in(own[key], value_set=parents["uuid"])
    kept = where.is_valid()
    if kept.false_count:
        own = {n: values.filter(kept) for n, values in own.items()}
        where = where.filter(kept)
    own["parent_code"] = parents[shown].take(where)
    return {n: own[n] for n in names}


def _read(conn, path: Path, record: str, sql: str, mark: int) -> dict[str, pa.Array] | None:
    """The columns of `sql` (a SELECT of `record` aliased t, its columns named as they are) as
    GDAL reads them, or None where they may not be the stored values."""
    import pyogrio

    select, rest = sql.split(" FROM ", 1)
    names = [e.rsplit(" AS ", 1)[-1].removeprefix("t.") for e in select.removeprefix("SELECT ").split(", ")]
    declared = _declared(conn, record)
    storage = {n: _storage(declared.get(n, "")) for n in names}
    if None in storage.values():
        return None
    # Checked in the same statement as read (no second scan of the table): how many values are
    # not stored as their type says, and per date or blob column, how many are not null.
    checked = [n for n in names if storage[n] != "text"]
    odd = " + ".join(_odd(f"t.{n}", storage[n]) for n in checked) or "0"
    extra = [f"(SELECT coalesce(max(id), 0) FROM change_log) AS {MARK}", f"({odd}) AS {ODD}"]
    counted = [n for n in checked if storage[n] in ("date", "blob")]
    extra += [f"(t.{n} IS NOT NULL) AS {PRESENT}{n}" for n in counted]
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            # One batch: each column comes as one array, not pieces to be joined.
            meta, table = pyogrio.read_arrow(path, sql=f"{select}, {', '.join(extra)} FROM {rest}",
                                             batch_size=BATCH)
    except Exception as exc:  # noqa: BLE001 - any GDAL failure: sqlite3 reads it
        log.info("GDAL read of %s not used: %s", record, exc)
        return None
    if warned:   # a value GDAL parsed "incompletely" or that overflowed: not the stored one
        log.info("GDAL read of %s not used: %s", record, warned[0].message)
        return None
    geometry = meta.get("geometry_name")
    if geometry and geometry != "geom" and geometry in table.column_names:
        table = table.rename_columns(["geom" if n == geometry else n for n in table.column_names])
    if table.num_rows == 0 or not set(names) <= set(table.column_names) or table.column(MARK)[0].as_py() != mark:
        return None
    columns = {n: _one(table.column(n)) for n in names}
    if pc.sum(table.column(ODD)).as_py() or not all(_arrow_holds(storage[n], columns[n].type) for n in names):
        log.info("GDAL read of %s not used: values not stored as their columns' types", record)
        return None
    for n in counted:   # GDAL makes null what it cannot read (a blob that is not WKB)
        if pc.sum(table.column(PRESENT + n)).as_py() != len(columns[n]) - columns[n].null_count:
            return None
    return columns


def _one(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
