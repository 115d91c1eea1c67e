"""What the Excel export, Excel import and conflict dialogs share: the order and names of the
record types."""

from __future__ import annotations

from hatang_desktop.core import schema

RECORD_ORDER = schema.RECORD_TYPES


def record_label(record: str) -> str:
    """A record type as its workbook sheet is named (the workbook's own words)."""
    form = schema.form(record)
    return form.sheet.vi if form is not None and form.sheet is not None else record
