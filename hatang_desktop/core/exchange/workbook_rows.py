"""Turning a sheet's cells into validated records, with every problem located for the user."""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..field_values import FieldError, NotAValue, column_parser

from ..form_columns import rows_to_check
from ..forms import Forms
from ..text import fold
from .layout import ColumnSpec, SheetSpec
from .problems import Problem, message_of
from .records import to_wkt
from .row_fingerprint import TOO_LONG_MARKER

# A cell the file does not have for this row (a GeoJSON feature without a property the others
# have): like a column the sheet does not have, it says nothing about the field.
NOT_IN_FILE = type("NotInFile", (), {"__repr__": lambda self: "NOT_IN_FILE", "__str__": lambda self: ""})()

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


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
                headers: dict[int, str] | None = None, position: Callable | None = None,
                warnings: list[str] | None = None, unknown: list[str] | None = None,
                columnwise: bool = True) -> list[WorkbookRow]:
    """Rows of one sheet. `mapping`/`headers` come from the hand-typed header guess (`unknown`:
    its headers it did not understand); `position` reads a (lat, lon) pair from two raw cells when
    the sheet may hold swapped or VN-2000 values.

    Without a position reader the cells are parsed a column at a time (field_values' `many`) and
    the form's rules judged over the columns (form_columns.rows_to_check), the per-record check
    asked only for the rows they flag; `columnwise=False` parses and checks cell by cell and row
    by row (the tests compare the two: same rows, same problems).

    A field whose column the sheet does not have is left out of each row's values: the sheet says
    nothing about it, so an existing record keeps its value (a new one takes the form's default,
    or is refused at planning when the field is required: importer.complete_inserts). Headers
    not understood and fields without a column are said in `warnings`."""
    if not rows:
        return []
    own_sheet = mapping is None
    if mapping is None:
        mapping, unknown = match_columns(rows[header_row], spec)
        headers = {i: str(h) for i, h in enumerate(rows[header_row]) if h not in (None, "")}
    hand_typed = position is not None
    present = {c.key for c in mapping.values()}
    required = [c for c in spec.columns if c.kind == "field" and c.field.required
                and c.field.type != "reference"]
    for c in spec.columns:
        if c.kind == "field" and c.field.required and c.key not in present and c.field.default is None:
            problems.append(Problem(name, header_row + 1, c.header("vi"), None,
                                    "thiếu cột bắt buộc / a required column is missing"))
    absent = {c.key for c in spec.columns if c.kind == "field" and c.key not in present}
    if hand_typed and {"lat", "lon"} & present:
        absent -= {"lat", "lon"}  # both read from the pair by `position`
    # A rule about a field this sheet does not carry (required, or conditional on another
    # absent field) cannot be judged on the sheet alone.
    unjudged = {f.key for f in spec.form.fields
                if any(c.key in absent for c in f.columns()) or (f.when and f.when.field in absent)}
    if warnings is not None:
        for h in unknown or ():
            warnings.append(f"trang '{name}': không nhận ra cột '{h}', cột này không được nhập / column '{h}' "
                            "not recognised, not imported")
        missing = [c.header("vi") for c in spec.columns if c.key in absent and c.field.type != "reference"]
        if own_sheet and missing:
            warnings.append(f"trang '{name}' không có cột {', '.join(repr(m) for m in missing)}: các trường này "
                            "giữ nguyên giá trị đang có / the sheet has no such columns: these fields keep "
                            "their values")
    # Everything that depends only on the column is prepared once: the cell's index, its
    # parser (field_values.column_parser: parse_value's values and messages, without per-cell type
    # dispatch) and the header a problem names.
    plan: dict[str, tuple] = {}
    for i, c in mapping.items():
        parser = None
        if c.kind == "field":
            parser = column_parser(c.field, lists=forms.lists, communes=communes,
                                   column=c.key if c.key in ("lat", "lon") else None)
        plan[c.key] = (i, c, parser, c.kind == "field" and c.field.type == "geometry")
    columns = [(key, i, c, parser, geometry, headers.get(_index(mapping, c)))
               for key, (i, c, parser, geometry) in plan.items()]
    field_index = [i for i, c, _p, _g in plan.values() if c.kind == "field"]
    required_index = [plan[c.key][0] for c in required if c.key in plan]
    field_keys = [c.key for c in spec.columns if c.kind == "field" and c.key not in absent]
    defaults = [(f.key, f.default) for f in spec.form.fields if f.default is not None]
    optional_defaults = [(f.key, f.default) for f in spec.form.fields if f.default is not None and not f.required]
    check = spec.form.problems
    decided: dict[str, set[str]] = {}       # field key -> the headers whose problem already covers it
    position_at = (plan["lat"][0], plan["lon"][0], headers.get(_index(mapping, plan["lat"][1]))) \
        if hand_typed and "lat" in plan and "lon" in plan else None
    position_headers = {c.header("vi") for f in spec.form.fields if f.type == "position" for c in f.columns()}
    uuid_at, version_at, deleted_at, parent_at = (plan[k][0] if k in plan else None
                                                  for k in ("uuid", "version", "deleted", "parent_code"))
    deleted_words: dict[str, bool] = {}
    blank = (None, "")
    width = max(mapping, default=-1) + 1
    live = []  # (row number, cells padded to the mapped width)
    for r, cells in enumerate(rows[header_row + 1:], start=header_row + 2):
        if not cells:
            continue  # a row the import already set aside (cell for cell as exported)
        if len(cells) < width:
            cells = list(cells) + [None] * (width - len(cells))
        for i in field_index:
            if cells[i] not in blank:
                break
        else:
            continue  # an empty row, or one the user blanked out: neither is a deletion
        if hand_typed and not any(cells[i] not in blank for i in required_index):
            continue  # a note or a signature block below a hand-typed list
        live.append((r, cells))
    if own_sheet:
        _values_under_no_column(name, header_row, headers, mapping, live, problems)
    field_columns = [col for col in columns if col[3] is not None]
    # Without a position reader (every exported sheet) each column is parsed as a whole, once;
    # a failed or kept cell leaves a marker and its row is put together cell by cell below.
    parsed_rows = None
    flagged: set[int] = set()
    judged = None   # the rows the form's rules may speak about (None: every row)
    if position_at is None and field_columns and columnwise:
        by_column = list(zip(*(cells for _r, cells in live)))  # every live row has at least `width` cells
        parsed = [_parse_column(live, i, parser, geometry, flagged, by_column[i] if by_column else [])
                  for _key, i, _c, parser, geometry, _h in field_columns]
        parsed_rows = zip(*parsed)
        field_order = [col[0] for col in field_columns]
        judged = _rows_to_judge(spec, live, dict(zip(field_order, parsed)), uuid_at, optional_defaults, flagged)
    out = []
    for k, (r, cells) in enumerate(live):
        n = width
        tup = next(parsed_rows) if parsed_rows is not None else None
        if tup is not None and k not in judged:
            # A row the column checks cleared (no cell failed, no rule may speak, a UUID): its
            # parsed cells are its values, and only what an existing record reads differs.
            values, ok, kept, row_absent, notes = dict(zip(field_order, tup)), True, set(), None, []
            for fkey, default in optional_defaults:
                if fkey in values and values[fkey] is None:
                    values[fkey] = default
            uuid_raw = cells[uuid_at] if uuid_at is not None else None
            version_raw = cells[version_at] if version_at is not None else None
            # calamine reads every number as a float: a whole one is the version the steps below read.
            kind = type(version_raw)
            if (type(uuid_raw) is str and (version_raw is None or (kind is int or kind is float and version_raw.is_integer())
                                           and abs(version_raw) < 2 ** 53)
                    and (deleted_at is None or cells[deleted_at] in blank)):
                uuid = uuid_raw.strip().lower()
                if kind is float:
                    version_raw = int(version_raw)
                if UUID_RE.match(uuid):  # the usual exported row: what the steps below conclude
                    out.append(WorkbookRow(spec.record, r, uuid, False, version_raw, False, values,
                                           cells[parent_at] if parent_at is not None else None,
                                           matched_by="uuid", extra={"notes": notes, "sheet": name, "kept": kept,
                                                                     "absent": absent}))
                    continue
        else:
            failed = set()
            row_absent: set[str] = set()
            if tup is not None and k not in flagged:
                values, ok, kept = dict(zip(field_order, tup)), True, set()
            else:
                values, ok, kept = {}, True, set()
            if tup is not None and k in flagged:
                for (key, i, c, parser, geometry, header), value in zip(field_columns, tup):
                    if value is _KEPT:
                        kept.add(key)  # export could not fit the value in a cell: the database keeps its own
                    elif value is NOT_IN_FILE:
                        row_absent.add(key)
                    elif type(value) is _Failed:
                        problems.append(Problem(name, r, header, value.raw, value.message))
                        failed.add(header)
                        ok = False
                    else:
                        values[key] = value
            if tup is None:
                if position_at is not None:
                    lat_raw, lon_raw = (None if v is NOT_IN_FILE else v for v in (cells[position_at[0]],
                                                                                  cells[position_at[1]]))
                    try:
                        values["lat"], values["lon"], note = position(lat_raw, lon_raw)
                        if note:
                            problems_note = Problem(name, r, None, None, note)
                            values.setdefault("_notes", []).append(str(problems_note))
                    except (FieldError, ValueError) as exc:
                        problems.append(Problem(name, r, position_at[2], f"{lat_raw}, {lon_raw}", message_of(exc)))
                        # One message for the pair: its cells are not parsed again one by one, and
                        # the record's rules about the position are covered by this one.
                        values["lat"] = values["lon"] = None
                        failed.update((position_at[2], *position_headers))
                        ok = False
                for key, i, c, parser, geometry, header in field_columns:
                    if key in values:
                        continue
                    raw = cells[i]
                    if raw is NOT_IN_FILE:
                        row_absent.add(key)
                        continue
                    if raw == TOO_LONG_MARKER:
                        kept.add(key)  # export could not fit the value in a cell: the database keeps its own
                        continue
                    try:
                        value = parser(raw)
                        if geometry and value is not None:
                            value = to_wkt(value)  # compared and stored like the database's own
                        values[key] = value
                    except FieldError as exc:
                        problems.append(Problem(name, r, header, raw, message_of(exc)))
                        failed.add(header)
                        ok = False
            if tup is None or k in flagged:  # else values holds every field of the sheet already
                for key in field_keys:
                    if key not in values and key not in row_absent:
                        values[key] = None
            notes = values.pop("_notes", [])
            uuid_raw = cells[uuid_at] if uuid_at is not None and uuid_at < n else None
            if uuid_raw is NOT_IN_FILE:
                uuid_raw = None
            skipped = unjudged
            if row_absent:
                skipped = unjudged | {f.key for f in spec.form.fields if any(c.key in row_absent for c in f.columns())
                                      or (f.when and f.when.field in row_absent)}
            checked = values
            if uuid_raw:
                # A blanked cell of an optional field with a default ("Trong quy hoạch") reads as
                # the default, as the form's empty widget does: the database holds no blank there.
                for fkey, default in optional_defaults:
                    if fkey in values and values[fkey] is None:
                        values[fkey] = default
            else:
                # A new record will take the form's defaults for empty cells (when it is inserted:
                # importer.complete_inserts; a row matched to an existing record keeps its values).
                empty = [(fkey, default) for fkey, default in defaults if values.get(fkey) is None]
                if empty:
                    checked = values | dict(empty)
            for fkey, msg in (check(checked) if judged is None or k in judged else ()):
                if fkey in kept or fkey in skipped:
                    continue
                if failed:
                    covered = decided.get(fkey)
                    if covered is None:
                        f = spec.form.field(fkey)
                        decided_by = [f] + ([spec.form.field(f.when.field)] if f.when else [])
                        covered = decided[fkey] = {c.header("vi") for g in decided_by for c in g.columns()}
                    if covered & failed:
                        continue  # already reported for this cell, or for the cell its condition reads
                col = spec.form.field(fkey).columns()[0]
                problems.append(Problem(name, r, col.header("vi"), None, msg))
                ok = False
        version_raw = cells[version_at] if version_at is not None and version_at < n else None
        deleted_raw = cells[deleted_at] if deleted_at is not None and deleted_at < n else None
        if version_raw is NOT_IN_FILE:
            version_raw = None
        if deleted_raw is NOT_IN_FILE:
            deleted_raw = None
        if NotAValue in (type(uuid_raw), type(version_raw), type(deleted_raw)):
            for at, raw in ((uuid_at, uuid_raw), (version_at, version_raw), (deleted_at, deleted_raw)):
                if isinstance(raw, NotAValue):
                    problems.append(Problem(name, r, headers.get(at), str(raw), raw.message))
            continue
        uuid, is_new = (str(uuid_raw).strip().lower(), False) if uuid_raw else (str(uuidlib.uuid4()), True)
        if not is_new and not UUID_RE.match(uuid):
            problems.append(Problem(name, r, "UUID", uuid_raw, "UUID không hợp lệ; đừng sửa cột này / "
                                    "invalid UUID; do not edit this column"))
            ok = False
        version = None
        if version_raw not in blank:
            try:
                version = int(float(version_raw))
            except (TypeError, ValueError):
                problems.append(Problem(name, r, "Phiên bản", version_raw, "phiên bản phải là số nguyên "
                                        "/ version must be a whole number"))
                ok = False
        deleted = False
        if deleted_raw not in blank:
            word = str(deleted_raw)
            deleted = deleted_words.get(word)
            if deleted is None:
                deleted = deleted_words[word] = fold(word) in ("x", "1", "co", "xoa", "yes", "true")
        if ok:
            out.append(WorkbookRow(spec.record, r, uuid, is_new, version, deleted, values,
                                   cells[parent_at] if parent_at is not None and parent_at < n else None,
                                   matched_by="uuid" if not is_new else "new",
                                   extra={"notes": notes, "sheet": name, "kept": kept,
                                          "absent": absent | row_absent if row_absent else absent}))
    return out


