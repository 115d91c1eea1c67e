"""Never lose a value on the way in (issue 16, items 1-7): concurrent imports, missing columns,
cells that are not values, one set of rules for every way in, refusals that write nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import InvalidWorkbookError, import_workbook
from hatang_desktop.core.storage.database import Database

SITES = "Trạm BTS"
HEIGHT = "Chiều cao cột (m)"
UUID_HEADER = "UUID (không sửa)"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(path: Path) -> list[str]:
    """Every row of every table, as SQL (the database's content, whatever the file's pages)."""
    import sqlite3

    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.stem}.*.bak{path.suffix}"))


@pytest.fixture
def workbook(sample_db_path, tmp_path) -> Path:
    out = tmp_path / "so.xlsx"
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, out)
    return out


def edit_sheet(src: Path, dst: Path, sheet: str, edit) -> Path:
    """dst is src with `edit(ws, headers)` applied to one sheet (headers: text -> column number)."""
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet]
    edit(ws, {c.value: c.column for c in ws[1]})
    wb.save(dst)
    return dst


# -- 1. two imports at the same moment -------------------------------------------------------

def _height_workbooks(workbook: Path, tmp_path: Path, n: int) -> tuple[Path, Path, dict, dict]:
    """Two workbooks setting the heights of the same n sites to different values."""
    a_values, b_values = {}, {}

    def setter(values, offset):
        def edit(ws, h):
            for row in ws.iter_rows(min_row=2, max_row=n + 1):
                uuid = row[h[UUID_HEADER] - 1].value
                values[uuid] = float(10 + offset + row[0].row % 50)
                row[h[HEIGHT] - 1].value = values[uuid]
        return edit
    # Only the sites and what the merge needs of the rest: each round reads less.
    small = tmp_path / "sites_only.xlsx"
    wb = openpyxl.load_workbook(workbook)
    for name in wb.sheetnames:
        if name not in (SITES, "_metadata", "_base_sites"):
            del wb[name]
    wb.save(small)
    a = edit_sheet(small, tmp_path / "a.xlsx", SITES, setter(a_values, 100))
    b = edit_sheet(small, tmp_path / "b.xlsx", SITES, setter(b_values, 200))
    return a, b, a_values, b_values


def _assert_nothing_lost(db_path: Path, a_values: dict, b_values: dict) -> None:
    """Each workbook's height is either the stored one or an open conflict."""
    with Database.open(db_path, readonly=True) as db, db.session() as s:
        stored = dict(s.execute(text("SELECT uuid, height_m FROM sites")).all())
        conflicts: dict[str, set] = {}
        for u, theirs in s.execute(text("SELECT record_uuid, theirs_value FROM conflicts "
                                        "WHERE status = 'open' AND field = 'height_m'")).all():
            conflicts.setdefault(u, set()).add(json.loads(theirs))
    lost = [(u, v) for values in (a_values, b_values) for u, v in values.items()
            if stored[u] != v and v not in conflicts.get(u, set())]
    assert not lost, f"{len(lost)} values overwritten unseen, e.g. {lost[:3]}"


