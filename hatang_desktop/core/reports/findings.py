"""`hatang report findings DB OUT.{xlsx,pdf} [--commune CODE] [--year Y]`: the inspection report.

What the inspector hands to the operators and the department: the findings still being worked on
(open or confirmed), grouped by commune and then by operator, each with its record, position,
note and (in the PDF) a thumbnail of its first photo; a summary per rule with the legal reference
and the counts by status. The PDF has the look of an official document: the issuing body and the
national motto, place and date, title, scope, page x/y on every page, a signature block. Written
in Vietnamese with the shipped DejaVu Sans, so diacritics print on any machine.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import schema
from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..operators import BY_CODE
from ..rules.check import list_findings
from ..rules.definitions import MANUAL_RULE, load_rules
from ..storage.database import Database
from ..storage.dialect import raw

ACTIVE = ("open", "confirmed")
# The report's words for codes, from forms/ (the finding form's value lists, the record types' short labels).
STATUS_VI = {c.code: c.vi for c in schema.forms().lists["finding_statuses"].choices}
SEVERITY_VI = {c.code: c.vi for c in schema.forms().lists["severities"].choices}
TARGET_VI = {c.code: schema.record_label(c.code, "vi", short=True)
             for c in schema.forms().lists["finding_targets"].choices}
NO_COMMUNE = "Chưa xác định xã/phường"
NO_OPERATOR = "Chưa xác định doanh nghiệp"
THUMB_PX = 160


@dataclass
class ReportData:
    province: str
    scope: str
    today: dt.date
    rules: dict  # rule id -> (title vi, reference text, severity)
    findings: pd.DataFrame  # every finding in scope
    photos: dict[str, bytes] = field(default_factory=dict)  # finding uuid -> JPEG thumbnail

    @property
    def active(self) -> pd.DataFrame:
        return self.findings[self.findings["status"].isin(ACTIVE)]


def _operator_name(code) -> str:
    if not isinstance(code, str) or not code:
        return NO_OPERATOR
    op = BY_CODE.get(code)
    return f"{op.brand} ({code})" if op else code


def _place(province: str) -> str:
    for prefix in ("Tỉnh ", "Thành phố "):
        if province.startswith(prefix):
            return province[len(prefix):]
    return province


def vn_date(day: dt.date) -> str:
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _position(lat, lon) -> str:
    if lat is None or lon is None or pd.isna(lat) or pd.isna(lon):
        return "—"
    return f"{lat:.6f}, {lon:.6f}"


def _rule_title(data: ReportData, rule_id) -> str:
    if not isinstance(rule_id, str) or rule_id in ("", MANUAL_RULE):
        return "Ghi nhận của thanh tra (khác)"
    return data.rules.get(rule_id, (rule_id, "", ""))[0]


def _rule_reference(data: ReportData, rule_id) -> str:
    if not isinstance(rule_id, str) or rule_id not in data.rules:
        return "—"
    return data.rules[rule_id][1]


# -- gathering -----------------------------------------------------------------------------

def _thumbnails(db: Database, frame: pd.DataFrame) -> dict[str, bytes]:
    """The first photo of each finding, else of its record (a pole attachment: of its pole)."""
    if frame.empty:
        return {}
    from PIL import Image

    with db.session() as s:
        conn = raw(s)
        poles = dict(conn.execute(
            "SELECT a.uuid, a.pole_uuid FROM pole_attachments a JOIN findings f ON f.target_uuid = a.uuid "
            "WHERE f.deleted = 0").fetchall())
        photos: dict[str, tuple] = {}
        for owner, name, data in conn.execute(
                "SELECT owner_uuid, file_name, data FROM photos WHERE deleted = 0 "
                "ORDER BY coalesce(taken_at, ''), id").fetchall():
            photos.setdefault(owner, (name, data))
    if not photos:
        return {}
    out = {}
    for uuid, target in zip(frame["uuid"], frame["target_uuid"]):
        hit = photos.get(uuid) or photos.get(target) or photos.get(poles.get(target, ""))
        if hit is None:
            continue
        name, blob = hit
        try:
            if blob is None:
                from ..photos import photo_path  # files kept beside the database

                blob = photo_path(db.path, name).read_bytes()
            image = Image.open(io.BytesIO(blob))
            image.thumbnail((THUMB_PX, THUMB_PX))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=80)
            out[uuid] = buffer.getvalue()
        except Exception:  # a missing or damaged photo file leaves the cell empty, never the report
            continue
    return out


def gather(db: Database, *, commune: str | None = None, year: int | None = None,
           with_photos: bool = True) -> ReportData:
    with db.session() as s:
        meta = dict(raw(s).execute("SELECT key, value FROM meta").fetchall())
    province = meta.get("province_name") or "Tỉnh"
    scope = f"Toàn {province[0].lower()}{province[1:]}" if province else "Toàn bộ cơ sở dữ liệu"
    if commune:
        with db.session() as s:
            row = raw(s).execute(
                "SELECT name FROM admin_units WHERE code = ? AND deleted = 0", (commune,)).fetchone()
        if row is None:
            raise InvalidInputError(f"--commune {commune}: không có xã/phường này / no such commune")
        scope = f"{row[0]} ({commune}), {province}"
    frame = list_findings(db, commune=commune)
    if year:
        frame = frame[frame["found_on"].astype(str).str.startswith(str(year))]
        scope += f"; năm {year}"
    rules = {r.id: (r.title["vi"], r.reference_text, r.severity) for r in load_rules()}
    data = ReportData(province, scope, dt.date.today(), rules, frame.reset_index(drop=True))
    if with_photos:
        data.photos = _thumbnails(db, data.active)
    return data


def grouped(frame: pd.DataFrame):
    """(commune label, [(operator label, rows)]) in commune code, then operator order."""
    frame = frame.assign(
        _commune=[f"{n} ({c})" if isinstance(c, str) and isinstance(n, str) else NO_COMMUNE
                  for c, n in zip(frame["commune_code"], frame["commune_name"])],
        _op=[_operator_name(c) for c in frame["operator_code"]],
        _code=frame["commune_code"].fillna("~"))
    out = []
    for (_, commune), part in frame.groupby(["_code", "_commune"], sort=True):
        ops = [(op, rows.sort_values(["rule_id", "record"], na_position="last"))
               for op, rows in part.groupby("_op", sort=True)]
        out.append((commune, ops))
    return out


def summary_rows(data: ReportData) -> list[dict]:
    rows = []
    frame = data.findings
    ids = [r for r in data.rules] + sorted({r for r in frame["rule_id"].dropna().unique()
                                            if r not in data.rules})
    has_manual = frame["rule_id"].isna() | (frame["rule_id"] == MANUAL_RULE)
    for rule_id in ids + ([MANUAL_RULE] if has_manual.any() else []):
        part = frame[has_manual] if rule_id == MANUAL_RULE else frame[frame["rule_id"] == rule_id]
        counts = {s: int((part["status"] == s).sum()) for s in STATUS_VI}
        severity = data.rules.get(rule_id, ("", "", "violation"))[2]
        rows.append({"rule_id": rule_id, "title": _rule_title(data, rule_id),
                     "reference": _rule_reference(data, rule_id), "severity": SEVERITY_VI.get(severity, ""),
                     **counts})
    return rows


# -- writing ---------------------------------------------------------------------------------

def write(db_path: Path, out_path: Path, *, commune: str | None = None, year: int | None = None) -> dict:
    kind = out_path.suffix.lower()
    if kind not in (".pdf", ".xlsx"):
        raise InvalidInputError(f"{out_path}: báo cáo vi phạm ghi ra .pdf hoặc .xlsx / the findings "
                                "report is written as .pdf or .xlsx")
    if not out_path.parent.exists():
        raise InvalidInputError(f"{out_path}: thư mục không tồn tại / the folder does not exist")
    with Database.open(db_path, readonly=True) as db:
        data = gather(db, commune=commune, year=year, with_photos=kind == ".pdf")
    # Written beside the target and moved into place: a failed report never leaves half a file.
    with atomic_output(out_path) as tmp:
        if kind == ".pdf":
            from .findings_pdf import write_pdf

            pages = write_pdf(data, tmp)
        else:
            pages = None
            write_xlsx(data, tmp)
    summary = {"report": "findings", "out": str(out_path), "scope": data.scope,
               "findings": int(len(data.findings)), "active": int(len(data.active)),
               "by_status": {s: int((data.findings["status"] == s).sum()) for s in STATUS_VI}}
    if pages is not None:
        summary["pages"] = pages
    return summary


def write_xlsx(data: ReportData, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold, title_font = Font(bold=True), Font(bold=True, size=14)
    fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")

    def text(value):
        # A note typed as "=..." must stay text: never a formula in the department's Excel.
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
            return "'" + value
        return value

    def table(ws, start: int, headers, widths, rows) -> None:
        for col, (h, w) in enumerate(zip(headers, widths), start=1):
            c = ws.cell(row=start, column=col, value=h)
            c.font, c.fill, c.border, c.alignment = bold, fill, box, wrap
            ws.column_dimensions[get_column_letter(col)].width = w
        for r, values in enumerate(rows, start=start + 1):
            for col, v in enumerate(values, start=1):
                c = ws.cell(row=r, column=col, value=text(v))
                c.border, c.alignment = box, wrap
        ws.freeze_panes = ws.cell(row=start + 1, column=1)
        ws.auto_filter.ref = f"A{start}:{get_column_letter(len(headers))}{start + max(1, len(rows))}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = f"{start}:{start}"

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws["A1"] = "BÁO CÁO KẾT QUẢ KIỂM TRA HẠ TẦNG VIỄN THÔNG THỤ ĐỘNG"
    ws["A1"].font = title_font
    ws["A2"] = f"Phạm vi: {data.scope}"
    ws["A3"] = f"{_place(data.province)}, {vn_date(data.today)}"
    ws["A4"] = (f"Vi phạm đang xử lý: {len(data.active)}; tổng số đã ghi nhận: {len(data.findings)}")
    headers = (schema.field_label("findings", "rule_id"), "Nội dung", "Căn cứ pháp lý",
               schema.field_label("findings", "severity"), *STATUS_VI.values())
    rows = [(r["rule_id"], r["title"], r["reference"], r["severity"], *(r[s] for s in STATUS_VI))
            for r in summary_rows(data)]
    table(ws, 6, headers, (30, 50, 40, 11, 12, 12, 12, 10), rows)

    ws = wb.create_sheet("Vi phạm")
    label = functools.partial(schema.field_label, "findings")  # the finding form's own words
    headers = ("STT", "Xã/phường", "Doanh nghiệp", label("rule_id"), "Nội dung quy tắc",
               "Căn cứ pháp lý", label("severity"), label("status"), label("target_table"), "Đối tượng",
               label("lat"), label("lon"), label("found_on"), "Ghi chú", label("inspector"), "UUID vi phạm",
               label("target_uuid"))
    rows = []
    n = 0
    for commune, ops in grouped(data.active):
        for op, part in ops:
            for f in part.itertuples(index=False):
                n += 1
                rows.append((n, commune, op, f.rule_id, _rule_title(data, f.rule_id),
                             _rule_reference(data, f.rule_id), SEVERITY_VI.get(f.severity, f.severity),
                             STATUS_VI.get(f.status, f.status), TARGET_VI.get(f.target_table, f.target_table),
                             f.record, None if pd.isna(f.lat) else float(f.lat),
                             None if pd.isna(f.lon) else float(f.lon), str(f.found_on), f.note,
                             f.inspector if isinstance(f.inspector, str) else None, f.uuid, f.target_uuid))
    ws["A1"] = "DANH SÁCH VI PHẠM ĐANG XỬ LÝ (theo xã/phường và doanh nghiệp)"
    ws["A1"].font = title_font
    ws["A2"] = f"Phạm vi: {data.scope}"
    table(ws, 4, headers, (6, 26, 22, 26, 40, 30, 10, 14, 14, 22, 11, 11, 13, 50, 18, 38, 38), rows)
    buffer = io.BytesIO()
    wb.save(buffer)  # in memory first: openpyxl leaves its zip file open when a write fails, to fail again at exit
    Path(path).write_bytes(buffer.getvalue())
