"""The main window on the department's server: connecting (File > Kết nối máy chủ Sở…), the
password asked only when the server wants one, the server named in the status bar, reconnecting
after a lost connection, and the map read again for the view as it moves (server_viewport)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMessageBox

from hatang_desktop.core.errors import HatangError

from .server_dialog import ServerDialog
from .status_bar import STATUS_MESSAGE_MS
from .strings import message_text, tr


class WindowServer:
    """Mixed into MainWindow."""

    def _make_server_actions(self) -> None:
        self.act_connect_server = self._action("act_connect_server", self.connect_server)
        self.act_reconnect = self._action("act_reconnect", self.reconnect)
        self.act_reconnect.setEnabled(False)
        self.server_status = QLabel()
        self.server_status.setObjectName("server_status")
        self.server_status.hide()
        self.statusBar().addPermanentWidget(self.server_status)

    def connect_server(self, address: str | None = None, problem: str | None = None,
                       ask_password: bool = False) -> ServerDialog:
        """Show the dialog (window-modal, not blocking: tests and users fill it the same way);
        accepted, it opens the server in the background like a file."""
        dialog = ServerDialog(self, address=address, problem=problem, ask_password=ask_password)
        dialog.accepted.connect(lambda: self._connect_accepted(dialog))
        self.server_dialog = dialog
        dialog.open()
        return dialog

    def _connect_accepted(self, dialog: ServerDialog) -> None:
        from hatang_desktop.core.server.database import set_session_password

        typed = dialog.typed_password()
        if typed is not None:
            set_session_password(dialog.url, typed)
        self.open_database(dialog.url.uri)

    def _password_needed(self, job_id: int, message: str, path) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:
            return
        self.progress.hide()
        self.statusBar().clearMessage()
        self.load_finished.emit(False)
        self.connect_server(address=str(path), problem=message, ask_password=True)

    def show_server(self, db) -> None:
        """Name the server in the status bar (a file needs no such label: the title names it)."""
        on_server = db is not None and db.dialect == "postgresql"
        self.act_reconnect.setEnabled(on_server)
        if on_server:
            self.server_status.setText(tr("server_status", name=db.name))
            self.server_status.setToolTip(tr("server_status_tip", name=db.name))
            self.server_status.show()
        else:
            self.server_status.hide()
        self.viewport.database_changed(db)

    def reconnect(self) -> bool:
        """File > Kết nối lại: drop the pool's connections (a cut one included) and prove a new one."""
        if self.db is None or self.db.dialect != "postgresql":
            return False
        try:
            self.db.reconnect()
        except HatangError as exc:
            QMessageBox.warning(self, tr("error_title"), message_text(exc))
            return False
        self.statusBar().showMessage(tr("server_reconnected", name=self.db.name), STATUS_MESSAGE_MS)
        self.viewport.refresh()
        return True

    def show_survey(self, layers: dict) -> None:
        """Draw the survey layers read for a new view (server_viewport); the view, the highlight
        and the selected records stay (re-found by uuid: their indices moved)."""
        selected = {k: self.canvas.layers[k].data.uuid[idx] for k, idx in self.selection.items()
                    if self.canvas.layers[k].data is not None}
        self.canvas.apply_updates({}, layers)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        if selected:
            self._set_selection({k: self.canvas.indices(k, uuids) for k, uuids in selected.items()})

    def server_fault_message(self, exc: BaseException) -> str | None:
        """The one line to show for a server fault in `exc` (a lost connection), or None."""
        from .loader import server_fault

        if self.db is None:
            return None
        fault = exc if isinstance(exc, HatangError) else server_fault(self.db, exc)
        return message_text(fault) if fault is not None else None


__all__ = ["WindowServer"]
