"""A job that meets a fault of the machine (a full disk, a read-only folder) shows the same one line
the command line prints (core/errors.py), not a traceback (issue 16, item 9)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from hatang_desktop.core.errors import FileFault


@pytest.mark.parametrize("error, words", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/so.xlsx"), "đầy"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "chỉ cho phép đọc"),
])
def test_export_and_import_jobs_report_faults_in_one_line(qtbot, error, words):
    from hatang_desktop.ui.jobs import Job

    def fn(_progress, _cancel):
        raise error

    job = Job(fn)
    failures = []
    job.signals.failed.connect(failures.append)
    job.run()
    (failure,) = failures
    assert isinstance(failure, FileFault) and words in str(failure)
    assert "Traceback" not in str(failure) and "\n" not in str(failure)


def test_gis_job_reports_a_full_disk_in_one_line(qtbot):
    from hatang_desktop.ui.jobs import Job

    def fn(_progress, _cancel):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out.gpkg")

    job = Job(fn)
    failures = []
    job.signals.failed.connect(failures.append)
    job.run()
    (failure,) = failures
    message = str(failure)
    assert "/data/out.gpkg" in message and "đầy" in message and "\n" not in message


def test_a_failed_map_export_keeps_the_previous_file(window, tmp_path, monkeypatch):
    """File > Export map: the page is written under a temporary name and renamed only when whole."""
    from PySide6.QtGui import QImage

    out = tmp_path / "ban_do.png"
    out.write_bytes(b"the previous map")
    def half(_image, name, *_args):   # the disk filled up half-way
        Path(name).write_bytes(b"half a PNG")
        return False

    monkeypatch.setattr(QImage, "save", half)
    monkeypatch.setattr("hatang_desktop.ui.window_files.QMessageBox.warning", lambda *_a, **_k: None)
    assert not window.export(out)
    assert out.read_bytes() == b"the previous map"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
