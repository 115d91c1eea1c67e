"""Every field of every form shows its own label and its values' labels, in both languages, in
the identify panel (the real widget, fed a Feature), the attribute table and the Excel export.

The expectations are read from forms/*.yaml alone (through `load_forms`), never from the code
under test: a label or value list copied by hand somewhere else and gone out of step (the fibre
route's `level` once showed the raw "backbone"/"access") fails here.
"""

from __future__ import annotations

import openpyxl
import pytest
from PySide6.QtCore import Qt

from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.map_data import Feature
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import strings
from hatang_desktop.ui.attribute_table import AttributeModel
from hatang_desktop.ui.identify_panel import IdentifyPanel

FORMS = load_forms()
# What a yes/no field shows, as the workbook's dropdown and every panel word it.
YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
SAMPLE = {"text": "AB-12", "reference": "5f1c0a52-0000-4000-8000-000000000001", "integer": 7,
          "decimal": 12.5, "date": "2024-03-05", "operator": "VTL", "commune": "18073"}


def _cases():
    """(record, field key) for every field of every form; a position is its two columns."""
    for form in FORMS:
        for f in form.fields:
            if f.type != "geometry":  # drawn on the map, never written out in a panel
                yield pytest.param(form.record, f.key, id=f"{form.record}.{f.key}")


def _columns(record: str, key: str):
    """(attribute name, header as every panel titles it) of one field."""
    f = FORMS[record].field(key)
    return f, [(c.key, c.header) for c in f.columns()]


def _values(record: str, key: str, lang: str) -> list[tuple[dict, str]]:
    """(attributes as the database row holds them, the text a panel must show) for each value the
    field can take: every code of its list, yes and no, a sample for the rest."""
    f = FORMS[record].field(key)
    if f.type == "choice":
        vl = FORMS.lists[f.values]
        return [({key: c.code}, c.label(lang)) for c in vl.choices]
    if f.type == "boolean":
        yes, no = YES_NO[lang]
        return [({key: 1}, yes), ({key: 0}, no)]
    if f.type == "position":
        return [({"lat": 18.345678, "lon": 105.901234}, "18,345678" if lang == "vi" else "18.345678")]
    if f.type == "technologies":
        return [({"has_2g": 1, "has_3g": 0, "has_4g": 1, "has_5g": 0}, "4G")]
    if f.type == "operator":
        return [({key: "VTL"}, "Viettel")]
    if f.type == "date":  # as the form shows a date
        return [({key: SAMPLE["date"]}, "05/03/2024")]
    return [({key: SAMPLE[f.type]}, str(SAMPLE[f.type]).replace(".", "," if lang == "vi" else "."))]


@pytest.fixture(params=["vi", "en"])
def lang(request):
    strings.set_language(request.param)
    yield request.param
    strings.set_language("vi")


@pytest.mark.parametrize("record,key", list(_cases()))
def test_identify_panel_shows_every_field_and_value_label(qtbot, lang, record, key):
    panel = IdentifyPanel()
    qtbot.addWidget(panel)
    f, columns = _columns(record, key)
    for attrs, shown in _values(record, key, lang):
        panel.show_feature(Feature(record, "u-1", dict(attrs), 0.0))
        text = panel.view.toPlainText()
        for _name, header in columns:
            assert header(lang) in text, (header(lang), text)
        assert shown in text, (shown, text)


@pytest.mark.parametrize("record,key", list(_cases()))
def test_attribute_table_titles_and_shows_every_field(lang, record, key):
    f, columns = _columns(record, key)
    model = AttributeModel()
    for attrs, shown in _values(record, key, lang):
        if f.type == "technologies":
            continue  # four flag columns in the database: the table lists a record's own columns
        names = [name for name, _h in columns]
        model.set_rows(record, names, [("u-1", *(attrs[n] for n in names))])
        headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
        assert headers == [h(lang) for _n, h in columns]
        cells = [model.data(model.index(0, i)) for i in range(model.columnCount())]
        assert any(shown in c for c in cells), (shown, cells)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory, _sample_template):
    """The sample exported once per language, read back with openpyxl."""
    out = {}
    with Database.open(_sample_template, readonly=True) as db:
        for lang in ("vi", "en"):
            path = tmp_path_factory.mktemp("xlsx") / f"export-{lang}.xlsx"
            export_workbook(db, path, lang=lang, parallel=False)
            wb = openpyxl.load_workbook(path)
            out[lang] = (wb, _workbook_words(wb))
    return out


def _workbook_words(wb) -> set[str]:
    """Every text a user meets in the workbook: the cells and the dropdowns' lists."""
    words: set[str] = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            words.update(str(v) for v in row if v is not None)
        for dv in ws.data_validations.dataValidation:
            if dv.formula1 and dv.formula1.startswith('"'):
                words.update(dv.formula1.strip('"').split(","))
    return words


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("record,key", list(_cases()))
def test_excel_export_titles_and_lists_every_field(workbooks, lang, record, key):
    wb, words = workbooks[lang]
    form = FORMS[record]
    ws = wb[form.sheet(lang)]
    headers = [c.value for c in ws[1]]
    f, columns = _columns(record, key)
    for _name, header in columns:
        assert header(lang) in headers, (header(lang), headers)
    if f.type == "choice":
        for c in FORMS.lists[f.values].choices:
            assert c.label(lang) in words, c.label(lang)
    if f.type == "boolean":
        assert set(YES_NO[lang]) <= words


def _vietnamese(text: str) -> bool:
    import unicodedata

    return any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", text)) or \
        any(ch in "đĐ" for ch in text)


def test_english_titles_have_no_vietnamese_word():
    """A title's unit is part of it: "Core count (sợi)" once reached the English panels, because a
    unit that is a word had no English. Every column title of every form, in English, is English."""
    shown = [(form.record, c.key, c.header("en")) for form in FORMS for f in (*form.fields, *form.derived)
             for c in f.columns()]
    assert shown
    assert [s for s in shown if _vietnamese(s[2])] == []