def test_two_imports_at_once_lose_nothing(workbook, sample_db_path, tmp_path):
    """Two imports in threads, each with its own Database, started together, 20 times: every
    changed height is applied or kept as a conflict."""
    a, b, a_values, b_values = _height_workbooks(workbook, tmp_path, 120)
    template = tmp_path / "template.db"
    shutil.copyfile(sample_db_path, template)
    for round_ in range(20):
        target = tmp_path / f"round{round_}.db"
        shutil.copyfile(template, target)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(book):
            try:
                with Database.open(target) as db:
                    barrier.wait()
                    import_workbook(db, book)
            except BaseException as exc:  # reported below
                errors.append(exc)
        threads = [threading.Thread(target=run, args=(book,)) for book in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        _assert_nothing_lost(target, a_values, b_values)


def test_two_import_processes_at_once_lose_nothing(workbook, sample_db_path, tmp_path):
    """The same with two `hatang import-xlsx` processes released at the same moment."""
    a, b, a_values, b_values = _height_workbooks(workbook, tmp_path, 120)
    waiter = ("import sys, time, pathlib\n"
              "go = pathlib.Path(sys.argv[1]); pathlib.Path(sys.argv[2]).touch()\n"
              "while not go.exists(): time.sleep(0.005)\n"
              "from hatang_desktop.cli import main\n"
              "sys.exit(main(sys.argv[3:]))\n")
    template = tmp_path / "template.db"
    shutil.copyfile(sample_db_path, template)
    for round_ in range(4):
        target = tmp_path / f"proc{round_}.db"
        shutil.copyfile(template, target)
        go = tmp_path / f"go{round_}"
        ready = [tmp_path / f"ready{round_}_{k}" for k in range(2)]
        procs = [subprocess.Popen([sys.executable, "-c", waiter, str(go), str(ready[k]), "import-xlsx",
                                   str(target), str(book)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
                 for k, book in enumerate((a, b))]
        while not all(r.exists() for r in ready):
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=300) for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes in ([0, 3], [3, 3]), (codes, [o[1][-2000:] for o in outs])
        _assert_nothing_lost(target, a_values, b_values)


# -- refusals: exit 2, a message naming the place, nothing written --------------------------

def refused(capsys, command: str, db_path: Path, source: Path, *must_say: str) -> str:
    """`hatang <command> DB SOURCE` exits 2 with a message saying each of `must_say`; the
    database file is byte-identical and no backup was written. Returns stderr."""
    from hatang_desktop.cli import main

    before, kept = digest(db_path), backups(db_path)
    capsys.readouterr()
    code = main([command, str(db_path), str(source)])
    err = capsys.readouterr().err
    assert code == 2, err
    for text_ in must_say:
        assert text_ in err, err
    assert "Traceback" not in err
    assert digest(db_path) == before
    assert backups(db_path) == kept
    return err


def cell_edit(uuid_values: dict[str, dict[str, object]]):
    """An edit_sheet callback setting cells of the rows with these uuids (by header)."""
    def edit(ws, h):
        for row in ws.iter_rows(min_row=2):
            changes = uuid_values.get(row[h[UUID_HEADER] - 1].value)
            for header, value in (changes or {}).items():
                ws.cell(row=row[0].row, column=h[header]).value = value
    return edit


def site_rows(db_path: Path, n: int = 3) -> list[dict]:
    with Database.open(db_path, readonly=True) as db, db.session() as s:
        return [dict(r) for r in s.execute(text(
            "SELECT uuid, site_code, operator_code, name, height_m, lat, lon, version FROM sites "
            "WHERE deleted = 0 ORDER BY id LIMIT :n"), {"n": n}).mappings()]


# -- 2. a column the workbook does not have --------------------------------------------------

def test_missing_column_keeps_its_field(workbook, sample_db_path, tmp_path):
    """A deleted height column says nothing about heights: one name edit is the only change."""
    first = site_rows(sample_db_path, 1)[0]

    def edit(ws, h):
        cell_edit({first["uuid"]: {"Tên trạm": "Tên mới"}})(ws, h)
        ws.delete_cols(h[HEIGHT])
    book = edit_sheet(workbook, tmp_path / "no_height.xlsx", SITES, edit)
    with Database.open(sample_db_path) as db:
        with db.session() as s:
            heights = dict(s.execute(text("SELECT uuid, height_m FROM sites")).all())
        result = import_workbook(db, book)
        assert result.total["updated"] == 1 and result.total["conflicts"] == 0
        with db.session() as s:
            assert dict(s.execute(text("SELECT uuid, height_m FROM sites")).all()) == heights
            assert s.execute(text("SELECT name FROM sites WHERE uuid = :u"), {"u": first["uuid"]}).scalar() == "Tên mới"
    assert any("Chiều cao cột (m)" in w and "giữ nguyên" in w for w in result.warnings)


def test_renamed_header_is_named_and_its_values_never_dropped(workbook, sample_db_path, tmp_path, capsys):
    """A header renamed beyond recognition: with an edit in the row, the values under it would be
    dropped (before, the row's name was blanked): a problem naming the column. Without any edit,
    nothing is read from it and the command names it among its warnings."""
    from hatang_desktop.cli import main

    first = site_rows(sample_db_path, 1)[0]

    def rename(ws, h):
        ws.cell(row=1, column=h["Tên trạm"]).value = "Tên gọi khác của trạm"
    edited = edit_sheet(workbook, tmp_path / "renamed_edit.xlsx", SITES, lambda ws, h: (
        cell_edit({first["uuid"]: {"Tên trạm": "Tên gõ vào cột đổi tên", HEIGHT: 44}})(ws, h), rename(ws, h)))
    refused(capsys, "import-xlsx", sample_db_path, edited, f"trang '{SITES}', dòng 1, cột 'Tên gọi khác của trạm'",
            "không nhận ra cột", "dòng 2")
    assert site_rows(sample_db_path, 1)[0] == first
    untouched = edit_sheet(workbook, tmp_path / "renamed.xlsx", SITES, rename)
    capsys.readouterr()
    assert main(["import-xlsx", str(sample_db_path), str(untouched)]) == 0
    out = capsys.readouterr().out
    assert "'Tên gọi khác của trạm'" in out and "không nhận ra" in out and "'Tên trạm'" in out
    assert site_rows(sample_db_path, 1)[0] == first


def test_a_value_typed_in_an_added_column_is_named(workbook, sample_db_path, tmp_path, capsys):
    first = site_rows(sample_db_path, 1)[0]

    def add(ws, h):
        col = ws.max_column + 1
        ws.cell(row=1, column=col).value = "Ý kiến của Sở"
        for row in ws.iter_rows(min_row=2):
            if row[h[UUID_HEADER] - 1].value == first["uuid"]:
                ws.cell(row=row[0].row, column=col).value = "Cần kiểm tra lại chiều cao"
    book = edit_sheet(workbook, tmp_path / "added_column.xlsx", SITES, add)
    refused(capsys, "import-xlsx", sample_db_path, book, "cột 'Ý kiến của Sở'", "dòng 2")


def test_a_required_column_missing_is_a_problem(workbook, sample_db_path, tmp_path, capsys):
    """Named (sheet, header row, column), whether or not the sheet has new rows."""
    for header in ("Mã trạm", "Doanh nghiệp", "Vĩ độ"):
        book = edit_sheet(workbook, tmp_path / "no_column.xlsx", SITES, lambda ws, h: ws.delete_cols(h[header]))
        refused(capsys, "import-xlsx", sample_db_path, book, f"trang '{SITES}', dòng 1, cột '{header}'",
                "thiếu cột bắt buộc")


def test_the_uuid_column_deleted_reads_the_sheet_as_a_list(workbook, sample_db_path, tmp_path):
    """Rows without UUIDs are matched by operator and site code; the tenants the sites sheet
    implies are the tenants sheet's own rows, not duplicates of them."""
    book = edit_sheet(workbook, tmp_path / "no_uuid.xlsx", SITES, lambda ws, h: ws.delete_cols(h[UUID_HEADER]))
    before = digest(sample_db_path)
    with Database.open(sample_db_path) as db:
        result = import_workbook(db, book)
    assert not result.applied and result.total["unchanged"] > 300
    assert digest(sample_db_path) == before


def _sites_geojson(sample_db_path: Path, tmp_path: Path) -> dict:
    from hatang_desktop.core.gis import export_gis

    with Database.open(sample_db_path, readonly=True) as db:
        export_gis(db, tmp_path / "out.geojson")
    return json.loads((tmp_path / "out_sites.geojson").read_text(encoding="utf-8"))


def test_geojson_without_an_attribute_keeps_its_field(sample_db_path, tmp_path):
    from hatang_desktop.core.gis import import_gis

    data = _sites_geojson(sample_db_path, tmp_path)
    for f in data["features"]:
        f["properties"].pop(HEIGHT)
    data["features"][0]["properties"]["Tên trạm"] = "Tên từ QGIS"
    path = tmp_path / "no_height.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with Database.open(sample_db_path) as db:
        with db.session() as s:
            heights = dict(s.execute(text("SELECT uuid, height_m FROM sites")).all())
        result = import_gis(db, path)
        assert result.counts["sites"]["updated"] == 1 and result.total["conflicts"] == 0
        with db.session() as s:
            assert dict(s.execute(text("SELECT uuid, height_m FROM sites")).all()) == heights


# -- 3. cells that are not values ------------------------------------------------------------

def test_cells_that_are_not_values_are_problems(workbook, sample_db_path, tmp_path, capsys):
    """"NaN" typed in a number cell, error cells and a formula saved without its result (as
    openpyxl writes one) are each named with sheet, row and column; nothing is written."""
    rows = site_rows(sample_db_path, 5)
    values = ["NaN", "#N/A", "#DIV/0!", "=1/0", "inf"]
    book = edit_sheet(workbook, tmp_path / "not_values.xlsx", SITES,
                      cell_edit({r["uuid"]: {HEIGHT: v} for r, v in zip(rows, values)}))
    with Database.open(sample_db_path, readonly=True) as db:
        with pytest.raises(InvalidWorkbookError) as info:
            import_workbook(db, book, dry_run=True)
    problems = info.value.problems
    assert [(p.sheet, p.row, p.column) for p in problems] == [(SITES, k, HEIGHT) for k in range(2, 7)]
    assert [str(p.value) for p in problems] == values
    err = refused(capsys, "import-xlsx", sample_db_path, book, "dòng 5, cột 'Chiều cao cột (m)'", "=1/0",
                  "#DIV/0!", "#N/A", "'NaN' không phải là số")
    assert "công thức chưa có giá trị" in err and "ô báo lỗi" in err


def test_error_cell_in_an_untouched_row_is_named(workbook, sample_db_path, tmp_path, capsys):
    """A row whose only change is an error cell where the export left the cell empty."""
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        uuid = s.execute(text("SELECT uuid FROM sites WHERE note IS NULL ORDER BY id LIMIT 1")).scalar()
    book = edit_sheet(workbook, tmp_path / "error_note.xlsx", SITES, cell_edit({uuid: {"Ghi chú": "#REF!"}}))
    refused(capsys, "import-xlsx", sample_db_path, book, "cột 'Ghi chú'", "#REF!")


# -- 4. one set of rules for every way in ----------------------------------------------------

PLACES = {"(0, 0)": (0.0, 0.0), "Tokyo": (35.6812, 139.7671), "Bangkok": (13.7563, 100.5018)}


def _point_feature(props: dict, lat: float, lon: float) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


@pytest.mark.parametrize("place", PLACES)
def test_a_position_outside_vietnam_is_refused_the_same_way_everywhere(place, workbook, sample_db_path,
                                                                       tmp_path, capsys):
    from hatang_desktop.core import editing
    from hatang_desktop.core.forms import position_problem

    lat, lon = PLACES[place]
    rule = position_problem(lat, lon)
    assert rule and "Việt Nam" in rule
    first = site_rows(sample_db_path, 1)[0]
    # The Excel import: an edited row and a new row.
    moved = edit_sheet(workbook, tmp_path / "moved.xlsx", SITES,
                       cell_edit({first["uuid"]: {"Vĩ độ": lat, "Kinh độ": lon}}))
    err = refused(capsys, "import-xlsx", sample_db_path, moved, f"trang '{SITES}', dòng 2, cột 'Vĩ độ'", rule)

    def new_row(ws, h):
        row = ws.max_row + 1
        for header, value in {"Mã trạm": "VT_NGOAI_1", "Doanh nghiệp": "Viettel", "Vĩ độ": lat,
                              "Kinh độ": lon}.items():
            ws.cell(row=row, column=h[header]).value = value
    added = edit_sheet(workbook, tmp_path / "added.xlsx", SITES, new_row)
    refused(capsys, "import-xlsx", sample_db_path, added, rule)
    # The GIS import.
    gis = tmp_path / "outside.geojson"
    gis.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _point_feature({"Mã trạm": "VT_NGOAI_2", "Doanh nghiệp": "Viettel"}, lat, lon)]}), encoding="utf-8")
    refused(capsys, "import", sample_db_path, gis, "lớp 'outside', đối tượng 1", rule)
    with Database.open(sample_db_path) as db:
        # The form.
        with pytest.raises(editing.ValidationFailed) as form:
            editing.save_record(db, "sites", {"lat": lat, "lon": lon}, uuid=first["uuid"])
        assert form.value.problems == [("position", rule)]
    assert rule in err


