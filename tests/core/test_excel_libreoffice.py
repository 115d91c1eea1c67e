"""An exported workbook opens in LibreOffice (headless) and converts to CSV with Vietnamese intact."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.model import Site
from hatang_desktop.core.storage.database import Database

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (CI: .ci/setup --test)")
def test_libreoffice_reads_the_sites_sheet_with_vietnamese_text(sample_db_path, tmp_path):
    with Database.open(sample_db_path) as db:
        with db.operation("tên tiếng Việt") as s:
            site = s.scalars(select(Site).where(Site.deleted.is_(False)).order_by(Site.id)).first()
            site.name = "Trạm Đồng Hới – Ngã ba Lý Thường Kiệt"
            site.address = "Thôn Phú Mỹ, xã Cẩm Xuyên, tỉnh Hà Tĩnh"
            uuid = site.uuid
        book = tmp_path / "sổ_xuất.xlsx"
        export_workbook(db, book)
    out = tmp_path / "csv"
    out.mkdir()
    env = dict(os.environ, HOME=str(tmp_path))  # LibreOffice needs a writable profile folder
    # Sheet 3 is "Trạm BTS" (1 is the summary, 2 the counts per commune). Filter options: comma,
    # quote, UTF-8, line 1, then the sheet number (LibreOffice 7.2+).
    subprocess.run([SOFFICE, "--headless", "--norestore", "--convert-to",
                    'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,3',
                    "--outdir", str(out), str(book)], env=env, check=True, capture_output=True, timeout=180)
    produced = sorted(out.glob("*.csv"))
    assert produced, "LibreOffice wrote no CSV"
    rows = list(csv.reader(produced[0].open(encoding="utf-8")))
    header = rows[0]
    assert "Tên trạm" in header and "Địa chỉ" in header and "Xã/phường" in header
    by_uuid = {r[header.index("UUID (không sửa)")]: r for r in rows[1:]}
    mine = by_uuid[uuid]
    assert mine[header.index("Tên trạm")] == "Trạm Đồng Hới – Ngã ba Lý Thường Kiệt"
    assert mine[header.index("Địa chỉ")] == "Thôn Phú Mỹ, xã Cẩm Xuyên, tỉnh Hà Tĩnh"
    assert len(rows) - 1 == len(by_uuid) >= 250
