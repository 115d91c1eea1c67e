"""Turning a sheet's cells into validated records, with every problem located for the user."""

from __future__ import annotations

import datetime as dt
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..forms import FieldError, Forms, parse_value, record_problems
from ..text import fold
from .layout import ColumnSpec, SheetSpec
from .records import to_wkt
from .row_fingerprint import TOO_LONG_MARKER

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Problem:
    sheet: str
    row: int | None        # the spreadsheet's row number, as Excel shows it
    column: str | None     # the header as written in the sheet
    value: Any
    message: str

    def as_dict(self) -> dict:
        value = self.value.isoformat() if isinstance(self.value, (dt.date, dt.datetime)) else self.value
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "value": value,
                "message": self.message}

    def __str__(self) -> str:
        where = f"trang '{self.sheet}'" + (f", dòng {self.row}" if self.row else "") + (
            f", cột '{self.column}'" if self.column else "")
        shown = f" (giá trị '{self.value}')" if self.value not in (None, "") else ""
        return f"{where}{shown}: {self.message}"


@dataclass
class WorkbookRow:
    record: str
    row: int
    uuid: str
    is_new: bool               # no UUID in the sheet: a record typed in by hand
    version: int | None
    deleted: bool
    values: dict[str, Any]
    parent_code: str | None = None
    matched_by: str = "uuid"
    extra: dict = field(default_factory=dict)


def _header_key(text) -> str:
    key = fold(str(text or ""))
    return re.sub(r"\s*\(.*?\)\s*$", "", key).strip()


def match_columns(header: list, spec: SheetSpec) -> tuple[dict[int, ColumnSpec], list[str]]:
    """Which sheet column holds which field: by the header in Vietnamese or English, with or
    without diacritics and units. Returns the mapping and the headers nobody claimed."""
    wanted: dict[str, ColumnSpec] = {}
    for c in spec.columns:
        for text in (c.header("vi"), c.header("en"), c.label.vi, c.label.en):
            wanted.setdefault(fold(text), c)
            wanted.setdefault(_header_key(text), c)
    mapping, unknown, taken = {}, [], set()
    for i, h in enumerate(header):
        if h in (None, ""):
            continue
        c = wanted.get(fold(str(h))) or wanted.get(_header_key(h))
        if c is None or c.key in taken:
            unknown.append(str(h))
            continue
        mapping[i] = c
        taken.add(c.key)
    return mapping, unknown


