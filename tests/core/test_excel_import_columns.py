"""The Excel import's column path (cells parsed a column at a time, the form's rules judged over
columns, rows compared with the database as tuples, local states read a column at a time) gives
what the careful path, cell by cell and row by row, gives: the same rows, the same problems
(sheet, row, column, value, message) and the same plan, on workbooks with the values offices
actually send."""

from __future__ import annotations

import datetime as dt
import functools
import math

import openpyxl
import pytest
from sqlalchemy import select

from hatang_desktop.core.exchange import importer, merge
from hatang_desktop.core.exchange.export import export_workbook, province_communes
from hatang_desktop.core.exchange.importer import read_workbook
from hatang_desktop.core.exchange.records import _db_reader, _from_db, read_states
from hatang_desktop.core.exchange.workbook_rows import parse_sheet
from hatang_desktop.core.field_values import FieldError, column_parser
from hatang_desktop.core.form_columns import column_problems, rows_to_check
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.model import Site
from hatang_desktop.core.storage.database import Database

SITES, POLES, ATTACHMENTS, TENANTS = "Trạm BTS", "Cột treo cáp", "Cáp trên cột", "DN trên trạm"


@pytest.fixture
def db(sample_db_path):
    d = Database.open(sample_db_path)
    d.user = "Cán bộ Sở"
    yield d
    d.close()


def _set(ws, row: int, header: str, value) -> None:
    headers = {c.value: c.column for c in ws[1]}
    ws.cell(row=row, column=headers[header]).value = value


def _offices_workbook(db, tmp_path, *, drop_column: bool = True):
    """An exported workbook with what comes back from the communes: unpadded and labelled commune
    codes, text in number columns, dates as text and as Excel serials, NaN, TCVN3 text, values
    outside the lists and ranges, positions outside Vietnam or half typed, blanked required
    cells, new rows, and (drop_column) a column deleted."""
    path = tmp_path / "tu_xa.xlsx"
    export_workbook(db, path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SITES]
    edits = [
        ("Xã/phường", 8073), ("Xã/phường", "18073"), ("Xã/phường", 18073.0), ("Xã/phường", "Thành Sen"),
        ("Xã/phường", "Xa khong co"),
        ("Chiều cao cột (m)", "cao 30m"), ("Chiều cao cột (m)", "30,5"), ("Chiều cao cột (m)", "NaN"),
        ("Chiều cao cột (m)", -0.0), ("Chiều cao cột (m)", True), ("Chiều cao cột (m)", 9999),
        ("Chiều cao cột (m)", " 42 "),
        ("Ngày cấp phép", "05/03/2024"), ("Ngày cấp phép", 45000), ("Ngày cấp phép", "2024-13-45"),
        ("Ngày cấp phép", dt.datetime(2024, 3, 5, 0, 0)), ("Ngày cấp phép", "ngay mai"),
        ("Vĩ độ", 8.5), ("Vĩ độ", None), ("Kinh độ", "105,9"), ("Vĩ độ", "18°20'10\""),
        ("Doanh nghiệp", "Viettel Telecom"), ("Doanh nghiệp", "XYZ"),
        ("Loại cột anten", "Tháp"), ("Loại cột anten", "Cét tù ®øng trªn mÆt ®Êt"),
        ("Tên trạm", "Tr¹m B¾c Hång LÜnh"), ("Địa chỉ", "Th«n 3, x· CÈm Xuyªn"),
        ("Trạng thái", None), ("Trong quy hoạch hạ tầng thụ động", None),
        ("Trong quy hoạch hạ tầng thụ động", "hmm"), ("Mã trạm", "  MBF_X  "), ("Mã trạm", None),
        ("Số vệ tinh GPS", 4.5), ("HDOP", -1), ("Xóa (ghi x)", "x"), ("Xóa (ghi x)", "có lẽ"),
        ("Phiên bản (không sửa)", "một"), ("UUID (không sửa)", "khong-phai-uuid"),
    ]
    for k, (header, value) in enumerate(edits):
        _set(ws, 2 + k, header, value)
    ws.append(["MBF_NEW_1", "MobiFone", "Trạm mới", None, "18073", 18.34, 105.9])
    ws.append(["MBF_NEW_2", None, None, None, None, 18.34])
    ws = wb[POLES]
    for k, (header, value) in enumerate([
            ("Chiều cao cột (m)", "7m5"), ("Chiều cao cột (m)", 7), ("Có thiết bị điện trên cột", "maybe"),
            ("Có thiết bị điện trên cột", 1), ("Xã/phường", 18652), ("Vĩ độ", 23.5), ("Kinh độ", 200.0),
            ("Số hiệu cột", 12345), ("Số hiệu cột", 1.5),
            # Versions as people leave them: calamine reads every number as a float.
            ("Phiên bản (không sửa)", 2.5), ("Phiên bản (không sửa)", 1e20), ("Phiên bản (không sửa)", " 1 "),
            ("Phiên bản (không sửa)", 3), ("Phiên bản (không sửa)", -0.0)]):
        _set(ws, 2 + k, header, value)
    if drop_column:
        headers = {c.value: c.column for c in ws[1]}
        ws.delete_cols(headers["Vật liệu"])
    ws = wb[ATTACHMENTS]
    for k, (header, value) in enumerate([
            ("Số sợi cáp", "12.5"), ("Số sợi cáp", "24"), ("Số sợi cáp", float("nan")), ("Số hộp", -1),
            ("Loại cáp", "Cáp quang"), ("Loại cáp", "cap quang"), ("Độ cao thấp nhất của cáp (m)", "4,5"),
            ("Có thẻ nhận dạng", "Khong"), ("Có thẻ nhận dạng", 2)]):
        _set(ws, 2 + k, header, value)
    ws = wb[TENANTS]
    for k, (header, value) in enumerate([("Công nghệ", "4G/5G"), ("Công nghệ", "LTE, NR"), ("Công nghệ", "6G"),
                                         ("Công nghệ", None), ("Doanh nghiệp", "vina")]):
        _set(ws, 2 + k, header, value)
    wb.save(path)
    return path


