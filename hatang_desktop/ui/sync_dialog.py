"""Tệp > Đồng bộ với máy chủ Sở: the commune's file and the department's server, online.

The address is asked once and remembered in the file's meta by the sync itself (never a
password: a URL that carries one is refused, libpq reads it from ~/.pgpass). The sync runs as a
job (ui/jobs.py) on its own connections to the file and to the server, with Cancel; a cancelled
or failed sync leaves the file as it was (core/server/sync.py). The window announces what the
pull wrote (`synced`), so the map and the counts follow, and opens the conflict dialog when
conflicts wait in the file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QProgressBar,
                               QVBoxLayout)

from .jobs import press_cancel, start_job
from .strings import format_int, message_text, tr


def run_sync(db_path: Path, address: str, progress, cancel):
    """The job: open the file and the server, sync, close both (core only, no Qt)."""
    from hatang_desktop.core.server.database import ServerDatabase
    from hatang_desktop.core.server.sync import sync
    from hatang_desktop.core.storage.database import Database
    from hatang_desktop.core.storage.targets import parse_server_url

    url = parse_server_url(address)   # a password in it is refused before anything connects
    with Database.open(db_path) as file_db, ServerDatabase.open(url) as server_db:
        return sync(file_db, server_db, report=progress, cancel=cancel, url=url.display)


class SyncDialog(QDialog):
    synced = Signal(object)   # core.server.sync.SyncResult

    def __init__(self, db_path: str | Path, remembered: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.result = None
        self._job = None
        self.setWindowTitle(tr("sync_title"))
        self.setMinimumWidth(560)
        intro = QLabel(tr("sync_intro"))
        intro.setWordWrap(True)
        self.address = QLineEdit(remembered or "")
        self.address.setPlaceholderText("postgresql://may-chu-so/hatang")
        form = QFormLayout()
        form.addRow(tr("sync_address"), self.address)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton(tr("sync_start"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(tr("job_cancel"), QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(tr("sync_close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: press_cancel(self._job, self.cancel_button, self.status))
        self.close_button.clicked.connect(self.close)
        self.cancel_button.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self) -> None:
        """Sync with the address in the field (the Sync button, or at once when one is remembered)."""
        if self.running:
            return
        address = self.address.text().strip()
        self._busy(True)
        self.status.setText(tr("sync_running"))
        self._job = start_job(lambda progress, cancel: run_sync(self.db_path, address, progress, cancel),
                              self._done, self._failed, self.bar, self._cancelled, fault_path=self.db_path)

    def _busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy)
        self.address.setEnabled(not busy)
        self.close_button.setEnabled(not busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.bar.setVisible(busy)
        self.bar.setValue(0)

    def _done(self, result) -> None:
        self._job = None
        self._busy(False)
        self.result = result
        sent = sum(result.pushed.get(k, 0) for k in ("inserted", "updated", "deleted"))
        received = sum(result.pulled.get(k, 0) for k in ("inserted", "updated", "deleted"))
        self.status.setText(tr("sync_done", sent=format_int(sent), received=format_int(received),
                               server_conflicts=format_int(result.server_conflicts),
                               file_conflicts=format_int(result.file_conflicts)))
        self.synced.emit(result)

    def _failed(self, exc) -> None:
        self._job = None
        self._busy(False)
        self.status.setText(tr("sync_failed", message=message_text(exc)))

    def _cancelled(self) -> None:
        self._job = None
        self._busy(False)
        self.status.setText(tr("job_cancelled"))

    def closeEvent(self, event) -> None:
        if self.running:   # the job still writes: Cancel stops it, then the dialog closes
            event.ignore()
            return
        super().closeEvent(event)
