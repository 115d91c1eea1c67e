"""Menus reached from the keyboard: Alt plus the underlined letter opens a menu, and the underlined
letter of an item runs it at once. Qt only runs the item when its letter is the menu's only one of
that letter; with two (File had eight repeated letters) the key just moves the highlight between
them, and the person has to press Enter as well. And the map tools' one-letter shortcuts (P, S, D, A,
M, V) must not take the letter from an open menu."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from hatang_desktop.ui import strings
from tests.ui.walk import settle


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _repeated(actions) -> dict[str, list[str]]:
    letters = Counter(_mnemonic(a.text()) for a in actions if a.text() and not a.isSeparator())
    return {k: [a.text() for a in actions if _mnemonic(a.text()) == k]
            for k, n in letters.items() if k is not None and n > 1}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_no_menu_repeats_a_letter(qtbot, language):
    from hatang_desktop.ui.main_window import MainWindow

    strings.set_language(language)
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        bar = window.menuBar().actions()
        assert _repeated(bar) == {}
        for top in bar:
            assert _repeated(top.menu().actions()) == {}, top.text()
        file_items = [a for a in bar[0].menu().actions() if a.text()]
        assert all(_mnemonic(a.text()) for a in file_items), [a.text() for a in file_items]
    finally:
        strings.set_language("vi")


def _open_by_alt(window, key, index: int):
    QTest.keyClick(window, key, Qt.AltModifier)
    settle(20)
    menu = window.menuBar().actions()[index].menu()
    assert menu.isVisible(), f"Alt+{key} did not open {menu.title()!r}"
    return menu


def test_alt_x_then_p_zooms_in_without_changing_the_tool(window):
    """Xem > Phóng to from the keyboard. 'p' was 't', shared with Xem toàn bộ, so it only highlighted;
    and P is also the pan tool's key, which took it from the open menu."""
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_S)  # the select tool, by its own key
    settle(20)
    assert window.tool_actions["select"].isChecked()
    (x0, x1), _ = window.canvas.view.viewRange()
    view_menu = _open_by_alt(window, Qt.Key_X, 2)
    QTest.keyClick(view_menu, Qt.Key_P)
    settle(50)
    assert not view_menu.isVisible()
    (y0, y1), _ = window.canvas.view.viewRange()
    assert (y1 - y0) < 0.8 * (x1 - x0), ((x0, x1), (y0, y1))
    assert window.tool_actions["select"].isChecked() and not window.tool_actions["pan"].isChecked()


def test_alt_h_then_v_picks_the_finding_tool_not_the_vertex_tool(window):
    window.activateWindow()
    window.canvas.setFocus()
    settle(20)
    edit_menu = _open_by_alt(window, Qt.Key_H, 1)
    QTest.keyClick(edit_menu, Qt.Key_V)  # Ghi &vi phạm; V alone is Sửa đỉnh tuyến's key on the map
    settle(50)
    assert not edit_menu.isVisible()
    assert window.editor.tool_actions["add_findings"].isChecked()
    assert not window.editor.tool_actions["vertices"].isChecked()
