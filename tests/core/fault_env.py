"""Faults of the machine made real for tests: a read-only file or folder, a full disk.

As root (CI containers, these machines) a mode bit stops nobody: a read-only file or folder is a
read-only bind mount of itself, a full disk a small tmpfs. Elsewhere a read-only file or folder
is made with chmod; a full disk needs root and the test is skipped without it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def can_mount() -> bool:
    if not ROOT or not shutil.which("mount") or not sys.platform.startswith("linux"):
        return False
    import tempfile

    probe = Path(tempfile.mkdtemp(prefix="hatang-mount-probe-"))
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return ok
    finally:
        probe.rmdir()


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only(path: Path):
    """`path` (a file or a folder) read-only for this process until the block ends."""
    path = Path(path)
    if can_mount():
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
            yield path
        finally:
            _umount(path)
    elif not ROOT:
        mode = path.stat().st_mode & 0o7777
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield path
        finally:
            path.chmod(mode)
    else:
        pytest.skip("root without mount: nothing is read-only")


@contextlib.contextmanager
def small_disk(path: Path, size: int):
    """A tmpfs of `size` bytes mounted on the (new, empty) folder `path`."""
    if not can_mount():
        pytest.skip("a full disk needs root and mount (tmpfs)")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        _umount(path)


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the disk of `folder` up to `leave` bytes free."""
    free = shutil.disk_usage(folder).free - leave
    if free > 0:
        with open(folder / ".filler", "wb") as f:
            with contextlib.suppress(OSError):
                f.write(b"\0" * free)


def hatang(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)],
                          capture_output=True, text=True, **kwargs)


def assert_one_clean_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2 and one line on stderr (Vietnamese / English), no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("  ")]
    assert len(lines) == 1, result.stderr
    assert " / " in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# -- what a test looks at afterwards -------------------------------------------------------------

def backups(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.stem}.*.bak{db.suffix}"))


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and p.name != ".filler"]


def whole(path: Path) -> bool:
    """A database with its tables that passes SQLite's check (an empty file opens as an empty one)."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return (conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
                    and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0)
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# Workbooks edited_book made in this process, by the database's content and `rows`.
_EDITED_BOOKS: dict[tuple[str, int], bytes] = {}


def edited_book(db_path: Path, out: Path, rows: int = 1) -> Path:
    """A workbook of `db_path` with the names of the first `rows` sites changed.

    Most callers pass a fresh copy of the same sample template: a database whose bytes (file
    and -wal) were seen before gets the workbook made then (the same rows; only its export time
    in _metadata is older), not another ~2 s export and openpyxl load and save."""
    from hatang_desktop.core.exchange.export import export_workbook
    from hatang_desktop.core.storage.database import Database

    db_path, out = Path(db_path), Path(out)
    content = hashlib.sha256(db_path.read_bytes())
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists():
        content.update(wal.read_bytes())
    key = (content.hexdigest(), rows)
    if key in _EDITED_BOOKS:
        out.write_bytes(_EDITED_BOOKS[key])
        return out
    with Database.open(db_path, readonly=True) as db:
        export_workbook(db, out, parallel=False)
    wb = openpyxl.load_workbook(out)
    ws = wb["Trạm BTS"]
    col = [c.value for c in ws[1]].index("Tên trạm") + 1
    for r in range(2, rows + 2):
        ws.cell(row=r, column=col).value = f"Trạm đổi tên số {r} " + "x" * 200
    wb.save(out)
    _EDITED_BOOKS[key] = out.read_bytes()
    return out