# -- 5. an unknown UUID with an existing operator and site code ------------------------------

def test_unknown_uuid_with_an_existing_site_code_is_a_problem(workbook, sample_db_path, tmp_path, capsys):
    first = site_rows(sample_db_path, 1)[0]
    other = "12345678-1234-4234-9234-123456789abc"
    book = edit_sheet(workbook, tmp_path / "foreign_uuid.xlsx", SITES,
                      cell_edit({first["uuid"]: {UUID_HEADER: other}}))
    err = refused(capsys, "import-xlsx", sample_db_path, book, f"trang '{SITES}', dòng 2, cột 'Mã trạm'",
                  f"doanh nghiệp {first['operator_code']} đã có trạm mã '{first['site_code']}' với UUID khác "
                  f"({first['uuid']})", "already has site code")
    assert "IntegrityError" not in err
    # The same from a GIS file.
    data = _sites_geojson(sample_db_path, tmp_path)
    [feature] = [f for f in data["features"] if f["properties"]["UUID"] == first["uuid"]]
    feature["properties"]["UUID"] = other
    gis = tmp_path / "foreign.geojson"
    gis.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
                   encoding="utf-8")
    refused(capsys, "import", sample_db_path, gis, "lớp 'foreign'", "đã có trạm mã", first["uuid"])


