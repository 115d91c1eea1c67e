"""While a menu is open, letters belong to the menu.

The map tools have one-letter shortcuts (P, S, D, A, M, V, as in QGIS). Qt offers every key press
to the shortcut map before the open menu sees it, so with Tệp open, M for "Mở cơ sở dữ liệu"
switched the map to the move-point tool and left the menu open. Claiming the shortcut-override for
unmodified printable keys while a QMenu is the active popup hands them to the menu's mnemonics.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QMenu

_CHORD = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier


class MenuLettersFirst(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        if not isinstance(QApplication.activePopupWidget(), QMenu):
            return False
        text = event.text()
        if event.modifiers() & _CHORD or not text or not text.isprintable() or text.isspace():
            return False
        event.accept()  # "this widget wants the key": no shortcut fires, the menu gets the press
        return True


def install(app: QApplication) -> None:
    """Once per application; every main window calls it (a language switch builds a new window)."""
    if getattr(app, "_menu_letters_first", None) is None:
        app._menu_letters_first = MenuLettersFirst(app)
        app.installEventFilter(app._menu_letters_first)
