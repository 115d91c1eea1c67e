"""Settings > Ngôn ngữ applies at once: the window comes back in the new language with the same
database (the same connection), the same map view and the same docks, without a restart."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QDialogButtonBox
from shiboken6 import Shiboken

from hatang_desktop.ui import language_switch, qt_vietnamese, strings
from hatang_desktop.ui.preferences import Preferences

from . import walk


def _menu_titles(w) -> list[str]:
    return [a.text() for a in w.menuBar().actions()]


def _switch_through_settings(window, lang: str):
    """Open Settings with its shortcut, pick the language from the list, press OK."""
    walk.activate(window)
    walk.press(window, "Ctrl+,")
    dialog = QApplication.activeModalWidget()
    assert dialog is not None and dialog.windowTitle() == strings.tr("settings_title")
    walk.choose(dialog.language, lang)
    walk.click(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))
    walk.settle()
    return language_switch.current_window()


def _open_window(qtbot, path):
    """A shown window on `path`, not handed to qtbot: a switch deletes the window it replaces
    (each test closes only the last one)."""
    from hatang_desktop.ui.main_window import MainWindow

    window = MainWindow()
    window.load_database(path)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def _gone(w) -> bool:
    """Closed, and deleted once Qt ran its deferred deletions."""
    return not Shiboken.isValid(w) or not w.isVisible()


def test_switching_vi_to_en_in_settings_retranslates_the_open_window(qtbot, sample_db_path):
    window = last = _open_window(qtbot, sample_db_path)
    try:
        assert "&Tệp" in _menu_titles(window) and "&File" not in _menu_titles(window)
        assert window.layer_panel.windowTitle() == "Lớp bản đồ"
        db = window.db
        window.findings_panel.show()
        walk.settle()
        window.canvas.view.setRange(xRange=(11_800_000, 11_820_000), yRange=(2_060_000, 2_075_000), padding=0)
        walk.settle()
        view_before = window.canvas.view.viewRange()

        size = window.size()
        english = last = _switch_through_settings(window, "en")

        assert english is not window and _gone(window) and english.isVisible()
        assert english.size() == size
        assert strings.language() == "en" and Preferences.load().language == "en"
        menus = _menu_titles(english)
        assert [m for m in menus if m in ("&File", "&Edit", "&View", "&Tools", "&Help")] == \
            ["&File", "&Edit", "&View", "&Tools", "&Help"], menus
        assert not any("Tệp" in m or "Xem" in m for m in menus)
        assert english.layer_panel.windowTitle() == "Layers"
        assert english.identify_panel.windowTitle() == "Feature information"
        assert english.findings_panel.windowTitle() == "Findings" and english.findings_panel.isVisible()
        assert "300 sites" in english.counts_label.text()
        file_menu = english.menuBar().actions()[0].menu()
        assert "Se&ttings…" in [a.text() for a in file_menu.actions()]
        # What the user had is kept: the same open database (no second connection) and view.
        assert english.db is db and db.path.exists()
        walk.settle()
        for (a0, a1), (b0, b1) in zip(view_before, english.canvas.view.viewRange()):
            assert abs((a0 + a1) / 2 - (b0 + b1) / 2) < 0.02 * (a1 - a0)  # the same place
            assert 0.9 < (b1 - b0) / (a1 - a0) < 1.1  # at the same scale

        # And back, through the same dialog, now in English.
        vietnamese = last = _switch_through_settings(english, "vi")
        assert _gone(english)
        assert "&Tệp" in _menu_titles(vietnamese) and vietnamese.layer_panel.windowTitle() == "Lớp bản đồ"
        assert vietnamese.db is db
    finally:
        qt_vietnamese.install(QApplication.instance(), "en")  # leave Qt's own texts as the suite has them
        qtbot.addWidget(last)  # closed after the test


def test_the_same_language_keeps_the_window(qtbot, window):
    assert language_switch.switch_language(window, "vi") is window
    assert window.isVisible()


def test_a_core_error_is_shown_in_the_window_language_only(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from hatang_desktop.ui.main_window import MainWindow

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, _title, text: shown.append(text))
    bad = tmp_path / "notes.htdb"
    bad.write_text("not a database", encoding="utf-8")
    for lang, expected, other in (("en", "not an SQLite database file", "không phải"),
                                  ("vi", "không phải tệp cơ sở dữ liệu SQLite", "not an SQLite")):
        strings.set_language(lang)
        w = MainWindow()
        qtbot.addWidget(w)
        assert w.open_database(bad, background=False) is False
        assert shown[-1] == f"{bad}: {expected}" and other not in shown[-1]


def test_a_restart_is_offered_and_starts_the_program_on_the_same_database(qtbot, sample_db_path, monkeypatch):
    """After the switch a box asks "Khởi động lại ngay?" (in the new language, without blocking the
    window); "Để sau" keeps the window, the other button closes it and starts the program again
    on the same database (the seams stand in for starting a process and quitting)."""
    import sys

    from PySide6.QtWidgets import QMessageBox

    started, quits = [], []
    monkeypatch.setattr(language_switch, "_start_detached", lambda program, args: started.append((program, args)) or True)
    monkeypatch.setattr(language_switch, "_quit", lambda: quits.append(True))
    window = last = _open_window(qtbot, sample_db_path)
    try:
        english = last = _switch_through_settings(window, "en")
        box = english._restart_offer
        assert box.isVisible() and not box.isModal() and box.text() == "Restart now?"
        assert QApplication.activeModalWidget() is None  # the window stays usable meanwhile
        walk.click(walk.button(box, "Later"))
        assert not box.isVisible() and english.isVisible() and not started

        vietnamese = last = _switch_through_settings(english, "vi")
        box = vietnamese._restart_offer
        assert box.isVisible() and box.text() == "Khởi động lại ngay?"
        walk.click(walk.button(box, "Khởi động lại ngay"))
        assert not vietnamese.isVisible() and vietnamese.db is None  # closed, its database with it
        assert started == [(sys.executable, ["-m", "hatang_desktop.ui.app", str(sample_db_path)])]
        assert quits == [True]
        assert isinstance(box, QMessageBox)
    finally:
        qt_vietnamese.install(QApplication.instance(), "en")
        qtbot.addWidget(last)
