"""`merge.unchanged_rows` (which rows agree with their local record, judged for all rows of a sheet at
once) must say exactly what `_differs` says row by row: the values people and programs leave in
cells (floats to 15 digits, infinities, NaN, whole numbers as floats, blanks of every kind, tuples
against lists, kept cells, fields a local record lacks, hand-typed rows)."""

from __future__ import annotations

import random

from hatang_desktop.core.exchange.merge import _differs, unchanged_rows
from hatang_desktop.core.exchange.records import RecordState
from hatang_desktop.core.exchange.workbook_rows import WorkbookRow

# What a field holds, by its type (a field's local value and its cell are of one family).
FAMILIES = {
    "float": [None, 7.5, 5.0, -0.0, 18.34032470866628, 105.90453352867311, 1e-12, float("inf"), float("-inf"),
              float("nan")],
    "coordinate": [18.34032470866628, 105.90453352867311, 7.5, -0.0, float("inf"), float("nan")],
    "int": [None, 0, 1, 5, 24],
    "text": [None, "", "abc", " abc", "5", "Thôn 3"],
    "bool": [None, True, False],
    "technologies": [None, (), ("4G", "5G"), ("LTE",)],
}


def _near(value, family: str, rng):
    """What a workbook gives back for a local value: itself, a float to 15 digits or a bit off,
    a list for a tuple, another blank, or another value of the field's kind."""
    pick = rng.random()
    if family == "coordinate" and value is not None:   # never blank: a column of floats on both sides
        return float(f"{value:.15g}") if pick < 0.4 else value * (1 + rng.choice([1e-10, 1e-8])) if pick < 0.7 \
            else _read_back(rng.choice(FAMILIES[family]))
    if isinstance(value, float) and pick < 0.5:
        return float(f"{value:.15g}") if pick < 0.3 else value * (1 + rng.choice([1e-10, 1e-8, -1e-10]))
    if pick < 0.6:
        return _read_back(value)
    if pick < 0.7 and isinstance(value, tuple):
        return list(value)
    if pick < 0.8:
        return rng.choice([None, "", ()])
    if family == "coordinate":
        return _read_back(rng.choice(FAMILIES[family]))
    if family == "int" and pick < 0.85:
        return float(rng.choice(FAMILIES["int"][1:]))   # calamine's numbers are floats
    return _read_back(rng.choice(FAMILIES[family]))


def _read_back(value):
    """The same value as another object, as a cell read back gives it (a NaN is then not equal to
    itself, as it is not to the local one)."""
    return float(repr(value)) if isinstance(value, float) else value


def test_unchanged_is_differs_row_by_row():
    rng = random.Random(22)
    agreeing = differing = 0
    for _round in range(60):
        keys = rng.sample(["a", "b", "c", "d", "e", "lat", "lon"], rng.randint(1, 7))
        kinds = {key: rng.choice(list(FAMILIES)) for key in keys}
        rows, local = [], {}
        for k in range(rng.randint(1, 60)):
            uuid = f"u{_round}-{k}"
            mine = {key: rng.choice(FAMILIES[kinds[key]]) for key in keys}
            if rng.random() < 0.05:
                mine.pop(rng.choice(keys))          # a field the local record lacks
            theirs = {key: _near(mine.get(key), kinds[key], rng) for key in keys}
            if rng.random() < 0.3:   # one field edited; the others read back as they are here
                theirs = {key: _read_back(mine.get(key)) for key in keys} | {key: theirs[key] for key in rng.sample(keys, 1)}
            deleted = rng.random() < 0.1
            extra = {"kept": {rng.choice(keys)}} if rng.random() < 0.05 else {}
            version = None if rng.random() < 0.2 else 1   # hand-typed rows carry no version
            rows.append(WorkbookRow("sites", k + 2, uuid, False, version, deleted, theirs, extra=extra))
            if rng.random() < 0.95:
                local[uuid] = RecordState(uuid, 1, rng.random() < 0.1 if not deleted else True, mine)
        expected = {r.uuid for r in rows if r.uuid in local and not _differs(r, local[r.uuid])}
        assert unchanged_rows(rows, local) == expected
        agreeing += len(expected)
        differing += len(rows) - len(expected)
    assert agreeing > 200 and differing > 200   # both kinds of rows, many of each
