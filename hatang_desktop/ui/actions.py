"""Connecting menu and toolbar actions so that no slot depends on how PySide6 counts arguments.

PySide6 inspects a slot to decide how many of a signal's arguments to pass, and versions disagree:
6.11.3 calls a `functools.partial` connected to `QAction.triggered(bool)` with no argument at all,
so a partial that expected `checked` crashed every add tool. Every action slot here takes no
argument; a slot that needs the checked state reads `action.isChecked()`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction


def connect_triggered(action: QAction, slot: Callable[[], object]) -> None:
    """Call `slot()` with no argument whenever `action` is triggered."""
    # A lambda with a defaulted parameter is the one form every PySide6 6.8-6.11 calls correctly.
    action.triggered.connect(lambda _checked=False, slot=slot: slot())


__all__ = ["connect_triggered"]
