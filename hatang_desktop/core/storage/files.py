"""Checks on a database file made from its header alone, before SQLite opens it.

Reading the 100-byte header tells a missing, foreign, truncated or too-new file apart without
writing a byte: opening a file in SQLite for writing (or switching it to WAL) changes it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatabaseFileError, SchemaTooNewError
from .migrations import APPLICATION_ID, current_version

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class FileHeader:
    page_size: int
    page_count: int
    user_version: int
    application_id: int


def read_header(path: Path) -> FileHeader:
    if not path.exists():
        raise DatabaseFileError(path, "không tìm thấy tệp", "file not found")
    if path.is_dir():
        raise DatabaseFileError(path, "đây là một thư mục, không phải tệp cơ sở dữ liệu",
                                "this is a directory, not a database file")
    try:
        with path.open("rb") as f:
            head = f.read(100)
    except PermissionError:
        raise DatabaseFileError(path, "không có quyền đọc tệp", "permission denied") from None
    except OSError as exc:
        raise DatabaseFileError(path, f"không đọc được tệp ({exc.strerror})",
                                f"cannot read the file ({exc.strerror})") from None
    if len(head) == 0:
        raise DatabaseFileError(path, "tệp rỗng (0 byte)", "the file is empty")
    if not head.startswith(SQLITE_MAGIC):
        raise DatabaseFileError(path, "không phải tệp cơ sở dữ liệu SQLite",
                                "not an SQLite database file")
    if len(head) < 100:
        raise DatabaseFileError(path, "tệp bị cắt cụt (thiếu phần đầu)", "the file is truncated")
    page_size = struct.unpack(">H", head[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    page_count, = struct.unpack(">I", head[28:32])
    user_version, application_id = struct.unpack(">I", head[60:64])[0], struct.unpack(">I", head[68:72])[0]
    return FileHeader(page_size, page_count, user_version, application_id)


def check_database_file(path: Path) -> FileHeader:
    """Raise DatabaseFileError unless `path` looks like a whole Hạ tầng database we can open."""
    header = read_header(path)
    size = path.stat().st_size
    if header.page_size < 512 or size % header.page_size or size < header.page_size * header.page_count:
        raise DatabaseFileError(path, f"tệp bị cắt cụt hoặc hỏng ({size} byte, cần "
                                f"{header.page_size * header.page_count} byte)",
                                "the file is truncated or damaged")
    if header.application_id != APPLICATION_ID:
        raise DatabaseFileError(path, "tệp SQLite này không phải cơ sở dữ liệu Hạ tầng Desktop",
                                "this SQLite file is not a Hạ tầng Desktop database")
    if header.user_version > current_version():
        raise SchemaTooNewError(path, header.user_version, current_version())
    return header