def test_two_new_rows_with_one_site_code_are_a_problem(workbook, sample_db_path, tmp_path, capsys):
    def two_rows(ws, h):
        for k in range(2):
            row = ws.max_row + 1
            for header, value in {"Mã trạm": "VT_MOI_1", "Doanh nghiệp": "Viettel", "Vĩ độ": 18.34 + k / 100,
                                  "Kinh độ": 105.9}.items():
                ws.cell(row=row, column=h[header]).value = value
    book = edit_sheet(workbook, tmp_path / "twice.xlsx", SITES, two_rows)
    refused(capsys, "import-xlsx", sample_db_path, book, "đã có trạm mã 'VT_MOI_1' ở dòng")


def test_a_tenant_row_for_an_operator_already_on_the_site_is_a_problem(workbook, sample_db_path, tmp_path, capsys):
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        site, op = s.execute(text("SELECT site_uuid, operator_code FROM site_tenants WHERE deleted = 0 "
                                  "ORDER BY id LIMIT 1")).one()

    def add(ws, h):
        row = ws.max_row + 1
        ws.cell(row=row, column=h["UUID trạm"]).value = site
        ws.cell(row=row, column=h["Doanh nghiệp"]).value = op
    book = edit_sheet(workbook, tmp_path / "tenant_twice.xlsx", "DN trên trạm", add)
    refused(capsys, "import-xlsx", sample_db_path, book, "trang 'DN trên trạm'", "đã có doanh nghiệp trên trạm")


