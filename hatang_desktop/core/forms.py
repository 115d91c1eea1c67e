"""Form definitions (forms/*.yaml): load and check them, and the rules they set over a whole record.

One definition per record type drives the Qt form, the core's validation, the Excel workbook's
sheets and the import's header matching. Parsing one typed value against a field lives in
core/field_values.py.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..paths import forms_dir
from .geo import parse as coords
from .messages import Text
from .operators import UNKNOWN
from .value_lists import FormDefinitionError, ValueList, value_lists

TYPES = {"text", "integer", "decimal", "date", "boolean", "choice", "operator", "commune",
         "position", "technologies", "reference", "geometry"}
# A derived column (filled by the program, never typed) may also be a list of operator codes.
DERIVED_TYPES = TYPES | {"operators"}
# The surveyed record types, in the order the workbook lists them.
RECORDS = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")
# Record types shown (map, identify panel) but never surveyed here: no form, no workbook sheet.
REFERENCE_RECORDS = ("admin_units",)
# The database's flag column of each technology of the closed `technologies` list.
TECH_COLUMNS = {code: f"has_{code.lower()}" for code in value_lists()["technologies"].codes}


@dataclass(frozen=True)
class Label:
    vi: str
    en: str

    def __call__(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class Condition:
    field: str
    values: tuple[str, ...] | None  # None: "the other field has any value"

    def holds(self, record: dict[str, Any]) -> bool:
        value = record.get(self.field)
        if self.values is None:
            return value not in (None, "")
        return value in self.values


@dataclass(frozen=True)
class Column:
    """One spreadsheet column of a field (a position has two: latitude and longitude)."""
    key: str
    label: Label
    unit: str | None
    aliases: tuple[str, ...]
    unit_en: str | None = None   # a unit that is a word ("sợi") has its English word here

    def header(self, lang: str = "vi") -> str:
        unit = self.unit_en if lang == "en" and self.unit_en else self.unit
        return f"{self.label(lang)} ({unit})" if unit else self.label(lang)


@dataclass(frozen=True)
class FieldDef:
    key: str
    type: str
    label: Label
    required: bool = False
    unit: str | None = None          # Vietnamese (or a symbol, "m", the same in both)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    values: str | None = None
    when: Condition | None = None
    default: Any = None
    help: Label | None = None
    aliases: tuple[str, ...] = ()
    references: str | None = None
    geometry: str | None = None
    # Filled by the program (the GPS receiver's figures), never typed: the form shows it without
    # an input and sends nothing back for it, the workbook greys its column. Its value still
    # travels with the record (exported, imported and merged like any other field).
    readonly: bool = False
    # A position's two columns (latitude, longitude), labelled by forms/common.yaml.
    parts: tuple[Column, ...] = ()
    unit_en: str | None = None       # English, when the unit is a word ("sợi": "fibres")
    # Not required (a record saves without it) but a complete record has it: an import warns
    # about a new record that arrives without it (exchange.preview).
    expected: bool = False
    # What a form and the panels call the field when its label names the workbook's stored text
    # ("Hình học (WKT)"): a route's geometry is "Đường tuyến" to the person filling the form.
    form_label: Label | None = None

    def shown_label(self, lang: str = "vi") -> str:
        """The field's name on a form or a panel (its `form_label`, else its label)."""
        return (self.form_label or self.label)(lang)

    def unit_in(self, lang: str) -> str | None:
        return self.unit_en if lang == "en" and self.unit_en else self.unit

    def columns(self) -> list[Column]:
        if self.type == "position":
            return list(self.parts)
        return [Column(self.key, self.label, self.unit, self.aliases, self.unit_en)]

    def applies(self, record: dict[str, Any]) -> bool:
        return self.when is None or self.when.holds(record)


