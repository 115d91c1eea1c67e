"""A fingerprint of a data row's cells, as the workbook reader will see them again.

Export stores one per row (in `_base`); import computes it over the row it reads. Equal
fingerprints mean the row is cell for cell what we exported, so it cannot carry a change and
needs neither parsing nor merging: most rows of a returned workbook are like that, and this is
what makes importing 100k rows fast. The prediction only has to be sound, not complete: a cell the
reader returns in another form makes the fingerprints differ, and that row simply takes the full
validate-and-merge path.

The fingerprint is the SHA-1 of the row's cell keys joined by a unit separator (trailing empty
cells dropped). A cell's key is its text; any other value is tagged with a record separator so a
number never reads as the text that spells it. Keys are computed a column at a time, in list
comprehensions whose common case (a column of text) does no work per cell: both the export and
the import fingerprint every row of a workbook. Numbers count to 15 significant digits: Excel
(and openpyxl) save a coordinate like 18.335167692917924 as 18.33516769291792, and a workbook
opened and saved there must still come back "untouched".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from itertools import repeat
from operator import itemgetter, methodcaller

# Excel keeps at most this many characters in a cell. A longer value (a fibre route of thousands
# of vertices as WKT) is written as this marker and the import keeps the database's value.
MAX_CELL_CHARS = 32_767
TOO_LONG_MARKER = ("(quá dài cho một ô Excel, giữ nguyên giá trị trong cơ sở dữ liệu / "
                   "too long for an Excel cell, the database keeps its value)")

_SEP = "\x1f"    # between cells: a control character no cell can hold (XML cannot carry it raw)
_TAG = "\x1e"    # before a value that is not text
_NUMBER = {int, float}
_FLOAT, _INT = {float}, {int}
_NUMBER_KEY = _TAG + "%.15g"     # as f"{float(v):.15g}" for an int or a float
# map(BLANK_AS_EMPTY.get, cells, cells): None as "", any other (hashable) value itself, in C.
BLANK_AS_EMPTY = {None: ""}


def as_read(value):
    """A cell value as python-calamine returns it: numbers as float, empty as "", dates at
    midnight as date."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


def _key(value) -> str:
    """The key of one value as the reader gives it (see `as_read`)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _TAG + ("T" if value else "F")
    if isinstance(value, (int, float)):
        return _TAG + f"{float(value):.15g}"
    if isinstance(value, dt.datetime):
        return _datetime_key(value)
    if isinstance(value, dt.date):
        return _TAG + value.isoformat()
    return _TAG + repr(value)


def _datetime_key(value: dt.datetime) -> str:
    """To the nearest second (a time travels as a fraction of a day and may come back a
    microsecond off); a datetime at midnight reads back as a date."""
    if value.microsecond:
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    if value.hour or value.minute or value.second:
        return _TAG + value.isoformat()
    return _TAG + value.date().isoformat()


def column_keys(cells, *, exported: bool = False) -> list[str]:
    """Keys of a column of cells; `exported=True` for values as written (they are read back as
    `as_read` says: None empty, ints as floats, midnight datetimes as dates). Text (and the
    reader's "" for an empty cell) is its own key; the other types are converted in one list
    comprehension per column when the column holds one of them only."""
    types = set(map(type, cells))
    # One kind of value and no blank (the usual column): `%` mapped in C, no bytecode per cell.
    if types == _FLOAT or types == _INT:
        return list(map(_NUMBER_KEY.__mod__, cells))
    types.discard(type(None))
    types.discard(str)
    if not types:
        return list(map(BLANK_AS_EMPTY.get, cells, cells))
    if types == _FLOAT:   # what the reader gives for numbers
        return ["" if v is None else v if type(v) is str else _TAG + f"{v:.15g}" for v in cells]
    if types <= _NUMBER:
        return ["" if v is None else v if type(v) is str else _TAG + f"{float(v):.15g}" for v in cells]
    if types == {dt.datetime}:
        # _datetime_key, with the usual case (whole seconds, not midnight) inline
        return ["" if v is None else v if type(v) is str else
                _TAG + v.isoformat() if not v.microsecond and (v.hour or v.minute or v.second) else
                _datetime_key(v) for v in cells]
    if types == {dt.date}:
        return ["" if v is None else v if type(v) is str else _TAG + v.isoformat() for v in cells]
    if exported:
        cells = [as_read(v) for v in cells]
    return [_key(v) for v in cells]


def fingerprints(columns: list, *, exported: bool = False, keys: dict[int, list] | None = None) -> list[str]:
    """The fingerprint of every row of a sheet given as columns (all of the same length);
    `keys` gives some columns' keys ready-made (None for an empty cell)."""
    given = keys or {}
    keys = [list(map(BLANK_AS_EMPTY.get, given[j], given[j])) if j in given else column_keys(c, exported=exported)
            for j, c in enumerate(columns)]
    return hex16(map(str.encode, map(str.rstrip, map(_SEP.join, zip(*keys)), repeat(_SEP))))


_HEXDIGEST, _FIRST16 = methodcaller("hexdigest"), itemgetter(slice(0, 16))


def hex16(data) -> list[str]:
    """The first 16 hex digits of each SHA-1 of `data` (bytes each). Every step is a `map` of a C
    function: two hashes per exported row, and no Python bytecode run per row for them."""
    return list(map(_FIRST16, map(_HEXDIGEST, map(hashlib.sha1, data))))


def row_fingerprint(cells: list) -> str:
    """Fingerprint of one row of raw reader cells (trailing empty cells ignored)."""
    return fingerprints([[v] for v in cells])[0] if cells else fingerprints([[""]])[0]


def exported_fingerprint(cells: list) -> str:
    """Fingerprint a row of cells as written will have when read back."""
    return fingerprints([[v] for v in cells], exported=True)[0] if cells else row_fingerprint([])
