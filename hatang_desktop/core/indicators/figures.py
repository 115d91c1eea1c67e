"""Figures the department enters per commune (or for the province) and year (schema 4):
broadband subscriptions per 100 inhabitants and i-Speed speeds, which no survey on the map gives.

They come in three ways, all checked by the same rules (`check_value`) and written through
`save_figures` in one operation: `hatang indicators --set-figure`, the dashboard's table, and a
workbook (`write_template` / `read_figures_workbook` / `import_figures`). A workbook is checked
cell by cell first; one bad cell and nothing is written.
"""

from __future__ import annotations

import io
import math
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..model import utcnow
from ..storage.database import Database
from ..text import fold, format_plain
from .catalogue import BY_KEY, FIGURE_KEYS, MBPS, PER_100, UNIT_LABELS

SHEET_NAME = "Số liệu Sở nhập"  # the indicators report's figures sheet carries the same name
YEARS = (2000, 2100)  # the table's CHECK
# Plausible ranges: a per-100 rate above 300 or a speed of 0 is a typing error, not a figure
# (Việt Nam's mobile-broadband rate is ~85/100, fixed ~22/100; i-Speed ~50-150 Mbps in 2024).
RANGES: dict[str, tuple[float, float, bool]] = {PER_100: (0.0, 300.0, True), MBPS: (0.0, 10_000.0, False)}
TEMPLATE_HEADERS = ("Mã", "Xã, phường", "Năm")


@dataclass(frozen=True)
class Figure:
    unit_code: str
    year: int
    indicator: str
    value: float


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str  # province or commune


@dataclass(frozen=True)
class Problem:
    """One bad cell of a figures workbook (row and column as a spreadsheet shows them)."""
    sheet: str
    row: int | None
    column: str
    value: Any
    message: str

    def __str__(self) -> str:
        where = f"trang '{self.sheet}'" + (f", dòng {self.row}" if self.row else "") + \
                (f", cột '{self.column}'" if self.column else "")
        shown = "" if self.value is None else f" (giá trị: {self.value!r})"
        return f"{where}: {self.message}{shown}"

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": None if self.value is None else str(self.value), "message": self.message}


class InvalidFiguresError(InvalidInputError):
    def __init__(self, path, problems: list[Problem]):
        self.problems = problems
        head = (f"{path}: bảng số liệu có {len(problems)} lỗi, không ghi gì / the figures workbook has "
                f"{len(problems)} problems, nothing was written")
        super().__init__(head + "".join(f"\n  - {p}" for p in problems[:50]) +
                         (f"\n  ... và {len(problems) - 50} lỗi khác" if len(problems) > 50 else ""))


def figure_header(key: str) -> str:
    """'Số thuê bao băng rộng di động/100 dân (/100 dân)': label and unit, as the report writes them."""
    ind = BY_KEY[key]
    return f"{ind.label_vi} ({UNIT_LABELS[ind.unit][0]})"


def range_text(key: str) -> str:
    low, high, low_inclusive = RANGES[BY_KEY[key].unit]
    unit = UNIT_LABELS[BY_KEY[key].unit][0]
    low, high = format_plain(low), format_plain(high)
    return f"từ {low} đến {high} {unit}" if low_inclusive else f"lớn hơn {low} và không quá {high} {unit}"