def _values_under_no_column(name: str, header_row: int, headers: dict[int, str], mapping: dict,
                            live: list[tuple[int, list]], problems: list[Problem]) -> None:
    """In a sheet of ours, a value typed in a column the import does not understand (a header
    renamed beyond recognition, a column added) would be dropped without a word: a problem per
    such column, naming the rows. (A column no parsed row fills is only a warning.)"""
    found: dict[int, list[int]] = {}
    for j in range(max((len(cells) for _r, cells in live), default=0)):
        if j in mapping:
            continue  # column by column: a sheet of ours has few columns, if any, outside the mapping
        rows = [r for r, cells in live if len(cells) > j and (v := cells[j]) not in (None, "")
                and not (type(v) is str and not v.strip())]
        if rows:
            found[j] = rows
    for j, rows in sorted(found.items()):
        header = headers.get(j) or _letters(j)
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        problems.append(Problem(name, header_row + 1, header, None,
                                f"không nhận ra cột '{header}' mà cột có giá trị (dòng {shown}): giá trị này sẽ "
                                "không được nhập; hãy đặt lại tên cột như khi xuất, hoặc xóa cột / column not "
                                "recognised but it holds values that would not be imported: give it back its "
                                "exported name, or delete it"))


def _letters(j: int) -> str:
    """Column index (0-based) as Excel names it: 0 -> A, 27 -> AB."""
    out = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        out = chr(65 + rem) + out
    return out


