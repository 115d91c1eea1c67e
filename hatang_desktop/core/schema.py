"""What record types, fields and stored values are called, read from forms/ alone.

Every panel, report, importer and exporter names a record type, titles a column, words a
value-list code or a yes/no, and picks the field that names a record through these functions,
so a label changed in forms/*.yaml changes everywhere at once and no copy can drift.
Numbers and dates are left to the shell that shows them (their separators are the UI's).
"""

from __future__ import annotations

from typing import Any

from .forms import RECORDS, TECH_COLUMNS, FieldDef, FormDef, Forms, load_forms
from .operators import BY_CODE

# The surveyed record types, in the workbook's order (forms/*.yaml, one file each).
RECORD_TYPES = RECORDS
# Common columns listed after a record's own fields, in this order.
_TRAILING = ("updated_at", "updated_by", "uuid")


def forms() -> Forms:
    return load_forms()


def children() -> dict[str, str]:
    """Parent record type -> the record type whose rows sit on it (a site's tenants, a pole's cables)."""
    return {f.parent["record"]: f.record for f in load_forms() if f.parent}


def top_level() -> tuple[str, ...]:
    """The record types that stand on their own (no parent): edited, photographed, on the map."""
    return tuple(f.record for f in load_forms() if not f.parent)


def having(field_type: str) -> tuple[str, ...]:
    """The record types with a field of this type: "position" (points), "geometry" (lines, areas)."""
    return tuple(f.record for f in load_forms() if any(d.type == field_type for d in f.fields))


def form(table: str) -> FormDef | None:
    """The definition of a surveyed or reference record type (admin units), None for another table."""
    return load_forms().get(table)


def record_label(table: str, lang: str = "vi", short: bool = False, plural: bool = False) -> str:
    """"Cột treo cáp" / "Cable pole"; with `short`, "Cột" / "Pole"; with `plural`, "Cột treo
    cáp" / "Poles". The table name for a table that is no record type."""
    f = form(table)
    if f is None:
        return table
    if plural and f.plural is not None:
        return f.plural(lang)
    return (f.short if short and f.short is not None else f.label)(lang)


def field(table: str, key: str) -> FieldDef | None:
    """The definition of a column as records hold it: a form field, a position's `lat`/`lon`, a
    derived column (a route's length), or a column every record has (uuid, updated_at...)."""
    fs = load_forms()
    f = fs.get(table)
    if f is not None:
        for d in (*f.fields, *f.derived):
            if d.key == key and d.type != "position":
                return d
    return fs.common.get(key)


def field_label(table: str, key: str, lang: str = "vi") -> str:
    """A column's title with its unit ("Chiều cao cột (m)"); the key itself for an unknown one."""
    if key in TECH_COLUMNS.values():
        return next(t for t, c in TECH_COLUMNS.items() if c == key)
    d = field(table, key)
    if d is None:
        return key
    label, unit = d.label(lang), d.unit_in(lang)
    return f"{label} ({unit})" if unit else label


def display_keys(table: str) -> list[str]:
    """The columns a panel shows for one record, in the form's order: its fields (a position as
    latitude and longitude, technologies once), the derived columns, then the common ones."""
    f = form(table)
    if f is None:
        return list(_TRAILING)
    keys: list[str] = []
    for d in f.fields:
        if d.type == "position":
            keys += [c.key for c in d.columns()]
        elif d.type != "geometry":  # drawn on the map, not written out
            keys.append(d.key)
    keys += [d.key for d in f.derived]
    return keys + [k for k in _TRAILING if k not in keys]


def yes_no(value: bool, lang: str = "vi") -> str:
    return load_forms().lists["yes_no"].label("yes" if value else "no", lang)


def technologies(record: dict[str, Any]) -> tuple[str, ...]:
    """The technologies a tenant record's flag columns (has_2g...) say it broadcasts."""
    return tuple(t for t, column in TECH_COLUMNS.items() if record.get(column))


def value_text(table: str, key: str, value, lang: str = "vi") -> str | None:
    """A stored value as words, when its field gives it words: a value-list code's label, yes or
    no, an operator's brand, technologies. None for a value shown as it is (text, numbers,
    dates: the shell formats those)."""
    if value is None:
        return None
    d = field(table, key)
    if d is None:
        return None
    if d.type == "choice":
        return load_forms().lists[d.values].label(str(value), lang)
    if d.type == "boolean":
        return yes_no(bool(value), lang)
    if d.type == "operator":
        return BY_CODE[value].brand if value in BY_CODE else str(value)
    if d.type == "operators":
        return ", ".join(BY_CODE[c].brand if c in BY_CODE else c
                         for c in (s.strip() for s in str(value).split(",")) if c)
    if d.type == "technologies":
        return ", ".join(value) if isinstance(value, (tuple, list)) else str(value)
    return None


def title(table: str, record: dict[str, Any]) -> str:
    """What names one record ("HT-0001", a zone's code and name): its form's title fields."""
    f = form(table)
    return f.name_of(record) if f is not None else str(record.get("name") or record.get("code") or "")


def title_sql(table: str, alias: str = "t") -> str:
    """The same name as an SQL expression over the table's row `alias`."""
    keys = form(table).title
    return " || ' ' || ".join(f"{alias}.{k}" for k in keys)
