"""The one merge both importers feed (issue 18 item 3): backups rotated per kind, a refused
import reported one way by the command line, a cancelled import writing nothing."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from hatang_desktop.cli import main
from hatang_desktop.core.cancel import Cancelled
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.exchange.merge_write import BACKUP_LABELS
from hatang_desktop.core.exchange.problems import ImportRefused
from hatang_desktop.core.gis import import_gis
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import BACKUPS_KEPT, Database, backup_name, backups_of

from .fault_env import dump

DATA = Path(__file__).parent.parent / "data" / "gis"
EXCEL, GIS = BACKUP_LABELS["sheet"], BACKUP_LABELS["layer"]


@pytest.fixture
def province_db(tmp_path) -> Path:
    """A province database holding the three sites of the operator KML."""
    path = tmp_path / "ht.db"
    db = init_province_database(path, "42", user="tester")
    try:
        import_gis(db, DATA / "operator_sites.kml", backup=False)
    finally:
        db.close()
    return path


def _plant(db_path: Path, label: str, year: int, n: int) -> list[Path]:
    """n whole backups of one kind, dated one day apart in `year` (older than any real one)."""
    out = []
    for day in range(n):
        target = backup_name(db_path, label, dt.datetime(year, 1, 1 + day, 8, 0, 0))
        shutil.copyfile(db_path, target)
        out.append(target)
    return out


def _edited_book(db_path: Path, out: Path, header: str, value) -> Path:
    """The database's workbook with the first site's `header` cell set to `value`."""
    with Database.open(db_path, readonly=True) as db:
        export_workbook(db, out, parallel=False)
    wb = openpyxl.load_workbook(out)
    ws = wb["Trạm BTS"]
    col = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row=2, column=col).value = value
    wb.save(out)
    return out


def _renamed_site_book(db_path: Path, out: Path) -> Path:
    return _edited_book(db_path, out, "Tên trạm", "Trạm đổi tên")


def test_backups_are_rotated_per_kind_and_never_the_newest_of_another(province_db, tmp_path):
    # The GIS backups are newer than the Excel ones: a rotation that counted both kinds as one
    # would delete Excel backups for GIS ones (or the reverse); each kind has one more than kept.
    excel = _plant(province_db, EXCEL, 2024, BACKUPS_KEPT + 1)
    gis = _plant(province_db, GIS, 2025, BACKUPS_KEPT + 1)
    assert backups_of(province_db, EXCEL) == excel and backups_of(province_db, GIS) == gis

    kml = tmp_path / "sites.kml"
    kml.write_text((DATA / "operator_sites.kml").read_text(encoding="utf-8").replace("Thạch Hà 1", "Thạch Hà Một"),
                   encoding="utf-8")
    with Database.open(province_db) as db:
        result = import_gis(db, kml)
    assert result.applied and result.backup is not None and GIS in result.backup.name
    # The GIS import's own backup is kept, its two oldest go; every Excel backup stays.
    assert backups_of(province_db, GIS) == gis[2:] + [result.backup]
    assert backups_of(province_db, EXCEL) == excel

    book = _renamed_site_book(province_db, tmp_path / "book.xlsx")
    with Database.open(province_db) as db:
        result = import_workbook(db, book)
    assert result.applied and result.backup is not None and f".{EXCEL}-2" in result.backup.name
    assert backups_of(province_db, EXCEL) == excel[2:] + [result.backup]
    assert len(backups_of(province_db, GIS)) == BACKUPS_KEPT and backups_of(province_db, GIS)[-1].exists()
    assert backups_of(province_db, GIS) == gis[2:] + [backups_of(province_db, GIS)[-1]]


def test_an_import_that_changes_nothing_takes_no_backup_and_rotates_nothing(province_db):
    planted = _plant(province_db, GIS, 2025, BACKUPS_KEPT + 2)
    with Database.open(province_db) as db:
        result = import_gis(db, DATA / "operator_sites.kml")
    assert not result.applied and result.backup is None
    assert backups_of(province_db, GIS) == planted   # rotation follows a commit, none here


def _bad_workbook(db_path: Path, out: Path) -> Path:
    return _edited_book(db_path, out, "Vĩ độ", 95)   # outside Việt Nam


def _bad_geojson(out: Path) -> Path:
    bowtie = {"type": "Polygon", "coordinates": [[[105.8, 18.3], [105.9, 18.4], [105.9, 18.3], [105.8, 18.4],
                                                   [105.8, 18.3]]]}
    out.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": bowtie,
         "properties": {"ma_khu": "KCN-2", "ten_khu": "Khu công nghiệp Hai", "loai_khu": "Khu công nghiệp"}}]},
        ensure_ascii=False), encoding="utf-8")
    return out


@pytest.mark.parametrize("reader", ["workbook", "gis"])
def test_a_refused_import_is_reported_one_way(reader, province_db, tmp_path, capsys):
    if reader == "workbook":
        argv, where, place = ["import-xlsx", str(province_db), str(_bad_workbook(province_db, tmp_path / "b.xlsx"))], \
            "Trạm BTS", "trang 'Trạm BTS', dòng 2, cột 'Vĩ độ'"
    else:
        argv, where, place = ["import", str(province_db), str(_bad_geojson(tmp_path / "zones.geojson"))], \
            "zones", "lớp 'zones', đối tượng 1 'KCN-2'"
    before = dump(province_db)
    assert main([*argv, "--json"]) == 2
    out, err = capsys.readouterr()
    doc = json.loads(out)
    # One shape for both: the counts at zero, not applied, and each problem under the same keys.
    assert {k: doc[k] for k in ("inserted", "updated", "deleted", "conflicts", "unchanged", "applied", "refused")} \
        == {"inserted": 0, "updated": 0, "deleted": 0, "conflicts": 0, "unchanged": 0, "applied": False,
            "refused": True}
    [problem] = doc["errors"]
    assert {"kind", "where", "row", "column", "name", "value", "message", "message_vi", "message_en"} <= set(problem)
    assert problem["where"] == where and problem["kind"] == ("sheet" if reader == "workbook" else "layer")
    assert problem["message_en"] and problem["message_en"] != problem["message_vi"]
    # One message format: 'hatang: <file>: ... lỗi, không thay đổi gì / ... nothing was changed', then the place.
    first, second = err.splitlines()[:2]
    assert first.startswith(f"hatang: {argv[2]}: ") and "không thay đổi gì / " in first and \
        "nothing was changed" in first
    assert second.startswith(f"  - {place}"), second
    assert dump(province_db) == before


def test_a_cancelled_import_writes_nothing_and_keeps_no_backup(province_db, tmp_path):
    book = _renamed_site_book(province_db, tmp_path / "book.xlsx")
    before = dump(province_db)
    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) > 2   # let the reading and the plan through: cancel inside the transaction

    with Database.open(province_db) as db, pytest.raises(Cancelled):
        import_workbook(db, book, cancel=cancel)
    assert dump(province_db) == before
    assert backups_of(province_db, EXCEL) == []


def test_a_problem_keeps_each_language_whole_when_a_value_holds_a_slash(province_db, tmp_path, capsys):
    # The value is part of the Vietnamese text too: cut on its first " / ", the Vietnamese would
    # end inside the value and the English start there. The parser's error has the two apart.
    raw = "5 / 13 / 2024"
    book = _edited_book(province_db, tmp_path / "b.xlsx", "Ngày cấp phép", raw)
    assert main(["import-xlsx", str(province_db), str(book), "--json"]) == 2
    [problem] = json.loads(capsys.readouterr().out)["errors"]
    assert problem["message_vi"] == f"'{raw}' không phải ngày (dd/mm/yyyy)"
    assert problem["message_en"] == f"'{raw}' is not a date (dd/mm/yyyy)"
    with pytest.raises(ImportRefused) as refused:
        with Database.open(province_db) as db:
            import_workbook(db, book)
    [p] = refused.value.problems
    assert p.text("en").endswith(f": '{raw}' is not a date (dd/mm/yyyy)") and p.text("en").startswith("sheet ")
    assert p.text("vi").endswith(f": '{raw}' không phải ngày (dd/mm/yyyy)")
