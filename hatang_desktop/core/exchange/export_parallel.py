"""Run part of an export in a forked worker process, and hand its result back.

The export is CPU work in Python (reading, fingerprinting, formatting XML), so a second process
is the only way to use a second core. The worker is forked, not spawned: it starts in
milliseconds with everything already imported and the plan already in memory, and sends back
only its result (pickled through a pipe). Forking is safe only in a process with no other threads
(a lock held by another thread at the fork stays locked forever in the child), so `fork_allowed`
says no inside the desktop app, which exports single-process.

A worker never outlives the process that forked it: right after the fork it asks Linux to kill
it when its parent dies (`prctl(PR_SET_PDEATHSIG, SIGKILL)`), then checks that its parent is
still the one that forked it (a parent killed between the fork and that call would not be
noticed otherwise). It also closes its copy of the pipe's reading end, so that a write to a
parent that is gone fails instead of blocking forever. Before this, `kill -9` of `hatang
export-xlsx` or `import-xlsx` left the worker (~450 MB on the province sample) blocked on the pipe
for good. Windows has no fork: `fork_allowed` is False there and no worker is ever started.
The worker writes no file: the parent writes the workbook (core/atomic.py cleans up after a
killed parent).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

MIN_ROWS = 20_000      # below this the fork costs about what it saves


def fork_allowed(qt_imported: bool = False) -> bool:
    """Whether this process may fork a worker: two CPUs, no other thread, not macOS (whose
    system libraries are not fork-safe), and no Qt unless `qt_imported` (a process that imports
    Qt's modules but runs no Qt thread: the desktop app's reading process)."""
    return (hasattr(os, "fork") and sys.platform != "darwin" and (os.cpu_count() or 1) >= 2
            and threading.active_count() == 1 and (qt_imported or "PySide6.QtCore" not in sys.modules))


class WorkerFailed(RuntimeError):
    pass


PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a forked child: be killed when the parent dies (Linux), and end now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the parent check below and the closed pipe end still hold
    if os.getppid() != parent_pid:
        os._exit(1)


def _streamed(job: Callable[..., Any], send) -> Any:
    """In the child: `job(emit)`, each emitted item sent by a thread of its own, so the job goes on
    while the parent is busy (a pipe holds 64 KiB: a send blocks until the parent reads)."""
    import queue

    items: queue.SimpleQueue = queue.SimpleQueue()
    end = object()

    def pump():
        while (item := items.get()) is not end:
            send.send((None, item))

    sender = threading.Thread(target=pump, name="hatang-worker-send", daemon=True)
    sender.start()
    try:
        return job(items.put)
    finally:
        items.put(end)
        sender.join()


class ForkedJob:
    """`job()` run in a forked child; `result()` waits for its return value (or its error).

    With `streamed`, the job is called as `job(emit)` and each `emit(item)` reaches the parent
    as soon as it is made: `stream()` yields the items in order while the child goes on (the
    parent works on the first while the child makes the next)."""

    def __init__(self, job: Callable[..., Any], *, streamed: bool = False):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        parent = os.getpid()

        def run():
            die_with_parent(parent)
            self._recv.close()  # the parent's end: with it open here, a send to a dead parent blocks
            try:
                payload = (True, _streamed(job, send) if streamed else job())
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                payload = (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            try:
                send.send(payload)
                send.close()
            except OSError:  # the parent is gone (BrokenPipeError): nobody to tell
                os._exit(1)

        self._proc = ctx.Process(target=run, name="hatang-export-worker", daemon=True)
        # Objects alive now go to a generation the collector never visits, so the child's
        # collections do not write to (and copy) every page it shares with this process.
        gc.freeze()
        try:
            self._proc.start()
        finally:
            gc.unfreeze()
        send.close()
        self._done = False
        self._value: Any = None

    def result(self) -> Any:
        for _item in self.stream():
            pass   # a streamed job's items are dropped: its caller reads them with stream()
        return self._value

    def stream(self):
        """The items a streamed job emits, as they come; then the job's return value is in
        `result()`. WorkerFailed when the child failed (after the items it sent)."""
        while not self._done:
            try:
                ok, value = self._recv.recv()
            except EOFError:
                ok, value = False, f"the worker process ended without a result (exit {self._proc.exitcode})"
            except BaseException:   # interrupted, or a result that does not unpickle
                self.cancel()
                raise
            if ok is None:
                yield value
                continue
            self._recv.close()
            self._proc.join()
            self._done = True
            if not ok:
                raise WorkerFailed(value)
            self._value = value

    def cancel(self) -> None:
        if not self._done and self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._recv.close()
        self._done = True


def split(weights: dict[str, float], parent_extra: float) -> set[str]:
    """The sheets a worker takes so both processes have about the same work: the heaviest first,
    each to whichever side has less (the parent also writes the summary and `_base`)."""
    child, parent, mine = 0.0, parent_extra, set()
    for key, w in sorted(weights.items(), key=lambda kv: -kv[1]):
        if child < parent:
            child += w
            mine.add(key)
        else:
            parent += w
    return mine
