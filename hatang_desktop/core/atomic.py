"""Every file the program writes appears whole or not at all.

A writer (ours, openpyxl's, GDAL's) writes into a private temporary folder made next to the
target, in the same folder so that the final move is a rename on one file system. Only when the
writer has returned are the files synced to disk, given the mode a normal new file gets
(0666 & ~umask: a workbook meant for the department is readable by whoever may read the folder),
and renamed over their targets (`os.replace`), then the folder entry synced. On any failure the
temporary folder goes and the old target is untouched: a full disk never costs the previous good
file, a kill never leaves half a file under the name the user asked for.

The temporary folder is private (0700) while it exists, and its name says who made it:
`.hatang-<host>-<pid>-<process start>-<random>.tmp`. A process killed with -9 cannot clean up,
so the next write into that folder from this machine removes temporary folders whose process is
gone (a pid reused by another process is told apart by its start time on Linux). Temporary names
never match the names of kept files (backups are counted by their own pattern).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .errors import FileFault, HatangError, environment_fault

TEMP_RE = re.compile(r"^\.hatang-([0-9a-f]{6})-(\d+)-(\d+)-[0-9a-f]+\.tmp$")
# Below this much free space after a failed write, the failure is taken for a full disk: GDAL
# reports a full disk as "Failed to commit transaction" or "Cannot write feature".
NEARLY_FULL_BYTES = 1 << 20
# Below this much free space after a writer that may lose a write without saying so (GDAL's CSV
# driver returns success with a cut file on a full disk), the file is not trusted.
FULL_BYTES = 64 << 10

_umask_lock = threading.Lock()


# -- naming ------------------------------------------------------------------------------------

def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (Linux), 0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    try:  # the command name may hold spaces and parentheses: split after the last ')'
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (ValueError, IndexError):
        return 0


def temp_name() -> str:
    pid = os.getpid()
    return f".hatang-{_host_tag()}-{pid}-{_start_time(pid)}-{secrets.token_hex(4)}.tmp"


def _alive(pid: int, start: int) -> bool:
    if pid == os.getpid():
        return start in (0, _start_time(pid))
    if sys.platform == "win32":
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return False  # a zombie: dead, its parent has not collected it yet
    except (OSError, IndexError):
        pass
    now = _start_time(pid)
    return not (start and now and now != start)  # the pid was reused by another process


def _alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def remove_stale(folder: str | Path) -> list[Path]:
    """Remove the temporary files and folders that processes of this machine left in `folder`
    when they died (kill -9, power cut). Returns what was removed."""
    removed = []
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = TEMP_RE.match(entry.name)
        if m is None or m.group(1) != host or _alive(int(m.group(2)), int(m.group(3))):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


# -- modes and syncing -------------------------------------------------------------------------

def default_mode() -> int:
    """The mode a normal new file gets here: 0666 less the process's umask."""
    try:  # Linux 4.7+: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def fsync_file(path: str | Path) -> None:
    # Never call this on a database file a connection of this process has open (storage/files.py):
    # closing the descriptor would drop SQLite's locks. Our temporary files are nobody's database.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows has no directory handles for this)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (network shares) refuse: the rename happened all the same
    finally:
        os.close(fd)


# -- the temporary folder ----------------------------------------------------------------------

