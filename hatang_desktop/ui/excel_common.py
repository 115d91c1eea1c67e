"""What the Excel export, Excel import and conflict dialogs share: the order and names of the
record types, and the job that runs an export or an import off the GUI thread."""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QProgressBar

from hatang_desktop.core.errors import HatangError, environment_fault

RECORD_ORDER = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")


def record_label(record: str) -> str:
    from hatang_desktop.core.forms import load_forms

    try:
        return load_forms()[record].sheet.vi
    except KeyError:
        return record


class JobSignals(QObject):
    progress = Signal(int)
    done = Signal(object)
    failed = Signal(object)  # the exception: callers show its message


class Job(QRunnable):
    """Runs fn(progress) off the GUI thread and hands back the result or the exception."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = self.fn(lambda _stage, fraction: self.signals.progress.emit(int(100 * fraction)))
        except HatangError as exc:
            self.signals.failed.emit(exc)
        except Exception as exc:  # a bug must reach the user as a message, never kill the thread
            # A full disk, a read-only folder, a lock: the one line the command line prints too.
            fault = environment_fault(exc)
            self.signals.failed.emit(fault or RuntimeError(f"{exc}\n\n{traceback.format_exc(limit=3)}"))
        else:
            self.signals.done.emit(result)


def start_job(fn, done, failed, bar: QProgressBar | None = None) -> Job:
    job = Job(fn)
    if bar is not None:
        job.signals.progress.connect(bar.setValue)
    job.signals.done.connect(done)
    job.signals.failed.connect(failed)
    QThreadPool.globalInstance().start(job)
    return job