def check_value(key: str, raw: Any) -> tuple[float | None, str | None]:
    """(value, None), (None, None) for an empty cell, or (None, message in Vietnamese)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, bool):
        return None, "phải là một số"
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        try:  # "61,5" as people write it in Việt Nam; a space or a dot as a thousands separator is rare here
            value = float(str(raw).strip().replace(" ", "").replace(",", "."))
        except ValueError:
            return None, "phải là một số"
    if not math.isfinite(value):
        return None, "phải là một số"
    low, high, low_inclusive = RANGES[BY_KEY[key].unit]
    if value > high or value < low or (value == low and not low_inclusive):
        return None, f"{BY_KEY[key].label_vi} phải {range_text(key)}"
    return value, None


def parse_assignment(text_: str) -> tuple[str, float]:
    """"mobile_bb_subs_per_100=92,5" -> ("mobile_bb_subs_per_100", 92.5)."""
    key, sep, raw = text_.partition("=")
    key = key.strip()
    if not sep or key not in FIGURE_KEYS:
        raise InvalidInputError(f"--set-figure {text_!r}: cần CHỈ_SỐ=GIÁ_TRỊ với chỉ số là một trong "
                                f"{', '.join(FIGURE_KEYS)} / needs INDICATOR=VALUE, INDICATOR one of these")
    value, problem = check_value(key, raw)
    if problem or value is None:
        raise InvalidInputError(f"--set-figure {text_!r}: {problem or 'thiếu giá trị'} / invalid value")
    return key, value


def _check_year(year: int) -> None:
    if not YEARS[0] <= year <= YEARS[1]:
        raise InvalidInputError(f"--year {year}: năm không hợp lệ / invalid year")


def figure_units(db: Database) -> list[Unit]:
    """The units figures can be entered for: the province(s) first, then the communes by code."""
    with db.session() as s:
        rows = s.execute(text(
            "SELECT code, name, level FROM admin_units WHERE deleted = 0 AND level IN ('province', 'commune') "
            "ORDER BY level = 'commune', code")).all()
    return [Unit(str(c), n, lv) for c, n, lv in rows]


def load_figures(db: Database, year: int) -> dict[str, dict[str, float]]:
    """{unit code: {indicator: value}} entered for `year`."""
    out: dict[str, dict[str, float]] = {}
    with db.session() as s:
        for code, key, value in s.execute(text(
                "SELECT unit_code, indicator, value FROM indicator_figures WHERE year = :y AND deleted = 0"),
                {"y": year}):
            out.setdefault(str(code), {})[key] = float(value)
    return out


def _check_table(year: int, table: dict[str, dict[str, float | None]]) -> None:
    _check_year(year)
    for unit_code, values in table.items():
        for key, v in values.items():
            if key not in FIGURE_KEYS:
                raise InvalidInputError(f"{unit_code}: '{key}' không phải chỉ số Sở nhập / not an entered figure")
            if v is not None:
                _checked, problem = check_value(key, v)
                if problem:
                    raise InvalidInputError(f"{unit_code}, {BY_KEY[key].label_vi}: {problem} (giá trị: {v!r})")


def _apply(s, db: Database, year: int, table: dict[str, dict[str, float | None]]) -> int:
    """Write one year's checked figures inside the caller's operation; how many changed."""
    levels = dict(s.execute(text(
        "SELECT code, level FROM admin_units WHERE deleted = 0 AND level IN ('province', 'commune')")).all())
    stamp = {"t": str(utcnow()), "u": s.info["user"], "s": s.info["source"]}
    changed = 0
    for unit_code, values in table.items():
        if unit_code not in levels:
            raise InvalidInputError(f"{db.path}: không có tỉnh hoặc xã/phường mã '{unit_code}' / no province "
                                    f"or commune with code '{unit_code}'")
        for key, value in values.items():
            existing = s.execute(text(
                "SELECT id, value FROM indicator_figures WHERE unit_code = :c AND year = :y AND indicator = :k "
                "AND deleted = 0"), {"c": unit_code, "y": year, "k": key}).one_or_none()
            if existing is None and value is None:
                continue
            if existing is not None and value is not None and float(existing[1]) == float(value):
                continue  # unchanged: no version bump, no change-log noise
            if existing is None:
                s.execute(text(
                    "INSERT INTO indicator_figures(uuid, updated_at, updated_by, source, unit_code, year, "
                    "indicator, value) VALUES (:uuid, :t, :u, :s, :c, :y, :k, :v)"),
                    {**stamp, "uuid": str(uuidlib.uuid4()), "c": unit_code, "y": year, "k": key, "v": float(value)})
            elif value is None:  # tombstoned, so the removal can travel like any deletion
                s.execute(text(
                    "UPDATE indicator_figures SET deleted = 1, version = version + 1, updated_at = :t, "
                    "updated_by = :u, source = :s WHERE id = :id"), {**stamp, "id": existing[0]})
            else:
                s.execute(text(
                    "UPDATE indicator_figures SET value = :v, version = version + 1, updated_at = :t, "
                    "updated_by = :u, source = :s WHERE id = :id"), {**stamp, "v": float(value), "id": existing[0]})
            changed += 1
    return changed


def save_figures(db: Database, year: int, table: dict[str, dict[str, float | None]], *,
                 user: str | None = None, source: str | None = None, description: str | None = None) -> int:
    """Enter, replace or (value None) remove figures of several units for one year, all in one
    operation (logged, one undo step). Every value is checked before anything is written.
    Returns how many figures changed."""
    _check_table(year, table)
    what = description or f"Nhập số liệu chỉ tiêu năm {year}: {len(table)} đơn vị"
    with db.operation(what, user=user, source=source) as s:
        return _apply(s, db, year, table)


def set_figures(db: Database, unit_code: str, year: int, values: dict[str, float], *,
                user: str | None = None, source: str | None = None) -> list[Figure]:
    """Enter or replace figures for one unit and year, in one operation (logged, undoable)."""
    save_figures(db, year, {unit_code: dict(values)}, user=user, source=source,
                 description=f"Nhập số liệu chỉ tiêu {unit_code} năm {year}")
    return [Figure(unit_code, year, k, v) for k, v in values.items()]


# -- workbook ---------------------------------------------------------------------------------


def write_template(db: Database, out_path: str | Path, *, year: int | None = None) -> dict:
    """An empty figures workbook: one row per province and commune, one column per figure, and a
    year column (filled with `year` when given). The department fills it and imports it back."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    out_path = Path(out_path)
    if out_path.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"{out_path}: mẫu số liệu là tệp .xlsx / the template is an .xlsx file")
    if not out_path.parent.is_dir():
        raise InvalidInputError(f"{out_path}: thư mục không tồn tại / the folder does not exist")
    if year is not None:
        _check_year(year)
    units = figure_units(db)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws["A1"] = "SỐ LIỆU SỞ NHẬP" + (f" NĂM {year}" if year else "") + " (không khảo sát trên bản đồ)"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = ("Điền số vào các ô; để trống ô chưa có số liệu. Nhập bằng: hatang indicators DB "
                "--import-figures TỆP.xlsx, hoặc bảng \"Số liệu do Sở nhập\" trên bảng điều khiển chỉ tiêu.")
    headers = TEMPLATE_HEADERS[:2] + tuple(figure_header(k) for k in FIGURE_KEYS) + TEMPLATE_HEADERS[2:]
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=3, column=j, value=h)
        c.font, c.fill = Font(bold=True), fill
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    ws.row_dimensions[3].height = 45
    for i, u in enumerate(units, start=4):
        ws.cell(row=i, column=1, value=u.code).number_format = "@"  # "01234" must stay text
        ws.cell(row=i, column=2, value=u.name)
        if year is not None:
            ws.cell(row=i, column=len(headers), value=year)
    last = 3 + len(units)
    for j, key in enumerate(FIGURE_KEYS, start=3):
        low, high, low_inclusive = RANGES[BY_KEY[key].unit]
        dv = DataValidation(type="decimal", operator="between", allow_blank=True,
                            formula1=str(low if low_inclusive else 0.001), formula2=str(high),
                            error=f"{BY_KEY[key].label_vi} phải {range_text(key)}", errorTitle="Giá trị không hợp lệ",
                            showErrorMessage=True)
        col = ws.cell(row=4, column=j).column_letter
        dv.add(f"{col}4:{col}{max(last, 4)}")
        ws.add_data_validation(dv)
    for j, width in enumerate((10, 28) + (20,) * len(FIGURE_KEYS) + (8,), start=1):
        ws.column_dimensions[ws.cell(row=3, column=j).column_letter].width = width
    ws.freeze_panes = "C4"
    ws.print_title_rows = "3:3"
    with atomic_output(out_path) as tmp:
        buffer = io.BytesIO()
        wb.save(buffer)  # in memory first: openpyxl leaves its zip file open when a write fails, to fail again at exit
        tmp.write_bytes(buffer.getvalue())
    return {"out": str(out_path), "units": len(units), "figures": list(FIGURE_KEYS), "year": year}


