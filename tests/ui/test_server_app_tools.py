"""The app's other tools on the department's server (issue 19), against a real PostgreSQL + PostGIS:
the dashboard, findings, GIS and Excel exchange, and `hatang-desktop URL` on the command line.
Walked as in test_server_app.py; what the app wrote is checked through the test's own connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox

from hatang_desktop.ui.strings import tr

from . import walk
from .server_walk import (all_rows, blank_window, close_for_good, dbname, file_menu_action,  # noqa: F401
                          on_server, one)
from .test_app_command import _run  # `hatang-desktop …` in a new process

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# -- 3. the dashboard ---------------------------------------------------------------------------------


def _dashboard_figures(dock) -> dict:
    from PySide6.QtWidgets import QProgressBar

    other = {dock.other_table.item(i, 0).text(): dock.other_table.item(i, 1).text()
             for i in range(dock.other_table.rowCount())}
    bars = {b.property("indicator"): b.format() for b in dock.targets_box.findChildren(QProgressBar)}
    return {"other": other, "bars": bars}


def test_the_dashboard_shows_the_same_figures_as_on_the_file(on_server, qtbot, sample_db_path):
    window = on_server
    dock = window.dashboard
    dock.toggleViewAction().trigger()  # View > Chỉ tiêu hạ tầng số
    qtbot.waitUntil(lambda: dock.report is not None, timeout=60_000)
    on_the_server = _dashboard_figures(dock)
    assert on_the_server["other"] and "lỗi" not in dock.status.text().lower()
    dock.load(sample_db_path, background=False)
    qtbot.waitUntil(lambda: dock.report is not None, timeout=60_000)
    assert _dashboard_figures(dock) == on_the_server


# -- 6. exports ---------------------------------------------------------------------------------------


def test_excel_export_from_the_server(on_server, qtbot, server_sample_url, tmp_path):
    window, url = on_server, server_sample_url
    commune = one(url, "SELECT commune_code FROM sites WHERE deleted = 0 GROUP BY commune_code "
                       "ORDER BY count(*) DESC LIMIT 1")[0]
    file_menu_action(window, "xl_act_export").trigger()
    dialog = next(d for d in window.findChildren(QDialog) if type(d).__name__ == "ExcelExportDialog")
    assert dialog.path_edit.text().endswith(f"{dbname(url)}_so_excel.xlsx")  # named after the database
    dialog.set_scope(commune)
    out = tmp_path / "xã_từ_máy_chủ.xlsx"
    dialog.start_export(out)
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=60_000)
    assert dialog.error is None, dialog.error
    n_sites = one(url, "SELECT count(*) FROM sites WHERE deleted = 0 AND commune_code = %s", (commune,))[0]
    assert out.exists() and dialog.result.rows["sites"] == n_sites


def test_gis_export_from_the_server(on_server, qtbot, server_sample_url, tmp_path):
    window, url = on_server, server_sample_url
    file_menu_action(window, "gis_act_export").trigger()
    gis = next(d for d in window.findChildren(QDialog) if type(d).__name__ == "GisExportDialog")
    assert gis.path.text().endswith(f"{dbname(url)}_gis.gpkg")
    gpkg = tmp_path / "so.gpkg"
    gis.path.setText(str(gpkg))
    walk.click(gis.export_button)
    qtbot.waitUntil(lambda: gis.result is not None or gis.message.text() != tr("gis_working"), timeout=60_000)
    assert gis.result is not None, gis.message.text()
    assert gpkg.exists() and gis.result.counts["sites"] == one(url, "SELECT count(*) FROM sites WHERE deleted = 0")[0]


# -- 7. the command line ------------------------------------------------------------------------------


@pytest.fixture
def own_config(tmp_path, monkeypatch):
    """The processes these tests start keep their settings (recent servers) in a temp folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_hatang_desktop_url_screenshot(server_sample_url, tmp_path, own_config):
    from PySide6.QtGui import QImage

    out = tmp_path / "server.png"
    done = _run(server_sample_url, "--screenshot", out)
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1366, 768)
    # The map is drawn: many distinct colours, not an empty canvas.
    colours = {image.pixel(x, y) for x in range(300, 1100, 7) for y in range(100, 700, 7)}
    assert len(colours) > 50
    remembered = next(own_config.rglob("*.ini")).read_text(encoding="utf-8")
    assert dbname(server_sample_url) in remembered and "password" not in remembered


def test_a_url_with_a_password_is_refused_before_connecting(tmp_path, own_config):
    out = tmp_path / "never.png"
    done = _run("postgresql://u:secret@127.0.0.1:1/hatang", "--screenshot", out)
    assert done.returncode == 2 and "~/.pgpass" in done.stderr and not out.exists()
    assert "secret" not in done.stderr


def test_a_server_that_is_not_there_is_one_message(blank_window, qtbot, pg_server):
    window = blank_window
    boxes = []

    def read(box):
        boxes.append(box.text())
        walk.click(box.button(QMessageBox.StandardButton.Ok))

    waiting = walk.when_modal(read)
    with qtbot.waitSignal(window.load_finished, timeout=60_000) as loaded:
        window.open_database(f"postgresql:///?host=127.0.0.1&port={pg_server.port}&dbname=khong_co&user=postgres")
    waiting.done()
    assert loaded.args == [False] and window.db is None
    ((text,),) = [boxes]
    assert "khong_co" in text and "Traceback" not in text


# -- 9. findings ----------------------------------------------------------------------------------------


