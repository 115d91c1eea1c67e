"""File > Nhập dữ liệu GIS with a boundary file whose code is not a 2025 code (issue 17): the
suggestion is listed as a problem, Import is off; ticking the box takes it and Import writes."""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt
from sqlalchemy import text

from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui.gis_dialogs import GisImportDialog


def test_the_name_suggestion_is_taken_by_ticking_the_box(qtbot, tmp_path):
    init_province_database(tmp_path / "gl.db", "52").close()
    x, y = 107.72, 13.45
    path = tmp_path / "ia_mo.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": "23938", "name": "Ia Mơ", "province_code": "52", "population": 10500},
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + .1, y], [x + .1, y + .1], [x, y + .1], [x, y]]]}}]},
        ensure_ascii=False), encoding="utf-8")
    dialog = GisImportDialog(tmp_path / "gl.db")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_file(path)
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=30000)
    assert dialog.problem_list.count() == 1
    assert "có phải / did you mean 23737 Xã Ia Mơ?" in dialog.problem_list.item(0).text()
    assert not dialog.apply_button.isEnabled()
    rows = {dialog.mapping.item(i, 0).text(): dialog.mapping.cellWidget(i, 1) for i in range(dialog.mapping.rowCount())}
    assert rows["code"].currentData() == "code" and rows["province_code"].currentData() is None
    assert rows["population"].currentData() == "population"

    previous = dialog.preview
    box = dialog.accept_name_match
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # on the box itself
    assert box.isChecked()
    qtbot.waitUntil(lambda: dialog.preview is not previous and dialog.apply_button.isEnabled(), timeout=30000)
    assert dialog.problem_list.count() == 0
    notes = [dialog.note_list.item(i).text() for i in range(dialog.note_list.count())]
    assert dialog.note_box.isVisible()
    assert any("nhận theo tên / taken by name: 23737 Xã Ia Mơ" in n for n in notes)
    assert any("province_code" in n and "không lưu" in n for n in notes)   # what the unit does not keep
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    with Database.open(tmp_path / "gl.db", readonly=True) as db, db.session() as s:
        got = dict(s.execute(text("SELECT code, population FROM admin_units WHERE boundary IS NOT NULL")).all())
    assert got == {"23737": 10500}