def _careful(monkeypatch) -> None:
    """The import as it was: every cell parsed alone, every record checked alone, every row
    compared field by field, every local state read row by row."""
    monkeypatch.setattr(importer, "parse_sheet", functools.partial(parse_sheet, columnwise=False))
    monkeypatch.setattr(merge, "unchanged_rows",
                        lambda rows, local: {r.uuid for r in rows if r.uuid in local and not merge._differs(r, local[r.uuid])})

    def read_states_row_by_row(session, form, **kw):
        states = real_read_states(session, form, **kw)
        reader = _db_reader(form)
        for s in states.values():
            s.values = _from_db(reader, s.extra["row"])
        return states
    real_read_states = merge.read_states
    monkeypatch.setattr(merge, "read_states", read_states_row_by_row)


def _shown_rows(rows):
    return [(r.record, r.row, None if r.is_new else r.uuid, r.is_new, r.version, r.deleted, r.values,
             r.parent_code, r.extra.get("kept"), r.extra.get("absent"), r.extra.get("notes")) for r in rows]


def _shown_problems(problems):
    return [(p.where, p.row, p.column, repr(p.value), str(p.message)) for p in problems]


@pytest.mark.parametrize("trust_untouched", [False, True])
def test_offices_workbook_gives_the_same_rows_and_problems_both_ways(db, tmp_path, monkeypatch, trust_untouched):
    path = _offices_workbook(db, tmp_path)
    forms = load_forms()
    fast = read_workbook(db, path, forms, trust_untouched=trust_untouched)
    with monkeypatch.context() as m:
        _careful(m)
        careful = read_workbook(db, path, forms, trust_untouched=trust_untouched)
    assert _shown_problems(fast[1]) == _shown_problems(careful[1])
    assert _shown_rows(fast[0]) == _shown_rows(careful[0])
    # The workbook is as bad as meant: problems on each edited sheet, of each kind.
    problems = _shown_problems(fast[1])
    assert len(problems) >= 30
    assert {p[0] for p in problems} >= {SITES, POLES, ATTACHMENTS, TENANTS}
    columns = {p[2] for p in problems}
    assert {"Xã/phường", "Chiều cao cột (m)", "Ngày cấp phép", "Loại cột anten", "Số sợi cáp"} <= columns
    assert any("ngoài" in p[4] for p in problems)            # a position outside Vietnam
    assert any("Vật liệu" in str(p[2]) for p in problems) or any("Vật liệu" in w for w in fast[2]["_warnings"])


