"""Sites to verify in the window (issue 17): their own symbol and legend entry, the "to verify"
view (Xem > Trạm cần xác minh), and an inspector verifying one in the site's form (operator, code,
status chosen in its widgets), after which it counts like any other site."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import text

from hatang_desktop.core.gis import import_gis
from hatang_desktop.core.indicators.evaluate import build_report
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import strings
from hatang_desktop.ui.gis_dialogs import GisImportDialog
from tests.core.test_gis_reference_points import osm_file


def operating_sites(path) -> float:
    return {r["indicator"]: r["numerator"] for r in build_report(path).to_json()["rows"]}["operating_sites"]


@pytest.fixture
def osm(tmp_path):
    return osm_file(tmp_path / "cot_osm.geojson")


@pytest.fixture
def window(qtbot, sample_db_path, osm):
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    with Database.open(sample_db_path) as db:
        assert import_gis(db, osm).counts["sites"]["inserted"] == 18
    pg.setConfigOptions(antialias=True)
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    w.editor.errors = []
    w.editor.report_error = w.editor.errors.append  # no modal message box in a test
    return w


def choose(field_widget, code):
    combo = field_widget.combo
    i = combo.findData(code)
    assert i >= 0, code
    combo.setCurrentIndex(i)


def type_text(widget, typed):
    """One key event per character (qtbot.keyClicks aborts on Vietnamese)."""
    widget.setFocus()
    for ch in typed:
        QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch))


def test_sites_to_verify_have_their_own_symbol_and_legend(window):
    layer = window.canvas.layers["sites"]
    assert layer.to_verify == 18
    labels = [e.label for e in layer.legend()]
    assert strings.tr("legend_site_to_verify") in labels
    assert strings.tr("op_unknown") in labels     # the operator nobody has checked, in the UI's language
    looks = {status: sym for _op, status, sym, _shared in layer._looks}
    assert looks["to_verify"] == "verify" and looks["operating"] != "verify"


def test_verify_a_site_in_its_form_and_it_counts(window, sample_db_path, qtbot):
    before = operating_sites(sample_db_path)
    # Xem > Trạm cần xác minh: selected on the map, listed in the attribute table.
    window.act_sites_to_verify.trigger()
    assert len(window.selection["sites"]) == 18
    table = window.table_dock
    assert table.isVisible() and table.layer_key() == "sites" and table.model.rowCount() == 18
    status = table.model.fields.index("status")
    assert {row[status] for row in table.model.shown} == {"Cần xác minh"}
    # The inspector finds the lattice tower in the list, goes to it and opens it (F2).
    table.search.setText("4200002")
    assert table.proxy.rowCount() == 1
    table.activate_row(0)
    uuid = window.identify_panel.feature.uuid
    seen = {}

    def verify():
        dialog = window.editor.last_dialog
        f = dialog.form_widget.fields
        seen["code"] = f["site_code"].edit.text()
        # Saving it "operating" with the operator still unknown is refused under the field.
        choose(f["status"], "operating")
        dialog.save_button.click()
        seen["refused"] = dialog.form_widget.errors["operator_code"].text()
        choose(f["operator_code"], "VTL")
        f["site_code"].edit.clear()
        type_text(f["site_code"].edit, "HTH-0999")
        dialog.save_button.click()
        seen["open"] = dialog.isVisible()
        if dialog.isVisible():
            dialog.reject()

    QTimer.singleShot(0, verify)
    window.editor.act_edit.trigger()
    assert seen["code"] == "OSM-n4200002"
    assert "Cần xác minh" in seen["refused"]
    assert seen["open"] is False and window.editor.errors == []
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        row = s.execute(text("SELECT operator_code, site_code, status, source_ref FROM sites WHERE uuid = :u"),
                        {"u": uuid}).one()
    assert tuple(row) == ("VTL", "HTH-0999", "operating", "osm:node/4200002")   # its source stays
    assert operating_sites(sample_db_path) == before + 1
    # It is an ordinary site now: the map draws it as one and the view lists 17.
    assert window.canvas.layers["sites"].to_verify == 17
    assert len(window.show_sites_to_verify()) == 17


def test_gis_import_dialog_lists_skipped_points_and_takes_untyped_masts(qtbot, tmp_path, osm):
    from hatang_desktop.core.provinces_db import init_province_database

    init_province_database(tmp_path / "ht.db", "42").close()
    dialog = GisImportDialog(tmp_path / "ht.db")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_file(osm)
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=30000)
    first = dialog.preview
    assert first.total["inserted"] == 19 and len(first.skipped) == 3   # 18 sites and the Viettel tenant
    notes = [dialog.note_list.item(i).text() for i in range(dialog.note_list.count())]
    assert sum("Bỏ qua" in n for n in notes) == 3 and any("tower:type=lighting" in n for n in notes)
    assert "bỏ qua 3 điểm" in dialog.summary.text()
    assert dialog.apply_button.isEnabled()
    # The mapping of an OpenStreetMap layer is read from its tags: nothing to choose.
    assert not dialog.mapping.cellWidget(0, 1).isEnabled()
    dialog.include_untyped.setChecked(True)
    qtbot.waitUntil(lambda: dialog.preview is not first and dialog.preview is not None, timeout=30000)
    assert dialog.preview.total["inserted"] == 20 and len(dialog.preview.skipped) == 2
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: dialog.preview is None, timeout=30000)
    with Database.open(tmp_path / "ht.db", readonly=True) as db, db.session() as s:
        assert s.execute(text("SELECT count(*) FROM sites WHERE status = 'to_verify'")).scalar() == 19
    assert not isinstance(dialog, QDialog) or dialog.isVisible()


def test_the_unknown_operator_is_never_a_default_for_new_sites(qtbot):
    from hatang_desktop.ui.preferences import Preferences
    from hatang_desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Preferences.load())
    qtbot.addWidget(dialog)
    codes = [dialog.operator.itemData(i) for i in range(dialog.operator.count())]
    assert "VTL" in codes and "UNKNOWN" not in codes
