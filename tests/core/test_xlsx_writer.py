"""The Excel writer, every backend: read back with calamine, openpyxl and (when installed) LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from hatang_desktop.core.exchange.xlsx_writer import (
    LISTS_SHEET,
    SheetData,
    WriterColumn,
    rust_available,
    write_workbook,
)

BACKENDS = [
    "direct",
    pytest.param("rust", marks=pytest.mark.skipif(not rust_available(),
                                                  reason="rustpy-xlsxwriter not installed")),
    "openpyxl",
]

COMMUNES = tuple(f"Phường Thành Sen ({18073 + i})" for i in range(70))
OPERATORS = ("Viettel", "VNPT-Vinaphone", "MobiFone")
PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "chuông\x07 và _x000D_ nguyên văn",  # control character and a literal OOXML escape
]

COLUMNS = [
    WriterColumn("Mã định danh (UUID)", 38, system=True),
    WriterColumn("Phiên bản", 8, number_format="0", system=True),
    WriterColumn("Tên trạm", 30, note="Tên trạm như nhà mạng đặt"),
    WriterColumn("Xã/Phường", 32, choices=COMMUNES),
    WriterColumn("Nhà mạng", 16, choices=OPERATORS),
    WriterColumn("Ngày lắp đặt", 12, number_format="dd/mm/yyyy"),
    WriterColumn("Kinh độ", 14, number_format="0.0000000"),
    WriterColumn("Chiều cao cột (m)", 12),
    WriterColumn("Số thuê bao", 10),
    WriterColumn("Dùng chung", 10, choices=("Có", "Không")),
    WriterColumn("Cập nhật lúc", 18, number_format="dd/mm/yyyy hh:mm", system=True),
]

ROWS = [
    ("2f1c0c1e-0000-4000-8000-000000000001", 3, "Trạm Đồng Đăng – Lạng Sơn", COMMUNES[0], "Viettel",
     dt.date(2023, 12, 31), 105.6812345, 42.5, 1200, "Có", dt.datetime(2024, 5, 6, 7, 8, 9)),
    ("2f1c0c1e-0000-4000-8000-000000000002", 1, "Trạm Hồng Lĩnh", COMMUNES[69], "MobiFone",
     None, None, None, None, None, dt.datetime(2024, 1, 2, 3, 4)),
] + [
    (f"2f1c0c1e-0000-4000-8000-0000000001{i:02d}", 1, payload, None, None, None, None, None, None,
     "Không", None)
    for i, payload in enumerate(PAYLOADS)
]

META = SheetData(
    "Thông tin",
    [WriterColumn("Khoá", 24), WriterColumn("Giá trị", 40)],
    [("Phiên bản lược đồ", 2), ("Phạm vi", "Tỉnh Hà Tĩnh"), ("Xuất lúc", dt.datetime(2024, 5, 6, 7, 8))],
    freeze_header=False,
    autofilter=False,
    title_style="plain",
)


def _sheets() -> list[SheetData]:
    return [
        SheetData("_base", [WriterColumn("uuid"), WriterColumn("version")],
                  [(r[0], r[1]) for r in ROWS], hidden=True),
        SheetData("Trạm BTS", COLUMNS, list(ROWS)),
        SheetData("Cáp trên cột", COLUMNS, []),
        META,
    ]


@pytest.fixture(params=BACKENDS)
def written(request, tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "xuất dữ liệu.xlsx"
    used = write_workbook(path, _sheets(), backend=request.param)
    assert used == request.param
    return request.param, path


def _norm(value):
    # calamine gives floats for every number and a date for a midnight datetime.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if value == "":
        return None
    return value


def _ooxml_unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _expected(value):
    return None if value is None else _norm(value)


def test_calamine_reads_values_and_sheets(written):
    _, path = written
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["_base", "Trạm BTS", "Cáp trên cột", "Thông tin", LISTS_SHEET]
    visible = {m.name: str(m.visible) for m in wb.sheets_metadata}
    assert "Hidden" in visible["_base"] and "Hidden" in visible[LISTS_SHEET]
    assert "Visible" in visible["Trạm BTS"]

    data = wb.get_sheet_by_name("Trạm BTS").to_python()
    assert data[0] == [c.header for c in COLUMNS]
    body = [[_norm(v) for v in row] for row in data[1:]]
    assert body == [[_expected(v) for v in row] for row in ROWS]
    # Payloads come back as the same text, not as a computed value.
    assert [row[2] for row in data[3:]] == PAYLOADS

    empty = wb.get_sheet_by_name("Cáp trên cột").to_python(skip_empty_area=True)
    assert [r for r in empty if any(v != "" for v in r)] == [[c.header for c in COLUMNS]]

    meta = wb.get_sheet_by_name("Thông tin").to_python()
    assert meta[0] == ["Khoá", "Giá trị"]
    assert _norm(meta[1][1]) == 2 and meta[2][1] == "Tỉnh Hà Tĩnh"

    lists = wb.get_sheet_by_name(LISTS_SHEET).to_python()
    assert [row[0] for row in lists[1:]] == list(COMMUNES)


def test_openpyxl_sees_structure(written):
    backend, path = written
    wb = load_workbook(path)  # not read-only: only the full reader sees validations and notes
    assert wb.sheetnames == ["_base", "Trạm BTS", "Cáp trên cột", "Thông tin", LISTS_SHEET]
    assert wb["_base"].sheet_state == "hidden"
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    assert wb.active.title == "Trạm BTS"  # a hidden sheet is never the active one

    for name in ("Trạm BTS", "Cáp trên cột"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:K")
        header = ws[1]
        assert [c.value for c in header] == [c.header for c in COLUMNS]
        assert all(c.font.b for c in header)
        assert header[2].alignment.wrap_text
        normal, system = header[2].fill.fgColor.rgb, header[0].fill.fgColor.rgb
        assert header[2].fill.fill_type == "solid" and normal != system
        assert header[1].fill.fgColor.rgb == system and header[10].fill.fgColor.rgb == system
        assert "Không sửa cột này" in header[0].comment.text
        # Notes carry the app's name on the first line, as Excel writes an author.
        assert header[2].comment.text == "Hạ tầng Desktop:\nTên trạm như nhà mạng đặt"
        assert header[3].comment is None
        assert ws.column_dimensions["A"].width == pytest.approx(38, abs=1)
        assert ws.column_dimensions["C"].width == pytest.approx(30, abs=1)

        dvs = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
        assert set(dvs) == {"D2:D1048576", "E2:E1048576", "J2:J1048576"}
        assert all(dv.type == "list" for dv in dvs.values())
        assert dvs["E2:E1048576"].formula1 == '"Viettel,VNPT-Vinaphone,MobiFone"'
        assert dvs["J2:J1048576"].formula1 == '"Có,Không"'
        assert dvs["D2:D1048576"].formula1 == f"'{LISTS_SHEET}'!$A$2:$A$71"
        assert dvs["D2:D1048576"].errorStyle == "warning" and dvs["D2:D1048576"].error

    ws = wb["Trạm BTS"]
    assert ws["F2"].is_date and ws["F2"].number_format == "dd/mm/yyyy"
    assert ws["F2"].value == dt.datetime(2023, 12, 31)
    assert ws["K2"].is_date and ws["K2"].number_format == "dd/mm/yyyy hh:mm"
    assert ws["K2"].value == dt.datetime(2024, 5, 6, 7, 8, 9)
    assert ws["G2"].number_format == "0.0000000" and ws["G2"].value == pytest.approx(105.6812345)
    assert ws["A2"].fill.fill_type == "solid"  # system cells are grey too
    assert ws["I2"].value == 1200
    # A datetime in a column with no number_format still shows as a date.
    assert wb["Thông tin"]["B4"].is_date

    meta_header = wb["Thông tin"][1]
    assert meta_header[0].font.b and meta_header[0].fill.fill_type != "solid"
    assert wb["Thông tin"].freeze_panes is None

    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    data = wb["Trạm BTS"]
    # openpyxl's reader leaves OOXML escapes (_x000D_ for CR) undecoded; calamine, Excel and
    # LibreOffice decode them.
    texts = [_ooxml_unescape(data.cell(row=r, column=3).value) for r in range(4, 4 + len(PAYLOADS))]
    assert texts == PAYLOADS


def test_no_formula_elements_in_xml(written):
    _, path = written
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name


def test_backends_write_the_same_cells(tmp_path: Path):
    if not rust_available():
        pytest.skip("rustpy-xlsxwriter not installed")
    out = {}
    for backend in ("direct", "rust", "openpyxl"):
        path = tmp_path / f"{backend}.xlsx"
        write_workbook(path, _sheets(), backend=backend)
        wb = CalamineWorkbook.from_path(str(path))
        out[backend] = {
            name: [[_norm(v) for v in row] for row in wb.get_sheet_by_name(name).to_python()
                   if any(v != "" for v in row)]
            for name in wb.sheet_names
        }
    assert out["rust"] == out["openpyxl"]
    assert out["direct"] == out["rust"]


def test_direct_writes_unusual_values_like_openpyxl(tmp_path: Path):
    # Values the export rarely produces but a writer must not mangle: markup characters, edge
    # whitespace, line breaks, literal OOXML escapes, booleans, non-finite floats, huge ints.
    values = [True, False, " lề ", 'a & <b> "c"', "x\ny", "_x0041_ và _", float("inf"),
              float("nan"), 2**40 + 1, -1.5e-7, dt.date(2020, 2, 29)]
    columns = [WriterColumn(f"c{i}") for i in range(len(values))]
    out = {}
    for backend in ("direct", "openpyxl"):
        path = tmp_path / f"{backend}.xlsx"
        write_workbook(path, [SheetData("S", columns, [values])], backend=backend)
        out[backend] = [_norm(v) for v in
                        CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S").to_python()[1]]
    assert out["direct"] == out["openpyxl"]
    assert out["direct"][:6] == values[:6] and out["direct"][6:8] == [None, None]


@pytest.mark.parametrize("backend", BACKENDS)
def test_failure_leaves_nothing_and_keeps_old_file(backend, tmp_path: Path):
    path = tmp_path / "đích.xlsx"

    def rows():
        yield ROWS[0]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_workbook(path, [SheetData("Trạm BTS", COLUMNS, rows())], backend=backend)
    assert list(tmp_path.iterdir()) == []

    path.write_bytes(b"old workbook")
    with pytest.raises(ValueError, match="row 3"):
        write_workbook(path, [SheetData("Trạm BTS", COLUMNS, [ROWS[0], ("short",)])],
                       backend=backend)
    assert path.read_bytes() == b"old workbook"
    assert list(tmp_path.iterdir()) == [path]

    assert write_workbook(path, [SheetData("Trạm BTS", COLUMNS, ROWS)], backend=backend) == backend
    assert path.read_bytes()[:2] == b"PK"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "sheets, message",
    [
        ([SheetData("x" * 32, COLUMNS, [])], "31"),
        ([SheetData("a/b", COLUMNS, [])], "characters"),
        ([SheetData("Trạm", COLUMNS, []), SheetData("TRẠM", COLUMNS, [])], "twice"),
        ([SheetData(LISTS_SHEET, COLUMNS, [])], "reserved"),
        ([SheetData("a", [WriterColumn("x"), WriterColumn("x")], [])], "duplicate"),
        ([SheetData("a", COLUMNS, [], hidden=True)], "visible"),
        ([], "at least one"),
    ],
)
def test_bad_input_is_refused_before_writing(sheets, message, tmp_path: Path):
    with pytest.raises(ValueError, match=message):
        write_workbook(tmp_path / "x.xlsx", sheets, backend="openpyxl")
    assert list(tmp_path.iterdir()) == []


def test_unknown_backend(tmp_path: Path):
    with pytest.raises(ValueError, match="backend"):
        write_workbook(tmp_path / "x.xlsx", [META], backend="xlsxwriter")


def test_default_backend_is_direct(tmp_path: Path):
    """The schema-checked direct writer (tests/core/test_xlsx_schema.py) is the default."""
    used = write_workbook(tmp_path / "x.xlsx", [META])
    assert used == "direct"


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (soffice) not installed: apt-get install libreoffice-calc-nogui")
@pytest.mark.parametrize("backend", BACKENDS)
def test_libreoffice_opens_it_with_vietnamese_intact(backend, tmp_path: Path):
    path = tmp_path / "bts.xlsx"
    # LibreOffice converts the active sheet; keep the data sheet first and visible.
    write_workbook(path, [SheetData("Trạm BTS", COLUMNS, ROWS), META], backend=backend)
    home = tmp_path / "home"
    home.mkdir()
    outdir = tmp_path / "csv"
    env = {**os.environ, "HOME": str(home)}
    # 76 = comma, 34 = double quote, 76 = UTF-8: the CSV filter's options, so the bytes are UTF-8.
    subprocess.run(
        ["soffice", "--headless", "--norestore", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
         "--outdir", str(outdir), str(path)],
        env=env, check=True, capture_output=True, timeout=180,
    )
    rows = list(csv.reader((outdir / "bts.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == [c.header for c in COLUMNS]
    assert rows[1][2] == "Trạm Đồng Đăng – Lạng Sơn"
    assert rows[1][3] == COMMUNES[0] and rows[2][3] == "Phường Thành Sen (18142)"
    assert rows[1][5] == "31/12/2023"
    # LibreOffice did not evaluate the payloads either.
    assert [r[2] for r in rows[3:3 + len(PAYLOADS)]] == PAYLOADS
