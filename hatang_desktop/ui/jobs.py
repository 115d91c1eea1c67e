"""One way to run a long job off the GUI thread, with progress and a Cancel that really cancels.

The job is a core function called as `fn(progress, cancel)`: `progress(stage, fraction)` as
every core job reports it, `cancel()` true once the user pressed Cancel. The core asks `cancel`
between its steps and raises core.cancel.Cancelled, inside its transaction when it writes, so a
cancelled import or check leaves the database as it was and a cancelled export leaves no file.
The GUI thread only receives plain results through queued signals.

A Python thread, not a QThreadPool one: pyproj keeps its PROJ context per Python thread state,
which a pool thread drops between runs; reusing a cached CRS then crashes (the GIS jobs).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar

from hatang_desktop.core.cancel import Cancelled
from hatang_desktop.core.errors import HatangError, environment_fault

from .strings import tr

_running: set[Job] = set()   # a job's signals live until it has reported


class JobSignals(QObject):
    progress = Signal(int)
    done = Signal(object)
    failed = Signal(object)   # the exception: callers show its message
    cancelled = Signal()


class Job:
    """Runs fn(progress, cancel) and hands back the result, the exception, or `cancelled`."""

    def __init__(self, fn: Callable, fault_path=None):
        self.fn = fn
        self.fault_path = fault_path   # the file a fault of the machine is about, when fn does not say
        self.signals = JobSignals()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        """Ask the job to stop at its next step (the core raises Cancelled, nothing is written)."""
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        try:
            result = self.fn(lambda _stage, fraction: self.signals.progress.emit(int(100 * fraction)),
                             self._stop.is_set)
        except Cancelled:
            self.signals.cancelled.emit()
        except HatangError as exc:
            self.signals.failed.emit(exc)
        except Exception as exc:  # a bug must reach the user as a message, never kill the thread
            # A full disk, a read-only folder, a lock: the one line the command line prints too.
            fault = environment_fault(exc, self.fault_path)
            self.signals.failed.emit(fault or RuntimeError(f"{exc}\n\n{traceback.format_exc(limit=3)}"))
        else:
            self.signals.done.emit(result)
        finally:
            _running.discard(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job's thread has ended (within `timeout` seconds)."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return True


def start_job(fn: Callable, done: Callable, failed: Callable, bar: QProgressBar | None = None,
              cancelled: Callable[[], None] | None = None, *, fault_path=None) -> Job:
    job = Job(fn, fault_path)
    if bar is not None:
        job.signals.progress.connect(bar.setValue)
    job.signals.done.connect(done)
    job.signals.failed.connect(failed)
    if cancelled is not None:
        job.signals.cancelled.connect(cancelled)
    _running.add(job)
    job.thread = threading.Thread(target=job.run, daemon=True, name="hatang-job")
    job.thread.start()
    return job


def press_cancel(job: Job | None, button, status=None) -> None:
    """What every Cancel button does: ask the running job to stop, and say so until it has (its
    `cancelled` signal then puts the dialog back)."""
    if job is None:
        return
    job.cancel()
    button.setEnabled(False)
    if status is not None:
        status.setText(tr("job_cancelling"))


def wait_all(timeout: float = 30.0) -> bool:
    """Whether every running job ended within `timeout` seconds (tests and closing the window)."""
    return all(job.wait(timeout) for job in list(_running))