@dataclass(frozen=True)
class FormDef:
    record: str
    label: Label
    sheet: Label | None  # None: a reference record type, never in a workbook
    fields: tuple[FieldDef, ...]
    parent: dict | None = None
    source: str = ""
    short: Label | None = None  # the record type in a few words ("Cột", "Pole"): lists, messages
    plural: Label | None = None  # many of them ("BTS sites"): map layers, counts
    title: tuple[str, ...] = ()  # the fields that name a record, joined by a space
    derived: tuple[FieldDef, ...] = ()  # columns the program fills (a route's length...), shown only

    def field(self, key: str) -> FieldDef:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def columns(self) -> list[tuple[FieldDef, Column]]:
        return [(f, c) for f in self.fields for c in f.columns()]

    def name_of(self, record: dict[str, Any]) -> str:
        """What names one record of this type in a list or a message: its title fields' values."""
        return " ".join(str(record[k]) for k in self.title if record.get(k) not in (None, ""))

    def gaps(self, record: dict[str, Any]) -> list[FieldDef]:
        """The expected fields (`expected: true`) a record leaves empty, where they apply: what
        makes it incomplete though valid. Required fields are `problems`' business."""
        blank = (None, "", ())
        return [f for f in self.fields if f.expected and not f.required and f.applies(record)
                and any(record.get(c.key) in blank for c in f.columns())]

    def problems(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        """Rules over a whole record, as (field key, message) pairs: required fields, conditional
        fields, a position inside Vietnam (or half of one), a site's unknown operator. The one
        check the form, the workbook, the GIS import and a sync package all ask."""
        return self._check(record)

    @functools.cached_property
    def _check(self):
        return _record_checker(self)


@dataclass
class Forms:
    forms: dict[str, FormDef]
    lists: dict[str, ValueList] = field(default_factory=dict)
    common: dict[str, FieldDef] = field(default_factory=dict)  # forms/common.yaml
    reference: dict[str, FormDef] = field(default_factory=dict)  # REFERENCE_RECORDS

    def __getitem__(self, record: str) -> FormDef:
        return self.forms[record]

    def __iter__(self):
        return iter(self.forms.values())

    def get(self, record: str) -> FormDef | None:
        """A surveyed or a reference record type's definition, None for another table."""
        return self.forms.get(record) or self.reference.get(record)


def _unit(raw, where: str) -> tuple[str | None, str | None]:
    """A unit is a symbol ("m") or a word in both languages ({vi: sợi, en: fibres})."""
    if raw is None or isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict) and raw.get("vi"):
        return str(raw["vi"]), str(raw.get("en") or raw["vi"])
    raise FormDefinitionError(f"{where}: 'unit' phải là ký hiệu hoặc {{vi, en}} / 'unit' must be a symbol or "
                              "{vi, en}")


def _label(raw, where: str, required: bool = True) -> Label | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, dict) or not str(raw.get("vi", "")).strip() or not str(raw.get("en", "")).strip():
        raise FormDefinitionError(f"{where}: cần nhãn tiếng Việt và tiếng Anh (vi, en) / needs a "
                                  "label with vi and en")
    return Label(str(raw["vi"]), str(raw["en"]))


