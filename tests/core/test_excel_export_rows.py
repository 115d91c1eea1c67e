"""The export's column-wise fast path gives cell for cell, hash for hash, what the record path gives."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from hatang_desktop.core.exchange.export import province_communes
from hatang_desktop.core.exchange.export_rows import export_sheet
from hatang_desktop.core.exchange.history import received_versions
from hatang_desktop.core.exchange.layout import display_value, workbook_layout
from hatang_desktop.core.exchange.records import StateHasher, read_states, state_hash
from hatang_desktop.core.exchange.row_fingerprint import MAX_CELL_CHARS, TOO_LONG_MARKER, exported_fingerprint
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.storage.database import Database


def _reference(s, spec, forms, communes, commune, received):
    """What export did per record before the fast path: RecordState + display_value per cell."""
    rows, base = [], []
    for st in read_states(s, spec.form, commune=commune).values():
        cells = []
        for c in spec.columns:
            if c.kind == "field":
                v = st.values.get(c.key)
            elif c.kind == "deleted":
                v = st.deleted
            elif c.kind == "parent_code":
                v = st.parent_code
            else:
                v = {"uuid": st.uuid, "version": st.version, "updated_at": st.updated_at}[c.key]
            cells.append(display_value(c, v, forms, communes))
        for k, c in enumerate(spec.columns):
            if (c.kind == "field" and c.field.type in ("geometry", "text") and isinstance(cells[k], str)
                    and len(cells[k]) > MAX_CELL_CHARS):
                cells[k] = TOO_LONG_MARKER
        rows.append(cells)
        got = received.get(st.uuid)
        base.append((f"{st.uuid}|{st.version}|{'' if got is None else got}|"
                     f"{state_hash(st.values, st.deleted)}|{exported_fingerprint(cells)}",))
    return rows, base


def serial_to_datetime(serial):
    if serial is None:
        return None
    moment = dt.datetime(1899, 12, 30) + dt.timedelta(days=serial)
    return (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


@pytest.mark.parametrize("commune", [None, "first"])
def test_fast_rows_equal_record_path(sample_db_path, commune):
    forms = load_forms()
    with Database.open(sample_db_path) as db:
        with db.operation("test edits") as s:
            # a deleted record, a blank optional field, a long note: every branch of the converters
            uuid = s.execute(text("SELECT uuid FROM poles ORDER BY id LIMIT 1")).scalar()
            s.execute(text("UPDATE poles SET deleted = 1 WHERE uuid = :u"), {"u": uuid})
            s.execute(text("UPDATE sites SET note = :n WHERE id = (SELECT min(id) FROM sites)"),
                      {"n": "x" * (MAX_CELL_CHARS + 5)})
            s.execute(text("UPDATE sites SET note = NULL WHERE id = (SELECT max(id) FROM sites)"))
            s.execute(text("UPDATE site_tenants SET has_2g = 0, has_3g = 0, has_4g = 0, has_5g = 0 "
                           "WHERE id = (SELECT max(id) FROM site_tenants)"))
        with db.session() as s:
            communes = province_communes(s)
            scope = None
            if commune:
                scope = s.execute(text("SELECT commune_code FROM sites GROUP BY commune_code "
                                       "ORDER BY count(*) DESC LIMIT 1")).scalar()
            conn = s.connection().connection.driver_connection
            seen = 0
            for spec in workbook_layout(forms, communes):
                received = received_versions(s, spec.record)
                fast = export_sheet(conn, spec, forms, communes, scope, received)
                rows, base = _reference(s, spec, forms, communes, scope, received)
                # "Updated at" leaves SQLite as an Excel serial, to the second.
                k = [c.key for c in spec.columns].index("updated_at")
                fast_rows = [list(r) for r in fast.rows]
                for r, ref in zip(fast_rows, rows):
                    r[k] = serial_to_datetime(r[k])
                    ref[k] = ref[k].replace(microsecond=0) if ref[k] is not None else None
                assert fast_rows == rows, spec.record
                assert [[type(v) for v in r] for r in fast_rows] == [[type(v) for v in r] for r in rows]
                assert [(b,) for b in fast.base_rows] == base, spec.record
                seen += len(rows)
            assert seen > 0


def test_state_hasher_matches_state_hash():
    values = [{"a": 1.23456789012, "b": "Đà Nẵng \"x\"", "c": None, "t": ("2G", "4G"), "n": 3, "ok": True},
              {"a": None, "b": "", "c": 2.0, "t": (), "n": None, "ok": False}]
    deleted = [False, True]
    columns = {k: [v[k] for v in values] for k in values[0]}
    assert StateHasher(list(columns)).hash_columns(columns, deleted) == [
        state_hash(v, d) for v, d in zip(values, deleted)]


def test_excel_times_per_distinct_stamp_are_the_per_row_sql_ones():
    """The export converts each distinct stored time once (export_rows._excel_times): the same
    serials, to the last bit, and ISO texts as the SELECT's own expressions, for the forms a
    stored time takes (microseconds, a T, a date alone, a zone), repeated and blank."""
    import random
    import sqlite3

    from hatang_desktop.core.exchange.export_rows import _TIMES_PER_QUERY, _excel_times
    from hatang_desktop.core.storage.dialect import SQLITE, excel_serial, iso_seconds

    rnd = random.Random(4)
    forms = ["2024-%02d-%02d %02d:%02d:%02d.%06d", "2025-%02d-%02dT%02d:%02d:%02d", "2023-%02d-%02d",
             "2026-%02d-%02d %02d:%02d:%02d+07:00", "1999-%02d-%02d %02d:%02d"]
    stamps = []
    for _ in range(2 * _TIMES_PER_QUERY + 50):   # several queries' worth of distinct values
        f = rnd.choice(forms)
        args = (rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59),
                rnd.randint(0, 999_999))
        stamps.append(f % args[:f.count("%")])
    stamps += [None, stamps[0], stamps[5], None]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, updated_at TEXT)")
    conn.executemany("INSERT INTO t (updated_at) VALUES (?)", [(v,) for v in stamps])
    rows = conn.execute(f"SELECT {excel_serial(SQLITE, 'updated_at')}, {iso_seconds(SQLITE, 'updated_at')} "
                        "FROM t ORDER BY id").fetchall()
    serials, isos = _excel_times(conn, tuple(stamps))
    assert serials == [r[0] for r in rows] and isos == [r[1] for r in rows]
    assert None in serials and len(set(isos)) > _TIMES_PER_QUERY
