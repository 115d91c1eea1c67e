"""Every kind of wrong file: one clear message naming it, exit 2 from the CLI, bytes unchanged."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hatang_desktop.core.errors import DatabaseFileError
from hatang_desktop.core.storage import database as database_module
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.migrations import current_version

V1 = Path(__file__).parent.parent / "data" / "schema_v1.db"


def _make(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("mã trạm,tên trạm\nVT001,Trạm Đồng Đăng\n", encoding="utf-8")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = V1.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "short_header":
        path.write_bytes(V1.read_bytes()[:40])
    elif kind == "other_sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER)")
        conn.close()
    elif kind == "newer":
        shutil.copyfile(V1, path)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {current_version() + 1}")
        conn.close()
    return path


CASES = {
    "missing": "không tìm thấy tệp",
    "directory": "thư mục",
    "text": "không phải tệp cơ sở dữ liệu SQLite",
    "empty": "tệp rỗng",
    "truncated": "cắt cụt",
    "short_header": "cắt cụt",
    "other_sqlite": "không phải cơ sở dữ liệu Hạ tầng",
    "newer": "mới hơn",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_open_refuses_with_a_clear_message(kind, tmp_path):
    path = _make(kind, tmp_path)
    with pytest.raises(DatabaseFileError) as info:
        Database.open(path)
    assert CASES[kind] in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_cli_info_exit_2_one_line_file_untouched(kind, tmp_path):
    path = _make(kind, tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    result = subprocess.run([sys.executable, "-m", "hatang_desktop", "info", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and CASES[kind] in lines[0]
    if before:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(str(path) + "-wal").exists() or kind in ("other_sqlite",)


def test_locked_database_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "x.db"
    shutil.copyfile(V1, path)
    db = Database.open(path)
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseFileError, match="khóa"):
            with db.operation("edit") as s:
                from sqlalchemy import text
                s.execute(text("UPDATE meta SET value = 'x' WHERE key = 'scope'"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.close()


def test_info_leaves_a_good_database_unchanged(tmp_path):
    path = tmp_path / "v1.db"
    shutil.copyfile(V1, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = subprocess.run([sys.executable, "-m", "hatang_desktop", "info", str(path), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
