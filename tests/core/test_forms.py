"""Form definitions: they load, a broken one is named precisely, and values parse as people type."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from hatang_desktop.core.field_values import FieldError, parse_value

from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.value_lists import FormDefinitionError, value_lists
from hatang_desktop.paths import forms_dir

FORMS = load_forms()
LISTS = FORMS.lists


def test_every_record_type_has_a_form():
    assert [f.record for f in FORMS] == ["sites", "site_tenants", "poles", "pole_attachments",
                                         "fibre_routes", "zones", "findings"]
    assert FORMS["sites"].field("site_code").required


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    target = tmp_path / "forms"
    shutil.copytree(forms_dir(), target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize("file, old, new, expected", [
    ("sites.yaml", "type: decimal", "type: decimel", ["sites.yaml", "height_m", "decimel"]),
    ("sites.yaml", "values: tower_types", "values: tower_typos", ["sites.yaml", "tower_type", "tower_typos"]),
    ("poles.yaml", "min: 2", "min: hai", ["poles.yaml", "height_m", "min"]),
    ("sites.yaml", "when: {field: tower_type, in: [rooftop_pole]}",
     "when: {field: tower_kind, in: [rooftop_pole]}", ["sites.yaml", "building_height_m", "tower_kind"]),
    ("zones.yaml", "label: {vi: Tên khu, en: Zone name}", "label: {vi: Tên khu}", ["zones.yaml", "name", "en"]),
    ("value_lists.yaml", "- {code: wood, vi: Gỗ, en: Wood", "- {code: steel, vi: Gỗ, en: Wood",
     ["value_lists.yaml", "pole_materials", "steel"]),
    ("findings.yaml", "record: findings", "record: [broken", ["findings.yaml", "YAML"]),
])
def test_broken_definition_names_file_and_field(tmp_path, file, old, new, expected):
    directory = _broken_copy(tmp_path, file, old, new)
    load_forms.cache_clear(), value_lists.cache_clear()
    try:
        with pytest.raises(FormDefinitionError) as info:
            load_forms(directory)
        for part in expected:
            assert part in str(info.value)
    finally:
        load_forms.cache_clear(), value_lists.cache_clear()


def test_closed_value_lists_match_the_database_constraints(empty_db):
    checks = {("sites", "tower_type"): "tower_types", ("sites", "status"): "site_statuses",
              ("poles", "owner_kind"): "pole_owners", ("poles", "material"): "pole_materials",
              ("pole_attachments", "cable_type"): "cable_types",
              ("pole_attachments", "condition"): "cable_conditions",
              ("pole_attachments", "situation"): "cable_situations",
              ("fibre_routes", "method"): "laying_methods", ("fibre_routes", "level"): "route_levels",
              ("zones", "kind"): "zone_kinds", ("findings", "severity"): "severities",
              ("findings", "status"): "finding_statuses", ("findings", "target_table"): "finding_targets"}
    conn = sqlite3.connect(empty_db.path)
    ddl = {name: sql for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")}
    for (table, column), name in checks.items():
        assert LISTS[name].closed
        for code in LISTS[name].codes:
            assert f"'{code}'" in ddl[table], f"{table}.{column} does not allow {code}"
    conn.close()


def parse(record, key, raw, **kw):
    f = FORMS[record].field(key) if key not in ("lat", "lon") else FORMS[record].field("position")
    return parse_value(f, raw, lists=LISTS, column=key if key in ("lat", "lon") else None, **kw)


@pytest.mark.parametrize("record, key, raw, expected", [
    ("sites", "height_m", "42,5", 42.5),
    ("sites", "height_m", 40, 40.0),
    ("sites", "tower_type", "Cot tu dung", "ground_tower"),
    ("sites", "tower_type", "CỘT DÂY CO", "guyed_mast"),
    ("sites", "operator_code", "VNPT-Vinaphone", "VNPT"),
    ("sites", "operator_code", "Mobi", "MBF"),
    ("sites", "in_passive_plan", "Có", True),
    ("sites", "in_passive_plan", "x", True),
    ("sites", "in_passive_plan", "không", False),
    ("sites", "permit_date", "15/03/2024", dt.date(2024, 3, 15)),
    ("sites", "permit_date", dt.datetime(2024, 3, 15), dt.date(2024, 3, 15)),
    ("sites", "lat", "21°51'30\"N", 21.858333333333334),
    ("sites", "lon", "106,75", 106.75),
    ("site_tenants", "technologies", "2G/3G/4G", ("2G", "3G", "4G")),
    ("site_tenants", "technologies", "4G, 5G", ("4G", "5G")),
    ("site_tenants", "technologies", "LTE", ("4G",)),
    ("pole_attachments", "cable_count", "3", 3),
    ("sites", "site_code", 12345.0, "12345"),
    ("sites", "name", "  ", None),
])
def test_values_parse_as_people_type_them(record, key, raw, expected):
    value = parse(record, key, raw)
    assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected


@pytest.mark.parametrize("record, key, raw, words", [
    ("sites", "height_m", "-5", "ngoài khoảng"),
    ("sites", "height_m", "cao", "không phải là số"),
    ("sites", "tower_type", "cây dừa", "không có trong danh sách"),
    ("sites", "operator_code", "Acme", "doanh nghiệp"),
    ("pole_attachments", "cable_count", "2.5", "số nguyên"),
    ("sites", "lat", "95", "90"),
    ("site_tenants", "technologies", "6G", "6g"),
    ("sites", "permit_date", "32/13/2024", "ngày"),
    ("fibre_routes", "geom", "LINESTRING (105.9 18.3)", "WKT"),
    ("fibre_routes", "geom", "LINESTRING (2.35 48.85, 2.36 48.86)", "ngoài lãnh thổ"),
    ("zones", "geom", "POLYGON ((105.9 18.3, 106 18.4, 106 18.3, 105.9 18.4, 105.9 18.3))", "tự cắt"),
])
def test_bad_values_say_what_was_expected(record, key, raw, words):
    with pytest.raises(FieldError) as info:
        parse(record, key, raw)
    assert words.lower() in str(info.value).lower()


def test_commune_by_name_or_code():
    communes = {"18073": "Phường Thành Sen", "18100": "Phường Trần Phú"}
    assert parse("sites", "commune_code", "thanh sen", communes=communes) == "18073"
    assert parse("sites", "commune_code", 18100, communes=communes) == "18100"
    assert parse("sites", "commune_code", "Phường Thành Sen (18073)", communes=communes) in ("18073",)


def test_required_and_conditional_fields():
    form = FORMS["sites"]
    record = {f.key: None for f in form.fields} | {"lat": None, "lon": None}
    problems = dict(form.problems(record | {"tower_type": "rooftop_pole"}))
    assert {"site_code", "operator_code", "position", "status"} <= set(problems)
    ok = record | {"site_code": "A", "operator_code": "VTL", "lat": 18.3, "lon": 105.9, "status": "operating",
                   "tower_type": "rooftop_pole", "permit_no": "12/GP"}
    assert dict(form.problems(ok)) == {"permit_no": dict(form.problems(ok))["permit_no"]}


# Cells of every kind a workbook holds, good and bad, repeated (the column parsers remember
# repeated cells: a remembered answer must be the same answer, errors included).
_CELLS = [None, "", "  ", "x", " Có ", "khong", True, False, 0, 1, 1.0, 0.0, -0.0, 2.5, 42, "42,5",
          "1.234,5", 1e-5, 21.5, -105.5, 105.8, 95.0, 200.0, "21°51'30\"N", "105 30 0 E", "21,858",
          "abc", "Cot tu dung", "ground_tower", "Viettel", "VNPT-Vinaphone", "vina", "Mobi", "nope",
          "4G/5G", "lte, 2g", "6G", dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 10, 0), "01/05/2024",
          "2024-05-01", "32/13/2024", "18073", 18073, "Phường Thành Sen (18073)", "thanh sen", "99999",
          "LINESTRING (105.8 21.0, 105.9 21.1)", "POINT (1 2)", "HT-0001", "ht 1", 3.0, -3, 1e9]


@pytest.mark.parametrize("record", [f.record for f in FORMS])
def test_column_parsers_give_parse_value_s_answers(record):
    from hatang_desktop.core.field_values import column_parser

    communes = {"18073": "Phường Thành Sen", "18100": "Xã Thạch Hà"}
    for f in FORMS[record].fields:
        for column in (["lat", "lon"] if f.type == "position" else [None]):
            parser = column_parser(f, lists=LISTS, communes=communes, column=column)
            for raw in _CELLS * 2:
                try:
                    expected = ("ok", parse_value(f, raw, lists=LISTS, communes=communes, column=column))
                except FieldError as exc:
                    expected = ("error", str(exc))
                try:
                    got = ("ok", parser(raw))
                except FieldError as exc:
                    got = ("error", str(exc))
                if expected[0] == "ok" and not isinstance(expected[1], (str, type(None))):
                    assert type(got[1]) is type(expected[1]), (f.key, raw)
                    expected, got = (expected[0], str(expected[1])), (got[0], str(got[1]))
                assert got == expected, (record, f.key, column, raw)
