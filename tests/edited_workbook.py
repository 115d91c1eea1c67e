"""A workbook exported from a database and edited with openpyxl as a person edits it in Excel: a
site typed in with only its code, operator and position, two sites changed, one site marked for
deletion (one that has tenants). The import preview tests read what it says about each."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.storage.database import Database

SITES = "Trạm BTS"
NEW_CODE = "VT_SO_MOI"


@dataclass
class Edited:
    path: Path
    new_position: tuple[float, float]       # (lat, lon) of the typed site
    renamed: str                            # uuid of the site whose name and height changed
    old_name: str
    old_height: float | None
    retyped: str                            # uuid of the site whose tower type changed
    old_tower: str | None
    deleted: str                            # uuid of the site marked for deletion
    deleted_code: str
    deleted_tenants: list[str]              # operator codes of its live tenants


def edit_exported(db_path: Path, book: Path, new_position: tuple[float, float] | None = None) -> Edited:
    """Export the database's workbook to `book`, then edit it (see the module). The typed site
    stands at `new_position`, else a little off the first site."""
    with Database.open(db_path) as db:
        export_workbook(db, book)
    with sqlite3.connect(db_path) as conn:
        tenants = {}
        for site, op in conn.execute("SELECT site_uuid, operator_code FROM site_tenants WHERE deleted = 0 ORDER BY id"):
            tenants.setdefault(site, []).append(op)
    wb = openpyxl.load_workbook(book)
    ws = wb[SITES]
    col = {c.value: c.column for c in ws[1]}

    def cell(row, header):
        return ws.cell(row=row, column=col[header])

    rows = [r for r in range(2, ws.max_row + 1) if cell(r, "UUID (không sửa)").value]
    uuid = {r: cell(r, "UUID (không sửa)").value for r in rows}
    with_tenants = next(r for r in rows if len(tenants.get(uuid[r], [])) >= 2)
    renamed, retyped = [r for r in rows if r != with_tenants and cell(r, "Tên trạm").value][:2]
    lat0, lon0 = float(cell(rows[0], "Vĩ độ").value), float(cell(rows[0], "Kinh độ").value)
    lat, lon = new_position or (lat0 + 0.004, lon0 - 0.003)

    edited = Edited(book, (lat, lon), uuid[renamed], cell(renamed, "Tên trạm").value,
                    cell(renamed, "Chiều cao cột (m)").value, uuid[retyped], cell(retyped, "Loại cột anten").value,
                    uuid[with_tenants], cell(with_tenants, "Mã trạm").value, tenants[uuid[with_tenants]])
    cell(renamed, "Tên trạm").value = "Trạm đổi tên ở Sở"
    cell(renamed, "Chiều cao cột (m)").value = 57
    # Between the tower types that may carry a building permit, so the permit cells stay valid.
    cell(retyped, "Loại cột anten").value = ("Cột dây co" if edited.old_tower != "Cột dây co"
                                             else "Cột tự đứng trên mặt đất")
    cell(with_tenants, "Xóa (ghi x)").value = "x"
    new = ws.max_row + 1
    for header, value in {"Mã trạm": NEW_CODE, "Doanh nghiệp": "Viettel", "Vĩ độ": lat, "Kinh độ": lon}.items():
        cell(new, header).value = value
    wb.save(book)
    return edited