def test_findings_checked_and_dismissed_on_the_server(on_server, qtbot, server_sample_url):
    window, url = on_server, server_sample_url
    panel = window.findings_panel
    panel.toggleViewAction().trigger()  # View > Vi phạm
    with qtbot.waitSignal(panel.check_finished, timeout=180_000) as checked:
        walk.click(panel.run_button)
    result = checked.args[0]
    assert result is not None and result.changes.new > 0
    stored = one(url, "SELECT count(*) FROM findings WHERE deleted = 0")[0]
    assert len(panel.all) == stored
    panel.table.selectRow(0)
    f = panel.selected_rows()[0]
    assert panel.change_status("dismissed", reason="Đã kiểm tra trên máy chủ")
    assert one(url, "SELECT status FROM findings WHERE uuid = %s", (f["uuid"],))[0] == "dismissed"
    walk.press(window, "Ctrl+Z")
    assert one(url, "SELECT status FROM findings WHERE uuid = %s", (f["uuid"],))[0] == "open"


def undo_import(window) -> None:
    """Ctrl+Z on an import: the question it asks answered with "Hoàn tác lần nhập"."""
    waiting = walk.when_modal(lambda box: walk.click(box.button(QMessageBox.StandardButton.Yes)))
    walk.press(window, "Ctrl+Z")
    waiting.done()


# -- 10. a GIS import into the server -------------------------------------------------------------------


def test_gis_import_into_the_server_is_one_undo_step(on_server, qtbot, server_sample_url, monkeypatch):
    from hatang_desktop.ui import file_dialogs

    window, url = on_server, server_sample_url
    kml = Path(__file__).parent.parent / "data" / "gis" / "operator_sites.kml"
    # The file dialog answers with the KML, as a user picking it would.
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *_a, **_k: (str(kml), ""))
    file_menu_action(window, "gis_act_import").trigger()
    dialog = next(d for d in window.findChildren(QDialog) if type(d).__name__ == "GisImportDialog")
    walk.click(walk.button(dialog, tr("gis_browse")))
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.apply_button.isEnabled(), timeout=60_000)
    with qtbot.waitSignal(dialog.imported, timeout=60_000):
        walk.click(dialog.apply_button)
    codes = ("HTH_VT_0101", "HTH_VT_0102", "HTI-VNP-0033")
    found = dict(all_rows(url, "SELECT site_code, uuid FROM sites WHERE deleted = 0 AND site_code = ANY(%s)",
                          (list(codes),)))
    assert set(found) == set(codes)
    walk.settle(50)
    assert all(window.canvas.layers["sites"].index_of(u) is not None for u in found.values())
    assert one(url, "SELECT count(*) FROM change_log WHERE record_uuid = ANY(%s) AND action = 'insert'",
               (list(found.values()),))[0] >= 3
    walk.activate(window)
    undo_import(window)
    assert all(one(url, "SELECT deleted FROM sites WHERE uuid = %s", (u,))[0] == 1 for u in found.values())


# -- 11. the language switched while on the server ---------------------------------------------------------


def test_switching_to_english_keeps_the_server(on_server, qtbot, server_sample_url):
    from hatang_desktop.ui import strings
    from hatang_desktop.ui.language_switch import switch_language

    window, url = on_server, server_sample_url
    db = window.db
    english = switch_language(window, "en")
    try:
        assert english.db is db and english.db.dialect == "postgresql"
        assert dbname(url) in english.windowTitle()
        assert english.server_status.text() == f"Server: {db.name}" and english.act_reconnect.isEnabled()
        reads = english.viewport.reads
        code = max(english.communes, key=lambda c: c.bounds.min_x).code  # the far east: a new box
        english.zoom_to_commune(code)
        qtbot.waitUntil(lambda: english.viewport.reads > reads, timeout=30_000)
        on_map = set(english.canvas.layers["sites"].data.uuid)
        there = {r[0] for r in all_rows(url, "SELECT uuid FROM sites WHERE commune_code = %s AND deleted = 0",
                                        (code,))}
        assert there <= on_map
    finally:
        strings.set_language("vi")
        close_for_good(english)


# -- 12. an Excel workbook imported into the server ------------------------------------------------------


def test_excel_import_into_the_server_through_the_dialog(on_server, qtbot, server_sample_url, tmp_path,
                                                          monkeypatch):
    from hatang_desktop.core.exchange.export import export_workbook
    from hatang_desktop.core.storage.targets import open_database
    from hatang_desktop.ui import file_dialogs
    from tests.core.test_excel_sync import edit_cells

    window, url = on_server, server_sample_url
    book = tmp_path / "so_tu_may_chu.xlsx"
    with open_database(url, readonly=True) as db:
        export_workbook(db, book)
    uuid, code = one(url, "SELECT uuid, site_code FROM sites WHERE deleted = 0 AND tower_type = 'ground_tower' "
                          "ORDER BY id LIMIT 1")
    edit_cells(book, "Trạm BTS", uuid, {"Tên trạm": "Tên sửa trong sổ Excel"})
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *_a, **_k: (str(book), ""))
    file_menu_action(window, "xl_act_import").trigger()  # asks for the workbook (answered above)
    dialog = next(d for d in window.findChildren(QDialog) if type(d).__name__ == "ExcelImportDialog")
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=60_000)
    with qtbot.waitSignal(dialog.imported, timeout=60_000) as done:
        walk.click(dialog.apply_button)
    assert done.args[0].applied and done.args[0].backup is None  # the server's backups are its own
    assert one(url, "SELECT name FROM sites WHERE uuid = %s", (uuid,))[0] == "Tên sửa trong sổ Excel"
    walk.activate(window)
    undo_import(window)
    assert one(url, "SELECT name FROM sites WHERE uuid = %s", (uuid,))[0] != "Tên sửa trong sổ Excel"
