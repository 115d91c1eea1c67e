"""A form's rules over a whole table at once: columns in, problems out.

`FormDef.problems(record)` judges one record. An import of 100k rows asking it row by row spends
most of its validation there, though nearly every row passes. `rows_to_check` runs the same rules
over columns with numpy and names the rows where one of them may speak (never fewer: a row it
leaves out has no problem); `FormDef.problems` then judges those rows alone, so the messages are
the ones the form, the workbook and the GIS import always gave. `column_problems` does both.

For any reader of a table of parsed values (the Excel import, the GIS import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .forms import FormDef
from .geo.parse import is_in_vietnam
from .operators import UNKNOWN

_BLANK = (None, "", ())


def rows_to_check(form: FormDef, columns: dict[str, list], n: int) -> np.ndarray:
    """Indices of the rows (of n) where `form.problems` may find something, the table given as
    field key -> parsed values (n each). A key not given is empty in every row, as `record.get`
    reads a key a record does not have; a position's two columns are "lat" and "lon"."""
    return np.flatnonzero(_flagger(form)(columns, n))


def column_problems(form: FormDef, columns: dict[str, list], n: int,
                    record: Callable[[int], dict[str, Any]] | None = None) -> list[tuple[int, str, Any]]:
    """(row, field key, message) for every problem `form.problems` finds in the table, in row order.
    `record(i)` gives row i as the dict to judge (default: the columns' values)."""
    if record is None:
        def record(i: int) -> dict[str, Any]:
            return {k: col[i] for k, col in columns.items()}
    problems = form.problems
    return [(int(i), key, msg) for i in rows_to_check(form, columns, n) for key, msg in problems(record(int(i)))]


_FLAGGERS: dict[int, tuple[FormDef, Callable]] = {}


def _flagger(form: FormDef) -> Callable[[dict[str, list], int], np.ndarray]:
    hit = _FLAGGERS.get(id(form))
    if hit is None or hit[0] is not form:
        hit = _FLAGGERS[id(form)] = (form, _make_flagger(form))
    return hit[1]


def _make_flagger(form: FormDef):
    """The column form of forms._record_checker: the same rules, each a boolean over the rows."""
    rules = []
    for f in form.fields:
        keys = ("lat", "lon") if f.type == "position" else (f.key,)
        when = f.when is not None and f.type != "boolean"
        if f.required or when:
            rules.append((keys, f.when, f.required, when))
    positions = [f.required for f in form.fields if f.type == "position"]
    unknown_operator = form.record == "sites" and any(f.key == "operator_code" for f in form.fields)

    def flag(columns: dict[str, list], n: int) -> np.ndarray:
        missing_cache: dict[str, np.ndarray] = {}

        def missing(key: str) -> np.ndarray:
            hit = missing_cache.get(key)
            if hit is None:
                col = columns.get(key)
                hit = missing_cache[key] = (np.ones(n, bool) if col is None
                                            else np.array([v in _BLANK for v in col], bool).reshape(n))
            return hit

        def holds(cond) -> np.ndarray:
            col = columns.get(cond.field)
            if col is None:
                col = [None] * n
            if cond.values is None:
                return np.array([v not in (None, "") for v in col], bool).reshape(n)
            values = cond.values
            return np.array([v in values for v in col], bool).reshape(n)

        out = np.zeros(n, bool)
        for keys, cond, required, when in rules:
            gone = missing(keys[0]) if len(keys) == 1 else missing(keys[0]) | missing(keys[1])
            applies = np.ones(n, bool) if cond is None else holds(cond)
            if required:
                out |= gone & applies
            if when:
                out |= ~applies & ~gone
        if positions:
            lat, lon = columns.get("lat"), columns.get("lon")
            if lat is not None and lon is not None:
                has_lat = np.array([v is not None for v in lat], bool).reshape(n)
                has_lon = np.array([v is not None for v in lon], bool).reshape(n)
                # A value that is not a number reads as NaN: outside, so its row is judged alone.
                lat_f, lon_f = (np.array([v if type(v) is float or type(v) is int else np.nan for v in col],
                                         float).reshape(n) for col in (lat, lon))
                out |= has_lat & has_lon & ~is_in_vietnam(lat_f, lon_f)
                if not all(positions):  # half a position: one side blank, the other not
                    out |= missing("lat") != missing("lon")
        if unknown_operator:
            op, status = columns.get("operator_code"), columns.get("status")
            if op is not None:
                status = status if status is not None else [None] * n
                out |= np.array([o == UNKNOWN and s != "to_verify" for o, s in zip(op, status)], bool).reshape(n)
        return out
    return flag
