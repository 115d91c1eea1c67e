"""`hatang report findings`: the xlsx reads back, the PDF has numbered pages and the findings."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.photos import attach_photo
from hatang_desktop.core.reports import write_report
from hatang_desktop.core.rules import run_check, set_status

from .rules_helpers import Builder, communes, province_template, rules_db  # noqa: F401 (fixtures)


@pytest.fixture
def checked(rules_db, tmp_path):
    """Two communes: untagged cables of two operators in one, a site with a photo in the other."""
    a, b = (Builder(rules_db, c) for c in communes(rules_db, 2))
    for i in range(3):
        a.pole(i * 40, tagged=False, operator_code="VTL")
    a.pole(200, tagged=False, operator_code="MBF", spare_cable_m=11)
    site = b.site(0, in_passive_plan=False, permit_no=None)
    picture = tmp_path / "tram.jpg"
    Image.new("RGB", (400, 300), (200, 80, 40)).save(picture)
    attach_photo(rules_db, "sites", site, picture)
    run_check(rules_db)
    with rules_db.session() as s:
        dismissed = s.connection().exec_driver_sql(
            "SELECT uuid FROM findings WHERE rule_id = 'spare_cable_too_long'").scalar()
    set_status(rules_db, [dismissed], "dismissed", reason="Cáp dự phòng đã thu gọn")
    rules_db.close()
    return rules_db.path, a, b


def test_xlsx_report_reads_back(checked, tmp_path):
    path, a, b = checked
    out = tmp_path / "vi_pham.xlsx"
    summary = write_report("findings", path, out)
    assert summary["active"] == 5 and summary["by_status"]["dismissed"] == 1
    wb = load_workbook(out)
    assert wb.sheetnames == ["Tổng hợp", "Theo xã phường", "Vi phạm"]
    rows = list(wb["Vi phạm"].iter_rows(min_row=5, values_only=True))
    assert len(rows) == 5  # open findings only; the dismissed one is counted in the summary
    communes_seen = [r[1] for r in rows]
    assert communes_seen == sorted(communes_seen, key=lambda c: c[-6:-1])  # grouped by commune code
    untagged = [r for r in rows if r[3] == "cable_untagged"]
    assert len(untagged) == 4 and all(r[5].startswith("QCVN 33:2019/BTTTT") for r in untagged)
    assert {r[2] for r in untagged} == {"Viettel (VTL)", "MobiFone (MBF)"}
    assert all(isinstance(r[10], float) and isinstance(r[11], float) for r in rows)
    summary_rows = {r[0]: r for r in wb["Tổng hợp"].iter_rows(min_row=7, values_only=True)}
    assert summary_rows["cable_untagged"][4] == 4 and summary_rows["spare_cable_too_long"][7] == 1
    by_commune = {r[0]: r[1:] for r in wb["Theo xã phường"].iter_rows(min_row=6, values_only=True)}
    assert by_commune["Cộng"][-1] == 5  # the active ones; columns: the rules with any, then the total
    assert sorted(v[-1] for k, v in by_commune.items() if k != "Cộng") == [1, 4]
    only_b = write_report("findings", path, tmp_path / "b.xlsx", commune=b.code)
    assert only_b["active"] == 1 and b.code in only_b["scope"]
    only_mbf = write_report("findings", path, tmp_path / "mbf.xlsx", operator="MobiFone")
    assert only_mbf["active"] == 1 and "MobiFone (MBF)" in only_mbf["scope"]
    rows = list(load_workbook(tmp_path / "mbf.xlsx")["Vi phạm"].iter_rows(min_row=5, values_only=True))
    assert [(r[2], r[3]) for r in rows] == [("MobiFone (MBF)", "cable_untagged")]


def test_pdf_report_has_numbered_pages_and_the_findings(checked, tmp_path):
    path, a, b = checked
    out = tmp_path / "vi_pham.pdf"
    summary = write_report("findings", path, out, details="all")
    reader = PdfReader(out)
    assert len(reader.pages) == summary["pages"] >= 1
    texts = [p.extract_text() for p in reader.pages]
    for i, t in enumerate(texts, start=1):
        assert f"Trang {i}/{len(texts)}" in t
    text = "\n".join(texts)
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "BÁO CÁO", "Phạm vi: Toàn tỉnh Hà Tĩnh",
                   "QCVN 33:2019/BTTTT", "Cáp không có thẻ nhận dạng", "Viettel (VTL): 3",
                   "MobiFone (MBF): 1", "T-0001", "NGƯỜI LẬP BÁO CÁO"):
        assert needle in text, needle
    assert len(re.findall(r"Phát hiện ngày \d\d/\d\d/\d{4}", text)) == 5
    # The site's photo is drawn as a thumbnail: one image on the page that lists the site.
    images = sum(len(p.images) for p in reader.pages)
    assert images == 1


def test_pdf_of_many_findings_spans_pages_with_repeated_headers(rules_db, tmp_path):
    build = Builder(rules_db, communes(rules_db, 1)[0])
    for i in range(60):
        build.pole(i * 30, tagged=False)
    run_check(rules_db, rule_ids=["cable_untagged"])
    rules_db.close()
    out = tmp_path / "many.pdf"
    summary = write_report("findings", rules_db.path, out, details="all")
    reader = PdfReader(out)
    assert summary["pages"] == len(reader.pages) >= 3
    later = [p.extract_text() for p in reader.pages[2:]]
    assert all("Nội dung, căn cứ" in t for t in later if "T-00" in t)  # the table header repeats


def test_report_refuses_other_formats_and_cli_json(checked, tmp_path):
    path, a, _ = checked
    with pytest.raises(InvalidInputError):
        write_report("findings", path, tmp_path / "x.docx")
    out = subprocess.run([sys.executable, "-m", "hatang_desktop.cli", "report", "findings", str(path),
                          str(tmp_path / "a.pdf"), "--commune", a.code, "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["report"] == "findings" and doc["active"] == 4 and doc["pages"] >= 1
