"""The workbook road between a commune and the department: export, edit, import, merge, conflicts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, text

from hatang_desktop.core.exchange.conflicts import (Conflict, list_conflicts, parse_edited_value, record_names,
                                                    resolve_conflicts)
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import InvalidWorkbookError, import_workbook
from hatang_desktop.core.exchange.xlsx_reader import WorkbookError
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.field_values import FieldError
from hatang_desktop.core.model import Pole, Site, SiteTenant
from hatang_desktop.core.storage.database import Database

SITES = "Trạm BTS"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(sample_db_path):
    d = Database.open(sample_db_path)
    d.user = "Cán bộ Sở"
    yield d
    d.close()


@pytest.fixture
def workbook(db, tmp_path) -> Path:
    out = tmp_path / "so_gui_so.xlsx"
    export_workbook(db, out)
    return out


def edit_cells(path: Path, sheet: str, uuid: str, changes: dict[str, object]) -> None:
    """Change cells of the row with `uuid`, addressing columns by their Vietnamese header."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    headers = {c.value: c.column for c in ws[1]}
    uuid_col = headers["UUID (không sửa)"]
    for row in ws.iter_rows(min_row=2):
        if row[uuid_col - 1].value == uuid:
            for header, value in changes.items():
                ws.cell(row=row[0].row, column=headers[header]).value = value  # None blanks it
            break
    else:
        raise AssertionError(f"{uuid} not in {sheet}")
    wb.save(path)


def first_site(db) -> Site:
    with db.session() as s:
        return s.scalars(select(Site).where(Site.deleted.is_(False), Site.tower_type == "ground_tower")
                         .order_by(Site.id)).first()


def test_round_trip_changes_nothing(db, workbook):
    before = digest(db.path)
    result = import_workbook(db, workbook)
    assert result.total["inserted"] == result.total["updated"] == result.total["conflicts"] == 0
    assert result.total["unchanged"] > 300
    assert not result.applied and result.backup is None
    assert digest(db.path) == before


def test_export_sheets_headers_and_metadata(db, workbook):
    wb = openpyxl.load_workbook(workbook)
    assert {"Tổng hợp", SITES, "DN trên trạm", "Cột treo cáp", "Cáp trên cột", "Tuyến cáp quang",
            "Khu vực", "Vi phạm", "_metadata", "_base_sites", "_base_pole_attachments"} <= set(wb.sheetnames)
    headers = [c.value for c in wb[SITES][1]]
    assert "Mã trạm" in headers and "Chiều cao cột (m)" in headers and "UUID (không sửa)" in headers
    meta = {r[0].value: r[1].value for r in wb["_metadata"].iter_rows(min_row=2)}
    assert meta["province_code"] == "42" and meta["schema_version"] >= 2 and meta["database_id"]
    assert all(wb[n].sheet_state == "hidden" for n in wb.sheetnames if n.startswith("_"))
    with db.session() as s:
        n_sites = s.execute(text("SELECT count(*) FROM sites")).scalar_one()
    assert wb[SITES].max_row == n_sites + 1 == wb["_base_sites"].max_row
    assert wb[SITES].cell(2, 1).value and wb["Tổng hợp"]["A1"].value.startswith("TỔNG HỢP")
    assert wb["Tổng hợp theo xã"]["A1"].value == "Theo xã/phường"


def test_edit_in_workbook_only_is_applied_and_logged(db, workbook):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Tên trạm": "Trạm Thạch Hà mới", "Chiều cao cột (m)": 45.5})
    result = import_workbook(db, workbook)
    assert result.total["updated"] == 1 and result.total["conflicts"] == 0 and result.applied
    assert result.backup is not None and result.backup.exists()
    with db.session() as s:
        fresh = s.get(Site, site.id)
        assert (fresh.name, fresh.height_m) == ("Trạm Thạch Hà mới", 45.5)
        assert fresh.version == site.version + 1 and fresh.source == f"workbook:{workbook.name}"
        logged = s.execute(text("SELECT field, old_value, new_value, source FROM change_log WHERE "
                                "record_uuid = :u AND action = 'update' ORDER BY id"), {"u": site.uuid}).all()
    assert ("name", site.name, "Trạm Thạch Hà mới", f"workbook:{workbook.name}") in logged
    # Importing the same workbook again changes nothing.
    again = import_workbook(db, workbook)
    assert again.total["updated"] == 0 and again.total["conflicts"] == 0 and not again.applied