def test_a_valid_edited_workbook_plans_the_same_both_ways(db, tmp_path, monkeypatch):
    """Edits that parse (codes unpadded, numbers as text, dates as text and serials, positions
    typed to fewer digits, a deletion, new rows) planned by both paths: the same actions,
    changes and conflicts."""
    path = tmp_path / "sua.xlsx"
    export_workbook(db, path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SITES]
    lat_col = {c.value: c.column for c in ws[1]}["Vĩ độ"]
    for k, (header, value) in enumerate([
            ("Chiều cao cột (m)", "30,5"), ("Chiều cao cột (m)", 45), ("Ngày cấp phép", "05/03/2024"),
            ("Ngày cấp phép", 45000), ("Xã/phường", "18073"), ("Ghi chú", "đã kiểm tra"),
            ("Xóa (ghi x)", "x"), ("Trong quy hoạch hạ tầng thụ động", None), ("Tên trạm", "  Trạm mới tên  "),
            ("Tên trạm", "Tên theo Sở")]):
        _set(ws, 2 + k, header, value)
    both_sides = ws.cell(row=11, column={c.value: c.column for c in ws[1]}["UUID (không sửa)"]).value
    for row in range(20, 60):  # positions typed back to 6 decimals: the same place, or not
        cell = ws.cell(row=row, column=lat_col)
        cell.value = round(cell.value, 6 if row % 2 else 3)
    ws.append(["MBF_NEW_9", "MobiFone", "Trạm mới", "Thôn 1", "18073", 18.34, 105.9, "Cột tự đứng trên mặt đất"])
    ws = wb[ATTACHMENTS]
    _set(ws, 3, "Số sợi cáp", "24")
    _set(ws, 4, "Độ cao thấp nhất của cáp (m)", "4,5")
    wb.save(path)
    with db.operation("local edit", user="Cán bộ xã") as s:  # the same field edited here: a conflict
        s.scalars(select(Site).where(Site.uuid == both_sides)).one().name = "Tên theo xã"

    def plan():
        result = importer.import_workbook(db, path, dry_run=True, trust_untouched=False)
        return result.total, [(p.row.record, p.row.row, p.action, p.changes if p.action != "insert" else
                               {k: v for k, v in p.changes.items()}, [(c.field, c.base, c.local, c.theirs)
                                                                      for c in p.conflicts], p.new_version)
                              for p in result.plans]
    fast = plan()
    with monkeypatch.context() as m:
        _careful(m)
        careful = plan()
    assert fast == careful
    total, plans = fast
    assert total["updated"] >= 5 and total["inserted"] == 1 and total["deleted"] >= 1 and total["conflicts"] == 1
    assert total["unchanged"] > 1000


# -- the pieces, value by value ------------------------------------------------------------------

CELLS = [None, "", "  ", "abc", " abc ", "Có", "x", "0", "1", 1, 0, 1.0, 0.0, -0.0, 2.5, -3, True, False,
         float("nan"), float("inf"), "NaN", "1e999", "30,5", "1.234,5", "18073", 18073, 8073, "8073",
         "Phường Thành Sen (18073)", "Thành Sen", dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 8, 30),
         dt.datetime(2024, 3, 5), "05/03/2024", "2024-03-05", "2024-13-45", 45000, 45000.0, "Viettel",
         "viettel", "VNPT", "4G/5G", "LTE", "6G", "Cét tù ®øng", "Tr¹m B¾c", 18.34, 105.9, 200.0, 1e-5,
         "18°20'10\"", "x" * 40_000, "LINESTRING (105.9 18.3, 106 18.4)", "POINT (1 2)"]


