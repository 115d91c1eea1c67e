"""The Edit menu and toolbar: undo and redo, the edit tools, edit and delete, the history."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar
from ..actions import connect_triggered
from ..strings import has, tr
from .tools import TOOLS


class EditMenu:
    """Mixed into EditController: its actions, in the Edit menu and the edit toolbar."""

    def _action(self, key: str, slot, shortcut=None, *, canvas_only=False, checkable=False) -> QAction:
        act = QAction(tr(key), self.window)
        act.setCheckable(checkable)
        connect_triggered(act, slot)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        if has(key + "_tip"):
            act.setToolTip(tr(key + "_tip"))
            act.setStatusTip(tr(key + "_tip"))
        if has(key + "_short"):
            act.setIconText(tr(key + "_short"))
        if canvas_only:
            # Single keys only while the map has focus: typing in a field must not delete a feature.
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.canvas.addAction(act)
        else:
            self.window.addAction(act)
        return act

    def _make_actions(self) -> None:
        a = self._action
        self.act_undo = self.stack.createUndoAction(self.window, tr("edit_undo").replace("&", ""))
        self.act_undo.setShortcuts([QKeySequence.StandardKey.Undo])
        self.act_undo.setIconText(tr("edit_undo").replace("&", ""))
        # The stack's own action undoes at once; an import's undo asks first (undo_step).
        self.act_undo.triggered.disconnect()
        connect_triggered(self.act_undo, self.undo_step)
        self.act_redo = self.stack.createRedoAction(self.window, tr("edit_redo").replace("&", ""))
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.act_redo.setIconText(tr("edit_redo").replace("&", ""))
        for act in (self.act_undo, self.act_redo):
            self.window.addAction(act)
        self.tool_actions: dict[str, QAction] = {}
        self.tool_group = QActionGroup(self)
        self.tool_group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        keys = {"add_sites": ("Ctrl+1", False), "add_poles": ("Ctrl+2", False), "draw_route": ("Ctrl+3", False),
                "add_findings": ("Ctrl+4", False), "move": ("M", True), "vertices": ("V", True)}
        for tool in TOOLS:
            shortcut, canvas_only = keys[tool]
            act = a(f"edit_{tool}", partial(self._tool_triggered, tool), QKeySequence(shortcut),
                    canvas_only=canvas_only, checkable=True)
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.act_snap = a("edit_snapping", self._snapping_toggled, checkable=True)
        self.act_snap.setChecked(self.snapper.enabled)
        self.act_edit = a("edit_attributes", self.edit_selected, QKeySequence("F2"))
        self.act_delete = a("edit_delete", self.delete_selected, QKeySequence(QKeySequence.StandardKey.Delete),
                            canvas_only=True)
        self.act_history = self.history_dock.toggleViewAction()
        self.act_history.setText(tr("edit_history"))
        self.act_history.setIconText(tr("edit_history_short"))
        self.act_history.setShortcut(QKeySequence("Ctrl+H"))
        self.act_finish = a("edit_finish_route", self.finish_route,
                            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)], canvas_only=True)
        self.act_back = a("edit_remove_last", self.remove_last_point, QKeySequence(Qt.Key.Key_Backspace),
                          canvas_only=True)
        self.act_cancel = a("edit_cancel", self.cancel_tool, QKeySequence(Qt.Key.Key_Escape), canvas_only=True)

    def _snapping_toggled(self) -> None:
        # The action's own state, not the signal's argument: see ui/actions.py.
        self.snapper.set_enabled(self.act_snap.isChecked())

    def _make_menu_and_toolbar(self) -> None:
        bar = self.window.menuBar()
        menu = bar.addMenu(tr("edit_menu"))
        menu.setObjectName("edit_menu")
        # After File, where people look for Undo.
        actions = bar.actions()
        if len(actions) > 2:
            bar.insertMenu(actions[1], menu)
        for act in (self.act_undo, self.act_redo, None, *self.tool_actions.values(), self.act_snap, None,
                    self.act_edit, self.act_delete, None, self.act_history):
            menu.addSeparator() if act is None else menu.addAction(act)
        self.menu = menu
        tb = QToolBar(tr("edit_toolbar"), self.window)
        tb.setObjectName("edit_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (self.act_undo, self.act_redo, None, *self.tool_actions.values(), self.act_snap, None,
                    self.act_edit, self.act_delete, self.act_history):
            tb.addSeparator() if act is None else tb.addAction(act)
        self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb
