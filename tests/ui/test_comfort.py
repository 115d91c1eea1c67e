"""First run, settings, recent files, layout, crash log, translations, and the 1366x768 screen."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar, QToolButton

from hatang_desktop.ui import strings
from hatang_desktop.ui.preferences import Preferences, add_recent_file, recent_files
from hatang_desktop.ui.settings import app_settings


def test_settings_persist_across_restarts(qtbot):
    from hatang_desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Preferences.load())
    qtbot.addWidget(dialog)
    dialog.user.setText("Nguyễn Thị Hà")
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.operator.setCurrentIndex(dialog.operator.findData("VNPT"))
    dialog.gps_accuracy.setValue(5.0)
    dialog.photo_edge.setValue(1600)
    dialog.backups.setValue(4)
    dialog.coords.setCurrentIndex(dialog.coords.findData("vn2000"))
    dialog.accept()

    again = Preferences.load()  # what the next start reads
    assert (again.user_name, again.language, again.default_operator) == ("Nguyễn Thị Hà", "en", "VNPT")
    assert (again.gps_accuracy_m, again.photo_max_edge_px, again.backup_keep) == (5.0, 1600, 4)
    assert again.coord_display == "vn2000"


def test_a_broken_settings_file_falls_back_to_defaults():
    settings = app_settings()
    settings.setValue("prefs/gps_accuracy_m", "mười mét")
    settings.setValue("prefs/coord_display", "mercator")
    settings.setValue("prefs/backup_keep", "-3")
    prefs = Preferences.load(settings)
    assert prefs.gps_accuracy_m == 10.0 and prefs.coord_display == "wgs84" and prefs.backup_keep == 1


def test_first_run_wizard_creates_a_database_for_the_chosen_commune(qtbot, tmp_path):
    from hatang_desktop.ui.first_run import FirstRunWizard

    wizard = FirstRunWizard(Preferences.load())
    qtbot.addWidget(wizard)
    wizard.you.name.setText("Trần Văn Nam")
    assert wizard.place.province.currentData() == "42"  # Hà Tĩnh, the sample's province, by default
    wizard.place.province.setCurrentIndex(wizard.place.province.findData("20"))  # Lạng Sơn
    wizard.place.commune.setCurrentIndex(wizard.place.commune.findText("Phường Lương Văn Tri"))
    code = wizard.place.commune.currentData()
    assert code
    wizard.data.initializePage()
    assert "Lương Văn Tri" in wizard.data.create.text()
    wizard.data.create.setChecked(True)
    target = tmp_path / "luong_van_tri.htdb"
    wizard.data.path.setText(str(target))
    wizard.accept()

    assert wizard.database == target and target.exists()
    info = json.loads(subprocess.run([sys.executable, "-m", "hatang_desktop", "info", str(target), "--json"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["province"]["code"] == "20" and info["commune"]["code"] == code
    prefs = Preferences.load()
    assert prefs.first_run_done and prefs.user_name == "Trần Văn Nam" and prefs.commune_code == code


def test_first_run_refuses_to_overwrite_an_existing_file(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from hatang_desktop.ui.first_run import FirstRunWizard

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a))
    existing = tmp_path / "mine.htdb"
    existing.write_bytes(b"my data")
    wizard = FirstRunWizard(Preferences.load())
    qtbot.addWidget(wizard)
    wizard.you.name.setText("A")
    wizard.data.create.setChecked(True)
    wizard.data.path.setText(str(existing))
    wizard.accept()
    assert warnings and existing.read_bytes() == b"my data" and wizard.database is None
    assert not Preferences.load().first_run_done


def test_opened_databases_become_recent_files(window, sample_db_path, tmp_path):
    assert recent_files()[0] == sample_db_path.resolve()
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    add_recent_file(other)
    assert recent_files()[:2] == [other.resolve(), sample_db_path.resolve()]
    other.unlink()
    assert other.resolve() not in recent_files()  # a vanished file is not offered
    window.comfort.fill_recent()
    texts = [a.text() for a in window.comfort.recent_menu.actions()]
    assert texts == ["&1 sample.db"]


def test_window_layout_is_restored(qtbot, sample_db_path):
    from hatang_desktop.ui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(720, 520)  # inside the offscreen screen (800x600): restore clamps to it
    first.show()
    first.layer_panel.hide()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.comfort.restore_layout()  # what the app does at start
    second.show()
    assert (second.width(), second.height()) == (720, 520)
    assert second.layer_panel.isHidden()


def test_crash_report_names_the_error_and_versions():
    from hatang_desktop.ui.crash_log import write_crash_report

    try:
        raise RuntimeError("cột không có tọa độ")
    except RuntimeError as exc:
        path = write_crash_report(type(exc), exc, exc.__traceback__)
    text = path.read_text(encoding="utf-8")
    assert "RuntimeError: cột không có tọa độ" in text and "PySide6" in text and "Traceback" in text


# Texts that are the same word in both languages by nature.
SAME_IN_BOTH = {"+", "−", "Hạ tầng Desktop", "Tiếng Việt", "English", "VN-2000 (X, Y)"}


def _visible_texts(w) -> list[str]:
    texts = []

    def menu(m: QMenu) -> None:
        texts.append(m.title())
        for act in m.actions():
            if act.menu():
                menu(act.menu())
            elif not act.isSeparator() and act.text():
                texts.append(act.text())

    for act in w.menuBar().actions():
        menu(act.menu())
    for bar in w.findChildren(QToolBar):
        texts.append(bar.windowTitle())
        texts += [a.toolTip() for a in bar.actions() if not a.isSeparator() and a.toolTip()]
    texts += [d.windowTitle() for d in w.findChildren(QDockWidget)]
    return texts


def test_no_visible_string_is_left_untranslated(qtbot, sample_db_path):
    """Build the window in each language: a text that does not change is hard-coded somewhere."""
    from hatang_desktop.ui.main_window import MainWindow

    seen = {}
    for lang in ("vi", "en"):
        strings.set_language(lang)
        w = MainWindow()
        qtbot.addWidget(w)
        w.load_database(sample_db_path)
        seen[lang] = _visible_texts(w)
        w.close()
    assert len(seen["vi"]) == len(seen["en"]) > 20
    untranslated = [vi for vi, en in zip(seen["vi"], seen["en"]) if vi == en and vi not in SAME_IN_BOTH]
    assert untranslated == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_1366x768_fits_toolbar_and_docks(qtbot, sample_db_path, lang):
    from hatang_desktop.ui.main_window import MainWindow

    strings.set_language(lang)
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    assert (w.width(), w.height()) == (1366, 768)
    for bar in w.findChildren(QToolBar):
        # Qt hides overflowing actions behind an extension button: nothing may hide there.
        ext = bar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert ext is None or not ext.isVisible(), f"{bar.windowTitle()} overflows at 1366 px"
    for dock in w.findChildren(QDockWidget):
        if dock.isVisible():
            assert dock.width() >= dock.minimumSizeHint().width() - 1, dock.windowTitle()
    assert w.canvas.width() > 600 and w.canvas.height() > 400  # the map stays the main thing
    from PySide6.QtWidgets import QTabBar

    # Dock tab bars belong to visible tabbed docks; one with no visible dock ends up drawn over the
    # menu in screenshots.
    assert not w.table_dock.isVisible()
    stray = [t for t in w.findChildren(QTabBar) if t.parent() is w and t.isVisible()]
    assert stray == []


def test_the_user_name_from_settings_is_recorded_with_changes(qtbot, sample_db_path):
    from hatang_desktop.ui.main_window import MainWindow

    prefs = Preferences.load()
    prefs.user_name = "Lê Thị Thu"
    prefs.save()
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    assert w.db.user == "Lê Thị Thu"  # what db.operation() writes to updated_by and the change log


def test_hatang_user_names_command_line_changes(monkeypatch):
    from hatang_desktop.core.storage.database import default_user

    monkeypatch.setenv("HATANG_USER", "Phạm Văn Đức")
    assert default_user() == "Phạm Văn Đức"


def test_the_first_run_wizard_asks_for_a_name_before_going_on(qtbot):
    """Issue 20: with no name every change is logged as the computer's account. Next with the
    name empty stays on the page and says why; typing a name lets the user on."""
    from PySide6.QtWidgets import QWizard

    from hatang_desktop.ui.first_run import FirstRunWizard
    from hatang_desktop.ui.strings import tr

    from . import walk

    wizard = FirstRunWizard(Preferences.load())
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    assert wizard.you.name.text() == ""
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    walk.type_into(wizard.you.name, "   ")  # spaces are no name
    walk.click(next_button)
    assert wizard.currentPage() is wizard.you
    assert wizard.you.name_message.isVisible() and wizard.you.name_message.text() == tr("wizard_name_required")
    walk.clear_text(wizard.you.name)
    walk.type_into(wizard.you.name, "Lê Thị Hoa")
    assert not wizard.you.name_message.isVisible()
    walk.click(next_button)
    assert wizard.currentPage() is wizard.place

