"""Reading a large database for the map in a process of its own (Linux), not a thread.

A worker thread reading the country (sqlite3 rows, shapely, numpy over strings) holds the GIL in
calls of a few milliseconds each; on a busy machine the thread is often descheduled while it
holds it, and the GUI thread, which needs the GIL for every slot, froze for 100-350 ms at a
time while the map and then the poles were read. A process has a GIL of its own.

The process is started once per application, before a database is opened (warm(): its imports
take a second or two), and serves one read at a time. Requests and replies are small pickles on
a SOCK_SEQPACKET socket pair; a reply's layers go through an anonymous file (memfd) whose
descriptor travels with the reply: the arrays are pickled out of band (protocol 5) into it and
the parent maps it copy-on-write, so its arrays are the worker's bytes, not copies made while
holding the GIL. A read no longer wanted is stopped through a one-byte shared flag that SQLite's
progress handler polls.

Where any of this is missing (not Linux, no memfd), `reader()` is None and the window reads on
its thread as before.
"""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import socket
import subprocess
import sys
import threading

from hatang_desktop.core.errors import HatangError

# Bytes of one control message (the payload travels in the memfd).
MESSAGE_BYTES = 1 << 16
ALIGN = 64  # numpy's arrays start on this boundary in the shared file
# SQLite virtual-machine steps between two looks at the stop flag (~1 ms of reading).
CHECK_STEPS = 20_000


# The bundled app's executable is the app itself (no `-m`): started with this first argument, its
# entry point (installer/launch_gui.py) runs the worker instead of the window.
WORKER_ARG = "--hatang-read-process"


def available() -> bool:
    """Linux with memfd and descriptor passing."""
    return (sys.platform.startswith("linux") and hasattr(os, "memfd_create") and hasattr(socket, "send_fds")
            and hasattr(socket, "SOCK_SEQPACKET"))


def worker_command(*fds: int) -> list[str]:
    """How this program starts its reading process: Python with the module, or the bundled app
    with WORKER_ARG (the bundle users get reads large files in a process too)."""
    start = [sys.executable, WORKER_ARG] if getattr(sys, "frozen", False) else \
        [sys.executable, "-m", "hatang_desktop.ui.read_process"]
    return [*start, *map(str, fds)]


class ReaderGone(HatangError):
    """The reading process ended (killed, crashed) before it replied."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"tiến trình đọc bản đồ đã dừng đột ngột ({detail}); hãy mở lại tệp",
                         f"the process reading the map stopped unexpectedly ({detail}); open the file again")


class Reader:
    """The parent's end: one worker process, one request at a time (a lock)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        flag_fd = os.memfd_create("hatang-read-stop")
        try:
            os.ftruncate(flag_fd, mmap.PAGESIZE)
            self._flag = mmap.mmap(flag_fd, mmap.PAGESIZE)
            self.process = subprocess.Popen(
                worker_command(theirs.fileno(), flag_fd),
                pass_fds=(theirs.fileno(), flag_fd), stdin=subprocess.DEVNULL, close_fds=True)
        finally:
            theirs.close()
            os.close(flag_fd)
        self._sock = ours
        self._lock = threading.Lock()
        self._current: threading.Event | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, name: str, *args, stop: threading.Event | None = None, progress=None):
        """The worker's `name`(*args) result; None when `stop` was set (before or during the read).
        Raises HatangError for what the read refused (a message for the user), ReaderGone when the
        process died."""
        stop = stop or threading.Event()
        with self._lock:
            self._current = stop
            self._flag[0] = 0
            try:
                if stop.is_set():
                    return None
                try:
                    self._sock.sendall(pickle.dumps((name, args)))
                except OSError as exc:
                    raise ReaderGone(str(exc)) from None
                while True:
                    try:
                        data, fds, _flags, _addr = socket.recv_fds(self._sock, MESSAGE_BYTES, 1)
                    except OSError as exc:
                        raise ReaderGone(str(exc)) from None
                    if not data:
                        raise ReaderGone("no reply")
                    kind, *rest = pickle.loads(data)
                    if kind == "progress":
                        if progress is not None:
                            progress(*rest)
                        continue
                    if kind == "stopped":
                        return None
                    if kind == "failed":
                        raise HatangError(*rest)
                    return _take(fds[0], *rest)
            finally:
                self._current = None

    def stop(self, stop: threading.Event) -> None:
        """Stop the read `stop` belongs to (set it), now if the worker is on it."""
        stop.set()
        if self._current is stop:
            self._flag[0] = 1

    def close(self) -> None:
        self._sock.close()  # the worker's recv returns nothing: it ends
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_reader: Reader | None = None
_reader_lock = threading.Lock()


