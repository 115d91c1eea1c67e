"""The department prints the workbook: LibreOffice converts an export to PDF and we read the pages.

Before, the summary ran over two portrait pages with no title, scope or date, data sheets printed
three columns a portrait page (414 pages for the 300-site sample), wrapped headers overlapped the
first data row, and `_metadata` was a visible sheet. LibreOffice is installed for the tests by
`.ci/setup --test`, so these tests do not skip.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import text

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook, read_workbook
from hatang_desktop.core.exchange.summary_sheet import WORKBOOK_TITLE
from hatang_desktop.core.exchange.xlsx_backends._print import LINE_HEIGHT, wrapped_lines
from hatang_desktop.core.exchange.xlsx_writer import BACKENDS, PageSetup, SheetData, WriterColumn, write_workbook
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.storage.database import Database

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
USER = "Nguyễn Văn Thử"
TITLE = WORKBOOK_TITLE.vi


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _soffice(args: list[str], workdir: Path) -> None:
    profile = workdir / "lo-profile"   # an isolated profile: parallel runs do not share one
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", *args],
                   check=True, capture_output=True, timeout=300, cwd=workdir)


@pytest.fixture(scope="module")
def printed(_sample_template, tmp_path_factory):
    """The 300-site sample exported by USER, its PDF as LibreOffice prints it, and the workbook
    as LibreOffice saves it again."""
    work = tmp_path_factory.mktemp("print")
    db_path = work / "sample.db"
    shutil.copyfile(_sample_template, db_path)
    with Database.open(db_path) as db:
        db.user = USER
        book = work / "so.xlsx"
        export_workbook(db, book)
    _soffice(["--convert-to", "pdf", "--outdir", str(work / "pdf"), str(book)], work)
    _soffice(["--convert-to", "xlsx", "--outdir", str(work / "resaved"), str(book)], work)
    reader = PdfReader(work / "pdf" / "so.pdf")
    pages = [_nfc(p.extract_text()) for p in reader.pages]
    return {"db": db_path, "book": book, "resaved": work / "resaved" / "so.xlsx", "reader": reader, "pages": pages,
            "today": dt.date.today()}


def _sheet_of(page_text: str) -> str:
    """The sheet a page belongs to, from its page header: title (left), sheet (centre), scope (right)."""
    first = page_text.splitlines()[0]
    assert first.startswith(TITLE) and first.endswith("Tỉnh Hà Tĩnh"), first
    return first[len(TITLE):-len("Tỉnh Hà Tĩnh")].strip()


def test_the_summary_is_one_landscape_page_with_title_scope_date_and_user(printed):
    pages, reader = printed["pages"], printed["reader"]
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)            # landscape
    first = pages[0]
    assert _sheet_of(first) == "Tổng hợp"
    for text in ("TỔNG HỢP HẠ TẦNG KỸ THUẬT VIỄN THÔNG THỤ ĐỘNG", "Phạm vi: Tỉnh Hà Tĩnh",
                 f"Ngày xuất: {printed['today']:%d/%m/%Y}", f"Người xuất: {USER}", "Tổng cộng",
                 "Theo doanh nghiệp", "Viettel", f"Trang 1/{len(pages)}"):
        assert text in first, text
    # One page: the next one is already the counts per commune, and nothing else has the title.
    assert _sheet_of(pages[1]) == "Tổng hợp theo xã"
    assert sum("TỔNG HỢP HẠ TẦNG" in p for p in pages) == 1


def test_data_sheets_print_one_page_wide_with_the_header_on_every_page(printed):
    pages = printed["pages"]
    # Three columns a portrait page made 414 pages of this sample; one page wide, far fewer.
    assert len(pages) < 100
    sites = [p for p in pages if _sheet_of(p) == "Trạm BTS"]
    assert 2 <= len(sites) <= 5                            # 300 sites
    for page in sites:
        # The first and the last printed header on every page: one page wide, header repeated.
        assert "Mã trạm" in page and "Ghi chú" in page
        assert "UUID (không sửa)" not in page              # system columns stay off paper
    assert all(re.search(r"Trang \d+/\d+", p) for p in pages)
    # The hidden sheets do not print.
    assert not any("format_version" in p or "uuid|version" in p for p in pages)


def test_wrapped_headers_stay_above_the_first_data_row(printed):
    """LibreOffice keeps the header row's height as written: every header line is printed above
    the first data row, none clipped."""
    reader, pages = printed["reader"], printed["pages"]
    index = next(i for i, p in enumerate(pages) if _sheet_of(p) == "Trạm BTS")
    items: list[tuple[float, float, str]] = []   # (baseline y, font size, text)

    def visit(text, cm, tm, _font, size):
        if text.strip():
            items.append((tm[5] * cm[3] + cm[5], size * cm[3], _nfc(text.strip())))

    reader.pages[index].extract_text(visitor_text=visit)
    first_row, size = max((y, s) for y, s, t in items if t.startswith(("VT_", "VNP_", "MBF_", "VNM_", "GT_")))
    top = max(y for y, _s, t in items if t == "Mã trạm")
    header = [(y, t) for y, _s, t in items if first_row < y <= top]
    words = " ".join(t for _, t in header)
    for name in ("Trong quy hoạch", "thụ động", "Chiều cao", "cột (m)", "Thuộc tính trong", "(JSON)"):
        assert name in words, name
    # Every header line (wrapped onto two lines here) sits a full line above the first data row.
    assert len({round(y) for y, _ in header}) >= 2
    assert min(y for y, _ in header) - first_row >= size


def test_the_header_row_height_follows_the_wrapped_headers(printed):
    wb = openpyxl.load_workbook(printed["book"])
    ws = wb["Trạm BTS"]
    widths = [ws.column_dimensions[openpyxl.utils.get_column_letter(j + 1)].width for j in range(ws.max_column)]
    lines = max(wrapped_lines(c.value, w) for c, w in zip(ws[1], widths))
    assert lines >= 2 and ws.row_dimensions[1].height == lines * LINE_HEIGHT
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage


def test_metadata_and_base_are_hidden_and_still_found_also_after_libreoffice_saved_it(printed):
    forms = load_forms()
    with Database.open(printed["db"]) as db:
        for book in (printed["book"], printed["resaved"]):
            wb = openpyxl.load_workbook(book, read_only=True)
            hidden = {n for n in wb.sheetnames if wb[n].sheet_state != "visible"}
            assert {"_metadata", "_base_sites", "_base_poles"} <= hidden
            assert not any(n.startswith("_") for n in set(wb.sheetnames) - hidden)
            _rows, problems, meta, base = read_workbook(db, book, forms)
            assert problems == []
            assert meta["province_code"] == "42" and meta["database_id"] and meta["exported_by"] == USER
            assert len(base) > 3000                        # every record's fingerprint
            result = import_workbook(db, book, dry_run=True)
            assert result.total["inserted"] == result.total["updated"] == result.total["deleted"] == 0
            assert result.total["unchanged"] == len(base)


# --- the three writers print alike (no LibreOffice needed) ------------------------------------

def _page_facts(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    facts = {}
    for ws in wb.worksheets:
        ps = ws.page_setup
        facts[ws.title] = {
            "state": ws.sheet_state, "orientation": ps.orientation, "paper": str(ps.paperSize),
            # rust_xlsxwriter leaves out attributes at their default (1)
            "fit": (int(ps.fitToWidth or 1), int(1 if ps.fitToHeight is None else ps.fitToHeight)),
            "fit_to_page": bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage),
            "titles": ws.print_title_rows, "area": ws.print_area,
            "header": ws.oddHeader.left.text, "centre": ws.oddHeader.center.text, "right": ws.oddHeader.right.text,
            "footer": (ws.oddFooter.left.text, ws.oddFooter.center.text),
            "heights": {r: d.height for r, d in ws.row_dimensions.items() if d.height},
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "freeze": ws.freeze_panes,
            "margins": (ws.page_margins.left, ws.page_margins.right, ws.page_margins.top, ws.page_margins.bottom),
            "cells": [[c.value for c in row] for row in ws.iter_rows(max_row=8)],
        }
    return facts


def test_every_backend_writes_the_same_page_setup(tmp_path):
    page = PageSetup("Hạ tầng & viễn thông", "Xã Cẩm Xuyên (18673), Tỉnh Hà Tĩnh", "Xuất ngày 06/12/2026 · An")
    columns = [WriterColumn("Mã trạm", 12), WriterColumn("Trong quy hoạch hạ tầng thụ động", 14, choices=("Có", "Không")),
               WriterColumn("UUID (không sửa)", 38, system=True, printed=False, note="Không sửa")]
    rows = [(f"VT_{i}", "Có", f"u-{i}") for i in range(30)]

    def sheets():
        return [SheetData("Tổng hợp", columns, rows[:3], preamble=("TIÊU ĐỀ", "Phạm vi: xã", ""),
                          page=PageSetup(page.title, page.scope, page.note, one_page=True),
                          freeze_header=False, autofilter=False),
                SheetData("Trạm BTS", columns, rows, page=page),
                SheetData("Trống", columns, [], page=page),
                SheetData("_metadata", [WriterColumn("key"), WriterColumn("value")], [("a", 1)], hidden=True,
                          title_style="plain", page=page)]

    facts = {}
    for backend in BACKENDS:
        path = tmp_path / f"{backend}.xlsx"
        write_workbook(path, sheets(), backend=backend)
        facts[backend] = _page_facts(path)
    direct = facts["direct"]
    for backend in BACKENDS[1:]:
        assert facts[backend] == direct, backend
    summary, sites = direct["Tổng hợp"], direct["Trạm BTS"]
    assert summary["fit"] == (1, 1) and sites["fit"] == (1, 0) and sites["fit_to_page"]
    assert sites["orientation"] == "landscape" and sites["paper"] == "9"
    assert summary["titles"] == "$4:$4" and sites["titles"] == "$1:$1"
    assert sites["area"] == "'Trạm BTS'!$A$1:$B$31" and direct["Trống"]["area"] == "'Trống'!$A$1:$B$1"
    assert sites["header"] == "&BHạ tầng && viễn thông&B" and sites["centre"] == "&A"
    assert sites["footer"] == ("Xuất ngày 06/12/2026 · An", "Trang &P/&N")
    assert summary["merged"] == ["A1:C1", "A2:C2", "A3:C3"] and summary["heights"][1] > 15
    assert summary["heights"][4] == sites["heights"][1] == 4 * LINE_HEIGHT   # 4 lines in 14 characters
    assert summary["cells"][3][0] == "Mã trạm" and summary["cells"][4][0] == "VT_0"
    assert direct["_metadata"]["state"] == "hidden" and direct["_metadata"]["heights"] == {}


def test_a_header_wraps_by_words_within_its_width():
    assert wrapped_lines("Mã trạm", 22) == 1
    assert wrapped_lines("Trong quy hoạch hạ tầng thụ động", 24) == 2
    assert wrapped_lines("Trong quy hoạch hạ tầng thụ động", 14) == 4
    assert wrapped_lines("UUID\nkhông sửa", 38) == 2


def test_the_rust_patch_keeps_a_sheet_without_rows_valid(tmp_path):
    """The binding writes a header row's height as a second row 1 on a sheet without data rows;
    the heights are set by the patch pass instead."""
    pytest.importorskip("rustpy_xlsxwriter")
    path = tmp_path / "r.xlsx"
    write_workbook(path, [SheetData("Trống", [WriterColumn("Trong quy hoạch hạ tầng thụ động", 14)], [],
                                    page=PageSetup("T", "S"))], backend="rust")
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert xml.count('<row r="1"') == 1 and 'ht="60' in xml


def test_a_commune_export_names_the_commune_and_the_user(sample_db_path, tmp_path):
    with Database.open(sample_db_path) as db:
        db.user = USER
        with db.session() as s:
            code, name = s.execute(text("SELECT code, name FROM admin_units WHERE level = 'commune' "
                                        "ORDER BY code LIMIT 1")).one()
        export_workbook(db, tmp_path / "xa.xlsx", commune=code)
        export_workbook(db, tmp_path / "en.xlsx", lang="en")
    ws = openpyxl.load_workbook(tmp_path / "xa.xlsx")["Tổng hợp"]
    lines = [ws.cell(r, 1).value for r in range(1, 5)]
    assert lines[0] == "TỔNG HỢP HẠ TẦNG KỸ THUẬT VIỄN THÔNG THỤ ĐỘNG"
    assert lines[1] == f"Phạm vi: {name} ({code}), Tỉnh Hà Tĩnh" and lines[3] == f"Người xuất: {USER}"
    assert ws.oddHeader.right.text == f"{name} ({code}), Tỉnh Hà Tĩnh"
    assert ws.page_setup.fitToHeight == 1                  # the summary: one page
    en = openpyxl.load_workbook(tmp_path / "en.xlsx")["Summary"]
    assert en.cell(1, 1).value == "PASSIVE TELECOM INFRASTRUCTURE SUMMARY"
    assert en.cell(4, 1).value == f"Exported by: {USER}"


def test_a_sheet_too_wide_to_read_on_a4_goes_on_a3_in_every_backend(tmp_path):
    """One page wide on A4, 25 columns print at a third of their size; A3 is what copiers take."""
    page = PageSetup("Hạ tầng", "Tỉnh Hà Tĩnh")
    narrow = [WriterColumn("Mã trạm", 12), WriterColumn("Tên trạm", 30),
              WriterColumn("UUID (không sửa)", 400, system=True, printed=False)]
    wide = [WriterColumn(f"Cột {j}", 20) for j in range(16)] + [WriterColumn("UUID", 38, printed=False)]
    for backend in BACKENDS:
        path = tmp_path / f"{backend}.xlsx"
        write_workbook(path, [SheetData("Hẹp", narrow, [("a", "b", "c")], page=page),
                              SheetData("Rộng", wide, [tuple(range(17))], page=page)], backend=backend)
        facts = _page_facts(path)
        # The unprinted 400-wide UUID column does not count: the narrow sheet stays on A4.
        assert facts["Hẹp"]["paper"] == "9", backend
        assert facts["Rộng"]["paper"] == "8" and facts["Rộng"]["fit"] == (1, 0), backend
