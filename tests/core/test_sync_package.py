"""Photos reach the department (issue 16 item 13): the workbook's "Ảnh" sheet lists every photo
of its records, and the sync package (`hatang export-xlsx … --package`) carries the workbook, the
photo files and a manifest of their sha256; importing one checks every hash, imports the workbook
and records and copies the photos, or refuses with a listed problem and writes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core import photos
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.exchange.package import (MANIFEST, InvalidPackageError, export_package, import_package,
                                                  is_package)
from hatang_desktop.core.storage.database import Database
from tests.core.test_photos import make_jpeg

PHOTO_SHEET = "Ảnh"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def folder_state(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def department_copy(db_path: Path, target: Path) -> Path:
    """The department's database: the same records under its own database id, no photos."""
    shutil.copyfile(db_path, target)
    with Database.open(target) as db, db.session() as s:
        s.execute(text("UPDATE meta SET value = 'so-tt-tt-ha-tinh' WHERE key = 'database_id'"))
        s.commit()
    return target


def records(db_path: Path) -> dict[str, tuple[str, str]]:
    """Two sites, a pole and a finding of the sample: table -> (uuid, code)."""
    with Database.open(db_path, readonly=True) as db, db.session() as s:
        sites = s.execute(text("SELECT uuid, site_code FROM sites WHERE deleted = 0 ORDER BY id LIMIT 2")).all()
        pole = s.execute(text("SELECT uuid, code FROM poles WHERE deleted = 0 ORDER BY id LIMIT 1")).one()
        finding = s.execute(text("SELECT uuid, rule_id FROM findings WHERE deleted = 0 ORDER BY id LIMIT 1")).one()
    return {"site": tuple(sites[0]), "site2": tuple(sites[1]), "pole": tuple(pole), "finding": tuple(finding)}


@pytest.fixture
def commune(sample_db_path, tmp_path):
    """The sample with five photos, added as the app adds them: on two sites (one with two), a
    pole and a finding; and the department's database, a copy under its own id taken before the
    photos were added. Returns (db path, {name: PhotoInfo}, records, department path)."""
    recs = records(sample_db_path)
    department = department_copy(sample_db_path, tmp_path / "so.db")
    made = {}
    with Database.open(sample_db_path) as db:
        for i, (name, table, key) in enumerate((("a", "sites", "site"), ("b", "sites", "site"),
                                                ("c", "sites", "site2"), ("d", "poles", "pole"),
                                                ("e", "findings", "finding"))):
            src = make_jpeg(tmp_path / f"{name}.jpg", size=(640, 480), colour=f"#{40 * i:02x}8040", gps=i % 2 == 0)
            made[name] = photos.attach_photo(db, table, recs[key][0], src, user="Cán bộ xã")
    return sample_db_path, made, recs, department


def photo_sheet(book: Path) -> tuple[list, list[list]]:
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(PHOTO_SHEET).to_python()
    return rows[0], rows[1:]


