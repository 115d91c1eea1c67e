"""`hatang report findings DB OUT.{xlsx,pdf}`: the inspection report, summary first.

What the inspector hands to the operators and the department. The scope is the province, or what
`--commune CODE`, `--operator NAME`, `--severity LEVEL` and `--year Y` narrow it to; every count
and every listed finding is of that scope. The report leads with the summary a department official
reads first: per rule, the findings still being worked on (open or confirmed) by severity and the
ones closed; per commune, the findings per rule. The individual findings (record, position, note,
in the PDF a thumbnail of the first photo), grouped by commune and operator, follow only when
asked: `--details auto` (default) lists them when the scope is narrowed (a commune, an operator or
a severity), since the whole province's listing runs to hundreds of pages; `--details all` lists
them for any scope, `--details none` never. The PDF has the look of an official document: the
issuing body and the national motto, place and date, title, scope, page x/y on every page, a
signature block. Written in Vietnamese with the shipped DejaVu Sans, so diacritics print on any
machine.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import schema
from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..operators import BY_CODE, normalise_operator
from ..rules.check import list_findings
from ..rules.definitions import MANUAL_RULE, load_rules
from ..storage.database import Database
from ..storage.dialect import raw
from ..storage.targets import open_database

ACTIVE = ("open", "confirmed")
# The report's words for codes, from forms/ (the finding form's value lists, the record types' short labels).
STATUS_VI = {c.code: c.vi for c in schema.forms().lists["finding_statuses"].choices}
SEVERITY_VI = {c.code: c.vi for c in schema.forms().lists["severities"].choices}
TARGET_VI = {c.code: schema.record_label(c.code, "vi", short=True)
             for c in schema.forms().lists["finding_targets"].choices}
NO_COMMUNE = "Chưa xác định xã/phường"
NO_OPERATOR = "Chưa xác định doanh nghiệp"
THUMB_PX = 160
DETAILS = ("auto", "all", "none")


@dataclass
class ReportData:
    province: str
    scope: str
    today: dt.date
    rules: dict  # rule id -> (title vi, reference text, severity)
    findings: pd.DataFrame  # every finding in scope
    photos: dict[str, bytes] = field(default_factory=dict)  # finding uuid -> JPEG thumbnail
    details: bool = True  # list the individual findings after the summary

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
        # The first photo of each owner by id alone; only the ones the listed findings use are read.
        first: dict[str, int] = {}
        for owner, pid in conn.execute("SELECT owner_uuid, id FROM photos WHERE deleted = 0 "
                                       "ORDER BY coalesce(taken_at, ''), id").fetchall():
            first.setdefault(owner, pid)
        wanted = {}
        for uuid, target in zip(frame["uuid"], frame["target_uuid"]):
            pid = first.get(uuid) or first.get(target) or first.get(poles.get(target, ""))
            if pid is not None:
                wanted[uuid] = pid
        blobs = {}
        ids = sorted(set(wanted.values()))
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            blobs.update((pid, (name, data)) for pid, name, data in conn.execute(
                f"SELECT id, file_name, data FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    photos = {uuid: blobs[pid] for uuid, pid in wanted.items() if pid in blobs}
    if not photos:
        return {}
    out = {}
    for uuid, (name, blob) in photos.items():
        try:
            if blob is None:
                from ..photos import photo_path  # files kept beside the database

                if db.path is None:  # a server keeps every photo in its row: none here
                    continue
                blob = photo_path(db.path, name).read_bytes()
            image = Image.open(io.BytesIO(blob))
            image.thumbnail((THUMB_PX, THUMB_PX))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=80)
            out[uuid] = buffer.getvalue()
        except Exception:  # a missing or damaged photo file leaves the cell empty, never the report
            continue
    return out


def operator_code(name: str) -> str:
    """The operator code for `--operator` (a code, a brand or a name as people write it)."""
    code = normalise_operator(name) if name.strip() else None
    if code is None:
        known = ", ".join(f"{op.code} ({op.brand})" for op in BY_CODE.values())
        raise InvalidInputError(f"--operator {name}: không có doanh nghiệp này / no such operator "
                                f"({known})")
    return code


def check_severity(level: str) -> str:
    if level not in SEVERITY_VI:
        raise InvalidInputError(f"--severity {level}: mức độ là một trong / the severity is one of "
                                f"{', '.join(f'{c} ({v})' for c, v in SEVERITY_VI.items())}")
    return level


def check_details(details: str) -> str:
    if details not in DETAILS:
        raise InvalidInputError(f"--details {details}: chọn / choose {', '.join(DETAILS)}")
    return details


def gather(db: Database, *, commune: str | None = None, year: int | None = None, operator: str | None = None,
           severity: str | None = None, details: str = "auto", with_photos: bool = True) -> ReportData:
    """The findings in scope. `operator` is a code (see operator_code), "" for findings of no operator."""
    check_details(details)
    if severity is not None:
        check_severity(severity)
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
    if operator is not None:
        frame = frame[frame["operator_code"].fillna("") == operator]
        scope += f"; doanh nghiệp {_operator_name(operator)}"
    if severity is not None:
        frame = frame[frame["severity"] == severity]
        scope += f"; mức độ: {SEVERITY_VI[severity].lower()}"
    rules = {r.id: (r.title["vi"], r.reference_text, r.severity) for r in load_rules()}
    narrowed = bool(commune) or operator is not None or severity is not None
    data = ReportData(province, scope, dt.date.today(), rules, frame.reset_index(drop=True),
                      details=details == "all" or (details == "auto" and narrowed))
    if with_photos and data.details:
        data.photos = _thumbnails(db, data.active)
    return data


def grouped(frame: pd.DataFrame, rule_order: dict[str, int] | None = None):
    """[(commune label, [(operator label, [row, ...])])] in commune code, then operator order; the
    rows (named tuples of the frame's columns) by rule (in `rule_order`, the summary's numbers,
    else by id), then record. One sort and one pass: a sort per operator and commune cost more
    than the listing's layout."""
    rule = frame["rule_id"].fillna(MANUAL_RULE).replace("", MANUAL_RULE)
    frame = frame.assign(
        group_commune=[f"{n} ({c})" if isinstance(c, str) and isinstance(n, str) else NO_COMMUNE
                       for c, n in zip(frame["commune_code"], frame["commune_name"])],
        group_operator=[_operator_name(c) for c in frame["operator_code"]],
        group_code=frame["commune_code"].fillna("~"),
        group_rule=rule.map(rule_order).fillna(len(rule_order)) if rule_order else rule)
    frame = frame.sort_values(["group_code", "group_commune", "group_operator", "group_rule", "record"],
                              na_position="last", kind="stable")
    out: list = []
    for row in frame.itertuples(index=False):
        if not out or out[-1][0] != row.group_commune:
            out.append((row.group_commune, []))
        ops = out[-1][1]
        if not ops or ops[-1][0] != row.group_operator:
            ops.append((row.group_operator, []))
        ops[-1][1].append(row)
    return out


