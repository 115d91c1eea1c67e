"""What the report dialogs (Tệp > In bản đồ…, Tệp > Báo cáo kết quả kiểm tra…) share: a form
above a file row with its Chọn… button, a busy bar and a message, Close and the write button;
the report is written as a background job (ui/jobs.py) with the dialog's own database
connection, by the same core call as `hatang report`, and a failure is a message box."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from .jobs import Job, start_job
from .strings import message_text


class ReportDialog(QDialog):
    """A dialog of one report kind gives `choose_file()` (the Chọn… button), `start()` (the
    write button: reads the form, then `run`) and `done_text(summary)` (the message once written),
    and adds its rows to `self.form`, the file row last."""

    written = Signal(str)  # the report's path, once it is complete

    def __init__(self, title: str, path: str, browse_text: str, write_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._job: Job | None = None
        self.path = QLineEdit(path)
        browse = QPushButton(browse_text)
        browse.clicked.connect(self.choose_file)
        self.file_row = QWidget()
        row_layout = QHBoxLayout(self.file_row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        self.form = QFormLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # one step: a report is written in seconds
        self.bar.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.write_button = self.buttons.addButton(write_text, QDialogButtonBox.ButtonRole.ActionRole)
        self.write_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def run(self, work: Callable[[], dict], working_text: str, out) -> None:
        self.write_button.setEnabled(False)
        self.bar.show()
        self.message.setText(working_text)
        self._job = start_job(lambda _progress, _cancelled: work(), self._done, self._failed, fault_path=out)

    def _done(self, summary: dict) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        self.message.setText(self.done_text(summary))
        self.written.emit(summary["out"])

    def _failed(self, exc) -> None:
        self.bar.hide()
        self.write_button.setEnabled(True)
        self.message.setText("")
        QMessageBox.warning(self, self.windowTitle(), message_text(exc))