def test_same_field_changed_on_both_sides_is_a_conflict(db, workbook, sample_db_path):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Tên trạm": "Tên theo Sở"})
    with db.operation("local edit", user="Cán bộ xã") as s:
        s.get(Site, site.id).name = "Tên theo xã"
    db.close()
    result = subprocess.run([sys.executable, "-m", "hatang_desktop", "import-xlsx", str(sample_db_path),
                             str(workbook), "--json"], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["conflicts"] == 1 and report["by_type"]["sites"]["conflicts"] == 1
    with Database.open(sample_db_path) as again:
        with again.session() as s:
            assert s.get(Site, site.id).name == "Tên theo xã"  # never overwritten
        [c] = list_conflicts(again)
        assert (c.field, c.local, c.theirs, c.base) == ("name", "Tên theo xã", "Tên theo Sở", site.name)
        # A second import does not pile up the same conflict.
        assert import_workbook(again, workbook).total["conflicts"] == 0
        assert len(list_conflicts(again)) == 1
        assert resolve_conflicts(again, "theirs") == 1
        with again.session() as s:
            assert s.get(Site, site.id).name == "Tên theo Sở"
        assert list_conflicts(again) == []


def test_conflict_resolved_keeping_local(db, workbook):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Chiều cao cột (m)": 50})
    with db.operation("local edit") as s:
        s.get(Site, site.id).height_m = 55.0
    result = import_workbook(db, workbook)
    assert result.total["conflicts"] == 1
    [c] = list_conflicts(db)
    assert resolve_conflicts(db, "local", conflict_or_record=c.id) == 1
    with db.session() as s:
        assert s.get(Site, site.id).height_m == 55.0


def test_a_conflict_names_its_record_and_reads_the_value_typed_to_settle_it(db, workbook):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Chiều cao cột (m)": 50})
    with db.operation("local edit") as s:
        s.get(Site, site.id).height_m = 55.0
    import_workbook(db, workbook)
    [c] = list_conflicts(db)
    # Named by its form's title fields (forms/sites.yaml: the site code), as every panel names it.
    assert record_names(db, [c]) == {site.uuid: site.site_code}
    with pytest.raises(FieldError):
        parse_edited_value(db, c, "cao lắm")
    typed = parse_edited_value(db, c, "52,5")  # as a Vietnamese cell holds it
    assert typed == 52.5
    assert resolve_conflicts(db, "edited", conflict_or_record=c.id, edited_value=typed) == 1
    with db.session() as s:
        assert s.get(Site, site.id).height_m == 52.5
    # Position and tombstone columns are not form fields: read as the workbook reads them.
    other = {k: getattr(c, k) for k in ("id", "table", "record_uuid", "base", "local", "theirs", "workbook",
                                         "created_at")}
    assert parse_edited_value(db, Conflict(field="lat", **other), "18,35") == 18.35
    # A sub-list row is named under its parent's title: the site's code, then the operator.
    with db.session() as s:
        tenant = s.scalars(select(SiteTenant).where(SiteTenant.site_uuid == site.uuid)).first()
        tenant_uuid, operator = tenant.uuid, tenant.operator_code
    on_tenant = other | {"table": "site_tenants", "record_uuid": tenant_uuid}
    assert record_names(db, [Conflict(field="technologies", **on_tenant)]) == \
        {tenant_uuid: f"{site.site_code} · {operator}"}
    assert parse_edited_value(db, Conflict(field="deleted", **other), "Có") is True
    assert parse_edited_value(db, Conflict(field="deleted", **other), "") is False
    with pytest.raises(FieldError):
        parse_edited_value(db, Conflict(field="lon", **other), "105 độ")


def test_different_fields_on_both_sides_merge(db, workbook):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Chiều cao cột (m)": 47})
    with db.operation("local edit") as s:
        s.get(Site, site.id).name = "Đổi tên ở xã"
    result = import_workbook(db, workbook)
    assert result.total["updated"] == 1 and result.total["conflicts"] == 0
    with db.session() as s:
        fresh = s.get(Site, site.id)
        assert (fresh.name, fresh.height_m) == ("Đổi tên ở xã", 47.0)


def test_tombstone_deletes_and_blank_row_does_not(db, workbook):
    a, b = (lambda s: s.scalars(select(Site).order_by(Site.id).limit(2)).all())(db.session())
    edit_cells(workbook, SITES, a.uuid, {"Xóa (ghi x)": "x"})
    wb = openpyxl.load_workbook(workbook)
    ws = wb[SITES]
    headers = {c.value: c.column for c in ws[1]}
    for row in ws.iter_rows(min_row=2):
        if row[headers["UUID (không sửa)"] - 1].value == b.uuid:
            for cell in row:
                if cell.column not in (headers["UUID (không sửa)"], headers["Phiên bản (không sửa)"],
                                       headers["Cập nhật lúc (không sửa)"]):
                    cell.value = None  # the user blanked the row out
    wb.save(workbook)
    with db.session() as s:
        tenants = s.execute(text("SELECT count(*) FROM site_tenants WHERE site_uuid = :u AND deleted = 0"),
                            {"u": a.uuid}).scalar()
    result = import_workbook(db, workbook)
    # The site's tenants go with it, as the app's delete does (issue 16 item 7).
    assert result.counts["sites"]["deleted"] == 1 and result.counts["site_tenants"]["deleted"] == tenants
    with db.session() as s:
        assert s.get(Site, a.id).deleted is True
        assert s.get(Site, b.id).deleted is False


def test_new_rows_typed_into_the_workbook_are_inserted(db, workbook):
    wb = openpyxl.load_workbook(workbook)
    ws = wb[SITES]
    headers = {c.value: c.column for c in ws[1]}
    row = ws.max_row + 1
    for header, value in {"Mã trạm": "VT_NEW_0001", "Doanh nghiệp": "Viettel", "Tên trạm": "Trạm mới",
                          "Vĩ độ": "18°20'30\"N", "Kinh độ": "105,905", "Loại cột anten": "Cột dây co",
                          "Trạng thái": "Đang hoạt động", "Xã/phường": "Phường Thành Sen"}.items():
        ws.cell(row=row, column=headers[header], value=value)
    wb.save(workbook)
    result = import_workbook(db, workbook)
    assert result.total["inserted"] == 1
    with db.session() as s:
        new = s.scalars(select(Site).where(Site.site_code == "VT_NEW_0001")).one()
        assert new.operator_code == "VTL" and new.commune_code == "18073" and new.tower_type == "guyed_mast"
        assert abs(new.lat - 18.341667) < 1e-5 and new.lon == 105.905


def test_dry_run_writes_nothing(db, workbook):
    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Tên trạm": "Thử"})
    db.close()
    before = digest(db.path)
    with Database.open(db.path, readonly=True) as ro:
        result = import_workbook(ro, workbook, dry_run=True)
    assert result.total["updated"] == 1 and not result.applied
    assert digest(db.path) == before
    assert not list(db.path.parent.glob("*.bak.db"))


def test_invalid_cells_are_all_reported_and_nothing_changes(db, workbook):
    with db.session() as s:
        two = s.scalars(select(Site).order_by(Site.id).limit(2)).all()
    edit_cells(workbook, SITES, two[0].uuid, {"Vĩ độ": 95, "Loại cột anten": "cây dừa"})
    edit_cells(workbook, SITES, two[1].uuid, {"Chiều cao cột (m)": -5, "Mã trạm": None})
    before = digest(db.path)
    with pytest.raises(InvalidWorkbookError) as info:
        import_workbook(db, workbook)
    problems = info.value.problems
    assert len(problems) == 4
    where = {(p.sheet, p.column) for p in problems}
    assert (SITES, "Vĩ độ") in where and (SITES, "Loại cột anten") in where
    assert (SITES, "Chiều cao cột (m)") in where and (SITES, "Mã trạm") in where
    assert all(p.row and p.row >= 2 for p in problems)
    # A number shows as typed, not as the reader's float.
    height = next(p for p in problems if p.column == "Chiều cao cột (m)")
    assert height.shown == "-5" and "giá trị '-5'" in str(height)
    assert digest(db.path) == before


def test_duplicate_uuids_in_workbook(db, workbook):
    wb = openpyxl.load_workbook(workbook)
    ws = wb[SITES]
    ws.append([c.value for c in ws[2]])
    wb.save(workbook)
    with pytest.raises(InvalidWorkbookError, match="trùng"):
        import_workbook(db, workbook)


def _set_meta(path: Path, key: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    for row in wb["_metadata"].iter_rows(min_row=2):
        if row[0].value == key:
            row[1].value = value
    wb.save(path)


def test_newer_format_and_other_province_are_refused(db, workbook, tmp_path):
    newer = tmp_path / "newer.xlsx"
    shutil.copyfile(workbook, newer)
    _set_meta(newer, "format_version", 99)
    with pytest.raises(InvalidInputError, match="mới hơn"):
        import_workbook(db, newer)
    other = tmp_path / "other.xlsx"
    shutil.copyfile(workbook, other)
    _set_meta(other, "province_code", "20")
    with pytest.raises(InvalidInputError, match="tỉnh khác"):
        import_workbook(db, other)


def _bad_file(kind: str, tmp_path: Path, workbook: Path) -> Path:
    path = tmp_path / f"{kind}.xlsx"
    if kind == "csv":
        path.write_text("Mã trạm,Tên trạm\nVT1,Trạm 1\n", encoding="utf-8")
    elif kind == "pdf":
        path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    elif kind == "xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    elif kind == "corrupt":
        data = workbook.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "zipbomb":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
            z.writestr("xl/worksheets/sheet1.xml", b"\0" * 60_000_000)
    elif kind == "huge_sheet":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
            z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet><dimension '
                       'ref="A1:C1048576"/><sheetData/></worksheet>')
    return path


@pytest.mark.parametrize("kind, message", [
    ("csv", "CSV"), ("pdf", "PDF"), ("xls", ".xls"), ("corrupt", "hỏng"), ("zipbomb", "zip bomb"),
    ("huge_sheet", "1,048,576"),
])
def test_bad_files_are_refused_with_a_clear_message(db, workbook, tmp_path, kind, message):
    path = _bad_file(kind, tmp_path, workbook)
    before = digest(db.path)
    with pytest.raises(WorkbookError) as info:
        import_workbook(db, path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert digest(db.path) == before


def test_formula_payloads_stay_text(db, tmp_path):
    site = first_site(db)
    payload = '=HYPERLINK("http://evil.example","bấm vào")'
    with db.operation("payload") as s:
        s.get(Site, site.id).note = payload
        s.get(Site, site.id).name = "+84 912 345 678"
    out = tmp_path / "payload.xlsx"
    export_workbook(db, out)
    ws = openpyxl.load_workbook(out)[SITES]
    cells = [c for row in ws.iter_rows() for c in row if c.value in (payload, "+84 912 345 678")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)
    assert import_workbook(db, out).total["updated"] == 0


def test_commune_scope(db, tmp_path):
    out = tmp_path / "xa.xlsx"
    result = export_workbook(db, out, commune="18073")
    with db.session() as s:
        n = s.execute(text("SELECT count(*) FROM sites WHERE commune_code = '18073'")).scalar_one()
        tenants = s.execute(text("SELECT count(*) FROM site_tenants t JOIN sites s ON s.uuid = t.site_uuid "
                                 "WHERE s.commune_code = '18073'")).scalar_one()
    assert result.rows["sites"] == n > 0 and result.rows["site_tenants"] == tenants
    with pytest.raises(InvalidInputError, match="không có xã"):
        export_workbook(db, tmp_path / "x.xlsx", commune="99999")


def test_commune_and_department_exchange_both_ways(db, tmp_path):
    """Department exports to a new commune database; the commune edits and sends back;
    meanwhile the department edited another field: both edits survive."""
    from hatang_desktop.core.provinces_db import init_province_database

    to_commune = tmp_path / "gui_xa.xlsx"
    export_workbook(db, to_commune, commune="18073")
    commune_db = init_province_database(tmp_path / "xa.db", "42", user="Cán bộ xã")
    first = import_workbook(commune_db, to_commune)
    assert first.total["inserted"] > 0 and first.total["conflicts"] == 0
    with commune_db.session() as s:
        site = s.scalars(select(Site).where(Site.commune_code == "18073").order_by(Site.id)).first()
    with commune_db.operation("field survey", user="Cán bộ xã") as s:
        s.get(Site, site.id).height_m = 33.0
    with db.operation("department edit") as s:
        dep = s.scalars(select(Site).where(Site.uuid == site.uuid)).one()
        dep.name = "Tên do Sở sửa"
    back = tmp_path / "gui_so.xlsx"
    export_workbook(commune_db, back)
    result = import_workbook(db, back)
    assert result.total["conflicts"] == 0 and result.total["updated"] == 1
    with db.session() as s:
        merged = s.scalars(select(Site).where(Site.uuid == site.uuid)).one()
        assert (merged.height_m, merged.name) == (33.0, "Tên do Sở sửa")
    commune_db.close()


def test_rows_come_back_untouched_by_fingerprint_except_the_edited_one(db, workbook):
    """Rows returned cell for cell are recognised by their `_base` fingerprint and not parsed;
    an edited row (a number cell and a text cell) is parsed and merged."""
    from hatang_desktop.core.exchange.importer import read_workbook
    from hatang_desktop.core.forms import load_forms

    site = first_site(db)
    edit_cells(workbook, SITES, site.uuid, {"Chiều cao cột (m)": (site.height_m or 30) + 3, "Tên trạm": site.name + " B"})
    with db.session() as s:
        total = sum(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                    ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings"))
    rows, problems, meta, base = read_workbook(db, workbook, load_forms())
    assert not problems
    untouched = {r.uuid for r in meta["_untouched"]}
    assert site.uuid not in untouched and [r.uuid for r in rows] == [site.uuid]
    assert len(untouched) == total - 1 and len(base) == total
    result = import_workbook(db, workbook)
    assert result.total["updated"] == 1 and result.total["unchanged"] == total - 1
    # Without trusting fingerprints every row is parsed, with the same outcome: compared with
    # its local record before the merge (the rows equal to it set aside, marked `seen_at`; the
    # edited one too, now that it is imported) or by it.
    rows, _p, meta, _b = read_workbook(db, workbook, load_forms(), trust_untouched=False)
    assert rows == [] and len(meta["_untouched"]) == total
    assert all(u.seen_at is not None for u in meta["_untouched"])
    rows, _p, meta, _b = read_workbook(db, workbook, load_forms(), trust_untouched=False, compare=False)
    assert not meta["_untouched"] and len(rows) == total


def test_other_database_skips_only_rows_it_already_holds(db, tmp_path):
    """At the department, a commune's untouched row is unchanged only where the department holds
    the state it was exported from: the commune's own edit is parsed and applied, a record the
    department changed meanwhile is parsed and keeps the department's change; nothing else is."""
    from hatang_desktop.core.exchange.importer import read_workbook
    from hatang_desktop.core.forms import load_forms
    from hatang_desktop.core.provinces_db import init_province_database

    to_commune = tmp_path / "gui_xa.xlsx"
    export_workbook(db, to_commune, commune="18073")
    commune_db = init_province_database(tmp_path / "xa.db", "42", user="Cán bộ xã")
    try:
        import_workbook(commune_db, to_commune)
        with commune_db.session() as s:
            site = s.scalars(select(Site).where(Site.commune_code == "18073").order_by(Site.id)).first()
            pole = s.execute(text("SELECT uuid FROM poles WHERE commune_code = '18073' ORDER BY id LIMIT 1")).scalar()
            total = sum(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                        ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings"))
        with commune_db.operation("field survey", user="Cán bộ xã") as s:
            s.get(Site, site.id).height_m = 33.0
        with db.operation("department edit") as s:
            s.scalars(select(Pole).where(Pole.uuid == pole)).one().note = "Sở ghi chú"
        back = tmp_path / "gui_so.xlsx"
        export_workbook(commune_db, back)
    finally:
        commune_db.close()
    rows, problems, meta, _base = read_workbook(db, back, load_forms())
    assert not problems
    assert {r.uuid for r in rows} == {site.uuid, pole}
    assert len(meta["_untouched"]) == total - 2
    result = import_workbook(db, back)
    assert result.total["updated"] == 1 and result.total["conflicts"] == 0
    assert result.total["unchanged"] == total - 1
    with db.session() as s:
        assert s.execute(text("SELECT height_m FROM sites WHERE uuid = :u"), {"u": site.uuid}).scalar() == 33.0
        assert s.execute(text("SELECT note FROM poles WHERE uuid = :u"), {"u": pole}).scalar() == "Sở ghi chú"


def test_national_sizes_base_continues_and_long_values_are_kept(db, tmp_path, monkeypatch):
    """What only a national export meets, at small scale: a base longer than a sheet continues on
    _base_<record>_2, and a value over Excel's 32,767 characters per cell travels as a marker
    that leaves the database's value alone."""
    from hatang_desktop.core.exchange import export as export_module
    from hatang_desktop.core.exchange.row_fingerprint import MAX_CELL_CHARS, TOO_LONG_MARKER

    monkeypatch.setattr(export_module, "BASE_ROWS_PER_SHEET", 100)
    site = first_site(db)
    long_note = "Ghi chú rất dài. " * (MAX_CELL_CHARS // 10)
    with db.operation("long note") as s:
        s.get(Site, site.id).note = long_note
    book = tmp_path / "lon.xlsx"
    export_workbook(db, book)
    wb = openpyxl.load_workbook(book, read_only=True)
    assert {"_base_poles", "_base_poles_2", "_base_poles_3"} <= set(wb.sheetnames)
    notes = [r for r in wb[SITES].iter_rows(values_only=True) if TOO_LONG_MARKER in r]
    assert len(notes) == 1
    result = import_workbook(db, book)
    assert result.total["updated"] == result.total["conflicts"] == 0 and not result.applied
    with db.session() as s:
        assert s.get(Site, site.id).note == long_note
        total = sum(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                    ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings"))
    assert result.total["unchanged"] == total


@pytest.mark.parametrize("trust_untouched", [True, False])
def test_an_english_workbook_round_trips_unchanged(db, tmp_path, trust_untouched):
    """The English export (forms/' English sheet names, headers, value labels, Yes/No) reads back
    as the same records, whether the import trusts untouched rows or parses every cell."""
    out = tmp_path / "english.xlsx"
    export_workbook(db, out, lang="en")
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert "Sites" in sheets and "Fibre routes" in sheets
    before = digest(db.path)
    result = import_workbook(db, out, trust_untouched=trust_untouched)
    assert not result.problems
    assert result.total["inserted"] == result.total["updated"] == result.total["conflicts"] == 0
    assert result.total["unchanged"] > 300
    assert digest(db.path) == before