def reader() -> Reader | None:
    """The application's reading process (started when missing or dead); None where processes
    cannot be used this way."""
    global _reader
    if not available():
        return None
    with _reader_lock:
        if _reader is None or not _reader.alive():
            try:
                _reader = Reader()
            except OSError:
                return None
        return _reader


def warm() -> None:
    """Start the reading process now, so its imports are done before a large database opens."""
    reader()


def stop(event: threading.Event) -> None:
    """Stop the read that `event` belongs to, wherever it runs (set it; the process's flag too)."""
    event.set()
    if _reader is not None:
        _reader.stop(event)


def shutdown() -> None:
    global _reader
    with _reader_lock:
        if _reader is not None:
            _reader.close()
            _reader = None


def _take(fd: int, main: int, buffers: list[tuple[int, int]]):
    """The object a reply's file holds: mapped copy-on-write (writable, no copy). Not
    MAP_POPULATE: Python holds the GIL through mmap(), which then maps every page at once
    (~0.5 s for 300 MB on a busy machine); pages are mapped as they are first touched instead."""
    try:
        size = os.fstat(fd).st_size
        mapped = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    view = memoryview(mapped)
    # The objects made here are no garbage: a cyclic collection they set off would walk every
    # object of the process (the map on screen too) while holding the GIL (100+ ms).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(view[:main], buffers=[view[at:at + n] for at, n in buffers])
    finally:
        if collecting:
            gc.enable()


def _put(obj) -> tuple[int, int, list[tuple[int, int]]]:
    """In the worker: `obj` pickled into a new anonymous file, its arrays out of band."""
    buffers: list[pickle.PickleBuffer] = []
    main = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    fd = os.memfd_create("hatang-read-reply", os.MFD_CLOEXEC)
    spans, at = [], _aligned(len(main))
    with open(fd, "wb", closefd=False) as f:
        f.write(main)
        for buffer in buffers:
            raw = buffer.raw()
            f.seek(at)
            f.write(raw)
            spans.append((at, raw.nbytes))
            at = _aligned(at + raw.nbytes)
        f.truncate(max(at, 1))
    return fd, len(main), spans


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


# --------------------------------------------------------------------------- the worker


def serve(sock: socket.socket, flag: mmap.mmap) -> None:
    """The worker's loop: one request, one reply, until the parent closes its end."""
    from hatang_desktop.core.errors import environment_fault

    from . import read_jobs

    state: dict = {}
    while True:
        try:
            data = sock.recv(MESSAGE_BYTES)
        except OSError:
            return
        if not data:
            return
        name, args = pickle.loads(data)

        def progress(*values) -> None:
            sock.sendall(pickle.dumps(("progress", *values)))

        def stopped() -> bool:
            return flag[0] != 0

        try:
            result = getattr(read_jobs, name)(state, *args, progress=progress, stopped=stopped)
        except read_jobs.Stopped:
            state.clear()
            sock.sendall(pickle.dumps(("stopped",)))
            continue
        except HatangError as exc:
            sock.sendall(pickle.dumps(("failed", exc.text.vi, exc.text.en)))
            continue
        except Exception as exc:  # the parent must hear of every failure, never wait for ever
            if stopped():
                state.clear()
                sock.sendall(pickle.dumps(("stopped",)))
                continue
            fault = environment_fault(exc, args[0] if args else "")
            text = fault.text if fault is not None else None
            sock.sendall(pickle.dumps(("failed", text.vi, text.en) if text is not None else
                                      ("failed", f"{args[0] if args else ''}: {exc}", None)))
            continue
        fd, main, spans = _put(result)
        try:
            socket.send_fds(sock, [pickle.dumps(("done", main, spans))], [fd])
        finally:
            os.close(fd)
        del result
        _give_back_memory()


def _give_back_memory() -> None:
    """What a read freed handed back to the system: the rows' many small objects leave
    malloc's arenas holding ~300 MB after the country's poles, for a process that then waits."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def worker_main(argv: list[str]) -> int:
    """The reading process's entry: argv is the socket's and the stop flag's descriptors."""
    sock = socket.socket(fileno=int(argv[0]))
    flag_fd = int(argv[1])
    flag = mmap.mmap(flag_fd, mmap.PAGESIZE)
    os.close(flag_fd)
    from . import read_jobs  # noqa: F401 - the imports paid now, before the first request

    serve(sock, flag)
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