# -- 6. a newer schema; text longer than a cell ---------------------------------------------

def _set_meta(book: Path, key: str, value) -> None:
    wb = openpyxl.load_workbook(book)
    for row in wb["_metadata"].iter_rows(min_row=2):
        if row[0].value == key:
            row[1].value = value
    wb.save(book)


@pytest.mark.parametrize("version, message", [(99, "phiên bản mới hơn"), ("ba", "không đọc được")])
def test_workbook_from_a_newer_schema_is_refused(version, message, workbook, sample_db_path, tmp_path, capsys):
    first = site_rows(sample_db_path, 1)[0]
    book = edit_sheet(workbook, tmp_path / "newer.xlsx", SITES, cell_edit({first["uuid"]: {"Tên trạm": "Sửa"}}))
    _set_meta(book, "schema_version", version)
    refused(capsys, "import-xlsx", sample_db_path, book, "trang '_metadata'", "schema_version", message)


def _with_cell_text(book: Path, out: Path, old: str, new: str) -> Path:
    """A copy of `book` with one cell's text replaced in the sheet XML itself: openpyxl cuts
    text at 32,767 characters when it writes, Excel's limit; another program may not."""
    import zipfile

    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        done = False
        for info in src.infolist():
            data = src.read(info.filename)
            if old.encode() in data and info.filename.startswith("xl/"):
                data = data.replace(old.encode(), new.encode(), 1)
                done = True
            dst.writestr(info, data)
    assert done
    return out