def rewrite(src: Path, dst: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of a zip with entries replaced (bytes) or left out (None)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = changes.get(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    return dst


# -- the workbook alone --------------------------------------------------------------------------

def test_the_workbook_lists_every_photo_and_whether_its_file_is_there(commune, tmp_path):
    db_path, made, recs, department = commune
    made["c"].path.unlink()                                    # lost on the commune's laptop
    with Database.open(db_path) as db:
        photos.remove_photo(db, made["b"].uuid)                 # removed: the removal travels
        result = export_workbook(db, tmp_path / "so.xlsx")
    assert (result.photos, result.photos_missing) == (5, 1)
    head, rows = photo_sheet(tmp_path / "so.xlsx")
    assert head[:9] == ["Loại bản ghi", "UUID bản ghi", "Mã bản ghi", "Tệp ảnh", "Chụp lúc", "Vĩ độ ảnh",
                        "Kinh độ ảnh", "SHA-256", "Tệp ảnh khi xuất"]
    col = {h: i for i, h in enumerate(head)}
    by_uuid = {r[col["UUID ảnh"]]: r for r in rows}
    assert set(by_uuid) == {p.uuid for p in made.values()}
    a, c, d, e = (by_uuid[made[k].uuid] for k in "acde")
    assert (a[col["Loại bản ghi"]], a[col["UUID bản ghi"]], a[col["Mã bản ghi"]]) == ("Trạm BTS", *recs["site"])
    assert (d[col["Loại bản ghi"]], d[col["Mã bản ghi"]]) == ("Cột treo cáp", recs["pole"][1])
    assert e[col["Loại bản ghi"]] == "Vi phạm"
    assert a[col["Tệp ảnh"]] == made["a"].file_name and a[col["SHA-256"]] == made["a"].sha256
    assert a[col["Chụp lúc"]] == "2025-03-14T08:31:02+07:00"
    assert a[col["Vĩ độ ảnh"]] == pytest.approx(made["a"].lat) and a[col["Kinh độ ảnh"]] == pytest.approx(made["a"].lon)
    assert a[col["Tệp ảnh khi xuất"]] == "Có" and c[col["Tệp ảnh khi xuất"]] == "Thiếu tệp"
    assert by_uuid[made["b"].uuid][col["Đã xóa"]] == "x" and a[col["Đã xóa"]] in (None, "")


def test_a_forked_export_writes_the_same_photo_sheet(commune, tmp_path, monkeypatch):
    """The worker renders its sheets from a plan without the photo rows: the workbook must still
    be the one a single process writes (the photo sheet's rows change no style or range)."""
    from hatang_desktop.core.exchange import export as export_module
    from tests.core.test_excel_export_parallel import meta_part, parts

    db_path, _made, _recs, _department = commune
    monkeypatch.setattr(export_module, "MIN_ROWS", 0)
    monkeypatch.setattr(export_module, "fork_allowed", lambda: True)
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    with Database.open(db_path, readonly=True) as db:
        export_workbook(db, one, parallel=False)
        assert export_workbook(db, two).photos == 5
    a, b = parts(one), parts(two)
    assert a.keys() == b.keys() and [n for n in a if a[n] != b[n]] in ([], [meta_part(two)])
    assert len(photo_sheet(two)[1]) == 5


def test_a_plain_workbook_import_leaves_the_photo_sheet_alone(commune, tmp_path):
    db_path, made, _recs, department = commune
    with Database.open(db_path, readonly=True) as db:
        export_workbook(db, tmp_path / "xa.xlsx")
    with Database.open(department) as db:
        result = import_workbook(db, tmp_path / "xa.xlsx")
    assert not any(PHOTO_SHEET in w for w in result.warnings), result.warnings
    assert result.photos is None and not result.understood


# -- the package -------------------------------------------------------------------------------

def test_the_package_holds_the_workbook_the_photos_and_their_hashes(commune, tmp_path):
    db_path, made, _recs, department = commune
    made["c"].path.unlink()
    with Database.open(db_path) as db:
        photos.remove_photo(db, made["b"].uuid)
        result = export_package(db, tmp_path / "goi.zip")
    out = tmp_path / "goi.zip"
    assert is_package(out) and not is_package(tmp_path / "a.jpg")
    assert result.photos == 3 and result.size == out.stat().st_size
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read(MANIFEST))
        assert names == {MANIFEST, "goi.xlsx", *(f"anh/{made[k].file_name}" for k in "ade")}
        assert manifest["format"] == "hatang-sync-package" and manifest["format_version"] == 1
        assert manifest["workbook"]["path"] == "goi.xlsx"
        assert manifest["workbook"]["sha256"] == hashlib.sha256(z.read("goi.xlsx")).hexdigest()
        listed = {p["uuid"]: p for p in manifest["photos"]}
        assert set(listed) == {made[k].uuid for k in "ade"}
        for k in "ade":
            entry = listed[made[k].uuid]
            data = z.read(entry["path"])
            assert entry["sha256"] == made[k].sha256 == hashlib.sha256(data).hexdigest() == digest(made[k].path)
            assert (entry["owner_table"], entry["owner_uuid"]) == (made[k].owner_table, made[k].owner_uuid)
            assert z.getinfo(entry["path"]).compress_type == zipfile.ZIP_STORED
        assert [(n["uuid"], n["reason"]) for n in manifest["not_included"]] == [(made["c"].uuid, "missing")]
        z.extract("goi.xlsx", tmp_path / "x")
    _head, rows = photo_sheet(tmp_path / "x" / "goi.xlsx")
    assert len(rows) == 5


def test_a_changed_file_stays_out_of_the_package_and_is_said_so(commune, tmp_path):
    db_path, made, _recs, department = commune
    made["d"].path.write_bytes(made["d"].path.read_bytes()[:-100])   # damaged on the laptop
    with Database.open(db_path, readonly=True) as db:
        result = export_package(db, tmp_path / "goi.zip")
    assert result.photos == 4
    assert [(n["file_name"], n["reason"]) for n in result.not_included] == [(made["d"].file_name, "changed")]
    with zipfile.ZipFile(tmp_path / "goi.zip") as z:
        assert f"anh/{made['d'].file_name}" not in z.namelist()
        z.extract("goi.xlsx", tmp_path / "x")
    head, rows = photo_sheet(tmp_path / "x" / "goi.xlsx")
    row = next(r for r in rows if r[head.index("UUID ảnh")] == made["d"].uuid)
    assert row[head.index("Tệp ảnh khi xuất")] == "Tệp bị thay đổi"


def test_writing_the_package_is_all_or_nothing(commune, tmp_path):
    db_path, _made, _recs, _department = commune
    out = tmp_path / "goi.zip"
    out.write_bytes(b"the previous package")
    with Database.open(db_path, readonly=True) as db, pytest.raises(Exception, match="không có xã"):
        export_package(db, out, commune="99999")
    assert out.read_bytes() == b"the previous package"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with Database.open(db_path, readonly=True) as db, pytest.raises(Exception, match=".zip"):
        export_package(db, tmp_path / "goi.xlsx")


def test_importing_a_package_records_and_copies_the_photos_once(commune, tmp_path):
    db_path, made, recs, department = commune
    made["c"].path.unlink()
    with Database.open(db_path) as db:
        photos.remove_photo(db, made["b"].uuid)
        export_package(db, tmp_path / "goi.zip")
    folder = photos.photo_dir(department)
    assert not folder.exists()

    with Database.open(department, readonly=True) as db:
        preview = import_package(db, tmp_path / "goi.zip", dry_run=True)
    assert preview.photos["added"] == 5 and preview.photos["files_copied"] == 3 and not preview.applied
    assert {i["file_name"] for i in preview.photos["items"]} == {p.file_name for p in made.values()}
    assert [n["file_name"] for n in preview.photos["not_in_package"]] == [made["c"].file_name]
    assert not folder.exists()

    with Database.open(department) as db:
        result = import_package(db, tmp_path / "goi.zip", user="Sở")
        assert result.applied and result.backup is not None
        got = {k: photos.get_photo(db, made[k].uuid, verify=True) for k in made}
    for k in "ade":   # copied, same name and sha256, same record
        assert got[k].status == photos.PRESENT and got[k].path.parent == folder
        assert got[k].file_name == made[k].file_name and digest(got[k].path) == made[k].sha256
        assert (got[k].owner_table, got[k].owner_uuid) == (made[k].owner_table, made[k].owner_uuid)
        assert got[k].taken_at == made[k].taken_at and (got[k].width, got[k].height) == (made[k].width, made[k].height)
        assert (got[k].lat, got[k].lon) == (pytest.approx(made[k].lat, abs=1e-12) if made[k].lat else None,
                                            pytest.approx(made[k].lon, abs=1e-12) if made[k].lon else None)
    assert got["b"].deleted                         # the removal travelled
    assert got["c"].status == photos.MISSING         # lost at the commune: the department sees it missing
    assert got["a"].owner_uuid == recs["site"][0]
    with Database.open(department, readonly=True) as db:
        assert [p.uuid for p in photos.list_photos(db, "sites", recs["site"][0])] == [made["a"].uuid]

    state = (dump(department), folder_state(folder), sorted(p.name for p in tmp_path.glob("so.*.bak.db")))
    with Database.open(department) as db:
        again = import_package(db, tmp_path / "goi.zip")
    assert not again.applied and again.backup is None
    assert again.photos["added"] == again.photos["files_copied"] == again.photos["updated"] == 0
    assert (dump(department), folder_state(folder), sorted(p.name for p in tmp_path.glob("so.*.bak.db"))) == state


def test_a_later_removal_travels_in_the_next_package(commune, tmp_path):
    db_path, made, _recs, department = commune
    with Database.open(db_path, readonly=True) as db:
        export_package(db, tmp_path / "goi1.zip")
    with Database.open(department) as db:
        import_package(db, tmp_path / "goi1.zip")
    with Database.open(db_path) as db:
        photos.remove_photo(db, made["a"].uuid)
        export_package(db, tmp_path / "goi2.zip")
    with Database.open(department) as db:
        result = import_package(db, tmp_path / "goi2.zip")
        assert result.photos["updated"] == 1
        assert photos.get_photo(db, made["a"].uuid).deleted


def _refused(department: Path, package: Path, *must_say: str) -> list:
    before = (digest(department), dump(department), folder_state(photos.photo_dir(department)))
    with Database.open(department) as db, pytest.raises(InvalidPackageError) as info:
        import_package(db, package)
    text_ = str(info.value)
    for words in must_say:
        assert words in text_, text_
    assert (digest(department), dump(department), folder_state(photos.photo_dir(department))) == before
    assert not list(department.parent.glob(f"{department.stem}.*.bak.db"))
    return info.value.problems


@pytest.fixture
def package(commune, tmp_path):
    db_path, made, recs, department = commune
    with Database.open(db_path, readonly=True) as db:
        export_package(db, tmp_path / "goi.zip")
    return tmp_path / "goi.zip", department, made, recs


def test_an_altered_photo_is_refused_naming_the_file_and_its_record(package, tmp_path):
    zipped, department, made, recs = package
    entry = f"anh/{made['d'].file_name}"
    with zipfile.ZipFile(zipped) as z:
        data = bytearray(z.read(entry))
    data[-10] ^= 0xFF
    altered = rewrite(zipped, tmp_path / "altered.zip", {entry: bytes(data)})
    problems = _refused(department, altered, made["d"].file_name, recs["pole"][1], "bị thay đổi")
    assert [(p.sheet, p.column, p.value) for p in problems] == [("Ảnh", "Tệp ảnh", made["d"].file_name)]


def test_a_missing_photo_is_refused_naming_the_file_and_its_record(package, tmp_path):
    zipped, department, made, recs = package
    missing = rewrite(zipped, tmp_path / "missing.zip", {f"anh/{made['a'].file_name}": None})
    problems = _refused(department, missing, f"thiếu ảnh {made['a'].file_name}", recs["site"][1])
    assert len(problems) == 1 and problems[0].row is not None


def test_an_altered_workbook_or_manifest_is_refused(package, tmp_path):
    zipped, department, _made, _recs = package
    with zipfile.ZipFile(zipped) as z:
        book = bytearray(z.read("goi.xlsx"))
        manifest = json.loads(z.read(MANIFEST))
    book[-30] ^= 0xFF
    _refused(department, rewrite(zipped, tmp_path / "b.zip", {"goi.xlsx": bytes(book)}), "sổ Excel trong gói đã bị thay đổi")
    manifest["photos"][0]["sha256"] = "0" * 64
    _refused(department, rewrite(zipped, tmp_path / "m.zip", {MANIFEST: json.dumps(manifest).encode()}), "bị thay đổi")


def test_a_zip_that_is_not_a_package_is_refused(package, tmp_path):
    _zipped, department, _made, _recs = package
    other = tmp_path / "khac.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "x")
    before = digest(department)
    assert main(["import-xlsx", str(department), str(other)]) == 2
    assert digest(department) == before


# -- the command ---------------------------------------------------------------------------------

def test_command_exports_and_imports_a_package(commune, tmp_path, capsys):
    db_path, made, _recs, department = commune
    out = tmp_path / "goi.zip"
    capsys.readouterr()
    assert main(["export-xlsx", str(db_path), "--package", str(out), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["package"] and exported["photos"] == 5 and exported["size"] == out.stat().st_size
    assert main(["import-xlsx", str(department), str(out), "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["photos"]["added"] == 5 and not dry["applied"]
    assert main(["import-xlsx", str(department), str(out), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["applied"] and done["photos"]["files_copied"] == 5
    assert main(["import-xlsx", str(department), str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert not again["applied"] and again["photos"]["unchanged"] == 5
    # Text output names the photos too.
    assert main(["import-xlsx", str(department), str(out)]) == 0
    assert "ảnh / photos" in capsys.readouterr().out

    entry = f"anh/{made['e'].file_name}"
    altered = rewrite(out, tmp_path / "altered.zip", {entry: b"not the photo"})
    before = digest(department)
    assert main(["import-xlsx", str(department), str(altered), "--json"]) == 2
    captured = capsys.readouterr()
    errors = json.loads(captured.out)["errors"]
    assert [e["value"] for e in errors] == [made["e"].file_name] and "Vi phạm" in errors[0]["message"]
    assert "Traceback" not in captured.err and made["e"].file_name in captured.err
    assert digest(department) == before


@pytest.mark.parametrize("args", [["x.zip"], ["x.xlsx", "--package"]])
def test_command_refuses_a_package_name_that_does_not_match(commune, tmp_path, capsys, args):
    db_path, _made, _recs, _department = commune
    target = tmp_path / args[0]
    capsys.readouterr()
    assert main(["export-xlsx", str(db_path), str(target), *args[1:]]) == 2
    assert not target.exists() and ".zip" in capsys.readouterr().err
