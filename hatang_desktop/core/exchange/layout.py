"""The workbook's shape, derived from the form definitions: sheets, columns, dropdowns.

Cells show what people read (Vietnamese labels, "Có"/"Không", operator brands, "Phường Thành Sen
(18073)"); `display_value` turns a stored value into that and the import's `parse_value` turns it
back, so a workbook a user only looked at imports as "no change".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .. import schema
from ..forms import Column, FieldDef, FormDef, Forms, Label
from ..operators import BY_CODE, OPERATORS

FORMAT_VERSION = 1
META_SHEET = "_metadata"
BASE_SHEET = "_base"
# The one column of `_base`: what each record was at export, "|"-separated in one cell (cheap to
# write and read: a national export has a million of them).
BASE_FIELDS = "uuid|version|received_version|state_hash|row_hash"
SUMMARY_SHEET = {"vi": "Tổng hợp", "en": "Summary"}
COMMUNE_SUMMARY_SHEET = {"vi": "Tổng hợp theo xã", "en": "Summary by commune"}
# Yes and no as a Vietnamese workbook writes them (forms/value_lists.yaml, `yes_no`).
YES, NO = schema.yes_no(True), schema.yes_no(False)


@dataclass(frozen=True)
class ColumnSpec:
    key: str               # the row dict key: a form column key or a system key
    label: Label
    kind: str              # "field", "system", "deleted", "parent_code"
    field: FieldDef | None = None
    column: Column | None = None
    choices: tuple[str, ...] = ()   # dropdown values as shown
    width: int = 14
    number_format: str | None = None

    def header(self, lang: str = "vi") -> str:
        if self.column is not None:
            return self.column.header(lang)
        return self.label(lang)

    @property
    def editable(self) -> bool:
        return self.kind in ("field", "deleted")


@dataclass(frozen=True)
class SheetSpec:
    record: str
    title: Label
    columns: tuple[ColumnSpec, ...]
    form: FormDef = field(repr=False, default=None)
    lang: str = "vi"  # the language of its sheet name, headers, value labels and dropdowns

    def name(self, lang: str = "vi") -> str:
        return self.title(lang)


SYSTEM = (
    ColumnSpec("deleted", Label("Xóa (ghi x)", "Delete (x)"), "deleted", choices=("x",), width=12),
    ColumnSpec("uuid", Label("UUID (không sửa)", "UUID (do not edit)"), "system", width=38),
    ColumnSpec("version", Label("Phiên bản (không sửa)", "Version (do not edit)"), "system", width=15),
    ColumnSpec("updated_at", Label("Cập nhật lúc (không sửa)", "Updated at (do not edit)"), "system",
               width=19, number_format="dd/mm/yyyy hh:mm"),
)


def excel_float(value: float) -> float:
    """A float as Excel keeps it: 15 significant digits. Written so, a number survives the
    workbook being opened and saved in Excel (or openpyxl) unchanged, digit for digit, and the
    row still reads as untouched on import."""
    return float(f"{value:.15g}")


def operator_label(code: str) -> str:
    return BY_CODE[code].brand if code in BY_CODE else code


def commune_label(code: str, names: dict[str, str]) -> str:
    return f"{names[code]} ({code})" if code in names else code


def _choices(f: FieldDef, forms: Forms, communes: dict[str, str], lang: str = "vi") -> tuple[str, ...]:
    if f.type == "choice":
        return tuple(c.label(lang) for c in forms.lists[f.values].choices)
    if f.type == "operator":
        return tuple(op.brand for op in OPERATORS)
    if f.type == "boolean":
        return (schema.yes_no(True, lang), schema.yes_no(False, lang))
    if f.type == "commune":
        return tuple(commune_label(c, communes) for c in sorted(communes, key=lambda c: communes[c]))
    return ()


def _width(f: FieldDef, col: Column) -> int:
    if f.type == "geometry":
        return 40
    if f.type in ("text", "commune", "reference"):
        return 22 if f.type != "reference" else 38
    if f.type == "date":
        return 12
    if f.type == "position":
        return 13   # "105.8931358": 11 characters; at 10 a longitude shows as ### (Excel and LibreOffice)
    return max(10, min(24, len(col.label.vi) + 2))


def _format(f: FieldDef) -> str | None:
    return {"date": "dd/mm/yyyy", "integer": "0", "decimal": "0.0##"}.get(f.type) or (
        "0.0000000" if f.type == "position" else None)


def sheet_spec(form: FormDef, forms: Forms, communes: dict[str, str], lang: str = "vi") -> SheetSpec:
    columns: list[ColumnSpec] = []
    for f, col in form.columns():
        columns.append(ColumnSpec(col.key, col.label, "field", f, col, _choices(f, forms, communes, lang),
                                  _width(f, col), _format(f)))
        if f.type == "reference" and form.parent:
            parent = forms[form.parent["record"]]
            shown = parent.field(form.parent["show"])
            columns.append(ColumnSpec("parent_code", Label(f"{shown.label.vi} (tham khảo)",
                                                           f"{shown.label.en} (reference)"),
                                      "parent_code", width=18))
    return SheetSpec(form.record, form.sheet, tuple(columns) + SYSTEM, form, lang)


def workbook_layout(forms: Forms, communes: dict[str, str], lang: str = "vi") -> list[SheetSpec]:
    """The sheets of a workbook in `lang` (an import reads either language's)."""
    return [sheet_spec(form, forms, communes, lang) for form in forms]


def display_value(col: ColumnSpec, value, forms: Forms, communes: dict[str, str]):
    """A stored value as the cell shows it."""
    if value is None:
        return None
    if col.kind == "deleted":
        return "x" if value else None
    if col.kind != "field":
        return value
    f = col.field
    if f.type == "choice":
        return forms.lists[f.values].label(value)
    if f.type == "operator":
        return operator_label(value)
    if f.type == "boolean":
        return YES if value else NO
    if f.type == "commune":
        return commune_label(value, communes)
    if f.type == "technologies":
        return "/".join(value)
    if f.type == "geometry":
        return value.wkt if hasattr(value, "wkt") else value
    if f.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if type(value) is float:
        return excel_float(value)
    return value
