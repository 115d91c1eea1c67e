"""The export's fast paths write what the careful ones do, byte for byte and hash for hash.

The direct writer formats a column of one kind (clean text, finite numbers) without choosing per
cell, and decides a column needs no escaping from a few scans of its joined bytes; the row and
state fingerprints map `%` formats over whole columns. Each is compared here with the path that
looks at every value on its own, on awkward values: blanks between values, markup, control
characters, literal OOXML escapes, edge spaces, characters that are not printable but need no
escape (no-break space, U+2028, soft hyphen), huge ints, non-finite floats, mixed types."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import random
import types
import zipfile
from pathlib import Path

import pytest

from hatang_desktop.core.exchange import export as export_module
from hatang_desktop.core.exchange import records
from hatang_desktop.core.exchange import row_fingerprint as fp
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.export_rows import _number_column
from hatang_desktop.core.exchange.xlsx_backends import direct
from hatang_desktop.core.exchange.xlsx_writer import SheetData, WriterColumn, write_workbook
from hatang_desktop.core.storage.database import Database

AWKWARD_TEXT = ["Trạm Hồng Lĩnh", "a & <b>", "R&D", "chuông\x07", "_x0041_ nguyên văn", " lề", "lề ", "x\ny",
                "no\u00a0break", "line\u2028sep", "soft\u00adhyphen", "tab\tin", "", "%s %r {0}", "a_", "xb"]


def _columns(rnd: random.Random) -> list[list]:
    """Columns of one kind each (the fast path's), the same with blanks, and mixed ones."""
    n = 300
    clean = [f"Cột {i} – Hà Tĩnh" for i in range(n)]
    floats = [rnd.uniform(-180, 180) for _ in range(n)]
    ints = [rnd.randint(-10**6, 10**6) for _ in range(n)]

    def holes(col):
        return [None if rnd.random() < 0.3 else v for v in col]

    return [
        clean, holes(clean), floats, holes(floats), ints, holes(ints), [None] * n,
        [v if rnd.random() < 0.9 else rnd.choice(AWKWARD_TEXT) for v in clean],   # text to escape
        [rnd.choice(AWKWARD_TEXT) for _ in range(n)],
        [v if i % 50 else rnd.choice([math.inf, -math.inf, math.nan]) for i, v in enumerate(floats)],
        [v if i % 60 else 2**70 for i, v in enumerate(ints)],                       # past float's range
        [v if i % 7 else float(v) for i, v in enumerate(ints)],                      # ints and floats
        [rnd.choice([True, False, None, 1, 1.5, "Có", dt.date(2024, 2, 29), decimal.Decimal("2.5")])
         for _ in range(n)],
        [dt.datetime(2024, 5, 6, 7, 8, 9) if i % 3 else None for i in range(n)],
        [f"{u}" for u in range(n)],
        [None] * n, clean, [None] * n, floats,   # columns of one kind after empty ones: each cell keeps its r
    ]


def _sheet_xml(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


def _write(path: Path, columns: list[list], *, by_rows: bool) -> None:
    cols = [WriterColumn(f"c{j}", number_format="0.00" if j % 4 == 0 else None, system=j % 5 == 0)
            for j in range(len(columns))]
    if by_rows:
        sheet = SheetData("S", cols, list(zip(*columns)), peek_formats=False)
    else:
        sheet = SheetData("S", cols, [], peek_formats=False, column_data=columns)
    write_workbook(path, [sheet], backend="direct")


@pytest.mark.parametrize("by_rows", [False, True])
def test_fast_cells_write_the_bytes_of_the_careful_path(tmp_path, monkeypatch, by_rows):
    columns = _columns(random.Random(7))
    # Chunks of 64 rows: a column of one kind in one chunk can have blanks in the next, and the
    # references after an empty cell count rows past the first chunk.
    monkeypatch.setattr(direct, "_FLUSH_ROWS", 64)
    _write(tmp_path / "fast.xlsx", columns, by_rows=by_rows)
    # The careful path: every column chosen cell by cell, every text escaped on its own.
    monkeypatch.setattr(direct, "FAST_CELLS", False)
    monkeypatch.setattr(direct, "_clean_column", lambda texts: False)
    _write(tmp_path / "careful.xlsx", columns, by_rows=by_rows)
    fast, careful = _sheet_xml(tmp_path / "fast.xlsx"), _sheet_xml(tmp_path / "careful.xlsx")
    assert fast == careful
    assert b"_x0007_" in fast["xl/worksheets/sheet1.xml"]   # the escapes were needed, and made


def test_clean_column_says_clean_only_where_no_value_needs_escaping():
    for value in AWKWARD_TEXT:
        careful = direct._any_text('<c t="inlineStr"><is>', value)
        plain = f'<c t="inlineStr"><is><t>{value}</t></is></c>'
        if direct._clean_column([value]):
            assert careful == plain, value
    assert not direct._clean_column(["\ud800"])   # a lone surrogate: left to the careful path
    # Values side by side: clean together only where each is clean on its own.
    for a in AWKWARD_TEXT + ["Hà Tĩnh"]:
        for b in AWKWARD_TEXT + ["Hà Tĩnh"]:
            assert direct._clean_column([a, b]) == (direct._clean_column([a]) and direct._clean_column([b])), (a, b)


def test_column_keys_and_canonical_columns_equal_the_value_by_value_ones():
    rnd = random.Random(11)
    for col in _columns(rnd):
        col = [v for v in col if not isinstance(v, decimal.Decimal)]
        assert fp.column_keys(col, exported=True) == [fp._key(fp.as_read(v)) for v in col]
        assert fp.column_keys(col) == [fp._key(v) for v in col]
        assert records._canonical_column(col) == [records._canonical(v) for v in col]
    assert records._canonical_column([True, False, True]) == [records._canonical(v) for v in (True, False, True)]


def test_number_column_as_value_by_value():
    rnd = random.Random(3)
    floats = [rnd.uniform(-1, 1) * 10 ** rnd.randint(-12, 12) for _ in range(500)] + [0.0, -0.0, 1e16]
    for col in (floats, floats + [None], floats + [3]):
        cells, keys = _number_column(col)
        assert cells == [None if v is None else float(f"{v:.15g}") if type(v) is float else v for v in col]
        assert keys == [None if v is None else fp._TAG + f"{v:.15g}" for v in col]


def test_state_hashes_of_columns_equal_state_hash(tmp_path):
    values = {"name": ["Trạm A", None, ""], "height": [12.5, None, 3.0], "count": [3, 4, None],
              "shared": [True, None, False]}
    hashes = records.StateHasher(list(values)).hash_columns(values, [False, True, False])
    for i, h in enumerate(hashes):
        assert h == records.state_hash({k: v[i] for k, v in values.items()}, [False, True, False][i])


def test_export_of_an_awkward_database_is_the_careful_export(sample_db_path, tmp_path, monkeypatch):
    """A whole export, with awkward values written into the records, byte for byte the same
    sheets (and so the same `_base` fingerprints) with and without the fast paths."""
    import shutil
    import sqlite3

    db_path = tmp_path / "awkward.db"
    shutil.copyfile(sample_db_path, db_path)
    with sqlite3.connect(db_path) as con:
        ids = [r[0] for r in con.execute("SELECT id FROM sites ORDER BY id")]
        text_cols = [r[1] for r in con.execute("PRAGMA table_info(sites)") if r[2].upper() == "TEXT"
                     and r[1] in ("name", "note", "address")]
        for k, site_id in enumerate(ids):
            for col in text_cols:
                con.execute(f"UPDATE sites SET {col} = ? WHERE id = ?", (AWKWARD_TEXT[k % len(AWKWARD_TEXT)] or None,
                                                                         site_id))
            if k % 4 == 0:
                con.execute("UPDATE sites SET height_m = NULL, owner = '&' WHERE id = ?", (site_id,))
    # One export minute for both (it is in every sheet's page header and in the metadata).
    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 12, 7, 2, 30, tzinfo=tz)

    monkeypatch.setattr(export_module, "dt", types.SimpleNamespace(datetime=Frozen, UTC=dt.UTC))
    outs = {}
    for mode in ("fast", "careful"):
        if mode == "careful":
            monkeypatch.setattr(direct, "FAST_CELLS", False)
            monkeypatch.setattr(direct, "_clean_column", lambda texts: False)
        with Database.open(db_path, readonly=True) as db:
            export_workbook(db, tmp_path / f"{mode}.xlsx", parallel=False)
        outs[mode] = _sheet_xml(tmp_path / f"{mode}.xlsx")
    assert text_cols and len(outs["fast"]) > 10
    for name in outs["fast"]:
        assert outs["fast"][name] == outs["careful"][name], name


def test_part_read_with_isal_and_marker_search_as_zipfile(tmp_path):
    """The reader's own inflate of a sheet part gives zipfile's bytes; the marker search finds
    every formula and error marker the tag list names, and nothing in a plain sheet."""
    import zipfile

    from hatang_desktop.core.exchange import xlsx_reader

    columns = _columns(random.Random(5))
    _write(tmp_path / "w.xlsx", columns, by_rows=False)
    with zipfile.ZipFile(tmp_path / "w.xlsx") as z:
        for name in z.namelist():
            assert xlsx_reader._read_part(z, name) == z.read(name)
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert not xlsx_reader._may_lack_value(sheet + b"<formula1>x</formula1><fill/>")
    for marker in (*xlsx_reader._FORMULA_TAGS, b't="e"'):
        assert xlsx_reader._may_lack_value(sheet[:1000] + marker + sheet[1000:]), marker
