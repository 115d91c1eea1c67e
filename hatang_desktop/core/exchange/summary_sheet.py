"""The workbook's first pages: the summary ("Tổng hợp") and the counts per commune.

The summary is what a department officer reads and prints first, on one landscape page: a title,
the scope (the province, or the commune of a commune export), when and by whom the workbook was
exported, the totals, and the operators with their technologies. The counts per commune go on a
sheet of their own ("Tổng hợp theo xã"), a table that runs over as many pages as a province's
communes need. Both are counted by the database over the live records in scope; sites to verify
(reference points nobody has checked) are not counted: their sheet rows still carry them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from .. import schema
from ..forms import TECH_COLUMNS, Label
from .layout import COMMUNE_SUMMARY_SHEET, operator_label
from .xlsx_writer import WriterColumn

WORKBOOK_TITLE = Label("Hạ tầng kỹ thuật viễn thông thụ động", "Passive telecom infrastructure")
SUMMARY_TITLE = Label("TỔNG HỢP HẠ TẦNG KỸ THUẬT VIỄN THÔNG THỤ ĐỘNG", "PASSIVE TELECOM INFRASTRUCTURE SUMMARY")
COMMUNE_SHEET = Label(COMMUNE_SUMMARY_SHEET["vi"], COMMUNE_SUMMARY_SHEET["en"])
TOTAL = "Tổng cộng"   # the total row's label (scripts and tests look it up)

_SITES, _POLES, _ROUTES = (schema.form(t).sheet.vi for t in ("sites", "poles", "fibre_routes"))
SUMMARY_HEADER = ["Tổng hợp", _SITES, "Trạm dùng chung", "Tỷ lệ dùng chung (%)", _POLES, _ROUTES]
COMMUNE_HEADER = ["Theo xã/phường", *SUMMARY_HEADER[1:]]
OPERATOR_HEADER = ["Theo doanh nghiệp", "Trạm có mặt", "2G", "3G", "4G", "5G"]
_WIDTHS = (26, 14, 16, 16, 14, 16)


@dataclass
class Summary:
    """What the two sheets show. A forked export worker builds one with the same preamble and no
    rows: the sheets' styles must be assigned alike in both processes."""
    preamble: tuple[str, ...]
    rows: list[list] = field(default_factory=list)
    communes: list[list] = field(default_factory=list)


def scope_text(meta: dict, communes: dict[str, str], commune: str | None) -> str:
    """"Tỉnh Hà Tĩnh", or "Phường Thành Sen (42073), Tỉnh Hà Tĩnh" for a commune export."""
    province = str(meta.get("province_name") or meta.get("province_code") or "")
    if commune is None:
        return province
    return f"{communes.get(commune, commune)} ({commune})" + (f", {province}" if province else "")


def export_note(when: dt.datetime, user: str, lang: str = "vi") -> str:
    """When and by whom, as the page footers and the summary say it (local time)."""
    stamp = when.strftime("%d/%m/%Y %H:%M")
    return f"Xuất ngày {stamp} · người xuất: {user}" if lang == "vi" else f"Exported {stamp} by {user}"


def preamble(scope: str, when: dt.datetime, user: str, lang: str = "vi") -> tuple[str, ...]:
    if lang == "vi":
        lines = (f"Phạm vi: {scope}", f"Ngày xuất: {when:%d/%m/%Y %H:%M}", f"Người xuất: {user}")
    else:
        lines = (f"Scope: {scope}", f"Exported: {when:%d/%m/%Y %H:%M}", f"Exported by: {user}")
    return (SUMMARY_TITLE(lang), *lines, "")


def columns(headers: list[str]) -> list[WriterColumn]:
    return [WriterColumn(h, w) for h, w in zip(headers, _WIDTHS)]


def count(conn, communes: dict[str, str], commune: str | None) -> tuple[list[list], list[list]]:
    """(the summary's rows, the per-commune rows), counted by the database."""
    where, params = ("", ()) if commune is None else (" AND s.commune_code = ?", (commune,))
    checked = " AND s.status <> 'to_verify'"

    def per_commune(sql: str) -> Counter:
        return Counter(dict(conn.execute(sql, params).fetchall()))

    sites = per_commune(f"SELECT s.commune_code, count(*) FROM sites s WHERE s.deleted = 0{checked}{where} "
                        "GROUP BY s.commune_code")
    shared = per_commune(
        f"SELECT s.commune_code, count(*) FROM sites s WHERE s.deleted = 0{checked}{where} AND (SELECT count(DISTINCT "
        "t.operator_code) FROM site_tenants t WHERE t.site_uuid = s.uuid AND t.deleted = 0) >= 2 "
        "GROUP BY s.commune_code")
    poles = per_commune(f"SELECT s.commune_code, count(*) FROM poles s WHERE s.deleted = 0{where} "
                        "GROUP BY s.commune_code")
    routes = per_commune(f"SELECT s.commune_code, count(*) FROM fibre_routes s WHERE s.deleted = 0{where} "
                         "GROUP BY s.commune_code")

    def line(label: str, n: int, n_shared: int, n_poles: int, n_routes: int) -> list:
        return [label, n, n_shared, round(100 * n_shared / n, 1) if n else None, n_poles, n_routes]

    by_commune = [line(communes.get(code, code or "(chưa rõ xã)"), sites.get(code, 0), shared.get(code, 0),
                       poles.get(code, 0), routes.get(code, 0))
                  for code in sorted(set(sites) | set(poles) | set(routes), key=lambda c: communes.get(c, c or ""))]
    total = line(TOTAL, sum(sites.values()), sum(shared.values()), sum(poles.values()), sum(routes.values()))

    # Counted, not summed: a comparison is a number on SQLite but a boolean on PostgreSQL.
    techs = ", ".join(f"count(CASE WHEN t.{c} != 0 THEN 1 END)" for c in TECH_COLUMNS.values())
    by_op = conn.execute(
        f"SELECT t.operator_code, count(*), {techs} FROM site_tenants t JOIN sites s ON s.uuid = t.site_uuid "
        f"WHERE t.deleted = 0 AND s.deleted = 0{checked}{where} GROUP BY t.operator_code", params).fetchall()
    rows = [total, [None] * 6, OPERATOR_HEADER]
    rows += [[operator_label(op), *acc] for op, *acc in sorted(by_op, key=lambda r: -r[1])]
    if commune is None:
        rows += [[None] * 6, [f"Số liệu theo từng xã/phường: trang “{COMMUNE_SHEET.vi}”.", None, None, None, None,
                              None]]
    return rows, by_commune + [total]