class _Failed:
    """A cell its parser refused: the cell and the message, reported when its row is assembled."""
    __slots__ = ("raw", "message")

    def __init__(self, raw, message):
        self.raw, self.message = raw, message


_KEPT = object()  # a cell holding TOO_LONG_MARKER


def _rows_to_judge(spec: SheetSpec, live: list[tuple[int, list]], parsed: dict[str, list], uuid_at: int | None,
                   optional_defaults: list[tuple[str, Any]], flagged: set[int]) -> set[int]:
    """The rows whose record the form's rules must judge one by one: those the rules over the
    columns flag, those with a cell that failed or said nothing (their values differ from the
    columns'), and new records (no UUID: they are judged with the form's defaults filled in)."""
    n = len(live)
    uuids = [cells[uuid_at] for _r, cells in live] if uuid_at is not None else [None] * n
    judged = set(flagged)
    judged.update(k for k, u in enumerate(uuids) if not u or u is NOT_IN_FILE)
    columns = dict(parsed)
    for fkey, default in optional_defaults:  # what an existing record's blank cell reads as
        if fkey in columns:
            columns[fkey] = [default if v is None else v for v in columns[fkey]]
    judged.update(rows_to_check(spec.form, columns, n).tolist())
    return judged


def _parse_column(live: list[tuple[int, list]], i: int, parser, geometry: bool, flagged: set[int],
                  column: tuple | list = ()) -> list:
    """Column i of the live rows (its cells: `column`), parsed; rows with a failed or kept cell are
    added to flagged."""
    many = getattr(parser, "many", None)
    if many is not None:
        cells = list(column)
        if TOO_LONG_MARKER not in cells and NOT_IN_FILE not in cells:
            values, failures = many(cells)
            if geometry:  # compared and stored like the database's own
                shapes = [k for k, v in enumerate(values) if v is not None]
                for k, wkt in zip(shapes, to_wkt(np.array([values[k] for k in shapes] + [None],
                                                          dtype=object)[:len(shapes)]).tolist()):
                    values[k] = wkt
            for k, exc in failures.items():
                flagged.add(k)
                values[k] = _Failed(cells[k], message_of(exc))
            return values
    out = []
    append = out.append
    for k, (_r, cells) in enumerate(live):
        raw = cells[i]
        if raw == TOO_LONG_MARKER:
            flagged.add(k)
            append(_KEPT)
            continue
        if raw is NOT_IN_FILE:
            flagged.add(k)
            append(raw)
            continue
        try:
            value = parser(raw)
        except FieldError as exc:
            flagged.add(k)
            append(_Failed(raw, message_of(exc)))
            continue
        if geometry and value is not None:
            value = to_wkt(value)  # compared and stored like the database's own
        append(value)
    return out


def _index(mapping: dict[int, ColumnSpec], c: ColumnSpec) -> int:
    return next(i for i, x in mapping.items() if x is c)
