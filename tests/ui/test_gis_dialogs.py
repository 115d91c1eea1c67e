"""File > Nhập/Xuất dữ liệu GIS: the dialogs run the core off the GUI thread and show the mapping."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QComboBox
from sqlalchemy import text

from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui.gis_dialogs import GisExportDialog, GisImportDialog

DATA = Path(__file__).parent.parent / "data" / "gis"


def _site_codes(path: Path) -> set[str]:
    with Database.open(path, readonly=True) as db, db.session() as s:
        return {r[0] for r in s.execute(text("SELECT site_code FROM sites WHERE deleted = 0"))}


def test_export_dialog_writes_the_chosen_format(qtbot, sample_db_path, tmp_path):
    dialog = GisExportDialog(sample_db_path, [("18073", "Phường Thành Sen")])
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("kml"))
    assert dialog.path.text().endswith(".kml")
    dialog.path.setText(str(tmp_path / "ban_giao.kml"))
    dialog.scope.setCurrentIndex(1)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30000)
    assert (tmp_path / "ban_giao.kml").stat().st_size > 0
    assert "ban_giao.kml" in dialog.message.text()


def test_export_dialog_writes_a_geopackage_of_every_layer(window, qtbot, sample_db_path, tmp_path):
    """The columnar GeoPackage export as a user runs it: File > Xuất dữ liệu GIS… clicked, the
    format chosen, the file name typed, the export button pressed; every layer, every live record."""
    import pyogrio

    from . import walk
    from .test_user_walks_exchange import open_menu_item, shown

    walk.activate(window)
    open_menu_item(window, "Tệp", "Xuất dữ liệu GIS…")
    qtbot.waitUntil(lambda: any(isinstance(w, GisExportDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=5000)
    dialog = shown(GisExportDialog)
    walk.choose(dialog.format, "gpkg")
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(tmp_path / "ban_giao.gpkg"))
    walk.click(dialog.export_button)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60000)
    layers = {name: pyogrio.read_info(tmp_path / "ban_giao.gpkg", layer=name)["features"]
              for name, _kind in pyogrio.list_layers(tmp_path / "ban_giao.gpkg")}
    assert layers == dialog.result.counts
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        assert layers["poles"] == s.execute(text("SELECT count(*) FROM poles WHERE deleted = 0")).scalar()
    assert "ban_giao.gpkg" in dialog.message.text()
    dialog.close()


def test_import_dialog_previews_remaps_and_applies(qtbot, tmp_path):
    db = init_province_database(tmp_path / "ht.db", "42")
    db.close()
    dialog = GisImportDialog(tmp_path / "ht.db")
    qtbot.addWidget(dialog)
    dialog.resize(900, 640)
    dialog.show()
    dialog.set_file(DATA / "operator_sites.kml")
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.groups.count() == 2, timeout=30000)
    assert "Viettel Hà Tĩnh" in dialog.groups.item(0).text()
    rows = {dialog.mapping.item(i, 0).text(): dialog.mapping.cellWidget(i, 1) for i in range(dialog.mapping.rowCount())}
    assert rows["Name"].currentData() == "site_code"
    assert rows["Loại cột"].currentData() == "tower_type"
    assert dialog.apply_button.isEnabled()
    assert _site_codes(tmp_path / "ht.db") == set()  # a preview writes nothing

    # Ignoring the site code makes every feature invalid: the problems are listed, Import is off.
    previous = dialog.preview
    combo: QComboBox = rows["Name"]
    combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: dialog.preview is not previous, timeout=30000)
    assert dialog.problem_list.count() >= 1 and not dialog.apply_button.isEnabled()
    dialog.grab().save(str(tmp_path / "gis_import_problems.png"))

    previous = dialog.preview
    dialog.overrides.clear()
    dialog.start_preview()
    qtbot.waitUntil(lambda: dialog.preview is not previous and dialog.apply_button.isEnabled(), timeout=30000)
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        dialog.apply_button.click()
    assert _site_codes(tmp_path / "ht.db") == {"HTH_VT_0101", "HTH_VT_0102", "HTI-VNP-0033"}


def test_file_menu_has_the_gis_entries(window):
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Nhập &dữ liệu GIS…" in texts and "Xuất dữ liệu GI&S…" in texts


def test_import_dialog_says_once_that_tcvn3_text_was_converted(qtbot, tmp_path):
    """A GeoJSON whose text is TCVN3 read as Western (an old office's list): the path typed, Xem
    trước pressed; each converted attribute is said once under Lưu ý, the import then writes Unicode."""
    import json

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tests.core.test_gis_legacy_text import NOTES, _features

    from . import walk

    db = init_province_database(tmp_path / "ht.db", "42")
    db.close()
    source = tmp_path / "cot_dien.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": _features()}, ensure_ascii=False),
                      encoding="utf-8")
    dialog = GisImportDialog(tmp_path / "ht.db")
    qtbot.addWidget(dialog)
    dialog.resize(1366, 768)
    dialog.show()
    walk.type_into(dialog.path, str(source))
    QTest.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.apply_button.isEnabled(), timeout=30000)
    notes = [dialog.note_list.item(i).text() for i in range(dialog.note_list.count())]
    converted = [n for n in notes if "TCVN3" in n]
    assert sorted(n.split("'")[1] for n in converted) == ["CHU_SO_HUU", "DUONG", "GHI_CHU"], notes
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    with Database.open(tmp_path / "ht.db") as d, d.session() as s:
        assert {r[0] for r in s.execute(text("SELECT note FROM poles WHERE deleted = 0"))} == set(NOTES)