def _norm(s: Any) -> str:
    """Header text without diacritics, case, units in brackets or punctuation."""
    s = fold(re.sub(r"\([^)]*\)", " ", str(s or "")))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


_CODE_HEADERS = {"ma", "ma xa", "ma don vi", "ma dvhc", "code", "commune code", "unit code"}
_NAME_HEADERS = {"xa phuong", "ten", "ten xa", "ten don vi", "don vi", "name", "commune"}
_YEAR_HEADERS = {"nam", "year"}
_FIGURE_HEADERS = {n: k for k in FIGURE_KEYS
                   for n in (_norm(BY_KEY[k].label_vi), _norm(BY_KEY[k].label_en), _norm(k), _norm(figure_header(k)))}


@dataclass
class FiguresSheet:
    """What a workbook says: {year: {unit code: {indicator: value}}}; every cell already checked."""
    sheet: str
    figures: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for units in self.figures.values() for v in units.values())


def _find_header(ws, max_rows: int = 12) -> tuple[int, dict[int, str]] | None:
    """(header row, {column index: role}) where role is code, name, year or a figure key."""
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=max_rows, values_only=True), start=1):
        roles: dict[int, str] = {}
        for j, v in enumerate(row):
            n = _norm(v)
            if n in _CODE_HEADERS:
                roles.setdefault(j, "code")
            elif n in _YEAR_HEADERS:
                roles[j] = "year"
            elif n in _NAME_HEADERS:
                roles[j] = "name"
            elif n in _FIGURE_HEADERS:
                roles[j] = _FIGURE_HEADERS[n]
        if "code" in roles.values() and any(k in roles.values() for k in FIGURE_KEYS):
            return r, roles
    return None


