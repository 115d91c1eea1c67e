"""A fingerprint of a data row's cells, as the workbook reader will see them again.

Export stores one per row (in `_base`); import computes it over the row it reads. Equal
fingerprints mean the row is cell for cell what we exported, so it cannot carry a change and
needs neither parsing nor merging: most rows of a returned workbook are like that, and this is
what makes importing 100k rows fast. The prediction only has to be sound, not complete: a cell the
reader returns in another form makes the fingerprints differ, and that row simply takes the full
validate-and-merge path.
"""

from __future__ import annotations

import datetime as dt
import hashlib

# Excel keeps at most this many characters in a cell. A longer value (a fibre route of thousands
# of vertices as WKT) is written as this marker and the import keeps the database's value.
MAX_CELL_CHARS = 32_767
TOO_LONG_MARKER = ("(quá dài cho một ô Excel, giữ nguyên giá trị trong cơ sở dữ liệu / "
                   "too long for an Excel cell, the database keeps its value)")


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


def row_fingerprint(cells: list) -> str:
    """Fingerprint of raw reader cells (trailing empty cells ignored)."""
    end = len(cells)
    while end and cells[end - 1] in ("", None):
        end -= 1
    return hashlib.sha1(repr(cells[:end]).encode("utf-8")).hexdigest()[:16]


def exported_fingerprint(cells: list) -> str:
    return row_fingerprint([as_read(v) for v in cells])
