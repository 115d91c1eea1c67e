"""`hatang report map`: one landscape page that reads back with its title, places, legend, scale
bar and grid in Vietnamese, a map that is not blank, a basemap with its attribution, and a bad
commune code refused with exit 2 and no file."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import sqlite3
import subprocess
import sys

import numpy as np
from PIL import Image
from pypdf import PdfReader

from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.mbtiles import write_mbtiles
from hatang_desktop.core.reports import write_report
from hatang_desktop.core.reports.findings import vn_date


def _hatang(*args, cwd):
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _busiest_commune(db_path) -> tuple[str, str, float, float, float, float]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT a.code, a.name, a.min_lon, a.min_lat, a.max_lon, a.max_lat FROM sites s "
            "JOIN admin_units a ON a.code = s.commune_code WHERE s.deleted = 0 AND a.boundary IS NOT NULL "
            "GROUP BY a.code ORDER BY count(*) DESC LIMIT 1").fetchone()
    finally:
        conn.close()


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def _render(pdf, tmp_path, dpi=150) -> Image.Image:
    stem = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(stem)], check=True)
    return Image.open(f"{stem}.png").convert("RGB")


def test_map_sheet_from_the_command_line(sample_db_path, tmp_path):
    code, name, *_ = _busiest_commune(sample_db_path)
    out = tmp_path / "ban_do.pdf"
    result = _hatang("report", "map", sample_db_path, out, "--commune", code, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["report"] == "map" and summary["commune_name"] == name and summary["sites"] > 0
    assert summary["scale"] in (2_000, 5_000, 10_000, 25_000, 50_000, 100_000)

    reader = PdfReader(out)
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape

    text = _text(out)
    assert "BẢN ĐỒ HẠ TẦNG VIỄN THÔNG THỤ ĐỘNG" in text
    assert name.upper() in text and "TỈNH HÀ TĨNH" in text
    assert f"Hà Tĩnh, {vn_date(dt.date.today())}" in text
    assert f"Tỉ lệ 1:{summary['scale']:,}".replace(",", ".") in text
    for entry in ("CHÚ GIẢI", "Trạm BTS theo doanh nghiệp", "Viettel", "Cột treo cáp", "Ranh giới xã/phường"):
        assert entry in text
    assert re.search(r"\d+(,\d+)? k?m", text)  # the scale bar's round length
    plain = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"10\d°\d\d'(\d\d\")?E", plain) and re.search(r"1\d°\d\d'(\d\d\")?N", plain)  # graticule
    assert "WGS84" in text
    conn = sqlite3.connect(sample_db_path)
    first_village = conn.execute("SELECT name FROM admin_units WHERE level = 'village' AND parent_code = ? "
                                 "ORDER BY code LIMIT 1", (code,)).fetchone()[0]
    conn.close()
    assert first_village in " ".join(text.split())  # place names to find one's way

    page = np.asarray(_render(out, tmp_path), dtype=float)
    assert page.shape[1] > page.shape[0]
    # The map frame (left two thirds, below the title) has drawing in it, not a blank page.
    h, w, _ = page.shape
    area = page[int(h * 0.2):int(h * 0.9), int(w * 0.1):int(w * 0.65)]
    assert area.std() > 20
    coloured = (np.abs(area[..., 0] - area[..., 1]) > 60).mean()  # operator colours, not just grey lines
    assert coloured > 0.001




def test_bad_commune_code_exits_2_and_writes_nothing(sample_db_path, tmp_path):
    out = tmp_path / "ban_do.pdf"
    result = _hatang("report", "map", sample_db_path, out, "--commune", "99999", cwd=tmp_path)
    assert result.returncode == 2
    assert "không có xã/phường này" in result.stderr and "no such commune" in result.stderr
    assert list(tmp_path.glob("*.pdf")) == [] and list(tmp_path.glob(".hatang-*")) == []
    result = _hatang("report", "map", sample_db_path, out, cwd=tmp_path)
    assert result.returncode == 2 and "--commune" in result.stderr and not out.exists()
    result = _hatang("report", "findings", sample_db_path, out, "--paper", "A3", cwd=tmp_path)
    assert result.returncode == 2 and "--paper" in result.stderr and not out.exists()


def test_a3_with_vn2000_grid(sample_db_path, tmp_path):
    code, *_ = _busiest_commune(sample_db_path)
    out = tmp_path / "a3.pdf"
    summary = write_report("map", sample_db_path, out, commune=code, paper="A3", grid="vn2000")
    width, height = (float(v) for v in PdfReader(out).pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (1191, 842)  # A3 landscape
    text = _text(out)
    assert "VN-2000, kinh tuyến trục 105°30'" in " ".join(text.split())  # Hà Tĩnh's provincial meridian
    # Northings of Hà Tĩnh (~2.0e6 m) as labels in metres, with Vietnamese thousands dots.
    assert re.search(r"\b[12]\.\d{3}\.\d00\b", text)
    assert summary["paper"] == "A3"


def _tile_png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_basemap_drawn_with_its_attribution(sample_db_path, tmp_path):
    code, _, w, s, e, n = _busiest_commune(sample_db_path)
    z = 11
    tiles = {}
    size = 2 * math.pi * 6378137 / (1 << z)
    (x0, x1), (y0, y1) = lonlat_to_mercator(np.array([w - 0.1, e + 0.1]), np.array([s - 0.1, n + 0.1]))
    for tx in range(int((x0 + math.pi * 6378137) // size), int((x1 + math.pi * 6378137) // size) + 1):
        for ty in range(int((math.pi * 6378137 - y1) // size), int((math.pi * 6378137 - y0) // size) + 1):
            tiles[(z, tx, ty)] = _tile_png((120, 200, 120))
    mbtiles = write_mbtiles(tmp_path / "nen.mbtiles", tiles, name="nen thu")
    conn = sqlite3.connect(mbtiles)
    conn.execute("INSERT INTO metadata VALUES ('attribution', '© Sở Nông nghiệp và Môi trường Hà Tĩnh')")
    conn.commit(); conn.close()
    out = tmp_path / "nen.pdf"
    write_report("map", sample_db_path, out, commune=code, basemap=mbtiles)
    assert "Bản đồ nền: © Sở Nông nghiệp và Môi trường Hà Tĩnh" in " ".join(_text(out).split())
    page = np.asarray(_render(out, tmp_path, dpi=60), dtype=int)
    h, w_px, _ = page.shape
    area = page[int(h * 0.25):int(h * 0.85), int(w_px * 0.1):int(w_px * 0.65)]
    green = ((area[..., 0] == 120) & (area[..., 1] == 200) & (area[..., 2] == 120)).mean()
    assert green > 0.5  # the basemap fills the frame under the drawing


def test_commune_known_by_its_centre_only(sample_db_path, tmp_path):
    """A commune whose boundary is not loaded yet is still mapped, around its official centre."""
    code, name, *_ = _busiest_commune(sample_db_path)
    conn = sqlite3.connect(sample_db_path)
    conn.execute("UPDATE admin_units SET boundary = NULL WHERE code = ?", (code,))
    conn.commit(); conn.close()
    out = tmp_path / "tam.pdf"
    summary = write_report("map", sample_db_path, out, commune=code)
    assert summary["sites"] > 0 and name.upper() in _text(out)
    text = _text(out)
    assert "Ranh giới xã/phường lân cận" in text
    assert not re.search(r"Ranh giới xã/phường(?! lân cận)", text)  # no own boundary drawn, none in the legend


def test_map_sheet_from_a_server_database(sample_db_path, server_sample_url, tmp_path):
    """The department prints from its server as from a file: the same commune, the same drawing."""
    code, name, *_ = _busiest_commune(sample_db_path)
    local = write_report("map", sample_db_path, tmp_path / "tep.pdf", commune=code)
    served = write_report("map", server_sample_url, tmp_path / "may_chu.pdf", commune=code)
    assert {k: served[k] for k in ("scale", "sites", "poles", "routes")} == \
        {k: local[k] for k in ("scale", "sites", "poles", "routes")}
    assert name.upper() in _text(tmp_path / "may_chu.pdf")