@pytest.mark.parametrize("homogeneous", [False, True])
def test_every_field_parses_a_column_as_it_parses_its_cells(homogeneous):
    forms = load_forms()
    communes = {"18073": "Phường Thành Sen", "18652": "Phường Hà Huy Tập"}
    # Columns of one cell type (the shortcuts' case), and mixed columns (the cell-by-cell case).
    groups = ([[c for c in CELLS if type(c) is t] * 3 + [None] for t in {type(c) for c in CELLS if c is not None}]
              if homogeneous else [CELLS * 2])
    checked = 0
    for form in forms:
        for f in form.fields:
            if f.type == "geometry":
                continue
            for column in ((None,) if f.type != "position" else ("lat", "lon")):
                parser = column_parser(f, lists=forms.lists, communes=communes, column=column)
                for cells in groups:
                    values, failures = parser.many(list(cells))
                    for k, raw in enumerate(cells):
                        parse = column_parser(f, lists=forms.lists, communes=communes, column=column)
                        try:
                            expected = parse(raw)
                        except FieldError as exc:
                            assert k in failures and str(failures[k]) == str(exc), (f.key, raw)
                            continue
                        assert k not in failures, (f.key, raw, failures.get(k))
                        same = expected == values[k] or (isinstance(expected, float) and math.isnan(expected))
                        assert same and type(expected) is type(values[k]), (f.key, raw, expected, values[k])
                        if isinstance(expected, float):
                            assert math.copysign(1, expected) == math.copysign(1, values[k]), (f.key, raw)
                        checked += 1
    assert checked > 1000


def test_rules_over_columns_find_what_the_form_finds_record_by_record(db):
    """Records from the database, then spoiled field by field: every record `FormDef.problems`
    finds something in is among the rows the columns flag, and column_problems lists the same."""
    forms = load_forms()
    with db.session() as s:
        for form in forms:
            states = list(read_states(s, form).values())[:300]
            if not states:
                continue
            records = [dict(st.values) for st in states]
            keys = list(records[0])
            for k, rec in enumerate(records):  # each field blanked in some rows, odd values in others
                key = keys[k % len(keys)]
                if key in ("lat", "lon"):  # parsed positions are numbers or nothing
                    rec[key] = (None, 8.5, 0.0, 106.0, 23.0)[k % 5]
                else:
                    rec[key] = (None, "", (), "to_verify", "unknown", 0.0, 8.5, "x")[k % 8]
                if k % 5 == 0:
                    rec["lat"], rec["lon"] = (rec.get("lon"), rec.get("lat"))
                if k % 7 == 0:
                    rec.pop(keys[(k + 3) % len(keys)], None)
            every = sorted({key for rec in records for key in rec})
            columns = {key: [rec.get(key) for rec in records] for key in every}
            expected = [(i, key, msg) for i, rec in enumerate(records)
                        for key, msg in form.problems({k: v for k, v in rec.items()})]
            flagged = set(rows_to_check(form, columns, len(records)).tolist())
            assert {i for i, _k, _m in expected} <= flagged, form.record
            found = column_problems(form, columns, len(records), record=lambda i: records[i])
            assert found == expected, form.record
            assert expected, form.record  # the spoiling did spoil


def test_local_states_read_a_column_at_a_time_equal_row_by_row(db):
    forms = load_forms()
    with db.session() as s:
        communes = province_communes(s)
        assert communes
        for form in forms:
            states = read_states(s, form)
            some = list(states)[:50]
            by_chunk = read_states(s, form, uuids=some)
            reader = _db_reader(form)
            for u, st in states.items():
                assert st.values == _from_db(reader, st.extra["row"]), (form.record, u)
                assert list(st.values) == list(_from_db(reader, st.extra["row"]))
            for u in some:
                assert by_chunk[u].values == states[u].values and by_chunk[u].updated_at == states[u].updated_at


def test_export_cells_are_the_same_from_the_direct_writer_and_openpyxl(db, tmp_path):
    """The direct writer takes the base sheets as a column now (no rows zipped back into columns):
    read back with calamine, every sheet holds what openpyxl writes from the same data."""
    from python_calamine import CalamineWorkbook

    def cells(path):
        wb = CalamineWorkbook.from_path(str(path))
        out = {}
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            # The export time (summary line, _metadata) differs between two exports.
            out[name] = [r for r in rows if not any(isinstance(v, str) and (v.startswith("Ngày xuất")
                                                                            or v == "exported_at") for v in r)]
        return out
    direct, other = tmp_path / "direct.xlsx", tmp_path / "openpyxl.xlsx"
    assert export_workbook(db, direct, parallel=False).backend == "direct"
    export_workbook(db, other, backend="openpyxl", parallel=False)
    a, b = cells(direct), cells(other)
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name], name
    bases = [n for n in a if n.startswith("_base_")]
    assert bases and sum(len(a[n]) for n in bases) > 1000