def summary_rows(data: ReportData) -> list[dict]:
    """One row per rule (every rule, checked ones with no finding too; then findings entered by
    hand): the active findings by severity and every finding by status."""
    rows = []
    frame = data.findings
    ids = [r for r in data.rules] + sorted({r for r in frame["rule_id"].dropna().unique()
                                            if r not in data.rules and r not in ("", MANUAL_RULE)})
    has_manual = frame["rule_id"].fillna(MANUAL_RULE).replace("", MANUAL_RULE) == MANUAL_RULE
    active = frame["status"].isin(ACTIVE)
    for number, rule_id in enumerate(ids + ([MANUAL_RULE] if has_manual.any() else []), start=1):
        mask = has_manual if rule_id == MANUAL_RULE else frame["rule_id"] == rule_id
        part = frame[mask]
        counts = {s: int((part["status"] == s).sum()) for s in STATUS_VI}
        live = frame[mask & active]
        by_severity = {v: int((live["severity"] == v).sum()) for v in SEVERITY_ORDER}
        severity = data.rules.get(rule_id, ("", "", "violation"))[2]
        rows.append({"number": number, "rule_id": rule_id, "title": _rule_title(data, rule_id),
                     "reference": _rule_reference(data, rule_id), "severity": SEVERITY_VI.get(severity, ""),
                     "active": len(live), "by_severity": by_severity, **counts})
    return rows


