"""Issue 20: the export dialogs open on the commune the user works on (chosen in the toolbar, or
the one the map looks at), not on the first commune of the list."""

from __future__ import annotations

from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog
from hatang_desktop.ui.gis_dialogs import GisExportDialog
from hatang_desktop.ui.view_scope import commune_in_view

from . import walk


def _opened(window, action, kind):
    before = set(window.findChildren(kind))
    walk.activate(window)
    action.trigger()  # Tệp > Xuất sổ Excel… / Xuất dữ liệu GIS…
    walk.settle()
    (dialog,) = set(window.findChildren(kind)) - before
    assert dialog.isVisible()
    return dialog


def _a_commune_not_first(window):
    names = sorted((c.name, c.code) for c in window.communes)
    return names[len(names) // 2][1]


def test_a_commune_chosen_in_the_toolbar_is_the_export_scope(window):
    code = _a_commune_not_first(window)
    walk.choose(window.commune_combo, code)  # the map zooms to it
    assert commune_in_view(window).chosen

    excel = _opened(window, window.act_xl_export, ExcelExportDialog)
    assert excel.one_commune.isChecked() and excel.commune.isEnabled()
    assert excel.commune.currentData() == code
    excel.close()

    gis = _opened(window, window.act_gis_export, GisExportDialog)
    assert gis.scope.currentData() == code
    gis.close()


def test_the_commune_in_view_is_offered_without_narrowing_the_scope(window):
    with window.db.session() as s:
        code, lat, lon = s.execute(text("SELECT site_code, lat, lon FROM sites WHERE deleted = 0 "
                                        "ORDER BY id LIMIT 1 OFFSET 40")).one()
    here = editing.commune_at(window.db, lat, lon)
    walk.search_and_go(window, code)  # the map zooms to the site, in its commune
    assert window.commune_combo.currentIndex() == -1
    scope = commune_in_view(window)
    assert scope.commune == here and not scope.chosen

    excel = _opened(window, window.act_xl_export, ExcelExportDialog)
    assert excel.province.isChecked() and excel.commune.currentData() == here
    assert excel.commune.currentIndex() > 0  # not merely the first of the list
    walk.click(excel.one_commune)  # one click for the commune the user is looking at
    assert excel.commune.currentData() == here
    excel.close()

    gis = _opened(window, window.act_gis_export, GisExportDialog)
    assert gis.scope.currentData() is None  # the whole province: a look is not a choice
    gis.close()


def test_the_whole_province_in_view_is_no_communes(window):
    window.canvas.zoom_full()
    walk.settle()
    assert commune_in_view(window).commune is None
    excel = _opened(window, window.act_xl_export, ExcelExportDialog)
    assert excel.province.isChecked() and excel.commune.currentIndex() == 0
    excel.close()