def test_text_over_a_cell_is_refused_wherever_it_comes_in(workbook, sample_db_path, tmp_path, capsys):
    from hatang_desktop.core import editing
    from hatang_desktop.core.field_values import MAX_TEXT_CHARS

    long_name = "Trạm " + "a" * 40_000
    first = site_rows(sample_db_path, 1)[0]
    marked = edit_sheet(workbook, tmp_path / "marked.xlsx", SITES, cell_edit({first["uuid"]: {"Tên trạm": "LONG_NAME_MARKER"}}))
    book = _with_cell_text(marked, tmp_path / "long.xlsx", "LONG_NAME_MARKER", long_name)
    err = refused(capsys, "import-xlsx", sample_db_path, book, f"trang '{SITES}', dòng 2, cột 'Tên trạm'",
                  "40.005 ký tự", "32,767")  # thousands: a dot in Vietnamese, a comma in English
    assert len(err) < 2000  # the value is named, not printed whole
    data = _sites_geojson(sample_db_path, tmp_path)
    data["features"][0]["properties"]["Tên trạm"] = long_name
    gis = tmp_path / "long.geojson"
    gis.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    refused(capsys, "import", sample_db_path, gis, "lớp 'long', đối tượng 1", "thuộc tính 'Tên trạm'",
            "40.005 ký tự")
    with Database.open(sample_db_path) as db:
        before = digest(sample_db_path)
        with pytest.raises(editing.ValidationFailed, match="40.005 ký tự"):
            editing.save_record(db, "sites", {"name": long_name}, uuid=first["uuid"])
        assert digest(sample_db_path) == before
        # Exactly what a cell holds is taken, whole.
        editing.save_record(db, "sites", {"name": "b" * MAX_TEXT_CHARS}, uuid=first["uuid"])
        with db.session() as s:
            assert len(s.execute(text("SELECT name FROM sites WHERE uuid = :u"), {"u": first["uuid"]}).scalar()) \
                == MAX_TEXT_CHARS


# -- 7. a deletion takes the sub-list; an unchanged position is not rewritten ---------------

@pytest.mark.parametrize("sheet, parent, child, key", [
    (SITES, "sites", "site_tenants", "site_uuid"), ("Cột treo cáp", "poles", "pole_attachments", "pole_uuid")])
def test_deleting_in_the_workbook_takes_the_sub_list(sheet, parent, child, key, workbook, sample_db_path, tmp_path):
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        uuid, n = s.execute(text(f"SELECT {key}, count(*) FROM {child} WHERE deleted = 0 GROUP BY {key} "
                                 "ORDER BY count(*) DESC LIMIT 1")).one()
    assert n >= 1
    book = edit_sheet(workbook, tmp_path / "delete.xlsx", sheet, cell_edit({uuid: {"Xóa (ghi x)": "x"}}))
    with Database.open(sample_db_path) as db:
        result = import_workbook(db, book)
        assert result.counts[parent]["deleted"] == 1 and result.counts[child]["deleted"] == n
        with db.session() as s:
            assert s.execute(text(f"SELECT count(*) FROM {child} WHERE {key} = :u AND deleted = 0"),
                             {"u": uuid}).scalar() == 0
            assert s.execute(text(f"SELECT deleted FROM {parent} WHERE uuid = :u"), {"u": uuid}).scalar() == 1
        # The same workbook again changes nothing.
        assert not import_workbook(db, book).applied


