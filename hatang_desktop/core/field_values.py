"""Values people type into a field (a form widget, a workbook cell, a GIS attribute), parsed
against the field's definition (core/forms.py).

Parsing returns plain Python values, or a FieldError whose message is in Vietnamese with an
English gloss, saying what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import shapely

from .forms import TECH_COLUMNS, FieldDef
from .geo import parse as coords
from .messages import Text
from .operators import BY_CODE, normalise_operator
from .text import fold, format_plain
from .value_lists import ValueList, value_lists

# The longest text a field takes, wherever it comes from (form, workbook, GIS file): what one
# Excel cell holds, so every value a database has can travel in the department's workbook whole.
MAX_TEXT_CHARS = 32_767


class FieldError(ValueError):
    """A value that does not fit its field; the message is for the user, in both languages
    (`text`, a core.messages.Text; str() is the bilingual line)."""

    def __init__(self, vi: str | Text, en: str | None = None):
        self.text = vi if isinstance(vi, Text) and en is None else Text(str(vi), en)
        super().__init__(str(self.text))


class NotAValue:
    """A cell that holds no value: a spreadsheet error (#N/A, #DIV/0!...) or a formula saved
    without its computed result. The reader puts one where such a cell is; parsing it is always
    a FieldError with `message`, never a blank. `str()` is the cell as the sheet shows it."""
    __slots__ = ("shown", "message")

    def __init__(self, shown: str, message: str):
        self.shown, self.message = shown, message

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"NotAValue({self.shown!r})"


def text_too_long(value: str) -> FieldError | None:
    """The error for a text longer than MAX_TEXT_CHARS, or None."""
    if len(value) <= MAX_TEXT_CHARS:
        return None
    return FieldError(f"dài {format_plain(len(value))} ký tự, quá giới hạn {format_plain(MAX_TEXT_CHARS)} ký tự "
                      "của một ô Excel",
                      f"{format_plain(len(value), 'en')} characters, over the {format_plain(MAX_TEXT_CHARS, 'en')} "
                      "an Excel cell holds")


_TRUE = {"1", "x", "co", "c", "yes", "y", "true", "dung", "v", "✓", "đ"}
_FALSE = {"0", "khong", "k", "no", "n", "false", "sai", "-"}
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%y")


def _blank(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number(raw, integer: bool) -> float | int:
    if isinstance(raw, bool):
        raise FieldError("cần một số", "a number is expected")
    if isinstance(raw, (int, float)):
        value = raw
    else:
        text = str(raw).strip().replace(" ", "")
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d+", text):  # 1.234,5
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            raise FieldError(f"'{raw}' không phải là số", f"'{raw}' is not a number") from None
    if not math.isfinite(value):  # "NaN", "inf", "1e999": Python reads them, a field cannot hold them
        raise FieldError(f"'{raw}' không phải là số", f"'{raw}' is not a number")
    if integer:
        if float(value) != int(float(value)):
            raise FieldError(f"'{raw}' phải là số nguyên", f"'{raw}' must be a whole number")
        return int(float(value))
    return float(value)


def parse_date(raw) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10] if fmt.startswith("%Y-") else text, fmt).date()
        except ValueError:
            continue
    raise FieldError(f"'{raw}' không phải ngày (dd/mm/yyyy)", f"'{raw}' is not a date (dd/mm/yyyy)")


def parse_technologies(raw) -> tuple[str, ...]:
    parts = [p for p in re.split(r"[\s/,;+&]+|\bva\b", fold(str(raw))) if p]
    techs = []
    listed = value_lists()["technologies"]  # "LTE", "NR": the list's aliases
    for p in parts:
        t = listed.code_for(p) or p.upper()
        if t not in TECH_COLUMNS:
            raise FieldError(f"'{p}' không phải công nghệ 2G/3G/4G/5G", f"'{p}' is not a technology (2G/3G/4G/5G)")
        if t not in techs:
            techs.append(t)
    return tuple(sorted(techs))


def parse_value(f: FieldDef, raw, *, lists: dict[str, ValueList], communes: dict[str, str] | None = None,
                column: str | None = None):
    """The field's value from a cell (or a form widget), None when blank; FieldError when wrong."""
    if isinstance(raw, NotAValue):
        raise FieldError(raw.message)
    if _blank(raw):
        return None
    kind = f.type
    if kind == "text" or kind == "reference":
        if isinstance(raw, float) and not math.isfinite(raw):
            raise FieldError(f"'{raw}' không phải là giá trị", f"'{raw}' is not a value")
        value = str(raw).strip() if not isinstance(raw, float) or raw != int(raw) else str(int(raw))
        too_long = text_too_long(value)
        if too_long is not None:
            raise too_long
        if f.pattern and not re.fullmatch(f.pattern, value):
            raise FieldError(f"'{value}' không đúng định dạng", f"'{value}' does not match the expected format")
        return value
    if kind in ("integer", "decimal"):
        value = _number(raw, kind == "integer")
        if f.min is not None and value < f.min or f.max is not None and value > f.max:
            unit, unit_en = (f" {f.unit}", f" {f.unit_in('en')}") if f.unit else ("", "")
            v, lo, hi = (None if n is None else format_plain(n, "vi", 4) for n in (value, f.min, f.max))
            v_en, lo_en, hi_en = (None if n is None else format_plain(n, "en", 4) for n in (value, f.min, f.max))
            if f.max is None:    # a bound on one side only (GPS figures: at least 0)
                raise FieldError(f"{v}{unit} nhỏ hơn {lo}{unit}", f"{v_en}{unit_en} is less than {lo_en}{unit_en}")
            if f.min is None:
                raise FieldError(f"{v}{unit} lớn hơn {hi}{unit}", f"{v_en}{unit_en} is more than {hi_en}{unit_en}")
            raise FieldError(f"{v}{unit} nằm ngoài khoảng {lo}–{hi}{unit}",
                             f"{v_en}{unit_en} is outside {lo_en}–{hi_en}{unit_en}")
        return value
    if kind == "date":
        return parse_date(raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        key = fold(str(raw))
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise FieldError(f"'{raw}' phải là Có/Không", f"'{raw}' must be yes or no")
    if kind == "choice":
        code = lists[f.values].code_for(str(raw))
        if code is None:
            allowed = ", ".join(c.vi for c in lists[f.values].choices)
            raise FieldError(f"'{raw}' không có trong danh sách ({allowed})", f"'{raw}' is not in the list ({allowed})")
        return code
    if kind == "operator":
        text = str(raw).strip()
        code = text if text in BY_CODE else normalise_operator(text)
        if code is None:
            raise FieldError(f"'{raw}' không phải doanh nghiệp đã biết (Viettel, VNPT, MobiFone, "
                             "Vietnamobile, Gtel...)", f"'{raw}' is not a known operator (Viettel, VNPT, MobiFone, Vietnamobile, Gtel...)")
        return code
    if kind == "commune":
        if isinstance(raw, float) and not math.isfinite(raw):  # a GIS attribute's NaN: no code
            raise FieldError(f"'{raw}' không phải xã/phường của tỉnh này", f"'{raw}' is not a commune of this province")
        text = str(int(raw)) if isinstance(raw, (int, float)) else str(raw).strip()
        labelled = re.search(r"\((\d{4,5})\)\s*$", text)  # "Phường Thành Sen (18073)", as exported
        if labelled:
            text = labelled.group(1)
        if text.isdigit():
            text = text.zfill(5)
        if communes is None:
            return text
        if text in communes:
            return text
        key = fold(text)
        for code, name in communes.items():
            if fold(name) == key or fold(name).split(" ", 1)[-1] == key:
                return code
        raise FieldError(f"'{raw}' không phải xã/phường của tỉnh này", f"'{raw}' is not a commune of this province")
    if kind == "technologies":
        return parse_technologies(raw)
    if kind == "position":
        try:
            return coords.parse_angle(str(raw) if not isinstance(raw, (int, float)) else repr(float(raw)),
                                      axis=column)
        except coords.CoordinateError as exc:
            raise FieldError(exc.text) from None  # both languages, as the coordinate error has them
    if kind == "geometry":
        try:
            geom = shapely.from_wkt(str(raw).strip())
        except Exception:
            raise FieldError("hình học WKT không đọc được", "unreadable WKT geometry") from None
        expected = f.geometry or geom.geom_type
        if geom.geom_type != expected:
            raise FieldError(f"cần {expected}, nhận {geom.geom_type}", f"expected {expected}, got {geom.geom_type}")
        if geom.is_empty or (expected == "LineString" and len(geom.coords) < 2):
            raise FieldError("hình học rỗng hoặc chỉ có một đỉnh", "empty or single-vertex geometry")
        if not geom.is_valid:
            raise FieldError("đa giác tự cắt hoặc không hợp lệ", "self-intersecting or invalid polygon")
        xs, ys = shapely.get_coordinates(geom).T
        if not coords.is_in_vietnam(ys, xs).all():
            raise FieldError("có đỉnh nằm ngoài lãnh thổ Việt Nam", "a vertex lies outside Vietnam")
        return geom
    raise FieldError(f"kiểu {kind} chưa hỗ trợ", f"unsupported type {kind}")


# -- the same parsing, prepared once per column -----------------------------------------------

_CACHE_LIMIT = 20_000   # distinct cells remembered per column (value lists, communes, dates...)
_MEMO_TYPES = {"integer", "decimal", "date", "boolean", "choice", "operator", "commune", "technologies"}


def column_parser(f: FieldDef, *, lists: dict[str, ValueList], communes: dict[str, str] | None = None,
                  column: str | None = None):
    """`parse_value(f, raw, ...)` for one column, as a function of the cell alone: made once per
    sheet column so the import does not dispatch on the field's type cell by cell. Same values,
    same FieldError messages. Types whose cells repeat (lists, communes, numbers, dates) remember
    each distinct cell, keyed by the cell's type too (1, 1.0 and True differ as text)."""
    kind = f.type

    def slow(raw):
        return parse_value(f, raw, lists=lists, communes=communes, column=column)

    if kind in ("text", "reference"):
        pattern = re.compile(f.pattern) if f.pattern else None

        def parse_text(raw):
            if raw is None:
                return None
            if type(raw) is str:
                value = raw.strip()
                if not value:
                    return None
                if len(value) > MAX_TEXT_CHARS:
                    raise text_too_long(value)
                if pattern is not None and pattern.fullmatch(value) is None:
                    raise FieldError(f"'{value}' không đúng định dạng", f"'{value}' does not match the expected format")
                return value
            return slow(raw)
        parse_text.many = lambda cells: _text_column(cells, pattern, parse_text)
        return parse_text
    if kind == "position":
        limit = 90 if column == "lat" else 180

        def parse_position(raw):
            # A float cell in plain decimal notation (no exponent) reads back as itself.
            if type(raw) is float and 1e-4 <= abs(raw) <= limit:
                return raw
            return slow(raw)
        parse_position.many = lambda cells: _position_column(cells, limit, parse_position)
        return parse_position
    if kind == "geometry":
        slow.many = lambda cells: _geometry_column(cells, f.geometry, slow)
        return slow
    if kind not in _MEMO_TYPES:
        slow.many = lambda cells: _each(cells, slow)
        return slow
    memo: dict[tuple[type, Any], tuple[bool, Any]] = {}

    def parse_memo(raw):
        if raw is None:
            return None
        key = (type(raw), raw) if raw != 0 or type(raw) is not float else (float, repr(raw))  # -0.0 apart
        try:
            hit = memo.get(key)
        except TypeError:  # an unhashable cell
            return slow(raw)
        if hit is None:
            try:
                hit = (True, slow(raw))
            except FieldError as exc:
                hit = (False, exc.text)
            if len(memo) < _CACHE_LIMIT:
                memo[key] = hit
        if hit[0]:
            return hit[1]
        raise FieldError(hit[1])
    parse_memo.many = lambda cells: _distinct_column(cells, parse_memo)
    return parse_memo


# -- a whole column at once ----------------------------------------------------------------------
#
# `column_parser(...).many(cells)` parses a column of cells as the parser would cell by cell:
# (values, failures), values[i] the parsed value or None where the cell failed, failures
# {row index: FieldError} with the message parsing that cell alone gives. The common columns cost
# no Python call per cell: text that is already clean passes as it is, numbers in range are checked
# with numpy, and value lists, communes, numbers and dates are parsed once per distinct cell.
# Any cell these shortcuts cannot vouch for is parsed alone. For every reader of a table of cells
# (the Excel import, the GIS import): columns in, values and problems out.

_NONE = type(None)


def _each(cells: list, parse, out: list | None = None, rows=None) -> tuple[list, dict[int, FieldError]]:
    """`parse` cell by cell (over `rows` only, into `out`, when given)."""
    out = [None] * len(cells) if out is None else out
    failures: dict[int, FieldError] = {}
    for k in range(len(cells)) if rows is None else rows:
        try:
            out[k] = parse(cells[k])
        except FieldError as exc:
            failures[k] = exc
    return out, failures


def _text_column(cells: list, pattern, parse) -> tuple[list, dict[int, FieldError]]:
    present = [v for v in cells if v is not None]
    if set(map(type, present)) <= {str}:
        stripped = list(map(str.strip, present))
        if (stripped == present and "" not in present and max(map(len, present), default=0) <= MAX_TEXT_CHARS
                and (pattern is None or all(pattern.fullmatch(v) for v in set(present)))):
            return list(cells), {}
    return _each(cells, parse)


def _position_column(cells: list, limit: float, parse) -> tuple[list, dict[int, FieldError]]:
    import numpy as np

    if set(map(type, cells)) <= {float, _NONE}:
        present = [v for v in cells if v is not None]
        a = np.abs(np.array(present, dtype=float))
        if bool(((a >= 1e-4) & (a <= limit)).all()):
            return list(cells), {}
    return _each(cells, parse)


def _distinct_column(cells: list, parse) -> tuple[list, dict[int, FieldError]]:
    types = set(map(type, cells))
    types.discard(_NONE)
    try:
        distinct = set(cells)
    except TypeError:  # an unhashable cell
        return _each(cells, parse)
    distinct.discard(None)
    # One type only: equal cells are the same cell (1, 1.0 and True are not mixed).
    if len(types) != 1:
        return _each(cells, parse)
    table: dict = {None: None}
    bad = set()
    if types == {float} and 0.0 in distinct:  # 0.0 or -0.0, which the parsers keep apart: alone
        distinct.discard(0.0)
        table[0.0] = None
        bad.add(0.0)
    for v in distinct:
        try:
            table[v] = parse(v)
        except FieldError:
            table[v] = None
            bad.add(v)
    out = list(map(table.__getitem__, cells))
    if not bad:
        return out, {}
    rows = [k for k, v in enumerate(cells) if v in bad]
    return _each(cells, parse, out, rows)


_TYPE_IDS = {"Point": 0, "LineString": 1, "LinearRing": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
             "MultiPolygon": 6, "GeometryCollection": 7}


def _geometry_column(cells: list, expected: str | None, parse) -> tuple[list, dict[int, FieldError]]:
    """WKT cells read and checked over the array (parse_value's tests: the expected type, not
    empty, two vertices for a line, valid, inside Vietnam); a cell failing any is parsed alone."""
    import numpy as np

    if not set(map(type, cells)) <= {str, _NONE}:
        return _each(cells, parse)
    n = len(cells)
    texts = np.array([c.strip() if c is not None else None for c in cells] + [None], dtype=object)[:n]
    geoms = shapely.from_wkt(texts, on_invalid="ignore")
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if expected is not None:
        ok &= shapely.get_type_id(geoms) == _TYPE_IDS.get(expected, -2)
    if expected == "LineString":
        ok &= shapely.get_num_coordinates(geoms) >= 2
    ok[ok] &= shapely.is_valid(geoms[ok])
    xy, owner = shapely.get_coordinates(geoms[ok], return_index=True)
    outside = np.zeros(int(ok.sum()), dtype=bool)
    outside[owner[~coords.is_in_vietnam(xy[:, 1], xy[:, 0])]] = True
    ok[np.flatnonzero(ok)[outside]] = False
    out = geoms.tolist()
    alone = [k for k in np.flatnonzero(~ok).tolist() if cells[k] is not None]
    for k in np.flatnonzero(~ok).tolist():
        out[k] = None
    return _each(cells, parse, out, alone)

