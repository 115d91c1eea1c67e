"""The direct writer leaves out the `r` references of data rows and cells (a cell after an empty
one keeps its own): readers must place every value where a writer with every reference puts it.

The same sheet is written by the direct writer and by openpyxl's (which writes `r` on every row
and cell), with empty cells leading a row, between values, at a row's end, whole empty rows and
an empty column, and read back by python-calamine (our importer's reader), openpyxl, our own
importer's `read_sheets` and LibreOffice (CSV): each must give the same cells for both files."""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from hatang_desktop.core.exchange.xlsx_backends import direct as direct_writer
from hatang_desktop.core.exchange.xlsx_reader import read_sheets
from hatang_desktop.core.exchange.xlsx_writer import SheetData, WriterColumn, write_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _columns() -> list[list]:
    rnd = random.Random(22)
    n = 120

    def holes(values, share=0.35):
        return [None if rnd.random() < share else v for v in values]

    text = [f"Trạm {i} – Hà Tĩnh" for i in range(n)]

    def uniform(a, b):   # 15 significant digits, as the export writes (openpyxl keeps no more)
        return float(f"{rnd.uniform(a, b):.15g}")

    return [
        holes(text, 0.5),                                             # leading empties
        [None if i % 3 else f"a & <b> {i}" for i in range(n)],        # text to escape, mostly empty
        holes([uniform(-180, 180) for _ in range(n)]),
        [None] * n,                                                   # an empty column
        holes([rnd.randint(-10**6, 10**6) for _ in range(n)]),        # after the empty column
        holes([dt.datetime(2024, 5, 6, 7, 8, 9) + dt.timedelta(days=i) for i in range(n)]),
        holes([rnd.choice([True, 1.5, "Có", dt.date(2024, 2, 29), 7]) for _ in range(n)]),
        text,                                                         # clean text after gaps
        holes([uniform(0, 1) for _ in range(n)], 0.6),            # empties at a row's end
        [None] * n, [uniform(0, 1) for _ in range(n)],                # numbers after an empty column
    ]


def _write(path: Path, backend: str) -> list[list]:
    columns = _columns()
    for k in range(10, 20):      # whole empty rows, the first data row among them
        for col in columns:
            col[k] = None
    for col in columns:
        col[0] = None
    cols = [WriterColumn(f"c{j}", number_format="0.00" if j == 2 else None, system=j == 4)
            for j in range(len(columns))]
    write_workbook(path, [SheetData("S", cols, [], peek_formats=False, column_data=columns)], backend=backend)
    return columns


def _calamine(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S").to_python(skip_empty_area=False)


def _openpyxl(path: Path) -> list[list]:
    import openpyxl

    out = []
    for read_only in (False, True):
        wb = openpyxl.load_workbook(path, read_only=read_only)
        rows = [[c.value for c in row] for row in wb["S"].iter_rows()]
        wb.close()
        if read_only:   # rows as long as their last written cell (openpyxl's writer adds styled blanks)
            rows = [row[:max((j + 1 for j, v in enumerate(row) if v is not None), default=0)] for row in rows]
        out.append(rows)
    return out


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> tuple[Path, Path, list[list]]:
    folder = tmp_path_factory.mktemp("refs")
    direct, reference = folder / "direct.xlsx", folder / "openpyxl.xlsx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(direct_writer, "_FLUSH_ROWS", 32)   # several chunks: references past the first
        columns = _write(direct, "direct")
    _write(reference, "openpyxl")
    return direct, reference, columns


def test_the_direct_sheet_leaves_references_out_but_after_an_empty_cell(books):
    direct, _reference, columns = books
    with zipfile.ZipFile(direct) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    body = xml[xml.index("</row>") + len("</row>"):]          # the data rows, after the header
    assert "<row>" in body and "<row r=" not in body
    refs = re.findall(r'<c r="([A-Z]+)(\d+)"', body)
    # Exactly the written cells whose left neighbour is empty carry `r` (a first cell in A does not).
    expected = set()
    for i in range(len(columns[0])):
        for j in range(1, len(columns)):
            if columns[j][i] is not None and columns[j - 1][i] is None:
                expected.add(("ABCDEFGHIJK"[j], str(i + 2)))
    assert set(refs) == expected and expected


def test_calamine_openpyxl_and_our_reader_read_the_cells_of_a_fully_referenced_sheet(books):
    direct, reference, columns = books
    got, want = _calamine(direct), _calamine(reference)
    assert got == want
    assert len(got) == 1 + len(columns[0])
    # Spot-check against the values written: a row with a leading empty and gaps reads in place.
    for i, row in enumerate(got[1:]):
        for j, v in enumerate(row):
            written = columns[j][i]
            if isinstance(written, str):
                assert v == written
            elif written is None:
                assert v == ""
    assert _openpyxl(direct) == _openpyxl(reference)
    assert read_sheets(direct)["S"] == read_sheets(reference)["S"]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (CI: .ci/setup --test)")
def test_libreoffice_reads_the_cells_of_a_fully_referenced_sheet(books, tmp_path):
    direct, reference, columns = books
    out = tmp_path / "csv"
    out.mkdir()
    env = dict(os.environ, HOME=str(tmp_path))  # LibreOffice needs a writable profile folder
    csvs = {}
    for book in (direct, reference):
        subprocess.run([SOFFICE, "--headless", "--norestore", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out / book.stem), str(book)],
                       env=env, check=True, capture_output=True, timeout=180)
        produced = sorted((out / book.stem).glob("*.csv"))
        assert produced, "LibreOffice wrote no CSV"
        csvs[book.stem] = list(csv.reader(produced[0].open(encoding="utf-8")))
    assert csvs["direct"] == csvs["openpyxl"]
    rows = csvs["direct"]
    assert len(rows) >= 1 + len(columns[0]) - 1   # the last rows may be empty only at the end
    k = next(i for i, v in enumerate(columns[7]) if columns[0][i] is None and i > 20)
    assert rows[1 + k][7] == columns[7][k] and rows[1 + k][0] == ""


def test_error_cells_and_formulas_without_a_value_are_placed_without_references(tmp_path):
    """The import's scan for error cells and uncomputed formulas places a cell without `r` after
    the cell before it, and a row without `r` after the row before it."""
    from hatang_desktop.core.exchange.xlsx_reader import cells_without_value

    book = tmp_path / "b.xlsx"
    columns = [["a", "b", None, "d"], [1, 12345, None, 3], [None, 4, 54321, None]]
    write_workbook(book, [SheetData("S", [WriterColumn(f"c{j}") for j in range(3)], [], peek_formats=False,
                                    column_data=columns)], backend="direct")
    with zipfile.ZipFile(book) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"]
    assert b"<c><v>12345</v></c>" in xml and b'<c r="C4"><v>54321</v></c>' in xml
    xml = xml.replace(b"<c><v>12345</v></c>", b"<c><f>1+1</f></c>")            # row 3, column B, no r
    xml = xml.replace(b'<c r="C4"><v>54321</v></c>', b'<c r="C4" t="e"><v>#N/A</v></c>')
    parts["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    marks = cells_without_value(book, ["S"])["S"]
    assert sorted(marks) == [(2, 1), (3, 2)]
    assert str(marks[(3, 2)]) == "#N/A" and str(marks[(2, 1)]).startswith("=1+1")