SEVERITY_ORDER = ("violation", "warning", "info")


@dataclass
class CommuneMatrix:
    """Active findings per commune (rows, in code order) and rule (columns: the summary's
    numbers of the rules with at least one)."""
    columns: list[tuple[int, str]]  # (summary number, rule id)
    rows: list[tuple[str, str | None, list[int], int]]  # (label, code, count per column, total)
    totals: list[int]
    total: int


def commune_matrix(data: ReportData, summary: list[dict] | None = None) -> CommuneMatrix:
    summary = summary_rows(data) if summary is None else summary
    active = data.active
    rule = active["rule_id"].fillna(MANUAL_RULE).replace("", MANUAL_RULE)
    columns = [(r["number"], r["rule_id"]) for r in summary if r["active"]]
    table = pd.crosstab(active["commune_code"].fillna("~"), rule) if len(active) else pd.DataFrame()
    names = dict(zip(active["commune_code"].fillna("~"), active["commune_name"]))
    rows = []
    for code in sorted(table.index):
        counts = [int(table.at[code, rid]) if rid in table.columns else 0 for _, rid in columns]
        name = names.get(code)
        label = f"{name} ({code})" if code != "~" and isinstance(name, str) else NO_COMMUNE
        rows.append((label, None if code == "~" else code, counts, sum(counts)))
    totals = [sum(r[2][i] for r in rows) for i in range(len(columns))]
    return CommuneMatrix(columns, rows, totals, sum(totals))


# -- writing ---------------------------------------------------------------------------------

def write(db_path: str | Path, out_path: Path, *, commune: str | None = None, year: int | None = None,
          operator: str | None = None, severity: str | None = None, details: str = "auto") -> dict:
    """`operator` as people write it (a code, a brand); checked, like every option, before any
    file is touched."""
    kind = out_path.suffix.lower()
    if kind not in (".pdf", ".xlsx"):
        raise InvalidInputError(f"{out_path}: báo cáo vi phạm ghi ra .pdf hoặc .xlsx / the findings "
                                "report is written as .pdf or .xlsx")
    if not out_path.parent.exists():
        raise InvalidInputError(f"{out_path}: thư mục không tồn tại / the folder does not exist")
    code = operator_code(operator) if operator is not None else None
    check_details(details)
    if severity is not None:
        check_severity(severity)
    with open_database(db_path, readonly=True) as db:  # a file or a server database
        data = gather(db, commune=commune, year=year, operator=code, severity=severity, details=details,
                      with_photos=kind == ".pdf")
    # Written beside the target and moved into place: a failed report never leaves half a file.
    with atomic_output(out_path) as tmp:
        if kind == ".pdf":
            from .findings_pdf import write_pdf

            pages = write_pdf(data, tmp)
        else:
            from .findings_xlsx import write_xlsx

            pages = None
            write_xlsx(data, tmp)
    summary = {"report": "findings", "out": str(out_path), "scope": data.scope,
               "findings": int(len(data.findings)), "active": int(len(data.active)),
               "by_status": {s: int((data.findings["status"] == s).sum()) for s in STATUS_VI},
               "details": data.details}
    if pages is not None:
        summary["pages"] = pages
    return summary