def _field(raw: dict, where: str, lists: dict[str, ValueList], parts: tuple[Column, ...] = (),
           types: set[str] = TYPES) -> FieldDef:
    if not isinstance(raw, dict) or not raw.get("key"):
        raise FormDefinitionError(f"{where}: trường thiếu 'key' / field without 'key'")
    key = str(raw["key"])
    where = f"{where}, trường / field '{key}'"
    kind = raw.get("type")
    if kind not in types:
        raise FormDefinitionError(f"{where}: kiểu '{kind}' không hợp lệ, dùng một trong {sorted(types)} "
                                  f"/ unknown type '{kind}'")
    known = {"key", "type", "label", "required", "unit", "min", "max", "pattern", "values", "when",
             "default", "help", "aliases", "references", "geometry", "readonly", "expected",
             "form_label"}
    unknown = set(raw) - known
    if unknown:
        raise FormDefinitionError(f"{where}: thuộc tính lạ {sorted(unknown)} / unknown attributes")
    if kind == "choice" and raw.get("values") not in lists:
        raise FormDefinitionError(f"{where}: danh sách giá trị '{raw.get('values')}' không có trong "
                                  "value_lists.yaml / unknown value list")
    for bound in ("min", "max"):
        if raw.get(bound) is not None and not isinstance(raw[bound], (int, float)):
            raise FormDefinitionError(f"{where}: '{bound}' phải là số / '{bound}' must be a number")
    if raw.get("min") is not None and raw.get("max") is not None and raw["min"] > raw["max"]:
        raise FormDefinitionError(f"{where}: min lớn hơn max / min is greater than max")
    if raw.get("pattern"):
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise FormDefinitionError(f"{where}: biểu thức chính quy sai ({exc}) / bad pattern") from None
    when = None
    if raw.get("when") is not None:
        w = raw["when"]
        if not isinstance(w, dict) or "field" not in w or not ({"in", "filled"} & set(w)):
            raise FormDefinitionError(f"{where}: 'when' cần field và in hoặc filled / 'when' needs "
                                      "field and in or filled")
        when = Condition(str(w["field"]), tuple(str(v) for v in w["in"]) if "in" in w else None)
    return FieldDef(
        key=key, type=kind, label=_label(raw.get("label"), where), required=bool(raw.get("required")),
        unit=_unit(raw.get("unit"), where)[0], unit_en=_unit(raw.get("unit"), where)[1], min=raw.get("min"), max=raw.get("max"), pattern=raw.get("pattern"),
        values=raw.get("values"), when=when, default=raw.get("default"),
        help=_label(raw.get("help"), where, required=False),
        aliases=tuple(str(a) for a in raw.get("aliases") or ()), references=raw.get("references"),
        geometry=raw.get("geometry"), readonly=bool(raw.get("readonly")), expected=bool(raw.get("expected")),
        parts=parts if kind == "position" else (),
        form_label=_label(raw.get("form_label"), f"{where}, form_label", required=False))


def _load_yaml(path: Path):
    try:
        # libyaml's parser when PyYAML has it (same safe constructor, ~8x faster to load).
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise FormDefinitionError(f"{path.name}: lỗi cú pháp YAML / YAML syntax error: {exc}") from None


def parse_common(path: Path, lists: dict[str, ValueList]) -> dict[str, FieldDef]:
    """forms/common.yaml: the columns every record has, and a position's latitude and longitude."""
    raw = _load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        raise FormDefinitionError(f"{path.name}: cần danh sách 'fields' / needs a list of 'fields'")
    common = {f.key: f for f in (_field(r, path.name, lists) for r in raw["fields"])}
    missing = {"lat", "lon"} - set(common)
    if missing:
        raise FormDefinitionError(f"{path.name}: thiếu trường {sorted(missing)} / missing fields")
    return common


def parse_form(path: Path, lists: dict[str, ValueList], common: dict[str, FieldDef] | None = None,
               reference: bool = False) -> FormDef:
    raw = _load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list) or not raw.get("record"):
        raise FormDefinitionError(f"{path.name}: cần 'record' và danh sách 'fields' / needs 'record' "
                                  "and a list of 'fields'")
    common = common if common is not None else parse_common(path.parent / "common.yaml", lists)
    parts = tuple(Column(k, common[k].label, common[k].unit, common[k].aliases) for k in ("lat", "lon"))
    fields = tuple(_field(f, path.name, lists, parts) for f in raw["fields"])
    derived = tuple(_field(f, f"{path.name}, derived", lists, types=DERIVED_TYPES) for f in raw.get("derived") or ())
    keys = [f.key for f in fields]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise FormDefinitionError(f"{path.name}: trường bị lặp {dupes} / duplicate fields")
    for f in fields:
        if f.when and f.when.field not in keys:
            raise FormDefinitionError(f"{path.name}, trường / field '{f.key}': điều kiện dựa vào "
                                      f"trường không có '{f.when.field}' / condition on a missing field")
    title = raw.get("title")
    if not isinstance(title, list) or not title or not all(t in keys for t in title):
        raise FormDefinitionError(f"{path.name}: 'title' cần danh sách các trường của biểu mẫu / 'title' "
                                  "needs a list of the form's fields")
    sheet = None if reference else _label(raw.get("sheet"), path.name)
    if sheet is not None and (len(sheet.vi) > 31 or len(sheet.en) > 31):
        raise FormDefinitionError(f"{path.name}: tên trang tính quá 31 ký tự / sheet name over 31 characters")
    return FormDef(str(raw["record"]), _label(raw.get("label"), path.name), sheet, fields,
                   raw.get("parent"), path.name, short=_label(raw.get("short"), path.name),
                   plural=_label(raw.get("plural"), path.name, required=False), title=tuple(map(str, title)),
                   derived=derived)


