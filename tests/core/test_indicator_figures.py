"""The department's figures (issue 7): entered per commune and year, from the command line, a
workbook (the template or the report's figures sheet) or the dashboard; checked cell by cell,
written in one operation or not at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.indicators import build_report
from hatang_desktop.core.indicators.catalogue import FIGURE_KEYS
from hatang_desktop.core.indicators.figures import (SHEET_NAME, InvalidFiguresError, check_value, import_figures,
                                                     load_figures, parse_assignment, save_figures, write_template)
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.reports.indicators import write as write_report
from hatang_desktop.core.storage.database import Database

PROVINCE, A, B = "42", "18073", "18313"  # Hà Tĩnh; Phường Thành Sen; Xã Vũ Quang
COL = {k: 3 + i for i, k in enumerate(FIGURE_KEYS)}  # template columns: Mã, Xã phường, figures..., Năm


@pytest.fixture(scope="module")
def empty_province(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fig") / "hatinh.db"
    init_province_database(path, PROVINCE, user="tester").close()
    return path


@pytest.fixture
def db_path(empty_province, tmp_path) -> Path:
    path = tmp_path / "db.db"
    shutil.copy(empty_province, path)
    return path


def _rows(ws) -> dict[str, int]:
    return {str(ws.cell(row=r, column=1).value): r for r in range(4, ws.max_row + 1)}


def _operations(path) -> int:
    with Database.open(path, readonly=True) as db, db.session() as s:
        return s.execute(text("SELECT count(*) FROM operations")).scalar()


def test_template_filled_imported_and_read_back(db_path, tmp_path, capsys):
    template = tmp_path / "mau.xlsx"
    assert main(["indicators", str(db_path), "--figures-template", str(template), "--year", "2025"]) == 0
    assert "70" in capsys.readouterr().out
    wb = load_workbook(template)
    ws = wb[SHEET_NAME]
    headers = [c.value for c in ws[3]]
    assert headers[:2] == ["Mã", "Xã, phường"] and headers[-1] == "Năm"
    assert headers[COL["mobile_bb_subs_per_100"] - 1] == "Số thuê bao băng rộng di động/100 dân (/100 dân)"
    rows = _rows(ws)
    assert len(rows) == 70 and next(iter(rows)) == PROVINCE  # the province first, then its communes
    assert ws.cell(row=rows[B], column=2).value == "Xã Vũ Quang"
    assert ws.cell(row=rows[B], column=len(headers)).value == 2025
    ws.cell(row=rows[B], column=COL["mobile_bb_subs_per_100"], value=92.5)
    ws.cell(row=rows[B], column=COL["mobile_ispeed_mbps"], value="71,25")  # typed with a decimal comma
    ws.cell(row=rows[A], column=COL["fixed_bb_subs_per_100"], value=40)
    ws.cell(row=rows[PROVINCE], column=COL["fixed_ispeed_mbps"], value=150)
    filled = tmp_path / "da_dien.xlsx"
    wb.save(filled)
    ops = _operations(db_path)
    assert main(["indicators", str(db_path), "--import-figures", str(filled), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["imported_figures"]["figures"] == 4 and doc["imported_figures"]["years"] == [2025]
    assert doc["year"] == 2025
    assert {r["indicator"]: r["actual"] for r in doc["rows"]}["fixed_ispeed_mbps"] == 150.0
    assert _operations(db_path) == ops + 1  # every figure in one operation
    with Database.open(db_path, readonly=True) as db:
        assert load_figures(db, 2025) == {B: {"mobile_bb_subs_per_100": 92.5, "mobile_ispeed_mbps": 71.25},
                                          A: {"fixed_bb_subs_per_100": 40.0}, PROVINCE: {"fixed_ispeed_mbps": 150.0}}
    commune = {r.indicator: r.actual for r in build_report(db_path, commune=B, year=2025).rows}
    assert commune["mobile_bb_subs_per_100"] == 92.5 and commune["mobile_ispeed_mbps"] == 71.25
    # The same workbook again changes nothing.
    with Database.open(db_path) as db:
        assert import_figures(db, filled)["changed"] == 0


def test_a_bad_cell_writes_nothing(db_path, tmp_path, capsys):
    template = tmp_path / "mau.xlsx"
    with Database.open(db_path, readonly=True) as db:
        write_template(db, template, year=2025)
    wb = load_workbook(template)
    ws = wb.active
    rows = _rows(ws)
    ws.cell(row=rows[A], column=COL["mobile_bb_subs_per_100"], value=80)  # good, must not be written alone
    ws.cell(row=rows[B], column=COL["mobile_bb_subs_per_100"], value=350)  # above 300 per 100
    ws.cell(row=rows[B], column=COL["fixed_ispeed_mbps"], value=0)  # a speed must be above 0
    ws.cell(row=rows[PROVINCE], column=COL["fixed_bb_subs_per_100"], value="khoảng 20")
    ws.cell(row=ws.max_row + 1, column=1, value="99999")
    ws.cell(row=ws.max_row, column=COL["mobile_ispeed_mbps"], value=50)
    bad = tmp_path / "sai.xlsx"
    wb.save(bad)
    ops = _operations(db_path)
    with Database.open(db_path) as db, pytest.raises(InvalidFiguresError) as err:
        import_figures(db, bad)
    problems = {(p.row, p.column): p for p in err.value.problems}
    assert len(problems) == 4
    p = problems[(rows[B], "Số thuê bao băng rộng di động/100 dân (/100 dân)")]
    assert p.sheet == SHEET_NAME and p.value == 350 and "Xã Vũ Quang" in p.message and "từ 0 đến 300" in p.message
    assert "lớn hơn 0" in problems[(rows[B], "Tốc độ băng rộng cố định (i-Speed) (Mbps)")].message
    assert "phải là một số" in problems[(rows[PROVINCE], "Số thuê bao băng rộng cố định/100 dân (/100 dân)")].message
    assert "không có tỉnh hoặc xã" in problems[(ws.max_row, "Mã")].message
    assert main(["indicators", str(db_path), "--import-figures", str(bad)]) == 2
    err_text = capsys.readouterr().err
    assert str(bad) in err_text and "4 lỗi" in err_text and f"dòng {rows[B]}" in err_text
    assert _operations(db_path) == ops
    with Database.open(db_path, readonly=True) as db:
        assert load_figures(db, 2025) == {}
    # A year in the sheet that contradicts --year is a problem too, not a silent choice.
    assert main(["indicators", str(db_path), "--import-figures", str(template), "--year", "2024"]) == 0  # empty
    capsys.readouterr()
    wb = load_workbook(template)
    wb.active.cell(row=rows[A], column=COL["mobile_bb_subs_per_100"], value=80)
    wb.save(bad)
    assert main(["indicators", str(db_path), "--import-figures", str(bad), "--year", "2024", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["applied"] is False and "2024" in out["errors"][0]["message"]


def test_the_reports_figures_sheet_imports_back(db_path, tmp_path):
    with Database.open(db_path) as db:
        save_figures(db, 2025, {A: {"mobile_bb_subs_per_100": 77.0}, B: {"fixed_ispeed_mbps": 95.5}})
    report = tmp_path / "bao_cao.xlsx"
    write_report(db_path, report, year=2025)
    wb = load_workbook(report)
    ws = wb[SHEET_NAME]
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=1).value == A)
    ws.cell(row=row, column=4 + FIGURE_KEYS.index("mobile_bb_subs_per_100"), value=78)  # after Mã, tên, Dân số
    wb.save(report)
    other = tmp_path / "other.db"
    shutil.copy(db_path, other)
    with Database.open(other) as db:
        done = import_figures(db, report)  # the year comes from the sheet's title
        assert done["years"] == [2025] and done["changed"] == 1
        assert load_figures(db, 2025) == {A: {"mobile_bb_subs_per_100": 78.0}, B: {"fixed_ispeed_mbps": 95.5}}


def test_one_rule_for_every_way_in(db_path):
    assert check_value("fixed_bb_subs_per_100", "300") == (300.0, None)
    assert check_value("fixed_bb_subs_per_100", 0) == (0.0, None)
    assert check_value("fixed_bb_subs_per_100", None) == (None, None)
    assert check_value("mobile_ispeed_mbps", " 85,5 ") == (85.5, None)
    for key, raw in (("fixed_bb_subs_per_100", 300.1), ("mobile_ispeed_mbps", 0), ("mobile_ispeed_mbps", -3),
                     ("mobile_ispeed_mbps", "nan"), ("mobile_ispeed_mbps", True)):
        assert check_value(key, raw)[1], (key, raw)
    assert parse_assignment("mobile_bb_subs_per_100=92,5") == ("mobile_bb_subs_per_100", 92.5)
    with pytest.raises(InvalidInputError, match="300"):
        parse_assignment("mobile_bb_subs_per_100=500")
    with Database.open(db_path) as db:
        with pytest.raises(InvalidInputError, match="Vũ Quang|18313"):
            save_figures(db, 2025, {B: {"mobile_ispeed_mbps": 0.0}})
        assert save_figures(db, 2025, {B: {"mobile_ispeed_mbps": 60.0}}) == 1
        assert save_figures(db, 2025, {B: {"mobile_ispeed_mbps": None}}) == 1  # removed (tombstoned)
        assert load_figures(db, 2025) == {}
        with db.session() as s:
            assert s.execute(text("SELECT deleted, version FROM indicator_figures")).one() == (1, 2)
