"""Errors the core raises for users to read.

Messages are Vietnamese first with an English gloss, and always name the place (file, field,
row) so a commune official can find what to fix.
"""

from __future__ import annotations


class HatangError(Exception):
    """Base of every error meant for the user rather than for a developer."""


class InvalidInputError(HatangError, ValueError):
    """Bad input from the user (a file, an argument, a value): the CLI exits 2, nothing written."""


class DatabaseFileError(InvalidInputError):
    """The file is missing, not a database, not ours, damaged, or locked."""

    def __init__(self, path, problem_vi: str, problem_en: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {problem_vi} / {problem_en}")


class SchemaTooNewError(DatabaseFileError):
    def __init__(self, path, found: int, supported: int):
        self.found, self.supported = found, supported
        super().__init__(
            path,
            f"cơ sở dữ liệu có phiên bản lược đồ {found}, mới hơn phiên bản {supported} mà "
            "chương trình này hỗ trợ; hãy cập nhật Hạ tầng Desktop",
            f"database schema version {found} is newer than the supported version {supported}; "
            "update Hạ tầng Desktop",
        )