def _match_code(raw: Any, known: dict[str, Unit]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    code = str(raw).strip()
    if code in known:
        return code
    if isinstance(raw, int) or code.isdigit():  # a spreadsheet turned "01234" into 1234
        for width in (5, 2):
            if code.zfill(width) in known:
                return code.zfill(width)
    return None


def read_figures_workbook(db: Database, path: str | Path, *, year: int | None = None) -> FiguresSheet:
    """Read and check a figures workbook: the template, or the indicators report's figures sheet.
    Raises InvalidFiguresError listing every problem (sheet, row, column, value, message)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if year is not None:
        _check_year(year)
    if not path.is_file():
        raise InvalidInputError(f"{path}: không có tệp này / no such file")
    try:
        wb = load_workbook(path, data_only=True)  # a formula counts by the value Excel saved
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInputError(f"{path}: không đọc được sổ Excel .xlsx / not a readable .xlsx workbook "
                                f"({type(exc).__name__})") from None
    sheets = [wb[SHEET_NAME]] if SHEET_NAME in wb.sheetnames else list(wb.worksheets)
    found = None
    for ws in sheets:
        found = _find_header(ws)
        if found:
            break
    if not found:
        raise InvalidFiguresError(path, [Problem(sheets[0].title if sheets else "", None, "", None,
                                                 "không tìm thấy hàng tiêu đề có cột 'Mã' và cột số liệu (ví dụ "
                                                 f"'{figure_header(FIGURE_KEYS[0])}')")])
    header_row, roles = found
    title_year = None
    for row in ws.iter_rows(min_row=1, max_row=header_row - 1, values_only=True):
        for v in row:
            m = re.search(r"N[ĂA]M\s+(\d{4})", str(v or ""), re.IGNORECASE)
            if m and title_year is None:
                title_year = int(m.group(1))
    known = {u.code: u for u in figure_units(db)}
    headers = {j: str(ws.cell(row=header_row, column=j + 1).value or get_column_letter(j + 1)) for j in roles}
    problems: list[Problem] = []
    out = FiguresSheet(ws.title)
    seen: dict[tuple[int, str], int] = {}
    for r, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        cells = {role: (j, row[j] if j < len(row) else None) for j, role in roles.items()}
        values = {k: cells[k] for k in FIGURE_KEYS if k in cells}
        if all(v is None or (isinstance(v, str) and not v.strip()) for _j, v in values.values()):
            continue  # a unit without figures, or a blank row
        code_j, code_raw = cells["code"]
        code = _match_code(code_raw, known)
        if code is None:
            problems.append(Problem(ws.title, r, headers[code_j], code_raw,
                                    "thiếu mã đơn vị" if code_raw in (None, "") else
                                    "không có tỉnh hoặc xã, phường nào có mã này trong cơ sở dữ liệu"))
            continue
        row_year = year if year is not None else title_year
        if "year" in cells and cells["year"][1] not in (None, ""):
            y_j, y_raw = cells["year"]
            try:
                cell_year = int(float(str(y_raw).strip()))
            except ValueError:
                cell_year = None
            if cell_year is None or not YEARS[0] <= cell_year <= YEARS[1]:
                problems.append(Problem(ws.title, r, headers[y_j], y_raw, "năm không hợp lệ"))
                continue
            if year is not None and cell_year != year:
                problems.append(Problem(ws.title, r, headers[y_j], y_raw,
                                        f"năm trong bảng khác năm đã chọn ({year})"))
                continue
            row_year = cell_year
        if row_year is None:
            problems.append(Problem(ws.title, r, "Năm", None, "thiếu năm: điền cột 'Năm' hoặc dùng --year"))
            continue
        if (row_year, code) in seen:
            problems.append(Problem(ws.title, r, headers[code_j], code_raw,
                                    f"mã đơn vị trùng với dòng {seen[(row_year, code)]} cùng năm {row_year}"))
            continue
        seen[(row_year, code)] = r
        unit_values: dict[str, float] = {}
        for key, (j, raw) in values.items():
            value, problem = check_value(key, raw)
            if problem:
                problems.append(Problem(ws.title, r, headers[j], raw, f"{known[code].name}: {problem}"))
            elif value is not None:
                unit_values[key] = value
        if unit_values:
            out.figures.setdefault(row_year, {})[code] = unit_values
    if problems:
        raise InvalidFiguresError(path, problems)
    return out


def import_figures(db: Database, path: str | Path, *, year: int | None = None, user: str | None = None) -> dict:
    """Check the whole workbook, then write its figures in one operation. Empty cells change nothing
    (a figure is removed in the dashboard's table, not by leaving a cell blank)."""
    sheet = read_figures_workbook(db, path, year=year)
    changed = 0
    if sheet.figures:
        for y, table in sheet.figures.items():
            _check_table(y, table)
        desc = f"Nhập số liệu chỉ tiêu từ {Path(path).name}"
        with db.operation(desc, user=user, source=Path(path).name) as s:  # every year in one transaction
            for y, table in sorted(sheet.figures.items()):
                changed += _apply(s, db, y, table)
    return {"workbook": str(path), "sheet": sheet.sheet, "years": sorted(sheet.figures),
            "figures": sheet.count, "changed": changed,
            "units": len({u for t in sheet.figures.values() for u in t})}
