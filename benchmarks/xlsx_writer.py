"""Excel writer speed: 100k rows x 21 columns, each backend, with GDAL's ogr2ogr as the reference.

    python benchmarks/xlsx_writer.py [--rows N] [--backends direct,rust,openpyxl]

Prints seconds, rows/s and the ratio to `ogr2ogr -f XLSX` (from a CSV of the same rows, timed in
the same run) when ogr2ogr is installed. Rows are built beforehand (ogr2ogr's CSV is too), so
both sides time only the writing; building them is printed separately.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from hatang_desktop.core.exchange.xlsx_writer import (
    SheetData,
    WriterColumn,
    rust_available,
    write_workbook,
)

COMMUNES = tuple(f"Phường Thành Sen ({18073 + i})" for i in range(70))
OPERATORS = ("Viettel", "VNPT-Vinaphone", "MobiFone", "Vietnamobile", "Gtel")

COLUMNS = [
    WriterColumn("Mã định danh (UUID)", 38, system=True),
    WriterColumn("Phiên bản", 8, "0", system=True),
    WriterColumn("Cập nhật lúc", 18, "dd/mm/yyyy hh:mm", system=True),
    WriterColumn("Mã trạm", 12),
    WriterColumn("Tên trạm", 30),
    WriterColumn("Nhà mạng", 16, choices=OPERATORS),
    WriterColumn("Xã/Phường", 30, choices=COMMUNES),
    WriterColumn("Địa chỉ", 40),
    WriterColumn("Vĩ độ", 12, "0.0000000"),
    WriterColumn("Kinh độ", 12, "0.0000000"),
    WriterColumn("Chiều cao cột (m)", 10, "0.0"),
    WriterColumn("Độ cao đặt anten (m)", 10, "0.0"),
    WriterColumn("Công nghệ", 12),
    WriterColumn("Số sector", 8, "0"),
    WriterColumn("Công suất (W)", 10),
    WriterColumn("Ngày lắp đặt", 12, "dd/mm/yyyy"),
    WriterColumn("Ngày cấp phép", 12, "dd/mm/yyyy"),
    WriterColumn("Dùng chung", 10, choices=("Có", "Không")),
    WriterColumn("Loại trạm", 14),
    WriterColumn("Số thuê bao", 10, "0"),
    WriterColumn("Ghi chú", 30),
]


def make_rows(n: int, seed: int = 7):
    rnd = random.Random(seed)
    base = dt.date(2015, 1, 1)
    for i in range(n):
        yield (
            str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            rnd.randint(1, 9),
            dt.datetime(2024, 1, 1) + dt.timedelta(minutes=rnd.randint(0, 500_000)),
            f"HTH{i:06d}",
            f"Trạm BTS {rnd.choice(('Đồng Đăng', 'Hồng Lĩnh', 'Thạch Hà', 'Kỳ Anh'))} {i}",
            rnd.choice(OPERATORS),
            rnd.choice(COMMUNES),
            f"Số {rnd.randint(1, 300)} đường Trần Phú, tổ dân phố {rnd.randint(1, 20)}",
            18.0 + rnd.random(),
            105.5 + rnd.random(),
            round(rnd.uniform(15, 60), 1),
            round(rnd.uniform(10, 50), 1),
            rnd.choice(("2G/3G/4G", "4G", "4G, 5G")),
            rnd.randint(1, 6),
            rnd.choice((20, 40, 80)),
            base + dt.timedelta(days=rnd.randint(0, 3000)),
            base + dt.timedelta(days=rnd.randint(0, 3000)),
            rnd.choice(("Có", "Không")),
            rnd.choice(("Macro", "Small cell", "Indoor")),
            rnd.randint(0, 5000),
            None if rnd.random() < 0.7 else "Cột dùng chung với VNPT",
        )


def time_backend(backend: str, rows: list, out: Path) -> float:
    start = time.perf_counter()
    write_workbook(out, [SheetData("Trạm BTS", COLUMNS, rows)], backend=backend)
    return time.perf_counter() - start


def time_ogr2ogr(rows: list, folder: Path) -> float | None:
    if shutil.which("ogr2ogr") is None:
        return None
    src = folder / "tram_bts.csv"
    with src.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([c.header for c in COLUMNS])
        for row in rows:
            w.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v
                        for v in row])
    out = folder / "ogr.xlsx"
    start = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "XLSX", str(out), str(src), "-oo", "AUTODETECT_TYPE=YES"],
        check=True, capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="direct,rust,openpyxl")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b != "rust" or rust_available()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        rows = list(make_rows(args.rows))
        print(f"{args.rows} rows x {len(COLUMNS)} columns (built in {time.perf_counter() - start:.2f} s)")
        reference = time_ogr2ogr(rows, folder)
        if reference is None:
            print("ogr2ogr: not installed (apt-get install gdal-bin), no reference")
        else:
            print(f"{'ogr2ogr -f XLSX':18} {reference:7.2f} s {args.rows / reference:10,.0f} rows/s"
                  f"   (reference; CSV written beforehand, not timed)")
        for backend in backends:
            out = folder / f"{backend}.xlsx"
            seconds = time_backend(backend, rows, out)
            line = (f"{backend:18} {seconds:7.2f} s {args.rows / seconds:10,.0f} rows/s"
                    f"   {out.stat().st_size / 1e6:6.1f} MB")
            if reference is not None:
                line += f"   {reference / seconds:5.2f}x ogr2ogr's rate"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
