"""Editing in the main window: the Edit menu and toolbar, the map tools, the undo stack.

Tools: add a site, a pole or a finding (a click opens the form at that place), draw a fibre route
(clicks add vertices, double-click or Enter finishes and opens the form), move a point (drag its
handle), edit a route's vertices (drag to move, drag a midpoint to insert, right-click to delete).
Drawing and dragging snap to poles, sites and route vertices (snapping.py; Ctrl held suspends it).
Edit attributes and delete act on the feature last identified on the map. Every edit is one core
edit (one operation of the change log) pushed on a QUndoStack as a command naming that operation;
what it changed (core.changes) is announced on the window's data events, where the map patches
just those features and this controller shows the edited record again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox

from hatang_desktop.core.forms import load_forms

from ..strings import message_text, tr
from .form_dialog import FormDialog
from .history_dock import HistoryDock
from .edit_menu import EditMenu
from .forms_flow import FormsFlow
from .sketch import Sketch
from .snapping import Snapper
from .tools import EditTools
from .undo_flow import UndoFlow

STATUS_MS = 6000


class EditController(EditMenu, EditTools, UndoFlow, FormsFlow, QObject):
    # Each job lives in its own module (mixed in above): the menu, the map tools, running and
    # undoing edits, the forms. This class holds the state they share and wires the signals.
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.forms = load_forms()
        # The stack lives with the map it edits. (As the canvas's child it also goes before the
        # docks when the window is destroyed: a non-empty stack emits indexChanged as it dies, and
        # a dock listening to it must not be gone already.)
        self.stack = QUndoStack(self.canvas)
        self.mode: str | None = None
        self.target: tuple[str, str] | None = None  # the feature being moved or reshaped
        self.route_points: list[tuple[float, float]] = []
        self.last_dialog: FormDialog | None = None
        self.sketch = Sketch(self.canvas)
        self.snapper = Snapper(self.canvas)
        self.sketch.snap_handle = self._snap_handle
        self.sketch.handle_moved.connect(self._handle_moved)
        self.sketch.handle_right_clicked.connect(self._handle_right_clicked)
        self.history_dock = HistoryDock(self.forms, window)
        # Below the map beside the attribute table: a change list wants width, not height.
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.history_dock)
        # Tabbed with the attribute table only once it is first shown: tabifying two hidden docks
        # at start leaves Qt's empty tab bar floating over the menu bar.
        self._tabified = False
        self.history_dock.hide()
        self.history_dock.visibilityChanged.connect(self._history_shown)
        self._make_actions()
        self._make_menu_and_toolbar()
        self.canvas.tool_changed.connect(self._canvas_tool_changed)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.scene().sigMouseClicked.connect(self._scene_clicked)
        # Vertex handles follow the zoom: midpoints appear only where segments are long enough.
        self._handle_timer = QTimer(self)
        self._handle_timer.setSingleShot(True)
        self._handle_timer.setInterval(120)
        self._handle_timer.timeout.connect(self._handles_after_zoom)
        self.canvas.view.sigRangeChanged.connect(self._view_changed)
        opened = getattr(window, "database_opened", None)
        if opened is not None:
            opened.connect(lambda _path: self.database_changed())
        self.events = window.data_events
        self.events.changed.connect(self.snapper.forget)  # the map's arrays were patched in place
        self.events.changed.connect(self._data_changed)
        self._focus: tuple[str, str] | None = None  # the record the next change should show
        self.database_changed()

    # -- construction --------------------------------------------------------------------------

    @property
    def db(self):
        return self.window.db

    # -- database -----------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        return self.db is not None and not self.db.readonly

    def database_changed(self) -> None:
        """A database was opened or closed: the undo history belongs to the old one."""
        self.cancel_tool()
        self.stack.clear()
        self.history_dock.clear()
        on = self.writable
        for act in (*self.tool_actions.values(), self.act_edit, self.act_delete):
            act.setEnabled(on)
        if self.db is not None and self.db.readonly:
            self.status(tr("edit_readonly"))
        self._update_tool_keys()

    def communes(self) -> list[tuple[str, str]]:
        return [(c.code, c.name) for c in getattr(self.window, "communes", [])]

    # -- messages -------------------------------------------------------------------------------

    def status(self, text: str, timeout: int = STATUS_MS) -> None:
        self.window.statusBar().showMessage(text, timeout)

    def hint(self, text: str) -> None:
        self.window.message_label.setText(text)

    def report_error(self, message) -> None:
        """A text, a core message or a core error, shown in the UI's language; a lost server
        connection says so, that nothing was written, and how to go on."""
        from hatang_desktop.core.server.database import ServerError

        if isinstance(message, ServerError):
            QMessageBox.warning(self.window, tr("server_lost_title"),
                                tr("server_lost_text", detail=message_text(message)))
            return
        QMessageBox.warning(self.window, tr("edit_error_title"), message_text(message))