def parse_sheet(name: str, rows: list[list], spec: SheetSpec, forms: Forms, communes: dict[str, str],
                problems: list[Problem], header_row: int = 0, mapping: dict[int, ColumnSpec] | None = None,
                headers: dict[int, str] | None = None, position: Callable | None = None) -> list[WorkbookRow]:
    """Rows of one sheet. `mapping`/`headers` come from the hand-typed header guess; `position`
    reads a (lat, lon) pair from two raw cells when the sheet may hold swapped or VN-2000 values."""
    if not rows:
        return []
    if mapping is None:
        mapping, _unknown = match_columns(rows[header_row], spec)
        headers = {i: str(h) for i, h in enumerate(rows[header_row]) if h not in (None, "")}
    hand_typed = position is not None
    present = {c.key for c in mapping.values()}
    required = [c for c in spec.columns if c.kind == "field" and c.field.required
                and c.field.type != "reference"]
    for c in spec.columns:
        if c.kind == "field" and c.field.required and c.key not in present and c.field.default is None:
            problems.append(Problem(name, header_row + 1, c.header("vi"), None,
                                    "thiếu cột bắt buộc / a required column is missing"))
    out = []
    for r, cells in enumerate(rows[header_row + 1:], start=header_row + 2):
        if not cells:
            continue  # a row the import already set aside (cell for cell as exported)
        by_key = {c.key: (cells[i] if i < len(cells) else None, c) for i, c in mapping.items()}
        field_cells = [v for v, c in by_key.values() if c.kind == "field"]
        filled = sum(v not in (None, "") for v in field_cells)
        if filled == 0:
            continue  # an empty row, or one the user blanked out: neither is a deletion
        if hand_typed and not any(by_key.get(c.key, (None,))[0] not in (None, "") for c in required):
            continue  # a note or a signature block below a hand-typed list
        values, ok = {}, True
        if hand_typed and "lat" in by_key and "lon" in by_key:
            try:
                values["lat"], values["lon"], note = position(by_key["lat"][0], by_key["lon"][0])
                if note:
                    problems_note = Problem(name, r, None, None, note)
                    values.setdefault("_notes", []).append(str(problems_note))
            except (FieldError, ValueError) as exc:
                problems.append(Problem(name, r, headers.get(_index(mapping, by_key["lat"][1])),
                                        f"{by_key['lat'][0]}, {by_key['lon'][0]}", str(exc)))
                ok = False
        kept = set()
        for key, (raw, c) in by_key.items():
            if c.kind != "field" or key in values:
                continue
            if raw == TOO_LONG_MARKER:
                kept.add(key)  # export could not fit the value in a cell: the database keeps its own
                continue
            try:
                values[key] = parse_value(c.field, raw, lists=forms.lists, communes=communes,
                                          column=key if key in ("lat", "lon") else None)
                if c.field.type == "geometry" and values[key] is not None:
                    values[key] = to_wkt(values[key])  # compared and stored like the database's own
            except FieldError as exc:
                problems.append(Problem(name, r, headers.get(_index(mapping, c)), raw, str(exc)))
                ok = False
        for key in (c.key for c in spec.columns if c.kind == "field" and c.key not in values):
            values[key] = None
        notes = values.pop("_notes", [])
        uuid_raw = by_key.get("uuid", (None, None))[0]
        if not uuid_raw:
            for f in spec.form.fields:  # a new record takes the form's defaults for empty cells
                if f.default is not None and values.get(f.key) is None:
                    values[f.key] = f.default
        failed = {p.column for p in problems if p.sheet == name and p.row == r}
        for fkey, msg in record_problems(spec.form, values):
            if fkey in kept:
                continue
            f = spec.form.field(fkey)
            decided_by = [f] + ([spec.form.field(f.when.field)] if f.when else [])
            if any(c.header("vi") in failed for g in decided_by for c in g.columns()):
                continue  # already reported for this cell, or for the cell its condition reads
            col = spec.form.field(fkey).columns()[0]
            problems.append(Problem(name, r, col.header("vi"), None, msg))
            ok = False
        version_raw = by_key.get("version", (None, None))[0]
        deleted_raw = by_key.get("deleted", (None, None))[0]
        uuid, is_new = (str(uuid_raw).strip().lower(), False) if uuid_raw else (str(uuidlib.uuid4()), True)
        if not is_new and not UUID_RE.match(uuid):
            problems.append(Problem(name, r, "UUID", uuid_raw, "UUID không hợp lệ; đừng sửa cột này / "
                                    "invalid UUID; do not edit this column"))
            ok = False
        version = None
        if version_raw not in (None, ""):
            try:
                version = int(float(version_raw))
            except (TypeError, ValueError):
                problems.append(Problem(name, r, "Phiên bản", version_raw, "phiên bản phải là số nguyên "
                                        "/ version must be a whole number"))
                ok = False
        deleted = deleted_raw not in (None, "") and fold(str(deleted_raw)) in ("x", "1", "co", "xoa", "yes", "true")
        if ok:
            out.append(WorkbookRow(spec.record, r, uuid, is_new, version, deleted, values,
                                   by_key.get("parent_code", (None, None))[0],
                                   matched_by="uuid" if not is_new else "new",
                                   extra={"notes": notes, "sheet": name, "kept": kept}))
    return out


def _index(mapping: dict[int, ColumnSpec], c: ColumnSpec) -> int:
    return next(i for i, x in mapping.items() if x is c)