@contextlib.contextmanager
def private_dir(folder: str | Path) -> Iterator[Path]:
    """A private (0700) temporary folder inside `folder`, removed with everything in it at the end.
    Stale ones from dead processes are removed first."""
    folder = Path(folder)
    remove_stale(folder)
    path = folder / temp_name()
    os.mkdir(path, 0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def free_bytes(folder: Path) -> int | None:
    """Free space where this process may write: root may use the blocks a file system keeps in
    reserve (f_bfree), others may not (f_bavail, what shutil.disk_usage gives)."""
    try:
        if hasattr(os, "statvfs"):
            st = os.statvfs(folder)
            root = hasattr(os, "geteuid") and os.geteuid() == 0
            return (st.f_bfree if root else st.f_bavail) * st.f_frsize
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _nearly_full(folder: Path, written: int) -> bool:
    free = free_bytes(folder)
    return free is not None and free < max(NEARLY_FULL_BYTES, written)


def _may_be_disk(exc: BaseException) -> bool:
    """An error a full disk can cause without saying so: I/O from Python, SQLite, GDAL."""
    return (isinstance(exc, (OSError, sqlite3.Error))
            or type(exc).__module__.split(".")[0] in ("pyogrio", "fiona", "osgeo"))


def as_fault(exc: BaseException, target: Path, temp: Path | None = None,
             note: tuple[str, str] | None = None) -> BaseException:
    """What to raise for `exc` that interrupted writing `target` (with its temporary folder
    `temp` still there): a FileFault naming the target for a fault of the machine, else `exc`."""
    if isinstance(exc, HatangError) and not isinstance(exc, FileFault):
        return exc
    fault = environment_fault(exc, target, note=note)
    if fault is None and temp is not None and _may_be_disk(exc) and _nearly_full(target.parent, _size(temp)):
        fault = FileFault(target, "disk_full", note)
    if isinstance(fault, FileFault) and fault is not exc and str(fault.path) != str(target):
        fault = FileFault(target, fault.kind, note)  # name the file asked for, not a temporary one
    return fault or exc


# -- writing -----------------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_outputs(targets: Sequence[str | Path], *, lossy_writer: bool = False) -> Iterator[list[Path]]:
    """Yields one temporary path per target (same file name, in a private folder next to the
    targets; all targets in one folder). When the block ends without an error, every file written
    is synced, given the normal mode and renamed over its target; a target whose temporary file
    was not written is an error. On an error nothing is renamed and the old targets stay as they
    were; a fault of the machine (disk full, read-only, permission...) comes out as a FileFault
    naming the target.

    `lossy_writer`: the writer may drop a write on a full disk and still return (GDAL): a disk
    left (nearly) full after it is taken for that, and nothing is published."""
    targets = [Path(t) for t in targets]
    if not targets:
        raise ValueError("no target")
    folder = targets[0].parent
    if any(t.parent != folder for t in targets):
        raise ValueError("atomic_outputs: every target must be in one folder")
    if len({t.name for t in targets}) != len(targets):
        raise ValueError("atomic_outputs: two targets with one name")
    try:
        cm = private_dir(folder)
        temp = cm.__enter__()
    except OSError as exc:
        raise as_fault(exc, targets[0]) from exc
    try:
        paths = [temp / t.name for t in targets]
        current = targets[0]
        try:
            yield paths
            free = free_bytes(folder) if lossy_writer else None
            if free is not None and free < FULL_BYTES:
                raise FileFault(current, "disk_full")
            mode = default_mode()
            for p, t in zip(paths, targets):
                current = t
                if not p.is_file():
                    raise RuntimeError(f"{t}: the writer produced no file")
                fsync_file(p)  # a delayed write error (a full disk, a network share) shows here
                os.chmod(p, mode)
            for p, t in zip(paths, targets):
                current = t
                os.replace(p, t)
            fsync_dir(folder)
        except BaseException as exc:
            raised = as_fault(exc, current, temp)
            if raised is exc:
                raise
            raise raised from exc
    finally:
        cm.__exit__(None, None, None)


@contextlib.contextmanager
def atomic_output(target: str | Path, *, lossy_writer: bool = False) -> Iterator[Path]:
    """`atomic_outputs` for one file: yields the temporary path to write."""
    with atomic_outputs([target], lossy_writer=lossy_writer) as (path,):
        yield path


def publish_unique(temp: Path, names: Iterable[Path]) -> Path:
    """Give the finished file `temp` the first of `names` that does not exist yet, never replacing
    a file: a hard link where the file system has them, else a rename checked just before."""
    for target in names:
        if sys.platform == "win32":  # rename refuses an existing target there
            try:
                os.rename(temp, target)
                return target
            except FileExistsError:
                continue
        try:
            os.link(temp, target)
            return target
        except FileExistsError:
            continue
        except OSError:  # no hard links (FAT, some network shares)
            if target.exists():
                continue
            os.replace(temp, target)
            return target
    raise RuntimeError("no free name")


__all__ = ["atomic_output", "atomic_outputs", "private_dir", "publish_unique", "remove_stale",
           "default_mode", "fsync_file", "fsync_dir", "as_fault", "temp_name"]
