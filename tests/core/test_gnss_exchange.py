"""The GPS quality of a position reaches the department (issue 16 item 13): the workbook carries
the accuracy, HDOP, satellites, fix time, source and fixes averaged of sites, poles and findings
(columns from forms/*.yaml, grey: the receiver fills them); they travel with the record, a
missing column never blanks them, and a position typed in the workbook drops figures that no
longer describe it."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text

from hatang_desktop.core.editing import save_record
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import InvalidWorkbookError, import_workbook
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gps import GNSS_COLUMNS
from hatang_desktop.core.storage.database import Database

GPS_HEADERS = {"gnss_accuracy_m": "Độ chính xác GPS (m)", "gnss_hdop": "HDOP", "gnss_satellites": "Số vệ tinh GPS",
               "gnss_fix_time": "Thời điểm định vị GPS (UTC)", "gnss_source": "Nguồn GPS",
               "gnss_fix_count": "Số lần đo GPS lấy trung bình"}
FIX = {"gnss_accuracy_m": 2.4, "gnss_hdop": 0.8, "gnss_satellites": 11, "gnss_fix_time": "2025-11-03T02:14:09Z",
       "gnss_source": "/dev/ttyUSB0", "gnss_fix_count": 10}
SHEETS = {"sites": "Trạm BTS", "poles": "Cột treo cáp", "findings": "Vi phạm"}
UUID_HEADER = "UUID (không sửa)"


def first_uuid(db_path: Path, table: str) -> str:
    with Database.open(db_path, readonly=True) as db, db.session() as s:
        return s.execute(text(f"SELECT uuid FROM {table} WHERE deleted = 0 AND lat IS NOT NULL ORDER BY id LIMIT 1")).scalar()


def gnss_of(db_path: Path, table: str, uuid: str) -> dict:
    with Database.open(db_path, readonly=True) as db, db.session() as s:
        row = s.execute(text(f"SELECT {', '.join(GNSS_COLUMNS)}, lat, lon FROM {table} WHERE uuid = :u"),
                        {"u": uuid}).mappings().one()
    return dict(row)


def take_gps(db_path: Path, table: str, uuid: str, dlat: float = 0.0003) -> dict:
    """The position of a record retaken from the GPS (moved a few tens of metres), as the form saves it."""
    before = gnss_of(db_path, table, uuid)
    with Database.open(db_path) as db:
        save_record(db, table, {"lat": before["lat"] + dlat, "lon": before["lon"]}, uuid=uuid, gnss=FIX,
                    user="xa")
    return gnss_of(db_path, table, uuid)


def commune_from(department: Path, target: Path) -> Path:
    """A commune's database made as the design has it: a new database that imported the
    department's workbook (so both sides know the state they last agreed on)."""
    from hatang_desktop.core.provinces_db import init_province_database

    out = target.with_suffix(".gui_xa.xlsx")
    with Database.open(department, readonly=True) as db:
        export_workbook(db, out)
    commune = init_province_database(target, "42", user="Cán bộ xã")
    try:
        import_workbook(commune, out)
    finally:
        commune.close()
    return target


def sheet(path: Path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def edit(src: Path, dst: Path, name: str, change) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb[name]
    change(ws, {c.value: c.column for c in ws[1]})
    wb.save(dst)
    return dst


def test_the_forms_define_the_gps_columns_once_for_the_workbook_and_the_form():
    forms = load_forms()
    for table in SHEETS:
        fields = {f.key: f for f in forms[table].fields}
        for key, header in GPS_HEADERS.items():
            assert fields[key].readonly, (table, key)
            assert fields[key].columns()[0].header("vi") == header
    assert not any(f.readonly for f in forms["sites"].fields if f.key in ("height_m", "name", "position"))


def test_workbook_carries_the_gps_figures_of_sites_poles_and_findings(sample_db_path, tmp_path):
    uuids = {t: first_uuid(sample_db_path, t) for t in SHEETS}
    for table, uuid in uuids.items():
        take_gps(sample_db_path, table, uuid)
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)
    for table, name in SHEETS.items():
        rows = sheet(out, name)
        head = rows[0]
        assert all(h in head for h in GPS_HEADERS.values()), (name, head)
        row = next(r for r in rows[1:] if r[head.index(UUID_HEADER)] == uuids[table])
        got = {k: row[head.index(h)] for k, h in GPS_HEADERS.items()}
        assert got == {**FIX, "gnss_satellites": 11.0, "gnss_fix_count": 10.0}, (table, got)
        # A record placed by hand has none.
        other = next(r for r in rows[1:] if r[head.index(UUID_HEADER)] != uuids[table])
        assert all(other[head.index(h)] in (None, "") for h in GPS_HEADERS.values())