@functools.lru_cache(maxsize=4)
def load_forms(directory: Path | None = None) -> Forms:
    directory = directory or forms_dir()
    lists = value_lists(directory)
    if not (directory / "common.yaml").exists():
        raise FormDefinitionError(f"{directory / 'common.yaml'}: thiếu tệp / file missing")
    common = parse_common(directory / "common.yaml", lists)
    forms, reference = {}, {}
    for record in RECORDS + REFERENCE_RECORDS:
        path = directory / f"{record}.yaml"
        if not path.exists():
            raise FormDefinitionError(f"{path}: thiếu định nghĩa biểu mẫu / form definition missing")
        form = parse_form(path, lists, common, reference=record in REFERENCE_RECORDS)
        if form.record != record:
            raise FormDefinitionError(f"{path.name}: record '{form.record}' phải là '{record}'")
        (reference if record in REFERENCE_RECORDS else forms)[record] = form
    return Forms(forms, lists, common, reference)


# -- rules over a whole record ----------------------------------------------------------------

def position_problem(lat, lon) -> Text | None:
    """Why (lat, lon) cannot be a surveyed position (outside Vietnam, with the islands), or None.
    The one rule for every way a position comes in: the form, the workbook, the GIS file."""
    try:
        coords.check_in_vietnam(float(lat), float(lon))
    except coords.CoordinateError as exc:
        return exc.text
    return None


UNKNOWN_OPERATOR_MESSAGE = Text("chọn doanh nghiệp: chỉ trạm 'Cần xác minh' mới được để doanh nghiệp 'Chưa xác định'",
                                "choose the operator: only a site to verify may have an unknown operator")
HALF_POSITION_MESSAGE = Text("cần cả vĩ độ và kinh độ, hoặc để trống cả hai",
                             "a position needs both latitude and longitude, or neither")


def _record_checker(form: FormDef):
    """`FormDef.problems`, with the form's rules laid out once per form."""
    rules = []
    for f in form.fields:
        keys = ("lat", "lon") if f.type == "position" else (f.key,)
        cond = f.when
        required_msg = Text(f"thiếu {f.label.vi} (bắt buộc)", f"{f.label.en} is required") if f.required else None
        when_msg = (Text(f"{f.label.vi} chỉ ghi khi {form.field(cond.field).label.vi} phù hợp",
                         f"{f.label.en} only applies when {form.field(cond.field).label.en} matches")
                    if cond is not None and f.type != "boolean" else None)
        rules.append((f.key, keys, cond, required_msg, when_msg))
    # An optional position is both coordinates or neither (the database's CHECK); a required one
    # half empty is already "required".
    positions = [(f.key, f.required) for f in form.fields if f.type == "position"]
    rules = [r for r in rules if r[3] is not None or r[4] is not None]  # the rest never speak
    # Only a site to verify (an imported reference point) may have no known operator; verifying
    # it means choosing one (the database's CHECK says the same, schema 5).
    unknown_operator = form.record == "sites" and any(f.key == "operator_code" for f in form.fields)
    blank = (None, "", ())

    def check(record: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        get = record.get
        for key, keys, cond, required_msg, when_msg in rules:
            if len(keys) == 1:
                missing = get(keys[0]) in blank
            else:
                missing = get(keys[0]) in blank or get(keys[1]) in blank
            applies = cond is None or cond.holds(record)
            if required_msg is not None and missing and applies:
                problems.append((key, required_msg))
            if when_msg is not None and not applies and not missing:
                problems.append((key, when_msg))
        for key, required in positions:
            lat, lon = get("lat"), get("lon")
            if lat is not None and lon is not None:
                why = position_problem(lat, lon)
                if why is not None:
                    problems.append((key, why))
            elif not required and "lat" in record and "lon" in record and (lat in blank) != (lon in blank):
                problems.append((key, HALF_POSITION_MESSAGE))
        if unknown_operator and get("operator_code") == UNKNOWN and get("status") != "to_verify":
            problems.append(("operator_code", UNKNOWN_OPERATOR_MESSAGE))
        return problems
    return check
