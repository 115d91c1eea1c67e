"""The app keeps SQLite's locks on its open database through everything a user does around it.

Closing any descriptor of a file drops every POSIX lock the process holds on it (sqlite.org, "How
To Corrupt An SQLite Database File", 2.2). The header check (on opening the dashboard or the Excel
export's own connection) and Qt's file dialog (which sniffed the .db, its -wal and its -shm for an
icon) used to open and close the live file; another process's `sqlite3` read or `hatang info` then
found no reader left and deleted the -wal and -shm under the app, whose next save went to an
unlinked WAL that no other program ever read.

The app's process is this one (pytest-qt's window); the other programs run as processes. Each step
is checked against /proc/locks, where this process's lock on the database's inode must stay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QTreeView
from sqlalchemy import text

from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/locks")

VENV_BIN = Path(sys.executable).parent
WAIT_MS = 60_000


def held_locks(path: Path) -> list[str]:
    """This process's POSIX locks on `path`'s inode, as /proc/locks lists them."""
    st = os.stat(path)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pid = str(os.getpid())
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if inode in line.split() and pid in line.split()]


def other_process(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def read_elsewhere(db: Path, sql: str) -> str:
    """`sql` run by another program: Python's stdlib sqlite3 in its own process."""
    return other_process(sys.executable, "-c",
                         f"import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                         f"print(c.execute({sql!r}).fetchone()[0]); c.close()", str(db)).strip()


def browse_to_folder(window, qtbot, db: Path) -> dict:
    """File > Open, as a user: the dialog lists the database's folder (detail view: types, icons),
    stays a second after the database's row is filled in, then is cancelled."""
    seen: dict = {}

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            return
        if "dialog" not in seen:
            seen["dialog"] = dialog
            seen["directory"] = dialog.directory().absolutePath()
            dialog.setViewMode(QFileDialog.ViewMode.Detail)
        tree = dialog.findChild(QTreeView, "treeView")
        model, root = tree.model(), tree.rootIndex()
        rows = {model.index(r, 0, root).data(): model.index(r, 2, root).data() for r in range(model.rowCount(root))}
        if rows.get(db.name) and "listed" not in seen:  # its type is known: the icon provider has run
            seen["listed"], seen["type"] = time.monotonic(), rows[db.name]
        if time.monotonic() - seen.get("listed", time.monotonic()) > 1.0 or time.monotonic() > seen["deadline"]:
            dialog.reject()

    seen["deadline"] = time.monotonic() + 30
    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    try:
        window.act_open.trigger()  # exec() returns when poll() cancels
    finally:
        timer.stop()
    return seen


def test_the_app_keeps_its_locks_while_others_read(window, qtbot, tmp_path):
    db = Path(window.db.path)
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    assert not window.db.readonly and held_locks(db), "the map's connection holds a lock on the file"
    steps: list[tuple[str, bool]] = []

    def step(name: str) -> None:
        steps.append((name, bool(held_locks(db))))
        assert all(held for _, held in steps), f"the app lost its lock on the database: {steps}"

    # View > dashboard: computes the indicators through its own read-only connection.
    window.dashboard.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: window.dashboard.dataset is not None, timeout=WAIT_MS)
    step("dashboard")

    # File > Excel export: the dialog, then an export through its own Database.
    window.act_xl_export.trigger()
    dialog = next(w for w in window.findChildren(ExcelExportDialog) if w.isVisible())
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export(tmp_path / "so.xlsx")
    dialog.message.done(0)
    dialog.reject()
    step("excel export")

    # File > Open: the file dialog lists the database's folder.
    seen = browse_to_folder(window, qtbot, db)
    assert seen.get("directory") == str(db.parent) and "listed" in seen, seen
    step("file dialog")

    # Other programs read the database meanwhile.
    hatang = [str(VENV_BIN / "hatang")] if (VENV_BIN / "hatang").exists() else [sys.executable, "-m", "hatang_desktop"]
    info = other_process(*hatang, "info", str(db))
    assert "schema" in info
    sites = int(read_elsewhere(db, "SELECT count(*) FROM sites"))
    assert sites == 300
    step("hatang info and sqlite3 in other processes")

    # A save made in the app (the site form, as the editor saves it) is what another program reads.
    with window.db.session() as s:
        uuid = s.execute(text("SELECT uuid FROM sites WHERE NOT deleted LIMIT 1")).scalar_one()
    form = window.editor.make_form("sites", uuid)
    form.form_widget.fields["name"].edit.setText("Trạm đổi tên khi chương trình khác đang đọc")
    saved = form.save()
    form.reject()
    facts = {
        "lock held": bool(held_locks(db)), "-wal exists": wal.exists(), "-shm exists": shm.exists(),
        "save accepted": saved is True,
        "save seen by another process": read_elsewhere(db, f"SELECT name FROM sites WHERE uuid = '{uuid}'"),
    }
    assert facts == {"lock held": True, "-wal exists": True, "-shm exists": True, "save accepted": True,
                     "save seen by another process": "Trạm đổi tên khi chương trình khác đang đọc"}, steps
