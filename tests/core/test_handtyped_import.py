"""Lists typed by hand: title block, merged two-row headers, unaccented headers, DMS, VN-2000."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, text

from hatang_desktop.core.geo.vn2000 import wgs84_to_vn2000
from hatang_desktop.core.exchange.importer import InvalidWorkbookError, import_workbook
from hatang_desktop.core.model import Site, SiteTenant
from hatang_desktop.core.storage.database import Database


@pytest.fixture
def db(sample_db_path):
    d = Database.open(sample_db_path)
    yield d
    d.close()


def bts_list(path: Path, rows: list[list], headers_top=None, headers=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "DS tram"
    ws["A1"] = "UBND TỈNH HÀ TĨNH"
    ws["A2"] = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    ws["C4"] = "DANH SÁCH TRẠM BTS TRÊN ĐỊA BÀN PHƯỜNG THÀNH SEN"
    top = headers_top or ["STT", "Ten tram", "Ma tram", "Doanh nghiep", "Toa do", None, "Loai cot",
                          "Cong nghe", "Xa/phuong"]
    bottom = headers or [None, None, None, None, "Vi do", "Kinh do", None, None, None]
    ws.append([])
    ws.append(top)        # row 6
    ws.append(bottom)     # row 7
    ws.merge_cells("E6:F6")
    for col in "ABCDGHI":
        ws.merge_cells(f"{col}6:{col}7")
    for i, r in enumerate(rows, start=1):
        ws.append([i, *r])
    ws.append([])
    ws.append([None, "Người lập biểu", None, None, None, None, "Giám đốc Sở"])
    wb.save(path)
    return path


def test_title_block_merged_headers_dms_and_technologies(db, tmp_path):
    path = bts_list(tmp_path / "ds.xlsx", [
        ["Trạm Thành Sen A", "VT_HT_9001", "VIETTEL", "18°20'30\"N", "105°54'18\"E", "Cot tu dung",
         "2G/3G/4G", "Thanh Sen"],
        ["Trạm Thành Sen B", "MBF_HT_9002", "Mobi", "18,3402", "105,9051", "Tren mai", "4G, 5G", "18073"],
    ])
    result = import_workbook(db, path)
    assert result.total["inserted"] == 4  # two sites and their two tenants
    [sheet] = result.understood
    assert sheet["record"] == "sites" and sheet["header_row"] == 7
    assert sheet["columns"]["Toa do Vi do"] == "Vĩ độ" and sheet["columns"]["Ma tram"] == "Mã trạm"
    with db.session() as s:
        a = s.scalars(select(Site).where(Site.site_code == "VT_HT_9001")).one()
        assert a.operator_code == "VTL" and a.tower_type == "ground_tower" and a.commune_code == "18073"
        assert a.lat == pytest.approx(18.341667, abs=1e-6) and a.lon == pytest.approx(105.905, abs=1e-6)
        tenant = s.scalars(select(SiteTenant).where(SiteTenant.site_uuid == a.uuid)).one()
        assert tenant.technologies == ["2G", "3G", "4G"]
        b = s.scalars(select(Site).where(Site.site_code == "MBF_HT_9002")).one()
        assert b.operator_code == "MBF" and b.tower_type == "rooftop_pole"
        assert s.scalars(select(SiteTenant).where(SiteTenant.site_uuid == b.uuid)).one().has_5g


def test_swapped_and_vn2000_coordinates(db, tmp_path):
    x, y = wgs84_to_vn2000(18.3402, 105.9051, "42")
    path = bts_list(tmp_path / "ds.xlsx", [
        ["Trạm đảo", "VT_HT_9101", "Viettel", "105.9051", "18.3402", "Cot day co", "4G", "Thanh Sen"],
        ["Trạm VN2000", "VT_HT_9102", "Viettel", float(y), float(x), "Cot day co", "4G", "Thanh Sen"],
    ])
    result = import_workbook(db, path)
    assert result.total["inserted"] == 4
    assert any("đảo" in w for w in result.warnings) and any("VN-2000" in w for w in result.warnings)
    with db.session() as s:
        for code in ("VT_HT_9101", "VT_HT_9102"):
            site = s.scalars(select(Site).where(Site.site_code == code)).one()
            assert site.lat == pytest.approx(18.3402, abs=1e-6) and site.lon == pytest.approx(105.9051, abs=1e-6)


def test_rows_match_existing_sites_by_operator_and_code(db, tmp_path):
    with db.session() as s:
        site = s.scalars(select(Site).where(Site.operator_code == "VTL").order_by(Site.id)).first()
    path = bts_list(tmp_path / "ds.xlsx", [
        [site.name, site.site_code, "Viettel", site.lat, site.lon, None, None, None],
    ])
    result = import_workbook(db, path, dry_run=True)
    assert [p.row.matched_by for p in result.plans if p.row.record == "sites"] == ["operator+code"]
    assert result.total["inserted"] == 0


def test_english_headers_single_row(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Site name", "Site code", "Operator", "Lat", "Long", "Status"])
    ws.append(["Trạm tiếng Anh", "VNP_HT_9201", "VNPT-Vinaphone", 18.35, 105.91, "Operating"])
    wb.save(tmp_path / "en.xlsx")
    result = import_workbook(db, tmp_path / "en.xlsx")
    assert result.total["inserted"] == 2
    with db.session() as s:
        assert s.scalars(select(Site).where(Site.site_code == "VNP_HT_9201")).one().operator_code == "VNPT"


def test_bad_position_in_a_hand_typed_list_names_the_row(db, tmp_path):
    path = bts_list(tmp_path / "ds.xlsx", [
        ["Trạm Pháp", "VT_HT_9301", "Viettel", "48.85", "2.35", "Cot day co", "4G", "Thanh Sen"],
    ])
    with pytest.raises(InvalidWorkbookError) as info:
        import_workbook(db, path)
    [p] = info.value.problems
    assert p.row == 8 and p.sheet == "DS tram" and "Việt Nam" in p.message
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM sites WHERE site_code = 'VT_HT_9301'")).scalar_one() == 0