def test_saving_a_form_keeps_an_unchanged_position(sample_db_path):
    """The form shows lat/lon to 7 decimals and sends them back with every save."""
    from hatang_desktop.core import editing

    with Database.open(sample_db_path) as db:
        with db.session() as s:
            uuid, lat, lon = s.execute(text("SELECT uuid, lat, lon FROM sites WHERE deleted = 0 AND "
                                            "round(lat, 7) != lat ORDER BY id LIMIT 1")).one()
        editing.save_record(db, "sites", {"name": "Tên sửa trong biểu mẫu", "lat": f"{lat:.7f}",
                                          "lon": f"{lon:.7f}"}, uuid=uuid)
        with db.session() as s:
            assert s.execute(text("SELECT lat, lon FROM sites WHERE uuid = :u"), {"u": uuid}).one() == (lat, lon)
            logged = [f for (f,) in s.execute(text("SELECT field FROM change_log WHERE record_uuid = :u AND "
                                                   "action = 'update'"), {"u": uuid})]
        assert logged == ["name"]
        # A real move is still a move.
        editing.save_record(db, "sites", {"lat": f"{lat + 0.0001:.7f}", "lon": f"{lon:.7f}"}, uuid=uuid)
        with db.session() as s:
            assert s.execute(text("SELECT lat, lon FROM sites WHERE uuid = :u"), {"u": uuid}).one() == \
                (float(f"{lat + 0.0001:.7f}"), lon)


def test_a_blanked_cell_with_a_default_reads_as_the_default(workbook, sample_db_path, tmp_path):
    """'Trong quy hoạch' blanked on an existing row: the form's default (Không), never a database
    error (the column cannot hold a blank)."""
    first = site_rows(sample_db_path, 1)[0]
    with Database.open(sample_db_path) as db, db.operation("in plan") as s:
        s.execute(text("UPDATE sites SET in_passive_plan = 1 WHERE uuid = :u"), {"u": first["uuid"]})
    with Database.open(sample_db_path, readonly=True) as db:
        export_workbook(db, workbook)
    book = edit_sheet(workbook, tmp_path / "blank_bool.xlsx", SITES,
                      cell_edit({first["uuid"]: {"Trong quy hoạch hạ tầng thụ động": None}}))
    with Database.open(sample_db_path) as db:
        assert import_workbook(db, book).total["updated"] == 1
        with db.session() as s:
            assert s.execute(text("SELECT in_passive_plan FROM sites WHERE uuid = :u"),
                             {"u": first["uuid"]}).scalar() == 0


def test_a_geojson_feature_without_a_property_keeps_its_field(sample_db_path, tmp_path, capsys):
    """One feature lacks the key the others have (GDAL reads it as null, which would clear the
    height); another has an explicit null, which clears it; a bare NaN is not a height."""
    from hatang_desktop.core.gis import import_gis

    data = _sites_geojson(sample_db_path, tmp_path)
    features = data["features"]
    missing, cleared = features[3]["properties"], features[4]["properties"]
    missing.pop(HEIGHT)
    cleared[HEIGHT] = None
    path = tmp_path / "one_missing.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with Database.open(sample_db_path) as db:
        with db.session() as s:
            heights = dict(s.execute(text("SELECT uuid, height_m FROM sites")).all())
        assert heights[missing["UUID"]] is not None and heights[cleared["UUID"]] is not None
        result = import_gis(db, path)
        assert result.counts["sites"]["updated"] == 1
        with db.session() as s:
            after = dict(s.execute(text("SELECT uuid, height_m FROM sites")).all())
    assert after == heights | {cleared["UUID"]: None}
    raw = json.dumps(data, ensure_ascii=False).replace(f'"{HEIGHT}": null', f'"{HEIGHT}": NaN', 1)
    nan = tmp_path / "nan.geojson"
    nan.write_text(raw, encoding="utf-8")
    refused(capsys, "import", sample_db_path, nan, "lớp 'nan', đối tượng 5", "'NaN' không phải là số")