def test_gps_figures_retaken_by_the_commune_reach_the_department(sample_db_path, tmp_path):
    department = sample_db_path
    commune_db = commune_from(department, tmp_path / "xa.db")
    uuid = first_uuid(commune_db, "sites")
    commune = take_gps(commune_db, "sites", uuid)
    out = tmp_path / "xa.xlsx"
    with Database.open(commune_db, readonly=True) as db:
        export_workbook(db, out)
    with Database.open(department) as db:
        result = import_workbook(db, out)
    assert result.applied and result.total["conflicts"] == 0
    got = gnss_of(department, "sites", uuid)
    assert {k: got[k] for k in GNSS_COLUMNS} == FIX
    assert (got["lat"], got["lon"]) == pytest.approx((commune["lat"], commune["lon"]), abs=1e-9)
    with Database.open(department) as db:  # twice: nothing more
        assert not import_workbook(db, out).applied


def test_a_workbook_without_the_gps_columns_never_blanks_them(sample_db_path, tmp_path):
    uuid = first_uuid(sample_db_path, "sites")
    kept = take_gps(sample_db_path, "sites", uuid)
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)

    def drop_gps_and_rename(ws, h):
        for r in ws.iter_rows(min_row=2):
            if r[h[UUID_HEADER] - 1].value == uuid:
                ws.cell(row=r[0].row, column=h["Tên trạm"]).value = "Trạm đổi tên"
        for col in sorted((h[x] for x in GPS_HEADERS.values()), reverse=True):
            ws.delete_cols(col)

    edited = edit(out, tmp_path / "edited.xlsx", "Trạm BTS", drop_gps_and_rename)
    with Database.open(sample_db_path) as db:
        result = import_workbook(db, edited)
    assert result.total["updated"] == 1
    assert gnss_of(sample_db_path, "sites", uuid) == kept
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        assert s.execute(text("SELECT name FROM sites WHERE uuid = :u"), {"u": uuid}).scalar() == "Trạm đổi tên"


def test_a_position_typed_in_the_workbook_drops_the_gps_figures(sample_db_path, tmp_path):
    """As when the point is dragged on the map: the receiver's accuracy no longer describes it."""
    uuid = first_uuid(sample_db_path, "sites")
    before = take_gps(sample_db_path, "sites", uuid)
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)

    def move(ws, h):
        for r in ws.iter_rows(min_row=2):
            if r[h[UUID_HEADER] - 1].value == uuid:
                ws.cell(row=r[0].row, column=h["Vĩ độ"]).value = round(before["lat"] + 0.001, 7)

    moved = edit(out, tmp_path / "moved.xlsx", "Trạm BTS", move)
    with Database.open(sample_db_path) as db:
        assert import_workbook(db, moved).total["updated"] == 1
    after = gnss_of(sample_db_path, "sites", uuid)
    assert after["lat"] == pytest.approx(before["lat"] + 0.001)
    assert all(after[k] is None for k in GNSS_COLUMNS), after
    with Database.open(sample_db_path) as db:  # the same workbook again changes nothing
        assert not import_workbook(db, moved).applied


def test_a_gps_figure_that_cannot_be_is_a_named_problem(sample_db_path, tmp_path):
    uuid = first_uuid(sample_db_path, "poles")
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)

    def negative(ws, h):
        for r in ws.iter_rows(min_row=2):
            if r[h[UUID_HEADER] - 1].value == uuid:
                ws.cell(row=r[0].row, column=h["Độ chính xác GPS (m)"]).value = -3
                ws.cell(row=r[0].row, column=h["Số lần đo GPS lấy trung bình"]).value = 0

    bad = edit(out, tmp_path / "bad.xlsx", "Cột treo cáp", negative)
    with Database.open(sample_db_path) as db, pytest.raises(InvalidWorkbookError) as info:
        import_workbook(db, bad)
    columns = {p.column for p in info.value.problems}
    assert {"Độ chính xác GPS (m)", "Số lần đo GPS lấy trung bình"} <= columns, info.value.problems
    assert any("nhỏ hơn 0" in p.message for p in info.value.problems)
